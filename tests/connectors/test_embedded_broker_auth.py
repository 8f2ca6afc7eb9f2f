"""The embedded broker with a password file and a topic ACL, end to end on loopback.

Each test starts the real embedded broker (amqtt with Andon's plug-ins) on a free loopback
port and talks to it through ``MqttClient``, as every Andon process does. Counts are exact:
what a user may not read or write reaches nobody, proven by a barrier message sent after it
on a topic the receiver may read, so a 0 is not a message still on its way. Refusals are
Andon's one line; passwords appear in no error, log or output. Waits are on events, bounded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from andon.connectors.broker import EmbeddedBroker
from andon.connectors.broker_passwd import PasswordFile, set_password
from andon.connectors.mqtt import MqttClient
from andon.connectors.mqtt_security import MqttRefused, MqttSecurity
from andon.errors import ConnectorError
from andon.testing import free_port, port_open
from andon.testing.tls import MOSQUITTO_PASSWD
from andon.testing.wait import until

PASSWORDS = {"ana": "ana-broker-pw-7f3k", "bob": "bob-broker-pw-91xq",
             "auditor": "auditor-pw-c4v8n2", "central": "central-pw-x8m2q7",
             "panel-1": "panel-one-pw-q2w9", "panel-2": "panel-two-pw-k5t3"}
FEEDBACK = "andon/v1/acme/_andon/feedback"
RESULT = "andon/v1/acme/_andon/feedback-result"
#: ana and bob each read and write their own prefix and may both use barrier/; the auditor
#: reads everything; a panel login writes only its own feedback topic and reads only its own
#: answers (what docs/brokers.md asks for MQTT panels); central answers them all
ACL = f"""\
# every Andon client needs its probe topic (MqttClient.subscribed)
pattern readwrite andon/_probe/%c
pattern write {FEEDBACK}/%u
pattern read {RESULT}/%u

user ana
topic readwrite ana/#
topic readwrite barrier/#
user bob
topic readwrite bob/#
topic readwrite barrier/#
user auditor
topic read #
user central
topic read {FEEDBACK}/+
topic write {RESULT}/+
"""
N = 150


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A password file (argon2id, written by ``set_password``) and the ACL above."""
    directory = tmp_path_factory.mktemp("broker-auth")
    passwd = directory / "passwd"
    for user, password in PASSWORDS.items():
        set_password(passwd, user, password)
    acl = directory / "acl"
    acl.write_text(ACL, encoding="utf-8")
    return passwd, acl


def _as(user: str | None, password: str | None = None) -> MqttSecurity:
    return MqttSecurity(username=user,
                        password=PASSWORDS.get(user or "") if password is None else password)


class Counting:
    """Counts messages per first topic level; ``end`` is set when the barrier arrives."""

    def __init__(self, barrier: str) -> None:
        self.got: dict[str, int] = {}
        self.barrier = barrier
        self.end = asyncio.Event()

    def __call__(self, topic: str, _payload: bytes) -> None:
        if topic == self.barrier:
            self.end.set()
        elif not topic.startswith("andon/_probe/"):  # the auditor sees every client's probe
            level = topic.split("/", maxsplit=1)[0]
            self.got[level] = self.got.get(level, 0) + 1


async def _connected(*clients: MqttClient) -> None:
    for client in clients:
        await client.connect()
        await client.subscribed()


async def _closed(*clients: MqttClient) -> None:
    for client in clients:
        await client.disconnect()


def test_a_listed_user_delivers_every_message_and_another_user_reads_none_of_them(
        files: tuple[Path, Path]) -> None:
    """ana publishes N on ana/; her subscriber gets N; bob, asking for ana/# and #, gets 0."""
    passwd, acl = files

    async def run() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        async with EmbeddedBroker(password_file=passwd, acl_file=acl) as b:
            own = Counting("barrier/bob")
            snoop = Counting("barrier/bob")
            audit = Counting("barrier/bob")
            ana_sub = MqttClient(b.url, "ana-sub", on_message=own, qos=1,
                                 subscriptions=["ana/#", "barrier/#"], security=_as("ana"))
            bob = MqttClient(b.url, "bob-snoop", on_message=snoop, qos=1,
                             subscriptions=["ana/#", "#", "+/data/+", "barrier/bob"],
                             security=_as("bob"))
            auditor = MqttClient(b.url, "auditor", on_message=audit, qos=1,
                                 subscriptions=["#"], security=_as("auditor"))
            ana = MqttClient(b.url, "ana-pub", security=_as("ana"))
            await _connected(ana_sub, bob, auditor)
            await ana.connect()
            for i in range(N):
                ana.publish(f"ana/data/{i % 5}", b"reading", qos=1)
            ana.publish("barrier/bob", b"", qos=1)  # after all of them, where bob may read
            for counter in (own, snoop, audit):
                await asyncio.wait_for(counter.end.wait(), 20)
            await _closed(ana, ana_sub, bob, auditor)
            return own.got, snoop.got, audit.got

    own, snooped, audited = asyncio.run(run())
    assert own == {"ana": N}
    assert audited == {"ana": N}  # the messages were there to be read
    assert snooped == {}


def test_a_publish_outside_the_acl_reaches_nobody(files: tuple[Path, Path]) -> None:
    """bob publishes N on ana/ (refused) then a barrier: ana and the auditor get 0 of them."""
    passwd, acl = files

    async def run() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        async with EmbeddedBroker(password_file=passwd, acl_file=acl) as b:
            ana_sees = Counting("barrier/ana")
            audit = Counting("barrier/ana")
            bob_sees = Counting("barrier/ana")
            ana_sub = MqttClient(b.url, "ana-sub", on_message=ana_sees, qos=1,
                                 subscriptions=["ana/#", "barrier/#"], security=_as("ana"))
            auditor = MqttClient(b.url, "auditor", on_message=audit, qos=1,
                                 subscriptions=["#"], security=_as("auditor"))
            bob_sub = MqttClient(b.url, "bob-sub", on_message=bob_sees, qos=1,
                                 subscriptions=["bob/#", "barrier/#"], security=_as("bob"))
            bob = MqttClient(b.url, "bob-forger", security=_as("bob"))
            await _connected(ana_sub, auditor, bob_sub)
            await bob.connect()
            for i in range(N):
                bob.publish(f"ana/data/{i % 5}", b"forged", qos=1)
                bob.publish(f"elsewhere/{i % 5}", b"forged", qos=0)
            bob.publish("bob/data/0", b"allowed", qos=1)  # his own prefix still works
            bob.publish("barrier/ana", b"", qos=1)
            for counter in (ana_sees, audit, bob_sees):
                await asyncio.wait_for(counter.end.wait(), 20)
            await _closed(bob, ana_sub, auditor, bob_sub)
            return ana_sees.got, audit.got, bob_sees.got

    ana_got, audited, bob_got = asyncio.run(run())
    assert ana_got == {}
    assert audited == {"bob": 1}  # only the one bob may write
    assert bob_got == {"bob": 1}


def test_a_panel_login_writes_only_its_own_feedback_topic_and_reads_only_its_answers(
        files: tuple[Path, Path]) -> None:
    """panel-1 answers N times on its topic and N times on panel-2's: central gets its N."""
    passwd, acl = files

    async def run() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        got: dict[str, int] = {}
        end = asyncio.Event()

        def listen(topic: str, payload: bytes) -> None:
            sender = topic.rsplit("/", maxsplit=1)[1]
            got[sender] = got.get(sender, 0) + 1
            if payload == b"end":
                end.set()

        async with EmbeddedBroker(password_file=passwd, acl_file=acl) as b:
            central = MqttClient(b.url, "central", on_message=listen, qos=1,
                                 subscriptions=[f"{FEEDBACK}/+"], security=_as("central"))
            mine = Counting(f"{RESULT}/panel-1")
            theirs = Counting(f"{RESULT}/panel-1")
            panel_1 = MqttClient(b.url, "panel-1", on_message=mine, qos=1,
                                 subscriptions=[f"{RESULT}/panel-1"], security=_as("panel-1"))
            snoop = MqttClient(b.url, "panel-1-snoop", on_message=theirs, qos=1,
                               subscriptions=[f"{RESULT}/+", f"{RESULT}/panel-2",
                                              f"{RESULT}/panel-1"],
                               security=_as("panel-1"))
            await _connected(central, panel_1, snoop)
            for _ in range(N):
                panel_1.publish(f"{FEEDBACK}/panel-2", b"forged", qos=1)
                panel_1.publish(f"{FEEDBACK}/panel-1", b"answer", qos=1)
            panel_1.publish(f"{FEEDBACK}/panel-1", b"end", qos=1)
            await asyncio.wait_for(end.wait(), 20)
            for _ in range(N):  # central answers both panels; panel-1 reads its own only
                central.publish(f"{RESULT}/panel-2", b"{}", qos=1)
            central.publish(f"{RESULT}/panel-1", b"{}", qos=1)
            await asyncio.wait_for(mine.end.wait(), 20)
            await asyncio.wait_for(theirs.end.wait(), 20)
            await _closed(central, panel_1, snoop)
            return got, mine.got, theirs.got

    listened, answers, snooped = asyncio.run(run())
    assert listened == {"panel-1": N + 1}
    assert answers == {}  # nothing but its own answer (the barrier) reached panel-1
    assert snooped == {}


def _assert_refused(exc: BaseException, *, url: str, says: str) -> None:
    line = str(exc)
    assert "\n" not in line
    assert line.startswith(f"MQTT broker {url}: "), line
    assert says in line, line


def test_anonymous_clients_and_wrong_or_unknown_logins_are_refused_in_one_line(
        files: tuple[Path, Path]) -> None:
    passwd, acl = files

    async def refusal(broker: EmbeddedBroker, security: MqttSecurity) -> MqttRefused:
        with pytest.raises(MqttRefused) as caught:
            await MqttClient(broker.url, security=security).connect()
        return caught.value

    async def run() -> list[MqttRefused]:
        async with EmbeddedBroker(password_file=passwd, acl_file=acl) as b:
            return [await refusal(b, MqttSecurity()),
                    await refusal(b, _as("ana", "not-anas-password")),
                    await refusal(b, _as("mallory", "any-password-at-all")),
                    await refusal(b, _as("ana", PASSWORDS["bob"]))]

    anonymous, wrong, unknown, anothers = asyncio.run(run())
    url = anonymous.url
    _assert_refused(anonymous, url=url, says="refused an anonymous client (no user name): not "
                    "authorised (a wrong password, or a user it does not know or allow) "
                    "(CONNACK 5)")
    _assert_refused(wrong, url=url, says="refused user 'ana': not authorised")
    _assert_refused(unknown, url=url, says="refused user 'mallory': not authorised")
    _assert_refused(anothers, url=url, says="refused user 'ana': not authorised")


def test_no_password_shows_in_any_log_error_or_output(
        files: tuple[Path, Path], caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A good login, a wrong one and a publish, with every logger (amqtt's too) at DEBUG."""
    passwd, acl = files
    wrong = "wr0ng-broker-pa55-zz9"
    caplog.set_level(logging.DEBUG)

    async def run() -> str:
        async with EmbeddedBroker(password_file=passwd, acl_file=acl) as b:
            seen = Counting("ana/end")
            good = MqttClient(b.url.replace("mqtt://", f"mqtt://ana:{PASSWORDS['ana']}@"),
                              "ana-logged", on_message=seen, subscriptions=["ana/#"])
            await _connected(good)
            good.publish("ana/end", b"", qos=1)
            await asyncio.wait_for(seen.end.wait(), 20)
            bad = MqttClient(b.url.replace("mqtt://", f"mqtt://ana:{wrong}@"))
            with pytest.raises(MqttRefused) as caught:
                await bad.connect()
            await good.disconnect()
            return (str(caught.value) + repr(caught.value) + repr(good.brokers)
                    + repr(bad.brokers) + good.url + bad.url)

    with capture_logs() as logs:
        shown = asyncio.run(run())
    everything = shown + caplog.text + str(logs) + "".join(capsys.readouterr())
    assert "broker_login_refused" in str(logs)  # the refusal is logged, with its user
    assert "ana" in str(logs)
    for password in (wrong, PASSWORDS["ana"]):
        assert password not in everything
    hashes = PasswordFile.read(passwd).hashes.values()
    assert not any(h in everything for h in hashes)


def test_a_password_file_written_by_mosquitto_passwd_is_read_as_it_is(tmp_path: Path) -> None:
    """Mosquitto 2's ``$7$`` (PBKDF2-SHA512) entries log in; a wrong password is refused."""
    if not Path(MOSQUITTO_PASSWD).is_file():
        pytest.skip(f"no {MOSQUITTO_PASSWD} (apt-get install mosquitto)")
    passwd = tmp_path / "mosquitto.passwd"
    passwd.write_text("", encoding="utf-8")
    subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwd), "gateway", "gw-pw-3k9x7q"],  # noqa: S603
                   check=True, capture_output=True, timeout=30)
    assert passwd.read_text(encoding="utf-8").startswith("gateway:$7$")

    async def run() -> MqttRefused:
        async with EmbeddedBroker(password_file=passwd) as b:
            got = Counting("gw/end")
            ok = MqttClient(b.url, "gw", on_message=got, subscriptions=["gw/#"],
                            security=MqttSecurity(username="gateway", password="gw-pw-3k9x7q"))
            await _connected(ok)
            ok.publish("gw/end", b"", qos=1)
            await asyncio.wait_for(got.end.wait(), 20)
            await ok.disconnect()
            with pytest.raises(MqttRefused) as caught:
                await MqttClient(b.url, security=MqttSecurity(
                    username="gateway", password="gw-pw-3k9x7Q")).connect()
            return caught.value

    refused = asyncio.run(run())
    _assert_refused(refused, url=refused.url, says="refused user 'gateway': not authorised")


def test_without_files_the_broker_stays_anonymous_as_the_demo_needs() -> None:
    """``EmbeddedBroker()`` (``andon demo``'s, ``andon broker``'s default) lets anyone in."""
    async def run() -> None:
        async with EmbeddedBroker() as b:
            got = Counting("any/end")
            anonymous = MqttClient(b.url, "anon", on_message=got, subscriptions=["#"],
                                   security=MqttSecurity())
            await _connected(anonymous)
            anonymous.publish("any/end", b"", qos=1)
            await asyncio.wait_for(got.end.wait(), 20)
            await anonymous.disconnect()

    asyncio.run(run())


def test_an_acl_without_a_password_file_is_refused(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text("user ana\ntopic read a/#\n", encoding="utf-8")
    with pytest.raises(ConnectorError, match=f"ACL file {acl} needs a password file"):
        EmbeddedBroker(acl_file=acl)


# -- the command line ---------------------------------------------------------------------
def _andon(*args: str, env: dict[str, str] | None = None,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {"COLUMNS": "200", "NO_COLOR": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", *args], capture_output=True, text=True, timeout=120,
        env={**base, **(env or {})}, input=stdin, check=False)


BROKEN_PASSWD = [
    ("ana-no-colon\n", 1, "expected user:hash (one login a line)"),
    ("# users\n\nana:plaintext-password\n", 3, "user 'ana': not a password hash this broker"),
    ("ana:$6$c2FsdA==$aGFzaA==\n", 1, "a Mosquitto 1 $6$ hash (a single SHA-512) is too weak"),
    ("ana:$7$101$bad salt$aGFzaA==\n", 1, "a malformed $7$ (mosquitto_passwd) hash"),
    ("ana:$argon2id$v=19$m=19456,t=2,p=1$broken\n", 1, "a malformed argon2id hash"),
]
BROKEN_ACL = [
    ("user ana\ntopic read a/#/b\n", 2, "'a/#/b': '#' must be a whole level, the last one"),
    ("user ana\ntopic write a/b+\n", 2, "'a/b+': '+' must be a whole level"),
    ("# deny\nuser ana\ntopic deny a/#\n", 3, "'deny' is not supported by the embedded broker"),
    ("user ana\ntopic read\n", 2, "'topic' needs a topic filter"),
    ("user\n", 1, "'user' needs a user name"),
    ("user ana\ntopic read a/%u\n", 2, "%u and %c are replaced in 'pattern' lines only"),
    ("allow ana\n", 1, "unknown directive 'allow' (expected user, topic or pattern)"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BROKEN_PASSWD,
                         ids=[r for _, _, r in BROKEN_PASSWD])
def test_a_broken_password_file_stops_andon_broker_in_one_line_naming_file_and_line(
        tmp_path: Path, text: str, line: int, reason: str) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text(text, encoding="utf-8")
    out = _andon("broker", "--port", str(free_port()), "--password-file", str(passwd))
    assert out.returncode == 3, out.stderr
    assert out.stderr.splitlines() == [out.stderr.strip()], out.stderr
    assert out.stderr.startswith(f"error: {passwd}:{line}: "), out.stderr
    assert reason in out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert "aGFzaA" not in out.stderr
    assert "plaintext-password" not in out.stderr


@pytest.mark.parametrize(("text", "line", "reason"), BROKEN_ACL, ids=[r for _, _, r in BROKEN_ACL])
def test_a_broken_acl_stops_andon_broker_in_one_line_naming_file_and_line(
        tmp_path: Path, files: tuple[Path, Path], text: str, line: int, reason: str) -> None:
    acl = tmp_path / "acl"
    acl.write_text(text, encoding="utf-8")
    out = _andon("broker", "--port", str(free_port()), "--password-file", str(files[0]),
                 env={"ANDON_BROKER_ACL_FILE": str(acl)})
    assert out.returncode == 3, out.stderr
    assert out.stderr.startswith(f"error: {acl}:{line}: {reason}"), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stdout + out.stderr


def test_missing_files_and_an_acl_alone_are_refused_before_starting(tmp_path: Path,
                                                                    files: tuple[Path, Path]
                                                                    ) -> None:
    out = _andon("broker", "--password-file", str(tmp_path / "nope"))
    assert out.returncode == 2
    assert out.stderr.strip() == (f"error: --password-file {tmp_path / 'nope'}: no such file "
                                  "(setting broker_password_file, env "
                                  "ANDON_BROKER_PASSWORD_FILE)")
    out = _andon("broker", "--port", str(free_port()), "--acl-file", str(files[1]))
    assert out.returncode == 3
    assert out.stderr.strip() == (f"error: ACL file {files[1]} needs a password file: without "
                                  "logins any client could claim any user name")


def test_andon_broker_passwd_adds_and_changes_logins_the_broker_then_accepts(
        tmp_path: Path) -> None:
    """``andon broker-passwd`` (password from the variable, or typed twice) → argon2id lines."""
    passwd = tmp_path / "broker" / "passwd"
    passwd.parent.mkdir()
    first = _andon("broker-passwd", str(passwd), "edge-1",
                   env={"ANDON_BROKER_NEW_PASSWORD": "edge-one-pw-4r7t"})
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"added user edge-1 to {passwd}"
    typed = _andon("broker-passwd", str(passwd), "panel-1",
                   stdin="panel-one-pw-8u2i\npanel-one-pw-8u2i\n")
    assert typed.returncode == 0, typed.stderr
    again = _andon("broker-passwd", str(passwd), "edge-1",
                   env={"ANDON_BROKER_NEW_PASSWORD": "edge-one-new-pw-6y1o"})
    assert again.stdout.strip() == f"set the password of user edge-1 in {passwd}"
    lines = passwd.read_text(encoding="utf-8").splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["edge-1", "panel-1"]
    assert all(line.split(":", 1)[1].startswith("$argon2id$") for line in lines)
    assert passwd.stat().st_mode & 0o777 == 0o600
    for out in (first, typed, again):
        assert "pw-" not in out.stdout + out.stderr

    async def run() -> list[str]:
        async with EmbeddedBroker(password_file=passwd) as b:
            for user, password in (("edge-1", "edge-one-new-pw-6y1o"),
                                   ("panel-1", "panel-one-pw-8u2i")):
                client = MqttClient(b.url, security=MqttSecurity(username=user,
                                                                 password=password))
                await client.connect()
                await client.disconnect()
            with pytest.raises(MqttRefused) as caught:  # the old password no longer works
                await MqttClient(b.url, security=MqttSecurity(
                    username="edge-1", password="edge-one-pw-4r7t")).connect()
            return [str(caught.value)]

    (refused,) = asyncio.run(run())
    assert "refused user 'edge-1'" in refused


def test_andon_broker_passwd_refuses_weak_passwords_and_bad_names(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    weak = _andon("broker-passwd", str(passwd), "ana",
                  env={"ANDON_BROKER_NEW_PASSWORD": "short"})
    assert weak.returncode == 3
    assert weak.stderr.strip() == ("error: password for 'ana' refused: shorter than 12 "
                                   "characters")
    assert not passwd.exists()
    bad_name = _andon("broker-passwd", str(passwd), "a/b",
                      env={"ANDON_BROKER_NEW_PASSWORD": "long-enough-pw-9z8x"})
    assert bad_name.returncode == 2
    assert "a user name cannot contain" in bad_name.stderr
    passwd.write_text("broken line\n", encoding="utf-8")
    broken = _andon("broker-passwd", str(passwd), "ana",
                    env={"ANDON_BROKER_NEW_PASSWORD": "long-enough-pw-9z8x"})
    assert broken.returncode == 3
    assert broken.stderr.strip() == (f"error: {passwd}:1: expected user:hash (one login a "
                                      "line)")
    assert passwd.read_text(encoding="utf-8") == "broken line\n"  # left as it was


def test_andon_broker_with_both_files_as_a_process(tmp_path: Path,
                                                   files: tuple[Path, Path]) -> None:
    """The command, its settings from the environment: logins and the ACL apply; Ctrl-C stops."""
    passwd, acl = files
    port = free_port()
    env = {"COLUMNS": "200", "NO_COLOR": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "ANDON_BROKER_PASSWORD_FILE": str(passwd), "ANDON_BROKER_ACL_FILE": str(acl)}
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", "broker", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        async def run() -> tuple[dict[str, int], str]:
            await until(lambda: port_open("127.0.0.1", port) or proc.poll() is not None,
                        "andon broker listening", timeout_s=30)
            assert proc.poll() is None
            got = Counting("barrier/bob")
            bob = MqttClient(f"mqtt://127.0.0.1:{port}", "bob-cli", on_message=got,
                             subscriptions=["ana/#", "barrier/bob"], security=_as("bob"))
            ana = MqttClient(f"mqtt://127.0.0.1:{port}", "ana-cli", security=_as("ana"))
            await _connected(bob, ana)
            for i in range(N):
                ana.publish(f"ana/data/{i}", b"x", qos=1)
            ana.publish("barrier/bob", b"", qos=1)
            await asyncio.wait_for(got.end.wait(), 20)
            with pytest.raises(MqttRefused) as caught:
                await MqttClient(f"mqtt://127.0.0.1:{port}", security=MqttSecurity()).connect()
            await _closed(bob, ana)
            return got.got, str(caught.value)

        got, refused = asyncio.run(run())
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert got == {}
    assert "refused an anonymous client" in refused
    assert proc.returncode == 0, err
    assert f"embedded broker listening on mqtt://127.0.0.1:{port}" in out
    assert f"logins: {len(PASSWORDS)} user(s) from {passwd}; anonymous clients refused" in out
    assert f"topic ACL: {acl}" in out
