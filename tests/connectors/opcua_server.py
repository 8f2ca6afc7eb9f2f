"""A real asyncua OPC UA server on a free loopback port, with history, to kill and restart;
and a TCP link in front of it that a test can cut and restore.

History goes to a SQLite file (asyncua's ``HistorySQLite``), so a restarted server still has
what it recorded before, like a real server with a historian. With a ``ServerSecurity`` the
server offers only the given secure endpoints, shows its own certificate, trusts only the
client certificates (or CAs) of its trust list folder and, with ``users``, only those logins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.common.node import Node
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.history_sql import HistorySQLite

from andon.testing import free_port, until
from andon.testing.opcua_certs import AppCertificate

NS_URI = "urn:andon:test"
# asyncua logs every refused or dropped connection loudly; these tests drop them on purpose
for _name in ("asyncua", "asyncua.server", "asyncua.client"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class ServerSecurity:
    """A secured server: its endpoints, its certificate, whom it trusts, who may log in."""

    certificate: AppCertificate  # the server's own (its URI becomes the application URI)
    trust_list: Path  # client certificates, or CAs, the server trusts
    policies: tuple[ua.SecurityPolicyType, ...] = (
        ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,)
    users: dict[str, str] = field(default_factory=dict)  # empty: anonymous sessions


class _Users:
    """asyncua user manager: these logins only."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(self, _iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        del certificate
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User)
        return None


class OpcUaTestServer:
    """Variables ``ns=2;i=1000+k`` (doubles, or strings), history on all but ``no_history`` ones.

    Numeric node ids: asyncua's SQLite history refuses string ids as table names.
    """

    def __init__(self, history_db: str, names: list[str], *, strings: tuple[str, ...] = (),
                 no_history: tuple[str, ...] = (),
                 security: ServerSecurity | None = None) -> None:
        self.port = free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/andon/"
        self.names = names
        self.strings = strings
        self.no_history = no_history
        self.history_db = history_db
        self.security = security
        self.server: Server | None = None
        self.vars: dict[str, Node] = {}
        self.ns = 2

    async def start(self, initial: float = 0.0) -> None:
        """Start with every double variable at ``initial`` (a restart restores the last)."""
        security = self.security
        server = Server(user_manager=_Users(security.users)  # type: ignore[arg-type]
                        if security is not None and security.users else None)
        server.iserver.history_manager.set_storage(HistorySQLite(self.history_db))
        await server.init()
        server.set_endpoint(self.url)
        if security is None:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        else:
            await self._secure(server, security)
        self.ns = await server.register_namespace(NS_URI)
        folder = await server.nodes.objects.add_object(ua.NodeId("plant", self.ns), "plant")
        for name in self.names:
            value: object = "text" if name in self.strings else initial
            var = await folder.add_variable(ua.NodeId(self._number(name), self.ns), name, value)
            await var.set_writable()
            self.vars[name] = var
        await server.start()
        self.server = server
        for name in self.names:
            if name not in self.no_history and name not in self.strings:
                await server.historize_node_data_change(self.vars[name], period=None, count=0)

    @staticmethod
    async def _secure(server: Server, security: ServerSecurity) -> None:
        cert = security.certificate
        fmt = cert.cert.suffix.lstrip(".")
        await server.load_certificate(str(cert.cert), format=fmt)
        await server.load_private_key(str(cert.key), format=cert.key.suffix.lstrip("."))
        await server.set_application_uri(cert.uri)
        server.set_security_policy(list(security.policies))
        if security.users:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        trust = TrustStore([security.trust_list], [])
        await trust.load()
        options = (CertificateValidatorOptions.TRUSTED_VALIDATION
                   | CertificateValidatorOptions.PEER_CLIENT)
        server.set_certificate_validator(CertificateValidator(options, trust))

    def _number(self, name: str) -> int:
        return 1000 + self.names.index(name) if name in self.names else 9999

    def node_id(self, name: str) -> str:
        """The node id string of a variable (of a missing one for an unknown name)."""
        return f"ns={self.ns};i={self._number(name)}"

    async def write(self, name: str, value: object, ts: datetime,
                    status: int = ua.StatusCodes.Good) -> None:
        """Write a value with a source timestamp and status code."""
        variant = ua.Variant(value, ua.VariantType.String if isinstance(value, str)
                             else ua.VariantType.Double)
        dv = ua.DataValue(variant, StatusCode=ua.StatusCode(status), SourceTimestamp=ts,
                          ServerTimestamp=ts)
        await self.vars[name].write_value(dv)

    async def history_has(self, name: str, times: list[datetime],
                          timeout_s: float = 10.0) -> None:
        """Wait until the server's historian has recorded values at ``times`` (it records
        asynchronously, through an internal subscription)."""
        recorded: set[datetime] = set()

        async def has_all() -> bool:
            history = await self.vars[name].read_raw_history(min(times), max(times))
            recorded.clear()
            recorded.update(dv.SourceTimestamp.replace(tzinfo=UTC) for dv in history
                            if dv.SourceTimestamp is not None)  # SQLite gives naive UTC
            return all(t in recorded for t in times)

        # polled: the historian has no event
        await until(has_all, f"the history of {name} to hold {times}", timeout_s, every_s=0.02,
                    state=lambda: sorted(recorded))

    async def stop(self) -> None:
        """Stop the server (its clients see the connection drop)."""
        server, self.server = self.server, None
        if server is not None:
            with contextlib.suppress(Exception):
                await server.stop()


class Link:
    """A TCP relay 127.0.0.1:port → target port that a test cuts (``down``) and restores.

    While down it does not listen (clients get connection refused) and every relayed
    connection is closed: a network outage between client and server.
    """

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    def url(self, path: str = "/andon/") -> str:
        """The OPC UA endpoint through this link."""
        return f"opc.tcp://127.0.0.1:{self.port}{path}"

    async def up(self) -> None:
        """Listen and relay."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def down(self) -> None:
        """Stop listening and close every relayed connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}
