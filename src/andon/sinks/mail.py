"""E-mail sink: an intervention, and each escalation of it, mailed to the people who own it.

A mail is sent when an intervention waits for somebody: when it is raised (``new``, level 0)
and at each escalation (``escalated``, level 1, 2, ...). It goes to the addresses of the role
that owns it *now* (``to:`` per role: after an escalation, the next role of the chain), or to
one list (``to:`` a list). Other versions of the document (acknowledged, closed, new evidence)
send nothing: the sink records them as delivered without a mail. A role with no address in
``to:`` gets no mail from this sink (as a use case not in ``use_cases:``).

The mail says what to do, where, by when, who owns it and why (the wire form's action, place,
deadline, owner role and the top features' sentences, ``andon.interventions.wire``), with the
whole wire form attached as JSON. Its ``Message-ID`` is the same for every try of one notice
(``<andon.{hash of the dedup key}.{level}@{the sender's domain}>``): a receiver can drop a
duplicate, and escalation notices thread under the first mail (``In-Reply-To``). The sink's
external id is the last notice's ``Message-ID``, so a restart never mails a notice twice.

Sending: ``smtplib`` on a worker thread, one connection per mail: ``security: starttls``
(default, port 587: plain connection upgraded with STARTTLS), ``tls`` (TLS from the start, port
465) or ``none`` (port 25, only for a relay on this machine: a password is never sent in clear
text). The server's certificate is verified against the system's CA store, or ``ca_file``.
Retries, as the webhook's: a connection error, a timeout, a dropped connection and a 4xx reply
are tried again, up to ``max_attempts``, waiting ``min(30 s, 0.5 s · 2^(n-1))`` x [0.5, 1); a
refused login, a 5xx reply or a TLS failure end the delivery at once (failed: the dispatcher
tries again later, every attempt recorded in ``deliveries``). Errors are one line naming the
server; the password (from the environment variable ``password_env`` or the file
``password_file``, never the spec) is never in a message, a log or ``repr``.

Spec::

    - type: email
      id: maintenance
      host: smtp.plant.example
      username: andon@plant.example
      password_env: ANDON_SMTP_PASSWORD
      from: Andon <andon@plant.example>
      to:
        maintenance_planner: [chris@plant.example, eli@plant.example]
        reliability_engineer: [dana@plant.example]
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import re
import smtplib
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from andon.clock import Clock, SystemClock
from andon.errors import SinkError
from andon.interventions.escalation import CHAIN_EXHAUSTED
from andon.interventions.lifecycle import InterventionState
from andon.sinks.base import (
    Attempt,
    DeliveryResult,
    Outgoing,
    canonical_json,
    document_dedup_key,
    document_failure,
    document_state,
)
from andon.sinks.plugin import SinkContext, SinkPlugin, env_name, seconds
from andon.sinks.webhook import Backoff
from andon.text import eng, one_line

__all__ = ["PLUGIN", "EmailConfig", "EmailSink", "Notice", "compose", "notice_of", "told_level"]

Sleep = Callable[[float], Awaitable[None]]
Security = Literal["starttls", "tls", "none"]

#: the port of each kind of connection, unless the spec names one
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}
#: states in which an intervention waits for somebody to acknowledge it
_WAITING = frozenset({InterventionState.NEW, InterventionState.ESCALATED})
_ROLE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_TOLD = re.compile(r"^<andon\.[0-9a-f]+\.(\d+)@")
_SUBJECT_MAX = 200
_TRANSIENT = range(400, 500)


# -- what is told, and to whom ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Notice:
    """One thing worth a mail: an intervention raised (level 0) or escalated (level n)."""

    level: int  # the escalation level the document is at
    role: str  # the role that owns it now: who is told
    reason: str  # the escalation's reason ("" when raised)

    @property
    def escalated(self) -> bool:
        """Whether this is an escalation notice."""
        return self.level > 0


def notice_of(document: Mapping[str, Any]) -> Notice | None:
    """The notice a document version calls for, or None (nobody needs to be told anything).

    >>> from andon.interventions.wire import intervention_document
    >>> from andon.testing.factories import make_intervention
    >>> notice_of(intervention_document(make_intervention()))
    Notice(level=0, role='maintenance_planner', reason='')
    """
    if document_state(document) not in _WAITING:
        return None
    lifecycle = document["lifecycle"]
    level = int(lifecycle.get("escalation_level", 0))
    reason = ""
    if level:
        moves = [m for m in lifecycle.get("history", [])
                 if m.get("to_state") == InterventionState.ESCALATED.value]
        reason = str(moves[-1].get("reason", "")) if moves else ""
    return Notice(level, str(document["action"]["owner_role"]), reason)


def told_level(external_id: str | None) -> int | None:
    """The level of the last notice mailed, from its ``Message-ID`` (the sink's external id)."""
    found = _TOLD.match(external_id or "")
    return None if found is None else int(found.group(1))


def message_id(document: Mapping[str, Any], level: int, sender: str) -> str:
    """The ``Message-ID`` of one notice: the same on every try, and after a restart."""
    key = hashlib.sha256(document_dedup_key(document).encode()).hexdigest()[:24]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "andon.invalid"
    return f"<andon.{key}.{level}@{domain}>"


# -- the mail -----------------------------------------------------------------------------
def compose(document: Mapping[str, Any], notice: Notice, *, sender: str,
            recipients: Sequence[str], now: datetime) -> EmailMessage:
    """The mail for ``notice``: headers, the text (what, where, by when, who, why), the JSON."""
    where, action, evidence = document["where"], document["action"], document["evidence"]
    priority = str(action["priority"])
    headline = f"{where['asset_name']}: {action['text']}"
    if not notice.escalated:
        subject = f"[Andon] {priority.upper()}: {headline}"
    elif notice.reason.startswith(CHAIN_EXHAUSTED):
        subject = f"[Andon] Still not acknowledged ({priority}): {headline}"
    else:
        subject = f"[Andon] Escalated to {notice.role} ({priority}): {headline}"
    place = " / ".join(str(where[k]) for k in ("enterprise", "site", "area", "line"))
    deadline = _when(action["deadline"])
    label = str(action.get("deadline_label", ""))
    lines = [
        headline,
        "",
        f"What:      {action['text']}",
        f"Where:     {where['asset_name']} ({where['asset']}), {place}",
        f"By when:   {deadline}" + (f" ({label})" if label else ""),
        f"Failure:   {document_failure(document, _when)}",
        f"Owner:     {notice.role} (priority {priority})",
    ]
    if notice.escalated:
        lines.append(f"Escalated: {notice.reason or f'level {notice.level}'}")
    why = [str(w.get("text") or w.get("feature", "")) for w in evidence.get("why", [])]
    if why:
        lines += ["", "Why:", *(f"  - {w}" for w in why)]
    lines += [
        "",
        (f"Evidence:  model {evidence['model']} v{evidence['model_version']}, score "
         f"{eng(float(evidence['score']))} against threshold "
         f"{eng(float(evidence['threshold']))}, "
         f"window {_when(evidence['window_start'])} to {_when(evidence['window_end'])}"),
        f"Intervention {document['id']}: acknowledge it in Andon (inbox, API, panel or CMMS).",
    ]
    message = EmailMessage()
    message["Subject"] = one_line(subject, _SUBJECT_MAX)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id(document, notice.level, sender)
    if notice.escalated:
        first = message_id(document, 0, sender)
        message["In-Reply-To"] = first
        message["References"] = first
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message["X-Andon-Intervention"] = str(document["id"])
    message["X-Andon-Escalation-Level"] = str(notice.level)
    message.set_content("\n".join(lines) + "\n")
    message.add_attachment(canonical_json(document), maintype="application", subtype="json",
                           filename=f"{document['id']}.json")
    return message


def _when(value: object) -> str:
    """An ISO 8601 instant of the document as ``Tue 2026-03-03 04:30 UTC``."""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).strftime("%a %Y-%m-%d %H:%M UTC")


# -- the sink -----------------------------------------------------------------------------
class EmailSink:
    """Mail each intervention, and each of its escalations, to the role that owns it."""

    def __init__(self, name: str, config: EmailConfig, password: str | None = None, *,
                 clock: Clock | None = None, sleep: Sleep = asyncio.sleep,
                 backoff: Backoff | None = None) -> None:
        if config.username is not None and not password:
            raise ValueError(f"sink {name}: username {config.username} needs a password")
        self._name = name
        self.config = config
        self._password = password
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self.backoff = backoff or Backoff()
        self._context: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return (f"EmailSink({self._name!r}, {self.config.host}:{self.port}, "
                f"user={self.config.username!r}, password=***)")

    @property
    def name(self) -> str:
        """The sink's name in ``deliveries``."""
        return self._name

    @property
    def port(self) -> int:
        """The SMTP port: as configured, else the default of the security chosen."""
        return self.config.port or DEFAULT_PORTS[self.config.security]

    def recipients(self, role: str) -> list[str]:
        """Who is told about an intervention owned by ``role``."""
        to = self.config.to
        return list(to) if isinstance(to, list) else list(to.get(role, []))

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        """Mail the notice this version calls for, if not mailed yet; retry what may pass."""
        notice = notice_of(item.document)
        told = told_level(item.external_id)
        recipients = [] if notice is None else self.recipients(notice.role)
        if notice is None or not recipients or (told is not None and notice.level <= told):
            # nothing to tell (or told already): handled, and what was told is kept
            return DeliveryResult((Attempt(self._clock.now(), ok=True),),
                                  external_id=item.external_id)
        attempts: list[Attempt] = []
        for n in range(1, self.config.max_attempts + 1):
            now = self._clock.now()
            message = compose(item.document, notice, sender=self.config.sender,
                              recipients=recipients, now=now)
            error, retry = await self._send(message, recipients)
            attempts.append(Attempt(now, ok=not error, error=error))
            if not error:
                return DeliveryResult(tuple(attempts), external_id=str(message["Message-ID"]))
            if not retry or n == self.config.max_attempts:
                break
            await self._sleep(self.backoff.delay(n))
        return DeliveryResult(tuple(attempts), external_id=item.external_id)

    async def _send(self, message: EmailMessage, recipients: list[str]) -> tuple[str, bool]:
        """One try: ("", False) when sent, else (one-line reason, worth another try)."""
        try:
            await asyncio.to_thread(self._send_blocking, message, recipients)
        except Exception as exc:  # noqa: BLE001 - every failure is this attempt's result
            reason, retry = self._failure(exc)
            return self._scrub(one_line(reason)), retry
        return "", False

    def _send_blocking(self, message: EmailMessage, recipients: list[str]) -> None:
        config, timeout = self.config, self.config.timeout
        smtp: smtplib.SMTP
        if config.security == "tls":
            smtp = smtplib.SMTP_SSL(config.host, self.port, timeout=timeout,
                                    context=self._tls())
        else:
            smtp = smtplib.SMTP(config.host, self.port, timeout=timeout)
        with smtp:
            if config.security == "starttls":
                smtp.starttls(context=self._tls())
            if config.username is not None and self._password is not None:
                _login(smtp, config.username, self._password)
            smtp.send_message(message, from_addr=parseaddr(config.sender)[1],
                              to_addrs=recipients)

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:  # loading a CA store takes ~0.2 s: once per sink
            self._context = ssl.create_default_context(cafile=self.config.ca_file)
        return self._context

    def _failure(self, exc: Exception) -> tuple[str, bool]:  # noqa: PLR0911 - one per kind
        """A failed try as one line naming the server, and whether another try may pass."""
        where = f"SMTP server {self.config.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return ((f"{where} refused the login of {self.config.username}: "
                     f"{_reply(exc.smtp_code, exc.smtp_error)}"), exc.smtp_code in _TRANSIENT)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return f"{where}: {exc}", False
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            refused = "; ".join(f"{addr}: {_reply(code, text)}"
                                for addr, (code, text) in exc.recipients.items())
            return (f"{where} refused every recipient ({refused})",
                    all(code in _TRANSIENT for code in codes))
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return f"{where} closed the connection: {exc or 'no reason given'}", True
        if isinstance(exc, smtplib.SMTPResponseException):
            return (f"{where} answered {_reply(exc.smtp_code, exc.smtp_error)}",
                    exc.smtp_code in _TRANSIENT)
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            return f"TLS with {where} failed: {exc}", False
        if isinstance(exc, TimeoutError):
            return f"{where} did not answer within {self.config.timeout:g}s", True
        if isinstance(exc, OSError):
            return f"cannot reach {where}: {exc.strerror or exc}", True
        return f"sending through {where} failed: {type(exc).__name__}: {exc}", False

    def _scrub(self, text: str) -> str:
        """``text`` without the password, also in the base64 forms AUTH PLAIN / LOGIN send."""
        password = self._password
        if not password:
            return text
        user = self.config.username or ""
        for secret in (password,
                       base64.b64encode(password.encode()).decode(),
                       base64.b64encode(f"\0{user}\0{password}".encode()).decode()):
            text = text.replace(secret, "***")
        return text


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """Log in with PLAIN where offered, else as ``SMTP.login`` does.

    PLAIN once: a wrong password costs one failed login on the server's count, not one per
    mechanism (``SMTP.login`` tries each in turn).
    """
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        smtp.login(username, password)
        return
    smtp.user, smtp.password = username, password  # what ``auth_plain`` reads
    smtp.auth("PLAIN", smtp.auth_plain)


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {words}".strip()


# -- settings -------------------------------------------------------------------------------
def _address(value: str) -> str:
    """One e-mail address, optionally with a display name (``Andon <andon@plant.example>``)."""
    if "\n" in value or "\r" in value:
        raise ValueError("an address is one line")
    _, addr = parseaddr(value)
    local, at, domain = addr.rpartition("@")
    if not (at and local and domain) or " " in addr:
        raise ValueError(f"{value!r} is not an e-mail address (e.g. andon@plant.example)")
    return value


def _absolute(value: str | None) -> str | None:
    if value is not None and not Path(value).is_absolute():
        raise ValueError(f"{value!r} is not an absolute path (e.g. /run/secrets/smtp)")
    return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmailConfig(BaseModel):
    """E-mail over SMTP: each intervention and escalation to the addresses of its owner role."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              populate_by_name=True)

    host: str = Field(min_length=1, description="the SMTP server, e.g. smtp.plant.example")
    port: int | None = Field(default=None, ge=1, le=65535,
                             description="default: 587 (starttls), 465 (tls), 25 (none)")
    security: Security = Field(
        default="starttls", description="starttls: upgrade the connection; tls: TLS from the "
        "start; none: no encryption (a relay on this machine only)")
    username: str | None = Field(default=None, description="the SMTP login, if the server "
                                 "wants one")
    password_env: str | None = Field(default=None, description="environment variable holding "
                                     "the password")
    password_file: str | None = Field(default=None, description="absolute path of a file "
                                      "holding the password (e.g. a Docker or systemd secret)")
    sender: str = Field(alias="from", description="the From address, e.g. 'Andon "
                        "<andon@plant.example>'")
    to: list[str] | dict[str, list[str]] = Field(
        description="addresses per role id ({maintenance_planner: [a@x]}: the role that owns "
        "the intervention now is told), or one list told about everything")
    ca_file: str | None = Field(default=None, description="absolute path of the PEM CA "
                                "certificates to trust instead of the system's")
    timeout: float = Field(default=10.0, description="per SMTP operation, e.g. '10s'")
    max_attempts: int = Field(default=4, ge=1, le=10)

    _timeout = field_validator("timeout", mode="before")(seconds)
    _files = field_validator("password_file", "ca_file")(_absolute)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if "://" in value or "/" in value or " " in value:
            raise ValueError(f"{value!r} is not a host name (e.g. smtp.plant.example; the "
                             "port and security are keys of their own)")
        return value

    @field_validator("password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return None if value is None else env_name(value)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _to(cls, value: list[str] | dict[str, list[str]]) -> list[str] | dict[str, list[str]]:
        if isinstance(value, list):
            if not value:
                raise ValueError("list at least one address, or addresses per role")
            return [_address(a) for a in value]
        if not value:
            raise ValueError("name at least one role and its addresses")
        for role, addresses in value.items():
            if not _ROLE.match(role):
                raise ValueError(f"{role!r} is not a role id")
            if not addresses:
                raise ValueError(f"role {role}: list at least one address")
        return {role: [_address(a) for a in addresses] for role, addresses in value.items()}

    def role_refs(self) -> list[tuple[tuple[str | int, ...], str]]:
        """The roles ``to:`` names, each at its key (checked against the spec's roles)."""
        to = self.to
        return [] if isinstance(to, list) else [(("to", role), role) for role in to]

    @model_validator(mode="after")
    def _login(self) -> EmailConfig:
        if self.password_env is not None and self.password_file is not None:
            raise ValueError("give password_env or password_file, not both")
        has_password = self.password_env is not None or self.password_file is not None
        if has_password and self.username is None:
            raise ValueError("a password needs a username")
        if self.username is not None and not has_password:
            raise ValueError(f"username {self.username} needs password_env or password_file "
                             "(the spec names where the password is, never the password)")
        if has_password and self.security == "none" and not _loopback(self.host):
            raise ValueError("a password is never sent in clear text: use security: starttls "
                             "or tls (none is for a relay on this machine)")
        return self


def _read_password(path: str, sink: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SinkError(f"sink {sink}: password file {path} cannot be read ({reason})") from None
    password = text.rstrip("\r\n")
    if not password:
        raise SinkError(f"sink {sink}: password file {path} is empty")
    return password


def _build(config: EmailConfig, context: SinkContext) -> EmailSink:
    password = None
    if config.password_env is not None:
        password = context.secret(config.password_env, "the SMTP password")
    elif config.password_file is not None:
        password = _read_password(config.password_file, context.name)
    return EmailSink(context.name, config, password, clock=context.clock)


PLUGIN = SinkPlugin(name="email", summary="E-mail over SMTP (STARTTLS or TLS) to the owner "
                    "role's addresses, on raising and on each escalation; retried with backoff.",
                    config=EmailConfig, build=_build)
