"""``andon serve`` over HTTPS with its own certificate, and behind a trusted TLS proxy.

Real processes on loopback ports, a throwaway CA; the client verifies the server's
certificate. A session cookie is ``Secure`` exactly when the browser's side is HTTPS.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from andon.store import open_store
from andon.testing import eventually
from andon.testing.factories import add_user
from andon.testing.services import free_port, port_open
from andon.testing.tls import make_pki

ANDON = str(Path(sys.executable).parent / "andon")
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
PASSWORD = "correct horse battery staple"
WIDE = {**os.environ, "COLUMNS": "1000"}  # an error line unwrapped, whatever the path


@contextmanager
def serving(tmp_path: Path, *extra: str) -> Iterator[int]:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    with open_store(db) as store:
        if store.get_user("ana") is None:
            add_user(store, "ana", access="operator", password=PASSWORD)
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [ANDON, "serve", "--spec", str(DEMO), "--db", db, "--port", str(port),
             "--models-dir", str(tmp_path / "models"), *extra],
            stdout=out, stderr=subprocess.STDOUT)
        try:
            eventually(lambda: proc.poll() is not None or port_open("127.0.0.1", port, 0.2),
                       "andon serve to listen", 60)
            assert proc.poll() is None, log.read_text()
            yield port
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    scheme = "https" if "--tls-cert" in extra else "http"
    assert f"inbox on {scheme}://127.0.0.1:{port}/inbox" in log.read_text()  # what it said


def sign_in(client: httpx.Client, base: str, **headers: str) -> httpx.Response:
    return client.post(f"{base}/login", data={"username": "ana", "password": PASSWORD},
                       headers=headers)


def test_https_with_its_own_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    with serving(tmp_path, "--tls-cert", str(pki.server_cert), "--tls-key",
                 str(pki.server_key)) as port:
        with httpx.Client(verify=ssl.create_default_context(cafile=pki.ca), timeout=10) as client:
            assert client.get(f"https://127.0.0.1:{port}/login").status_code == 200
            done = sign_in(client, f"https://127.0.0.1:{port}")
            assert done.status_code == 303
            cookie = done.headers["set-cookie"].lower()
            assert "secure" in cookie
            assert "httponly" in cookie
        with pytest.raises(httpx.TransportError):  # plain HTTP is not answered
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        other = make_pki(tmp_path / "other")  # a client trusting another CA refuses it
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://127.0.0.1:{port}/login",
                      verify=ssl.create_default_context(cafile=other.ca), timeout=5)


def test_cookies_are_secure_behind_a_trusted_proxy_only(tmp_path: Path) -> None:
    https = {"X-Forwarded-Proto": "https"}
    with serving(tmp_path, "--trusted-proxies", "127.0.0.1") as port:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=10) as client:
            assert "secure" in sign_in(client, base, **https).headers["set-cookie"].lower()
        with httpx.Client(timeout=10) as client:
            assert "secure" not in sign_in(client, base).headers["set-cookie"].lower()
    # no proxy trusted: the header is not believed
    with serving(tmp_path) as port, httpx.Client(timeout=10) as client:
        cookie = sign_in(client, f"http://127.0.0.1:{port}", **https).headers["set-cookie"]
        assert "secure" not in cookie.lower()


def test_a_key_that_does_not_match_is_one_line(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    done = subprocess.run(  # noqa: S603 - our own CLI
        [ANDON, "serve", "--spec", str(DEMO), "--db", f"sqlite:///{tmp_path / 'a.db'}",
         "--port", str(free_port()), "--tls-cert", str(pki.server_cert), "--tls-key",
         str(pki.client_key)], capture_output=True, text=True, timeout=60, check=False,
        env=WIDE)
    assert done.returncode == 2
    assert "cannot be used for HTTPS" in done.stderr
    assert str(pki.client_key) in done.stderr
    alone = subprocess.run(  # noqa: S603 - our own CLI
        [ANDON, "serve", "--spec", str(DEMO), "--tls-cert", str(pki.server_cert)],
        capture_output=True, text=True, timeout=60, check=False, env=WIDE)
    assert alone.returncode == 2
    assert "--tls-cert and --tls-key go together" in alone.stderr
