"""A real SMTP server on loopback (aiosmtpd): logins, STARTTLS or TLS, answers from a script.

``SmtpServer`` runs aiosmtpd's threaded controller on a free loopback port and keeps every
message it accepted (its envelope and the parsed mail), every login tried, and the
``Message-ID`` of every DATA it saw, accepted or not. ``data_answers`` are the replies to give
to the next DATA commands before accepting (``"451 4.3.0 try again later"``).
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from andon.testing import free_port

if TYPE_CHECKING:
    from andon.testing.tls import Pki


@dataclass(frozen=True)
class Received:
    """One message the server accepted: the envelope and the mail as parsed."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class SmtpServer:
    """aiosmtpd on ``127.0.0.1:{port}``, started on enter, stopped on exit."""

    def __init__(self, *, users: dict[str, str] | None = None,
                 security: Literal["none", "starttls", "tls"] = "none",
                 pki: Pki | None = None, data_answers: list[str] | None = None) -> None:
        self.port = free_port()
        self.users = users or {}
        self.received: list[Received] = []
        self.logins: list[tuple[str, bool]] = []
        self.data_ids: list[str] = []  # Message-ID of every DATA, accepted or refused
        self.data_answers = list(data_answers or [])
        self._lock = threading.Lock()
        # aiosmtpd only knows of TLS it started itself (STARTTLS): under TLS from the start
        # (``ssl_context``) it would not offer AUTH unless told that plain is fine
        kwargs: dict[str, Any] = {"auth_require_tls": security == "starttls"}
        if self.users:
            kwargs["authenticator"] = self._authenticate
        context = None
        if security != "none":
            assert pki is not None, "TLS needs a PKI (andon.testing.tls.make_pki)"
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pki.server_cert, pki.server_key)
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port,
            ssl_context=context if security == "tls" else None, **kwargs)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def _authenticate(self, _server: SMTP, _session: Session, _envelope: Envelope,
                      _mechanism: str, data: Any) -> AuthResult:
        ok = False
        user = ""
        if isinstance(data, LoginPassword):
            user = data.login.decode()
            ok = self.users.get(user) == data.password.decode()
        with self._lock:
            self.logins.append((user, ok))
        # not handled: aiosmtpd answers a refusal itself (535 5.7.8)
        return AuthResult(success=ok, handled=ok)

    def answer_data(self, envelope: Envelope) -> str:
        """Record the DATA; the scripted answer, or accept (250) and keep the message."""
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.data_ids.append(str(message["Message-ID"]))
            if self.data_answers:
                return self.data_answers.pop(0)
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                          message))
        return "250 OK"


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: SMTP, _session: Session,  # noqa: N802 - aiosmtpd's
                          envelope: Envelope) -> str:
        return self.server.answer_data(envelope)
