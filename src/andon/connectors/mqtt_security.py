"""Secure MQTT connections: TLS (``mqtts://``), client certificates, user name and password.

Every MQTT client Andon runs (``MqttClient``) takes its ``MqttSecurity`` from one place: given
explicitly, else the process's (``use_security``; the ``andon`` command sets it from the
``mqtt_*`` settings before any command runs, ``andon.cli.mqtt``). What "good" means here:

- an ``mqtts://`` broker's certificate chains to the CA file (default: the system's trust
  store) and names the host connected to; a client certificate goes with every TLS
  connection when one is set (brokers that require mutual TLS);
- the user comes from the broker URL (``mqtt://user@host``) or the ``mqtt_username``
  setting, the password from the ``mqtt_password`` setting (or, discouraged, the URL);
- the password is never shown: URLs are shown through ``andon.text.redact_url`` and
  ``repr`` leaves it out;
- a broker that refuses (a certificate that does not verify, a TLS handshake it aborts, a
  CONNACK "bad user name or password" or "not authorised") is told apart from one that does
  not answer (``refusal``): its reason is one line naming the broker and the user, and
  retrying does not hide it (``MqttClient.connect_retrying``).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmqtt.mqtt.handler import MQTTConnectError

from andon.errors import ConnectorError
from andon.settings import MQTT_CA, MQTT_CERT, MQTT_KEY, MQTT_PASSWORD, MQTT_USERNAME, load

__all__ = ["ClosedBeforeConnack", "MqttRefused", "MqttSecurity", "process_security", "refusal",
           "use_security"]

#: CONNACK return codes that refuse the client itself (MQTT 3.1.1 4 and 5; MQTT 5 134, 135,
#: 138): trying again with the same credentials cannot help
_NOT_AUTHORISED = "not authorised (a wrong password, or a user it does not know or allow)"
_AUTH_CODES: dict[int, str] = {4: "bad user name or password", 5: _NOT_AUTHORISED,
                               134: "bad user name or password", 135: _NOT_AUTHORISED,
                               138: "banned"}
#: TLS failures that say the connection was cut, not refused (a broker stopped mid-handshake)
_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError,
                  ssl.SSLWantReadError, ssl.SSLWantWriteError)


class MqttRefused(ConnectionError):
    """A broker refused Andon's client, or Andon the broker: TLS trust, certificate, login.

    A ``ConnectionError`` (an ``OSError``), so ``andon`` prints ``error: <the line>`` and exits
    with 7 as for a broker that cannot be reached; ``url`` is the broker (password masked),
    ``reason`` why (``refusal``).
    """

    def __init__(self, url: str, reason: str, line: str | None = None) -> None:
        self.url = url
        self.reason = reason
        super().__init__(line or f"MQTT broker {url}: {reason}")


class ClosedBeforeConnack(ConnectionResetError):
    """The broker closed the connection after accepting it, before any CONNACK."""


@dataclass(frozen=True)
class MqttSecurity:
    """TLS trust, client certificate and credentials for MQTT brokers (none: plain, anonymous).

    ``ca``, ``cert`` and ``key`` apply to ``mqtts://`` brokers only; ``username`` and
    ``password`` to every broker whose URL names no user (a URL's own user and password take
    their place for it). The password is left out of ``repr``.
    """

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, given: Mapping[str, Any] | None = None, *,
                      environ: Mapping[str, str]) -> MqttSecurity:
        """The ``mqtt_*`` settings: defaults < ``ANDON_MQTT_*`` < ``given`` (flags), checked.

        ``SettingsError`` (one line naming the variable or flag) for a file that does not
        exist or an empty user name or password.
        """
        names = [s.name for s in (MQTT_CA, MQTT_CERT, MQTT_KEY, MQTT_USERNAME, MQTT_PASSWORD)]
        loaded = load(names, given=given, environ=environ)
        return cls(ca=loaded["mqtt_ca"], cert=loaded["mqtt_cert"], key=loaded["mqtt_key"],
                   username=loaded["mqtt_username"], password=loaded["mqtt_password"])

    def tls_context(self) -> ssl.SSLContext:
        """The TLS settings of an ``mqtts://`` connection: verify the broker, show ours.

        ``ConnectorError`` naming the file for a CA, certificate or key that cannot be read
        or is not PEM (or a key that does not match its certificate).
        """
        try:
            context = ssl.create_default_context(
                cafile=None if self.ca is None else str(self.ca))
        except (OSError, ssl.SSLError) as exc:
            raise ConnectorError(f"MQTT CA file {self.ca}: {_why(exc)}") from None
        if self.key is not None and self.cert is None:
            raise ConnectorError(f"MQTT client key {self.key} given without its certificate "
                                 "(--mqtt-cert, ANDON_MQTT_CERT)")
        if self.cert is not None:
            try:
                context.load_cert_chain(str(self.cert),
                                        None if self.key is None else str(self.key))
            except (OSError, ssl.SSLError) as exc:
                files = str(self.cert) + ("" if self.key is None else f" with key {self.key}")
                raise ConnectorError(f"MQTT client certificate {files}: {_why(exc)}") from None
        return context

    def describe_trust(self) -> str:
        """Where the broker's certificate must chain to, for a refusal's line."""
        return f"CA file {self.ca}" if self.ca is not None else "the system trust store"


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason.lower().replace("_", " ") if exc.reason else str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def refusal(exc: BaseException, *, user: str | None, security: MqttSecurity,
            tls: bool) -> str | None:
    """Why a broker refused us, if ``exc`` (a failed attempt's error) is a refusal; else None.

    A refusal is what the same attempt would meet again: the broker's certificate does not
    verify (against the CA file, or for the host name), the TLS handshake is refused, a TLS
    connection is closed before the CONNACK (with TLS 1.3, how Mosquitto refuses a missing
    or untrusted client certificate), or the broker's CONNACK refuses the login. A broker
    that is down, does not answer, or closes a plain connection is not refused.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = (exc.verify_message or _why(exc)).rstrip(".")
        return (f"its TLS certificate did not verify against {security.describe_trust()} "
                f"({detail})")
    if isinstance(exc, ssl.SSLError) and not isinstance(exc, _TRANSIENT_TLS):
        return f"TLS handshake refused ({_why(exc)}{_certificate_hint(security)})"
    if tls and isinstance(exc, ClosedBeforeConnack):
        return ("the broker closed the TLS connection before answering the login"
                f"{_certificate_hint(security)}")
    if isinstance(exc, MQTTConnectError):
        code = getattr(exc, "_code", None)
        reason = _AUTH_CODES.get(code) if isinstance(code, int) else None
        if reason is None:
            return None
        who = f"user {user!r}" if user else "an anonymous client (no user name)"
        return f"refused {who}: {reason} (CONNACK {code})"
    return None


def _certificate_hint(security: MqttSecurity) -> str:
    if security.cert is None:
        return ("; does it require a client certificate? none was given (--mqtt-cert, "
                "ANDON_MQTT_CERT)")
    return f"; does it trust the client certificate {security.cert}?"


_process: MqttSecurity = MqttSecurity()


def process_security() -> MqttSecurity:
    """What every ``MqttClient`` of this process uses unless given its own."""
    return _process


def use_security(security: MqttSecurity) -> MqttSecurity:
    """Make ``security`` this process's (``process_security``); returns the one it replaces."""
    global _process  # the process-wide setting: the CLI sets it once per command
    previous, _process = _process, security
    return previous
