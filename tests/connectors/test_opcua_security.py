"""OPC UA security: policies and modes, both trust lists, logins, and one line for each refusal.

Every story starts a real asyncua server on a free loopback port that offers only secure
endpoints, shows its own certificate and trusts only the client certificates (or CAs) of its
trust list folder. The certificates are made per module (``andon.testing.opcua_certs``).
A refusal must end ``run`` by itself (bounded by ``REFUSED_WITHIN_S``): no endless retry.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
from asyncua import ua
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from typer.testing import CliRunner

from andon.cli.app import app
from andon.clock import to_ms
from andon.connectors.base import CollectingSink
from andon.connectors.builtin import OpcUaOptions
from andon.connectors.opcua import OpcUaConnector
from andon.connectors.opcua_security import POLICIES, OpcUaRefused, OpcUaSecurity
from andon.errors import OptionError
from andon.namespace.tagmap import TagBinding, TagMap
from andon.namespace.topics import TagAddress
from andon.store import open_store
from andon.testing import until
from andon.testing.conformance.connectors import STOP_WITHIN_S, until_collected
from andon.testing.opcua_certs import AppCertificate, OpcUaCa, application_certificate, make_ca

from .opcua_server import Link, OpcUaTestServer, ServerSecurity

TEMP = TagAddress("acme", "porto", "press", "l1", "p-101", "bearing_temp")
P = ua.SecurityPolicyType
#: a refused connector stops by itself within this (one discovery, one connect attempt)
REFUSED_WITHIN_S = 20.0
PASSWORD = "c0rrect-h0rse-battery"


@dataclass(frozen=True)
class Pki:
    """The module's certificates; ``trust_*`` are the two sides' trust list folders."""

    server: AppCertificate  # self-signed: the client trusts it directly
    client: AppCertificate  # self-signed, in the server's trust list
    client_der: AppCertificate  # DER files, issued by the CA the server trusts
    stranger: AppCertificate  # a client certificate the server does not trust
    rogue: AppCertificate  # a server certificate the client does not trust
    ca: OpcUaCa
    server_trusts: Path
    client_trusts: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca = make_ca(root / "ca", "plant-ca")
    made = Pki(
        server=application_certificate(root, "plc-server", "urn:acme:porto:plc", role="server"),
        client=application_certificate(root, "andon", "urn:acme:porto:andon", role="client"),
        client_der=application_certificate(root, "andon-ca", "urn:acme:porto:andon-ca",
                                           role="client", ca=ca, der=True),
        stranger=application_certificate(root, "stranger", "urn:acme:stranger", role="client"),
        rogue=application_certificate(root, "rogue", "urn:acme:porto:plc", role="server"),
        ca=ca, server_trusts=root / "server-trusts", client_trusts=root / "client-trusts")
    made.client.write_to(made.server_trusts)
    (made.server_trusts / "plant-ca.pem").write_bytes(ca.cert.read_bytes())
    made.server.write_to(made.client_trusts)
    return made


def run(story: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(story(), 120))


def secured(tmp_path: Path, pki: Pki, *policies: ua.SecurityPolicyType,
            users: dict[str, str] | None = None,
            certificate: AppCertificate | None = None) -> OpcUaTestServer:
    return OpcUaTestServer(str(tmp_path / "h.db"), ["temp"], security=ServerSecurity(
        certificate or pki.server, pki.server_trusts,
        policies or (P.Basic256Sha256_SignAndEncrypt,), users or {}))


def security(pki: Pki, policy: str = "Basic256Sha256", mode: str = "SignAndEncrypt", *,
             client: AppCertificate | None = None, **more: object) -> OpcUaSecurity:
    cert = client or pki.client
    return OpcUaSecurity(policy, mode, cert.cert, cert.key,  # type: ignore[arg-type]
                         pki.client_trusts, **more)  # type: ignore[arg-type]


def connector(server: OpcUaTestServer, sec: OpcUaSecurity, url: str | None = None,
              **options: float) -> OpcUaConnector:
    tagmap = TagMap.of([TagBinding(server.node_id("temp"), TEMP, "degC")])
    return OpcUaConnector(url or server.url, tagmap, security=sec, **options)  # type: ignore[arg-type]


async def refused(server: OpcUaTestServer, client: OpcUaConnector) -> OpcUaRefused:
    """Run ``client`` against ``server`` and return the refusal that ends it by itself."""
    await server.start(initial=1.0)
    try:
        with pytest.raises(OpcUaRefused) as caught:
            await asyncio.wait_for(client.run(CollectingSink(), asyncio.Event()),
                                   REFUSED_WITHIN_S)
    finally:
        await server.stop()
    assert client.stats.connects == 0
    assert not client.ready.is_set()
    return caught.value


async def first_value(server: OpcUaTestServer, client: OpcUaConnector) -> float:
    """Run ``client`` against the started ``server`` until its first sample; stop both."""
    sink = CollectingSink()
    stop = asyncio.Event()
    task = asyncio.ensure_future(client.run(sink, stop))
    try:
        await until_collected(sink, lambda: len(sink.samples) >= 1, "the initial value")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await server.stop()
    return float(sink.samples[0].value)


# -- what secure connections deliver --------------------------------------------------------
#: (client policy, client mode, the server's only endpoint, client certificate DER + CA-issued)
CHANNELS = [
    ("Basic256Sha256", "SignAndEncrypt", P.Basic256Sha256_SignAndEncrypt, False),
    ("Basic256Sha256", "Sign", P.Basic256Sha256_Sign, True),
    ("Aes128_Sha256_RsaOaep", "SignAndEncrypt", P.Aes128Sha256RsaOaep_SignAndEncrypt, False),
    ("Aes256_Sha256_RsaPss", "Sign", P.Aes256Sha256RsaPss_Sign, True),
]


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: f"{c[0]}-{c[1]}")
def test_a_secure_channel_delivers_every_value_change_once(
        tmp_path: Path, pki: Pki, channel: tuple[str, str, ua.SecurityPolicyType, bool]) -> None:
    """N writes on the server = the initial value + N samples, in order, over a channel with
    only that policy and mode; the client's certificate is self-signed PEM (trusted itself by
    the server) or DER issued by the CA the server trusts."""
    policy, mode, server_policy, der_and_ca = channel
    writes = 25

    async def story() -> None:
        server = secured(tmp_path, pki, server_policy)
        await server.start(initial=1.0)
        client = connector(server, security(pki, policy, mode,
                                            client=pki.client_der if der_and_ca else None))
        sink = CollectingSink()
        stop = asyncio.Event()
        task = asyncio.ensure_future(client.run(sink, stop))
        try:
            await asyncio.wait_for(client.ready.wait(), 20)
            await until_collected(sink, lambda: len(sink.samples) >= 1, "the initial value")
            t = datetime.now(UTC)
            for k in range(writes):
                await server.write("temp", 10.0 + k, t + timedelta(milliseconds=k))
            await until_collected(sink, lambda: len(sink.samples) >= writes + 1, "every write")
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await server.stop()
        assert [s.value for s in sink.samples] == [1.0, *(10.0 + k for k in range(writes))]
        assert [s.ts_ms for s in sink.samples[1:]] == [to_ms(t) + k for k in range(writes)]
        assert client.stats.samples == writes + 1
        assert client.stats.connects == 1
        assert not sink.rejected

    run(story)


def test_reconnect_and_backfill_work_under_sign_and_encrypt(tmp_path: Path, pki: Pki) -> None:
    """The server is killed and restarted while the link is down; back on line, the client
    checks the server's certificate again, reads the gap from history and then live values:
    each exactly once."""
    async def story() -> None:
        server = secured(tmp_path, pki)
        await server.start(initial=20.0)
        link = Link(server.port)
        await link.up()
        client = connector(server, security(pki), link.url(), min_backoff_s=0.05,
                           max_backoff_s=0.2, watchdog_s=0.3)
        sink = CollectingSink()
        stop = asyncio.Event()
        task = asyncio.ensure_future(client.run(sink, stop))
        try:
            await asyncio.wait_for(client.ready.wait(), 20)
            await server.write("temp", 21.0, datetime.now(UTC))
            await until_collected(sink, lambda: any(s.value == 21.0 for s in sink.samples),
                                  "a live value")
            await link.down()
            await server.stop()
            await until_collected(sink, lambda: not client.ready.is_set(), "the loss noticed")
            await server.start(initial=21.0)
            gap = [datetime.now(UTC) + timedelta(milliseconds=k) for k in (10, 20, 30)]
            for k, when in enumerate(gap):
                await server.write("temp", 30.0 + k, when)
            await server.history_has("temp", gap)
            await link.up()
            await asyncio.wait_for(client.ready.wait(), 20)
            after = gap[-1] + timedelta(milliseconds=10)
            await server.write("temp", 40.0, after)
            await until_collected(sink, lambda: any(s.value == 40.0 for s in sink.samples),
                                  "the live value after the gap")
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await link.down()
            await server.stop()
        got = [(s.value, s.ts_ms) for s in sink.samples]
        gap_values = [(30.0 + k, to_ms(w)) for k, w in enumerate(gap)]
        assert [v for v in got if v in gap_values] == gap_values, "gap back-filled once"
        assert got[-1] == (40.0, to_ms(after))
        assert len(got) == len(set(got)), f"no duplicates: {got}"
        assert client.stats.connects == 2
        assert client.stats.backfilled >= len(gap)

    run(story)


def test_a_login_with_the_right_password_is_accepted(tmp_path: Path, pki: Pki) -> None:
    async def story() -> None:
        server = secured(tmp_path, pki, users={"ana": PASSWORD})
        await server.start(initial=3.5)
        client = connector(server, security(pki, username="ana", password=PASSWORD))
        assert await first_value(server, client) == 3.5

    run(story)


# -- refusals: one line each, and run ends by itself --------------------------------------
def test_the_server_refuses_a_client_certificate_it_does_not_trust(
        tmp_path: Path, pki: Pki) -> None:
    async def story() -> None:
        server = secured(tmp_path, pki)
        exc = await refused(server, connector(server, security(pki, client=pki.stranger)))
        line = str(exc)
        assert line.startswith(f"OPC UA server {server.url}: refused Andon's certificate "
                               f"{pki.stranger.cert} (")
        assert "CN=stranger" in line
        assert "BadCertificateUntrusted" in line
        assert "\n" not in line

    run(story)


def test_a_client_without_a_certificate_finds_no_endpoint_it_may_use(
        tmp_path: Path, pki: Pki) -> None:
    """Security policy None (no certificate) against a server with secure endpoints only."""
    async def story() -> None:
        server = secured(tmp_path, pki)
        exc = await refused(server, connector(server, OpcUaSecurity()))
        assert str(exc) == (
            f"OPC UA server {server.url}: offers no endpoint with security None (it offers: "
            "Basic256Sha256 SignAndEncrypt); choose one with --security-policy and "
            "--security-mode")

    run(story)


def test_a_policy_or_mode_the_server_does_not_offer_is_one_line(
        tmp_path: Path, pki: Pki) -> None:
    async def story() -> None:
        server = secured(tmp_path, pki, P.Basic256Sha256_Sign, P.Aes128Sha256RsaOaep_Sign)
        exc = await refused(server, connector(server, security(pki, "Basic256Sha256")))
        assert str(exc) == (
            f"OPC UA server {server.url}: offers no endpoint with security Basic256Sha256 "
            "SignAndEncrypt (it offers: Aes128_Sha256_RsaOaep Sign, Basic256Sha256 Sign); "
            "choose one with --security-policy and --security-mode")

    run(story)


def test_a_server_certificate_not_in_the_trust_list_is_refused(
        tmp_path: Path, pki: Pki) -> None:
    """The server shows a certificate (same application URI) the client's trust list lacks:
    refused before Andon sends its own certificate or any login."""
    async def story() -> None:
        server = secured(tmp_path, pki, certificate=pki.rogue)
        exc = await refused(server, connector(server, security(pki)))
        thumb = pki.rogue.certificate.fingerprint(_sha1()).hex().upper()
        assert str(exc) == (
            f"OPC UA server {server.url}: its certificate CN=rogue,O=Andon tests, SHA-1 "
            f"{thumb} is not in the trust list {pki.client_trusts} (nor issued by a CA "
            "certificate in it): copy the server's certificate there once you have checked "
            "its fingerprint with the plant")

    run(story)


def test_a_server_certificate_issued_by_a_trusted_ca_is_trusted(
        tmp_path: Path, pki: Pki) -> None:
    """The client's trust list holds only the CA; the server's certificate is issued by it."""
    async def story() -> None:
        issued = application_certificate(tmp_path / "certs", "plc-ca", "urn:acme:porto:plc",
                                         role="server", ca=pki.ca)
        trusts = tmp_path / "ca-only"
        trusts.mkdir()
        (trusts / "plant-ca.pem").write_bytes(pki.ca.cert.read_bytes())
        server = secured(tmp_path, pki, certificate=issued)
        await server.start(initial=7.0)
        sec = OpcUaSecurity("Basic256Sha256", "SignAndEncrypt", pki.client.cert, pki.client.key,
                            trusts)
        assert await first_value(server, connector(server, sec)) == 7.0

        other_ca = make_ca(tmp_path / "other", "other-ca")
        stranger_server = application_certificate(tmp_path / "certs", "plc-other",
                                                  "urn:acme:porto:plc", role="server",
                                                  ca=other_ca)
        server = secured(tmp_path, pki, certificate=stranger_server)
        exc = await refused(server, connector(server, sec))
        assert "is not in the trust list" in str(exc)

    run(story)


@pytest.mark.parametrize("policy", ["Basic256Sha256", "None"])
def test_a_wrong_password_is_one_line_and_the_password_is_shown_nowhere(
        tmp_path: Path, pki: Pki, policy: str, caplog: pytest.LogCaptureFixture) -> None:
    """Under None the user token travels unencrypted, and asyncua logs whole requests at
    DEBUG: the connector masks it in the client's log records."""
    wrong = "Wr0ng-s3cret-PASSWORD"

    async def story() -> None:
        server_policy = P.NoSecurity if policy == "None" else P.Basic256Sha256_SignAndEncrypt
        server = secured(tmp_path, pki, server_policy, users={"ana": PASSWORD})
        sec = (OpcUaSecurity(username="ana", password=wrong) if policy == "None"
               else security(pki, username="ana", password=wrong))
        client = connector(server, sec)
        with caplog.at_level(logging.DEBUG, logger="asyncua.client"), \
                caplog.at_level(logging.DEBUG, logger="asyncua.uaprotocol"), \
                caplog.at_level(logging.DEBUG, logger="andon"):
            exc = await refused(server, client)
        line = str(exc)
        assert line == (f"OPC UA server {server.url}: refused user 'ana' (BadUserAccessDenied): "
                        "a wrong user name or password, or a user it does not allow")
        client_records = [r for r in caplog.records if not r.name.startswith("asyncua.server")]
        assert any("ActivateSession" in r.getMessage() for r in client_records), \
            "the requests were logged (else this test proves nothing)"
        shown = [line, repr(exc), repr(sec), repr(client.security),
                 "".join(traceback.format_exception(exc)),
                 *(r.getMessage() for r in client_records)]
        assert [text for text in shown if wrong in text] == []

    run(story)


# -- files and options, checked before any connection -------------------------------------
def _sha1() -> hashes.HashAlgorithm:
    return hashes.SHA1()  # noqa: S303 - OPC UA's thumbprint


def _bad_files(pki: Pki, tmp: Path) -> list[tuple[OpcUaSecurity, str, str]]:
    garbage = tmp / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    encrypted = tmp / "encrypted.pem"
    key = serialization.load_pem_private_key(pki.client.key.read_bytes(), None)
    encrypted.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw")))
    no_uri = application_certificate(tmp, "no-uri", "urn:x", role="client")
    plain = tmp / "no-uri-plain.pem"  # the same key, a certificate without a URI name
    no_key = serialization.load_pem_private_key(no_uri.key.read_bytes(), None)
    builder = (x509.CertificateBuilder().subject_name(no_uri.certificate.subject)
               .issuer_name(no_uri.certificate.subject)
               .public_key(no_uri.certificate.public_key())
               .serial_number(1).not_valid_before(no_uri.certificate.not_valid_before_utc)
               .not_valid_after(no_uri.certificate.not_valid_after_utc))
    plain.write_bytes(builder.sign(no_key, hashes.SHA256())  # type: ignore[arg-type]
                      .public_bytes(serialization.Encoding.PEM))
    expired = application_certificate(tmp, "expired", "urn:x", role="client",
                                      valid_from=datetime.now(UTC) - timedelta(days=10),
                                      valid_days=1)
    empty = tmp / "empty-trust"
    empty.mkdir()
    c, k, t = pki.client.cert, pki.client.key, pki.client_trusts
    missing = tmp / "missing.pem"

    def sec(**changes: object) -> OpcUaSecurity:
        base: dict[str, object] = {"policy": "Basic256Sha256", "certificate": c,
                                   "private_key": k, "trust_list": t}
        return OpcUaSecurity(**(base | changes))  # type: ignore[arg-type]

    return [
        (sec(certificate=missing), "certificate", f"certificate {missing}: No such file"),
        (sec(certificate=garbage), "certificate",
         f"certificate {garbage}: not a PEM or DER X.509 certificate"),
        (sec(certificate=plain, private_key=no_uri.key), "certificate",
         f"certificate {plain} names no application URI"),
        (sec(certificate=expired.cert, private_key=expired.key), "certificate",
         f"certificate {expired.cert} is valid from"),
        (sec(private_key=missing), "private_key", f"private key {missing}: No such file"),
        (sec(private_key=garbage), "private_key",
         f"private key {garbage}: not a PEM or DER private key"),
        (sec(private_key=encrypted), "private_key", f"private key {encrypted} is encrypted"),
        (sec(private_key=pki.stranger.key), "private_key",
         f"private key {pki.stranger.key} does not match certificate {c}"),
        (sec(trust_list=missing), "trust_list", f"trust list {missing}: no such folder"),
        (sec(trust_list=empty), "trust_list", f"trust list {empty} holds no certificates"),
        (sec(trust_list=None), "trust_list", "security policy Basic256Sha256 needs"),
        (sec(certificate=None), "certificate", "security policy Basic256Sha256 needs"),
        (sec(policy="None"), "certificate", "security policy None signs and encrypts nothing"),
        (sec(policy="Basic128Rsa15"), "security_policy",
         "'Basic128Rsa15' is not a security policy Andon speaks"),
        (sec(mode="Encrypt"), "security_mode", "'Encrypt' is not a message security mode"),
        (sec(username="ana"), "password_env", "a user name and a password go together"),
    ]


def test_unusable_files_and_options_are_one_line_naming_the_option_and_file(
        tmp_path: Path, pki: Pki) -> None:
    """Checked when the connector is built, before any connection is tried."""
    tagmap = TagMap.of([TagBinding("ns=2;i=1000", TEMP, "degC")])
    for sec, option, start in _bad_files(pki, tmp_path):
        with pytest.raises(OptionError) as caught:
            OpcUaConnector("opc.tcp://127.0.0.1:4840", tagmap, security=sec)
        assert caught.value.option == option, (sec, str(caught.value))
        assert str(caught.value).startswith(start), str(caught.value)
        assert "\n" not in str(caught.value)


def test_the_option_model_offers_exactly_the_policies_the_connector_speaks() -> None:
    assert get_args(OpcUaOptions.model_fields["security_policy"].annotation) == POLICIES
    assert "Basic256Sha256" in POLICIES
    assert PASSWORD not in repr(OpcUaSecurity(username="ana", password=PASSWORD))


# -- andon connect opcua ---------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
ANDON = str(Path(sys.executable).parent / "andon")


def opcua_spec(tmp_path: Path, node_id: str) -> Path:
    """The demo plant, with site porto's P-301 flow read from OPC UA node ``node_id``."""
    text = (ROOT / "examples" / "demo-plant.yaml").read_text(encoding="utf-8")
    old = '{raw: "P301_FLOW", asset: p-301, tag: flow, unit: "m^3/h"}'
    assert old in text
    spec = tmp_path / "plant.yaml"
    spec.write_text(text.replace(old, f'{{raw: "{node_id}", asset: p-301, tag: flow, '
                                      'unit: "m^3/h"}'), encoding="utf-8")
    return spec


def test_connect_opcua_checks_its_security_options_before_connecting(tmp_path: Path,
                                                                     pki: Pki) -> None:
    spec = opcua_spec(tmp_path, "ns=2;i=1000")
    base = ["connect", "opcua", "opc.tcp://127.0.0.1:9/", "--site", "porto", "--spec",
            str(spec)]
    runner = CliRunner()
    cases = [
        (["--security-policy", "Basic256Sha256"], "--certificate",
         "security policy Basic256Sha256 needs --certificate"),
        (["--security-policy", "Basic256Sha256", "--certificate", str(pki.client.cert),
          "--private-key", str(pki.stranger.key), "--trust-list", str(pki.client_trusts)],
         "--private-key", "does not match certificate"),
        (["--username", "ana", "--password-env", "ANDON_TEST_UNSET_PASSWORD"],
         "--password-env", "environment variable ANDON_TEST_UNSET_PASSWORD is not set"),
        (["--security-policy", "Basic128Rsa15"], "--security-policy", "Basic128Rsa15"),
    ]
    for extra, option, says in cases:
        result = runner.invoke(app, [*base, *extra], env={"ANDON_TEST_UNSET_PASSWORD": ""})
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split()).replace("│", "").replace("  ", " ")
        assert option in text, text
        assert " ".join(says.split()) in " ".join(text.split()), text
    secret = runner.invoke(app, [*base[:2], "opc.tcp://ana:hunter2@127.0.0.1:9/", *base[3:]])
    assert secret.exit_code == 2
    assert "put no password in the endpoint" in " ".join(secret.output.split())


def test_connect_opcua_records_over_sign_and_encrypt_and_stops_on_an_untrusted_server(
        tmp_path: Path, pki: Pki) -> None:
    """The real command, with a login whose password comes from the environment: values are
    stored; the password is in none of its output. Against a server whose certificate is not
    in the trust list it stops by itself: one ``error:`` line, exit 7, no traceback."""
    db = f"sqlite:///{tmp_path / 'andon.db'}"

    def command(server: OpcUaTestServer, spec: Path) -> list[str]:
        return [ANDON, "connect", "opcua", server.url, "--site", "porto", "--spec", str(spec),
                "--db", db, "--models-dir", str(tmp_path / "models"),
                "--security-policy", "Basic256Sha256", "--security-mode", "SignAndEncrypt",
                "--certificate", str(pki.client_der.cert), "--private-key",
                str(pki.client_der.key), "--trust-list", str(pki.client_trusts),
                "--username", "ana", "--password-env", "PLC_PASSWORD"]

    env = {**os.environ, "PLC_PASSWORD": PASSWORD}

    async def story() -> None:
        server = secured(tmp_path, pki, users={"ana": PASSWORD})
        await server.start(initial=42.0)
        spec = opcua_spec(tmp_path, server.node_id("temp"))
        proc = subprocess.Popen(command(server, spec), env=env,  # noqa: ASYNC220, S603
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            def stored() -> bool:
                assert proc.poll() is None, "andon connect opcua ended early"
                with open_store(db) as store:
                    return any(s.value == 42.0 for s in store.samples(assets=["p-301"]))

            # the edge writes every 0.5 s
            await until(lambda: asyncio.to_thread(stored), "the initial value stored", 60,
                        every_s=0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.to_thread(proc.communicate, None, STOP_WITHIN_S * 4)
            await server.stop()
        text = " ".join(out.decode().split())  # rich wraps at the terminal width
        assert proc.returncode == 0, text
        assert (f"OPC UA client on {server.url}, Basic256Sha256 SignAndEncrypt as "
                "urn:acme:porto:andon-ca: 1 nodes") in text
        assert PASSWORD not in text

        rogue = secured(tmp_path, pki, certificate=pki.rogue)
        await rogue.start(initial=1.0)
        try:
            proc = subprocess.Popen(command(rogue, spec), env=env,  # noqa: ASYNC220, S603
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = await asyncio.to_thread(proc.communicate, None, REFUSED_WITHIN_S * 2)
        finally:
            await rogue.stop()
        lines = err.decode().strip().splitlines()
        assert proc.returncode == 7, err.decode()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: OPC UA server {rogue.url}: its certificate "
                                   "CN=rogue,O=Andon tests, SHA-1 ")
        assert f"is not in the trust list {pki.client_trusts}" in lines[0]
        assert PASSWORD not in out.decode() + err.decode()

    run(story)
