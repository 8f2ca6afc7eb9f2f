"""Probes and throwaway resources on real local services (loopback only)."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator

__all__ = ["free_port", "need", "port_open", "postgres_database", "service_unavailable",
           "serving"]

POSTGRES_ADMIN_URL = os.environ.get(
    "ANDON_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test",
)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_unavailable(name: str, host: str, port: int) -> str | None:
    """A skip reason if the service does not answer, else None."""
    if port_open(host, port):
        return None
    return f"{name} is not reachable at {host}:{port}; start it (see README, 'Services for tests')"


def need(name: str, host: str, port: int) -> None:
    """Skip the calling test when a service is down (CI turns every skip into a failure)."""
    reason = service_unavailable(name, host, port)
    if reason is not None:
        import pytest  # noqa: PLC0415 - only test code calls this

        pytest.skip(reason)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """Create a fresh database on the local PostgreSQL, yield its URL, drop it afterwards."""
    import psycopg  # noqa: PLC0415 - optional at import time

    name = f"andon_t_{secrets.token_hex(6)}"
    admin = POSTGRES_ADMIN_URL
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def serving(app: object, *, startup_s: float = 20.0) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn on a free loopback port; yield its base URL.

    Started in a thread and awaited on ``Server.started`` (no sleep); stopped on exit.
    """
    import threading  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    from andon.testing.wait import eventually  # noqa: PLC0415

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                            lifespan="off", ws="none", http="h11", log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise AssertionError("uvicorn stopped before it started serving")
        return bool(server.started)

    eventually(started, "uvicorn to start serving", startup_s, every_s=0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=startup_s)
        if thread.is_alive():
            raise AssertionError("uvicorn did not shut down")
