"""Request bodies over the limit are refused with 413 before authentication, and never read.

An anonymous 150 MB body once raised the server's memory by 455 MB: FastAPI read it whole
before the route's authentication ran. ``BodyLimit`` answers first: a 413 (not a 401) for an
anonymous caller shows it ran before authentication, and the bytes it pulled show it stopped
reading at the limit.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from andon.api import create_app
from andon.api.limits import MAX_BODY_BYTES
from andon.api.routes import MAX_SPEC_BYTES
from andon.testing.services import serving

from .conftest import DEMO_SPEC_TEXT, TestClient

if TYPE_CHECKING:
    from fastapi import FastAPI

    from andon.clock import ManualClock
    from andon.spec import PlantSpec
    from andon.store import SqlStore

    from .conftest import Login

CHUNK = 64 * 1024


def chunks(total: int) -> Iterator[bytes]:
    """A body of ``total`` bytes as a stream (httpx sends it chunked, without a length)."""
    sent = 0
    while sent < total:
        size = min(CHUNK, total - sent)
        sent += size
        yield b"x" * size


def assert_one_line_413(response: Any) -> str:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert "\n" not in body["error"]
    assert f"the limit is {MAX_BODY_BYTES} bytes" in body["error"]
    return str(body["error"])


def test_the_spec_limit_fits_under_the_body_limit() -> None:
    assert MAX_SPEC_BYTES <= MAX_BODY_BYTES


@pytest.mark.parametrize("path", ["/api/tokens", "/login", "/api/no-such-route"])
def test_an_anonymous_oversized_body_is_413_not_401(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"x" * (MAX_BODY_BYTES + 1))
    reason = assert_one_line_413(response)
    assert f"it declares {MAX_BODY_BYTES + 1} bytes" in reason
    assert response.headers["x-frame-options"] == "DENY"  # the security headers still apply


def test_an_anonymous_chunked_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/api/tokens", content=chunks(4 * MAX_BODY_BYTES))
    assert "content-length" not in response.request.headers
    reason = assert_one_line_413(response)
    assert f"it streamed more than {MAX_BODY_BYTES} bytes" in reason


def test_bodies_within_the_limit_are_served_whole(client: TestClient,
                                                  logins: dict[str, Login]) -> None:
    admin = logins["admin"].headers
    issued = client.post("/api/tokens", json={"expires_in_s": 60}, headers=admin)
    assert issued.status_code == 201, issued.text
    # streamed, so the middleware held it and handed it on: the spec arrives intact
    text = DEMO_SPEC_TEXT.encode()
    pieces = (text[i:i + CHUNK] for i in range(0, len(text), CHUNK))
    saved = client.put("/api/spec", content=pieces,
                       headers={**admin, "content-type": "text/plain"})
    assert "content-length" not in saved.request.headers
    assert saved.status_code == 200, saved.text
    assert client.get("/api/spec", headers=admin).json()["text"] == DEMO_SPEC_TEXT


def test_the_limit_is_set_by_create_app(store: SqlStore, demo_spec: PlantSpec,
                                        clock: ManualClock) -> None:
    app = create_app(store, demo_spec, clock=clock, max_body_bytes=100)
    with TestClient(app) as client:
        assert client.post("/api/tokens", content=b"x" * 101).status_code == 413
        assert client.post("/api/tokens", content=chunks(101)).status_code == 413
        assert client.post("/api/tokens", content=b"x" * 100).status_code == 401  # read: auth


def test_a_stream_is_read_no_further_than_the_limit(app: FastAPI) -> None:
    """An endless anonymous stream: the middleware pulls at most the limit plus one chunk."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += CHUNK
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/api/tokens", "raw_path": b"/api/tokens",
             "query_string": b"", "root_path": "", "headers": [(b"host", b"andon")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"].startswith("request body too large")
    assert pulled <= MAX_BODY_BYTES + CHUNK


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(4096)
        if not part:
            break
        data += part
    return data


def test_a_real_server_refuses_150_mb_without_reading_it(app: FastAPI) -> None:
    """uvicorn on loopback: the answer comes after the headers alone, and the body never."""
    with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /api/tokens HTTP/1.1\r\nHost: andon\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: 157286400\r\n\r\n")
            answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_real_server_stops_reading_a_chunked_stream(app: FastAPI) -> None:
    """A chunked stream of up to 150 MB: answered 413, the connection closed long before."""
    sent = 0
    with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /api/tokens HTTP/1.1\r\nHost: andon\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
            try:
                # until the server answers (readable), or the 150 MB are sent
                while sent < 150 * 1024 * 1024 and not select.select([sock], [], [], 0)[0]:
                    sock.sendall(chunk)
                    sent += CHUNK
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed: what is tested
            answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    # what the kernel's socket buffers took besides the limit, far below the 150 MB offered
    assert sent < 32 * 1024 * 1024, sent
