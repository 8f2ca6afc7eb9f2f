"""MQTT over TLS with logins and ACLs, against real Mosquitto processes on loopback.

Each broker here is our own (``andon.testing.tls.secure_mosquitto``): a TLS listener with a
throwaway CA's server certificate, anonymous clients refused, passwords checked and topic
ACLs applied (and, for mutual TLS, client certificates required). Everything goes through
``MqttClient``, as every Andon process does. Each refusal must be one line naming the broker
(and the user), with the password nowhere: not in the error, not in any log. Waits are
bounded, on events (a last message, a barrier message), never on sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from andon.connectors.mqtt import MqttClient, parse_broker, parse_broker_urls
from andon.connectors.mqtt_security import MqttRefused, MqttSecurity, use_security
from andon.errors import ConnectorError, SettingsError
from andon.testing import MosquittoProcess
from andon.testing.mosquitto import MOSQUITTO
from andon.testing.tls import MOSQUITTO_PASSWD, Pki, make_pki, secure_mosquitto

PASSWORDS = {"ana": "ana-pw-7f3k", "bob": "bob-pw-91xq"}
#: each user reads and writes its own prefix; bob may also write a barrier ana may read;
#: every client may use its own probe topic (``MqttClient.subscribed``)
ACL = """\
pattern readwrite andon/_probe/%c
user ana
topic readwrite ana/#
topic read shared/#
user bob
topic readwrite bob/#
topic write shared/#
"""
N = 200


def _need_binaries() -> None:
    for binary in (MOSQUITTO, MOSQUITTO_PASSWD):
        if not Path(binary).is_file():
            pytest.skip(f"no {binary} (apt-get install mosquitto mosquitto-clients)")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[MosquittoProcess]:
    """TLS, passwords, ACL; no client certificate required."""
    _need_binaries()
    with secure_mosquitto(tmp_path_factory.mktemp("broker"), pki, users=PASSWORDS,
                          acl=ACL) as b:
        yield b


@pytest.fixture(scope="module")
def mtls_broker(tmp_path_factory: pytest.TempPathFactory,
                pki: Pki) -> Iterator[MosquittoProcess]:
    """TLS that requires a client certificate signed by the CA, and passwords."""
    _need_binaries()
    with secure_mosquitto(tmp_path_factory.mktemp("mtls"), pki, users=PASSWORDS,
                          require_certificate=True) as b:
        yield b


def _as(pki: Pki, user: str | None, password: str | None = None, **more: object) -> MqttSecurity:
    return MqttSecurity(ca=pki.ca, username=user,
                        password=PASSWORDS.get(user or "") if password is None else password,
                        **more)  # type: ignore[arg-type]


class Counting:
    """A subscriber that counts messages per topic prefix and sets ``end`` on a barrier."""

    def __init__(self, end_topic: str, last: int | None = None) -> None:
        self.got: dict[str, int] = {}
        self.end = asyncio.Event()
        self.end_topic = end_topic
        self.last = last

    def __call__(self, topic: str, _payload: bytes) -> None:
        if topic == self.end_topic:
            self.end.set()
            return
        prefix = topic.split("/", maxsplit=1)[0]
        self.got[prefix] = self.got.get(prefix, 0) + 1
        if self.last is not None and sum(self.got.values()) >= self.last:
            self.end.set()


def _assert_refused(exc: BaseException, *, url: str, says: str) -> None:
    line = str(exc)
    assert "\n" not in line
    assert line.startswith(f"MQTT broker {url}: "), line
    assert says in line, line
    for password in PASSWORDS.values():
        assert password not in line


def test_a_publisher_and_a_subscriber_over_tls_with_logins_deliver_every_message(
        broker: MosquittoProcess, pki: Pki) -> None:
    """N QoS 1 messages from ana (user in the URL, password from the settings) = N received."""
    url = broker.url.replace("mqtts://", "mqtts://ana@")

    async def run() -> dict[str, int]:
        counting = Counting("ana/end")
        sub = MqttClient(broker.url, "tls-sub", on_message=counting, qos=1,
                         subscriptions=["ana/#"], security=_as(pki, "ana"))
        pub = MqttClient(url, "tls-pub", security=MqttSecurity(ca=pki.ca,
                                                                password=PASSWORDS["ana"]))
        await sub.connect()
        await sub.subscribed()
        await pub.connect()
        for i in range(N):
            pub.publish(f"ana/data/{i % 7}", str(i).encode(), qos=1)
        pub.publish("ana/end", b"", qos=1)
        await asyncio.wait_for(counting.end.wait(), 20)
        await pub.disconnect()
        await sub.disconnect()
        return counting.got

    assert asyncio.run(run()) == {"ana": N}


def test_a_broker_certificate_another_ca_signed_is_refused_in_one_line(
        broker: MosquittoProcess, tmp_path: Path, pki: Pki) -> None:
    other = make_pki(tmp_path, name="other")
    client = MqttClient(broker.url, security=MqttSecurity(ca=other.ca, username="ana",
                                                         password=PASSWORDS["ana"]))
    with pytest.raises(MqttRefused) as caught:
        asyncio.run(client.connect())
    _assert_refused(caught.value, url=broker.url,
                    says=f"its TLS certificate did not verify against CA file {other.ca} "
                         "(self-signed certificate in certificate chain)")
    # without a CA file: the system's trust store, which knows nothing of this CA either
    client = MqttClient(broker.url, security=MqttSecurity(username="ana",
                                                         password=PASSWORDS["ana"]))
    with pytest.raises(MqttRefused, match="did not verify against the system trust store"):
        asyncio.run(client.connect())
    assert pki.ca != other.ca


def test_a_certificate_for_another_host_name_is_refused(tmp_path: Path) -> None:
    """The CA is trusted, but the certificate names andon.invalid, not 127.0.0.1."""
    _need_binaries()
    elsewhere = make_pki(tmp_path / "pki", hosts=("andon.invalid",))
    with secure_mosquitto(tmp_path / "broker", elsewhere, users=PASSWORDS) as b:
        client = MqttClient(b.url, security=MqttSecurity(ca=elsewhere.ca, username="ana",
                                                        password=PASSWORDS["ana"]))
        with pytest.raises(MqttRefused) as caught:
            asyncio.run(client.connect())
    _assert_refused(caught.value, url=b.url, says="IP address mismatch")


def test_a_wrong_password_is_refused_naming_the_user_and_never_the_password(
        broker: MosquittoProcess, pki: Pki, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    wrong = "wr0ng-pa55-zz9"
    caplog.set_level(logging.DEBUG)
    client = MqttClient(broker.url.replace("mqtts://", f"mqtts://ana:{wrong}@"),
                        security=MqttSecurity(ca=pki.ca))
    with capture_logs() as logs, pytest.raises(MqttRefused) as caught:
        asyncio.run(client.connect())
    masked = broker.url.replace("mqtts://", "mqtts://ana:***@")
    _assert_refused(caught.value, url=masked, says="refused user 'ana': not authorised")
    assert client.url == masked
    assert [a.url for a in client.attempts] == [masked]
    shown = (str(caught.value) + repr(caught.value) + caplog.text + str(logs)
             + "".join(capsys.readouterr()) + repr(client.brokers) + repr(client.security))
    assert wrong not in shown


def test_a_wrong_password_from_the_settings_is_refused_too(broker: MosquittoProcess,
                                                            pki: Pki) -> None:
    client = MqttClient(broker.url, security=_as(pki, "bob", password="not-bobs"))
    with pytest.raises(MqttRefused) as caught:
        asyncio.run(client.connect())
    _assert_refused(caught.value, url=broker.url, says="refused user 'bob'")
    assert "not-bobs" not in str(caught.value)


def test_an_anonymous_client_is_refused(broker: MosquittoProcess, pki: Pki) -> None:
    client = MqttClient(broker.url, security=MqttSecurity(ca=pki.ca))
    with pytest.raises(MqttRefused) as caught:
        asyncio.run(client.connect())
    _assert_refused(caught.value, url=broker.url,
                    says="refused an anonymous client (no user name): not authorised")


def test_a_refused_first_connection_ends_the_retrying_instead_of_hiding_it(
        broker: MosquittoProcess, pki: Pki) -> None:
    """A client never connected gives up on a refusal at once; it does not retry forever."""
    client = MqttClient(broker.url, security=_as(pki, "ana", password="nope"))

    async def run() -> None:
        await asyncio.wait_for(client.connect_retrying(asyncio.Event()), 10)

    with pytest.raises(MqttRefused, match="refused user 'ana'"):
        asyncio.run(run())
    assert [a.refused for a in client.attempts] == [True]


def test_the_acl_keeps_a_user_from_reading_another_users_prefix(broker: MosquittoProcess,
                                                                 pki: Pki) -> None:
    """bob publishes N under bob/ then a barrier; ana, subscribed to bob/#, gets 0 of them."""
    async def run() -> tuple[dict[str, int], dict[str, int]]:
        snoop = Counting("shared/end")
        own = Counting("shared/end", last=N)
        ana = MqttClient(broker.url, "acl-ana", on_message=snoop, qos=1,
                         subscriptions=["bob/#", "shared/#"], security=_as(pki, "ana"))
        bob_sub = MqttClient(broker.url, "acl-bob-sub", on_message=own, qos=1,
                             subscriptions=["bob/#"], security=_as(pki, "bob"))
        bob = MqttClient(broker.url, "acl-bob", security=_as(pki, "bob"))
        for client in (ana, bob_sub):
            await client.connect()
            await client.subscribed()
        await bob.connect()
        for i in range(N):
            bob.publish(f"bob/data/{i % 5}", b"secret", qos=1)
        bob.publish("ana/data/0", b"forged", qos=1)  # bob may not write under ana/ either
        bob.publish("shared/end", b"", qos=1)
        await asyncio.wait_for(snoop.end.wait(), 20)  # after everything bob sent before it
        await asyncio.wait_for(own.end.wait(), 20)
        for client in (bob, bob_sub, ana):
            await client.disconnect()
        return snoop.got, own.got

    snooped, owned = asyncio.run(run())
    assert snooped == {}
    assert owned == {"bob": N}


def test_mutual_tls_refuses_a_client_without_a_certificate_and_accepts_one_with(
        mtls_broker: MosquittoProcess, pki: Pki, tmp_path: Path) -> None:
    bare = MqttClient(mtls_broker.url, security=_as(pki, "ana"))
    with pytest.raises(MqttRefused) as caught:
        asyncio.run(bare.connect())
    _assert_refused(caught.value, url=mtls_broker.url,
                    says="does it require a client certificate? none was given")
    stranger = make_pki(tmp_path, name="stranger")  # a certificate its CA did not sign
    foreign = MqttClient(mtls_broker.url, security=_as(pki, "ana", cert=stranger.client_cert,
                                                       key=stranger.client_key))
    with pytest.raises(MqttRefused, match="does it trust the client certificate"):
        asyncio.run(foreign.connect())

    async def round_trip() -> dict[str, int]:
        counting = Counting("ana/end")
        client = MqttClient(mtls_broker.url, "mtls", on_message=counting, qos=1,
                            subscriptions=["ana/#"],
                            security=_as(pki, "ana", cert=pki.client_cert, key=pki.client_key))
        await client.connect()
        await client.subscribed()
        for i in range(N):
            client.publish(f"ana/{i}", b"x", qos=1)
        client.publish("ana/end", b"", qos=1)
        await asyncio.wait_for(counting.end.wait(), 20)
        await client.disconnect()
        return counting.got

    assert asyncio.run(round_trip()) == {"ana": N}


def test_a_failover_list_mixes_mqtt_and_mqtts(broker: MosquittoProcess, pki: Pki,
                                              tmp_path: Path) -> None:
    down = MosquittoProcess(tmp_path)  # never started: plain mqtt://, nobody there
    client = MqttClient(f"{down.url},{broker.url}", security=_as(pki, "bob"))

    async def run() -> None:
        await client.connect()
        await client.disconnect()

    asyncio.run(run())
    assert [(a.url, a.error is None) for a in client.attempts] == [
        (down.url, False), (broker.url, True)]


def test_the_process_security_is_what_a_client_gets_by_default(broker: MosquittoProcess,
                                                               pki: Pki) -> None:
    previous = use_security(_as(pki, "bob"))
    try:
        client = MqttClient(broker.url)

        async def run() -> None:
            await client.connect()
            await client.disconnect()

        asyncio.run(run())
    finally:
        use_security(previous)
    assert client.attempts[-1].error is None
    assert MqttClient(broker.url).security == MqttSecurity()


# -- URLs, files and settings: no broker needed --------------------------------------------
def test_broker_urls_take_mqtts_its_default_port_and_a_login() -> None:
    assert parse_broker("mqtts://broker.example").port == 8883
    b = parse_broker("mqtts://edge%401:p%3Ass@broker.example")
    assert (b.host, b.port, b.tls, b.username, b.password) == (
        "broker.example", 8883, True, "edge@1", "p:ss")
    assert b.url == "mqtts://edge%401:***@broker.example"
    assert "p:ss" not in repr(b)
    plain = parse_broker("mqtt://broker.example")
    assert (plain.port, plain.tls, plain.username) == (1883, False, None)
    assert parse_broker_urls("mqtt://a, mqtts://u:secret@b") == [
        ("mqtt://a", "a", 1883), ("mqtts://u:***@b", "b", 8883)]
    with pytest.raises(ConnectorError) as caught:
        parse_broker("mqtts://u:secret@b:99999")
    assert "secret" not in str(caught.value)
    assert "'mqtts://u:***@b:99999': broker URL has a bad port" in str(caught.value)


def test_a_password_without_a_user_is_refused_before_connecting() -> None:
    with pytest.raises(ConnectorError, match="a password is set but no user name"):
        MqttClient("mqtts://b", security=MqttSecurity(password="x"))


def test_a_ca_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope-ca.pem"
    with pytest.raises(ConnectorError, match=f"^MQTT CA file {missing}: no such file"):
        MqttClient("mqtts://b", security=MqttSecurity(ca=missing))
    with pytest.raises(SettingsError, match=f"^ANDON_MQTT_CA={missing}: no such file "
                       r"\(setting mqtt_ca, flag --mqtt-ca\)$"):
        MqttSecurity.from_settings(environ={"ANDON_MQTT_CA": str(missing)})
    MqttClient("mqtt://b", security=MqttSecurity(ca=missing))  # plain: the CA is not used


def test_a_file_that_is_not_a_certificate_is_named(tmp_path: Path, pki: Pki) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(ConnectorError, match=f"^MQTT CA file {junk}: "):
        MqttClient("mqtts://b", security=MqttSecurity(ca=junk))
    with pytest.raises(ConnectorError, match=f"^MQTT client certificate {pki.client_cert} "
                       f"with key {pki.server_key}: key values mismatch"):
        MqttClient("mqtts://b", security=MqttSecurity(cert=pki.client_cert,
                                                      key=pki.server_key))


def test_the_settings_give_the_security_and_mask_the_password(pki: Pki) -> None:
    security = MqttSecurity.from_settings(environ={
        "ANDON_MQTT_CA": str(pki.ca), "ANDON_MQTT_USERNAME": "ana",
        "ANDON_MQTT_PASSWORD": "s3cret-mqtt"})
    assert security == MqttSecurity(ca=pki.ca, username="ana", password="s3cret-mqtt")
    assert "s3cret-mqtt" not in repr(security)
    given = MqttSecurity.from_settings({"mqtt_username": "bob"},
                                       environ={"ANDON_MQTT_USERNAME": "ana"})
    assert given.username == "bob"


# -- a whole command over TLS with logins ----------------------------------------------------
SIM_ACL = """\
pattern readwrite andon/_probe/%c
user sim
topic write andon/v1/acme/#
user reader
topic read andon/v1/acme/#
"""
SIM_PASSWORDS = {"sim": "sim-pw-4u2w", "reader": "reader-pw-8c0d"}


def test_andon_simulate_publishes_through_a_tls_broker_with_logins_and_acls(
        tmp_path: Path, pki: Pki) -> None:
    """``andon simulate`` as a process: CA from ANDON_MQTT_CA, user and password in the URL.

    What it reports as published (acknowledged, QoS 1) is what a reader received, counted up
    to a barrier sent after the process ended; the password shows nowhere in its output.
    """
    _need_binaries()
    andon = Path(sys.executable).parent / "andon"
    with secure_mosquitto(tmp_path / "broker", pki, users=SIM_PASSWORDS, acl=SIM_ACL) as b:
        password = SIM_PASSWORDS["sim"]
        url = b.url.replace("mqtts://", f"mqtts://sim:{password}@")
        end = "andon/v1/acme/_andon/test-end"

        async def run() -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
            counting = Counting(end)
            reader = MqttClient(b.url, "sim-reader", on_message=counting, qos=1,
                                subscriptions=["andon/v1/acme/#"], persistent=True,
                                security=MqttSecurity(ca=pki.ca, username="reader",
                                                      password=SIM_PASSWORDS["reader"]))
            await reader.connect()
            await reader.subscribed()
            done = await asyncio.to_thread(
                subprocess.run, [str(andon), "simulate", "--broker", url, "--speed", "0",
                                 "--qos", "1", "--line", "cooling-water", "--hours", "0.5",
                                 "--start", "2026-01-01T00:00"],
                capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
                env={**os.environ, "ANDON_MQTT_CA": str(pki.ca)})
            barrier = MqttClient(b.url.replace("mqtts://", "mqtts://sim@"),
                                 security=MqttSecurity(ca=pki.ca, password=password))
            await barrier.connect()
            barrier.publish(end, b"", qos=1)
            await asyncio.wait_for(counting.end.wait(), 30)
            await barrier.disconnect()
            await reader.disconnect()
            return done, counting.got

        done, got = asyncio.run(run())
    assert done.returncode == 0, done.stderr
    published = re.search(r"(\d+) samples published \(acknowledged by the broker, QoS 1\)",
                          done.stdout)
    assert published is not None, done.stdout
    assert int(published.group(1)) > 100
    assert got == {"andon": int(published.group(1))}
    assert f"onto {b.url.replace('mqtts://', 'mqtts://sim:***@')}" in " ".join(
        done.stdout.split())  # the console wraps its lines
    assert password not in done.stdout + done.stderr


def test_andon_simulate_refused_by_the_broker_says_so_in_one_line(tmp_path: Path,
                                                                   pki: Pki) -> None:
    _need_binaries()
    andon = Path(sys.executable).parent / "andon"
    with secure_mosquitto(tmp_path / "broker", pki, users=SIM_PASSWORDS, acl=SIM_ACL) as b:
        done = subprocess.run(  # noqa: S603 - our own CLI
            [str(andon), "--mqtt-ca", str(pki.ca), "simulate", "--broker",
             b.url.replace("mqtts://", "mqtts://sim@"), "--hours", "0.1"],
            capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
            env={**os.environ, "ANDON_MQTT_PASSWORD": "guess-1234"})
    assert done.returncode == 7
    assert done.stderr.strip() == (
        f"error: MQTT broker {b.url.replace('mqtts://', 'mqtts://sim@')}: refused user 'sim': "
        "not authorised (a wrong password, or a user it does not know or allow) (CONNACK 5)")
    assert "guess-1234" not in done.stdout + done.stderr
