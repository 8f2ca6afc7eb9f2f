"""The embedded MQTT broker (amqtt) for the demo and for machines without one.

It binds 127.0.0.1 only, on 1883 or the next free port (the machine may already run
Mosquitto there), and keeps no $SYS chatter. By default it lets in anonymous clients (the
demo's); given a password file it lets in only the users listed there, and given an ACL only
where the ACL grants (``broker_passwd``, ``broker_acl``: Mosquitto's formats; the amqtt
plug-ins are ``broker_plugins``). Both files are read and checked before it listens: a broken
one is a ``ConnectorError`` naming the file and line.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from typing import Any, Self

from andon.connectors.broker_acl import Acl
from andon.connectors.broker_passwd import PasswordFile
from andon.errors import ConnectorError

__all__ = ["EmbeddedBroker", "pick_port"]


def pick_port(first: int = 1883, tries: int = 50, host: str = "127.0.0.1") -> int:
    """The first port from ``first`` on that can be bound on ``host``."""
    for port in range(first, first + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in {first}..{first + tries - 1} on {host}")


class EmbeddedBroker:
    """An amqtt broker on loopback; ``async with EmbeddedBroker() as b: b.url``.

    ``password_file``: only its users get in (anonymous clients and wrong passwords are
    refused with CONNACK 5); ``acl_file``: each client publishes, subscribes and receives only
    where the ACL grants. An ACL needs a password file (without logins, any client could claim
    any user name). Both are read here, before anything listens.
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", *,
                 password_file: Path | None = None, acl_file: Path | None = None) -> None:
        if acl_file is not None and password_file is None:
            raise ConnectorError(f"ACL file {acl_file} needs a password file: without logins "
                                 "any client could claim any user name")
        self.logins = PasswordFile.read(password_file) if password_file is not None else None
        self.acl = Acl.read(acl_file) if acl_file is not None else None
        self.host = host
        self.port = port if port is not None else pick_port(host=host)
        self._broker: Any = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``."""
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start listening."""
        from amqtt.broker import Broker  # noqa: PLC0415 - heavy import, only when embedding

        plugins: dict[str, dict[str, Any]] = (
            {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
            if self.logins is None else
            {"andon.connectors.broker_plugins.PasswordFilePlugin": {"logins": self.logins}})
        if self.acl is not None:
            plugins["andon.connectors.broker_plugins.AclTopicPlugin"] = {"acl": self.acl}
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}",
                                      "max_connections": 64}},
            "plugins": plugins,
        }
        self._broker = Broker(config, loop=asyncio.get_running_loop())
        # amqtt leaves the stream of a finished session open, and those of clients still
        # connected at shutdown too; close them ourselves so no socket is left behind.
        accept = self._broker.stream_connected

        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          listener_name: str) -> None:
            self._writers.add(writer)
            try:
                await accept(reader, writer, listener_name=listener_name)
            finally:
                self._writers.discard(writer)
                if not writer.is_closing():  # the session is over; amqtt leaves it open
                    writer.close()

        self._broker.stream_connected = tracked
        await self._broker.start()

    async def stop(self) -> None:
        """Stop listening and close sessions."""
        if self._broker is not None:
            with contextlib.suppress(Exception):  # amqtt may raise on already-closed sessions
                await self._broker.shutdown()
            self._broker = None
        for writer in list(self._writers):
            writer.close()
            with contextlib.suppress(Exception):  # peer already gone
                await writer.wait_closed()
        self._writers.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
