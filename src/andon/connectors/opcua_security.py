"""OPC UA security for the OPC UA client: a security policy, Andon's certificate, a trust list.

An OPC UA connection is secured by its *secure channel*: a security policy (which
algorithms: ``Basic256Sha256``, ``Aes128_Sha256_RsaOaep``, ``Aes256_Sha256_RsaPss``; or
``None``) and a message security mode (``Sign``: every message signed; ``SignAndEncrypt``:
signed and encrypted). Each side shows its *application instance certificate*; each side
decides whether it trusts the other's. What "good" means here:

- the policy and mode are one of the server's endpoints, else the connector stops with one
  line naming the endpoint and what the server offers (no endless retry);
- Andon's certificate and key are read when the connector is built: a missing or unreadable
  file, a file that is neither PEM nor DER, an encrypted or non-RSA key, a key that does not
  match its certificate, a certificate without an application URI or out of its validity
  are one line naming the option and the file. The application URI Andon announces is the
  certificate's own ``URI`` subject alternative name (OPC UA servers refuse a mismatch);
- the server's certificate (from the endpoint Andon connects to, checked again on every
  connect) must be in the trust list folder, or be issued by a CA certificate in it, be
  within its validity and name the application URI the server announces; else the
  connector stops with one line naming the endpoint, the certificate and why;
- a server that refuses Andon's certificate (``BadCertificateUntrusted``, ...) or its user
  (``BadUserAccessDenied``, ...) stops the connector with one line naming the endpoint, the
  certificate or user, and the server's status;
- the password (read from an environment variable by the ``andon connect opcua`` builder)
  is never shown: not in ``repr``, not in an error line, and asyncua's client log records
  that would hold it are masked while a connector runs (``masking_password``).

Revocation lists are not read: revoke by removing a certificate from the trust list.
``OpcUaRefused`` (a ``ConnectionError``, so ``andon`` prints ``error: <line>`` and exits with
7, as ``MqttRefused`` does for MQTT) is what a refusal raises out of ``OpcUaConnector.run``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal, cast, get_args

from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto import security_policies
from asyncua.ua.uaerrors import UaStatusCodeError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import verification

from andon.errors import OptionError

__all__ = [
    "POLICIES",
    "LoadedSecurity",
    "Mode",
    "OpcUaRefused",
    "OpcUaSecurity",
    "Policy",
    "masking_password",
]

Policy = Literal["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]
Mode = Literal["Sign", "SignAndEncrypt"]
#: the security policies Andon's client speaks, by the name in their OPC UA URI
POLICIES: Final[tuple[str, ...]] = get_args(Policy)
_POLICY_URI = "http://opcfoundation.org/UA/SecurityPolicy#"
_POLICY_CLASS: Final[dict[str, type[security_policies.SecurityPolicy]]] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
_MODES: Final[dict[str, ua.MessageSecurityMode]] = {
    "Sign": ua.MessageSecurityMode.Sign, "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}
#: status codes by which a server refuses Andon's certificate or secure channel
_CERTIFICATE_REFUSED = frozenset({"BadSecurityChecksFailed", "BadSecurityPolicyRejected",
                                  "BadSecurityModeRejected", "BadNoValidCertificates",
                                  "BadApplicationSignatureInvalid"})
#: status codes by which a server refuses the user (or an anonymous session)
_USER_REFUSED = frozenset({"BadUserAccessDenied", "BadIdentityTokenInvalid",
                           "BadIdentityTokenRejected", "BadUserSignatureInvalid"})
#: asyncua's client loggers, some of which log whole requests at DEBUG (an identity token too)
_CLIENT_LOGGERS = ("asyncua.client.client", "asyncua.client.ua_client.UASocketProtocol",
                   "asyncua.client.ua_client.UaClient", "asyncua.uaprotocol")
_TRUST_SUFFIXES = (".der", ".pem", ".crt", ".cer")


class OpcUaRefused(ConnectionError):
    """An OPC UA server refused Andon, or Andon the server: policy, certificate, trust, user.

    Retrying with the same configuration cannot help, so the connector stops. ``url`` is the
    endpoint, ``reason`` why; ``str`` is the one line a user sees.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"OPC UA server {url}: {reason}")


@dataclass(frozen=True)
class OpcUaSecurity:
    """What secures the connection, as configured: files are read by ``load``.

    ``certificate``, ``private_key`` and ``trust_list`` are needed by every policy but
    ``None`` (and refused with it, where they would do nothing). ``username`` and ``password``
    go together. The password is left out of ``repr``.
    """

    policy: Policy = "None"
    mode: Mode = "SignAndEncrypt"
    certificate: Path | None = None
    private_key: Path | None = None
    trust_list: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def load(self) -> LoadedSecurity:
        """Read and check the files; ``OptionError`` naming the option and file if unusable."""
        if self.policy not in POLICIES:
            raise OptionError("security_policy", f"{self.policy!r} is not a security policy "
                              f"Andon speaks ({', '.join(POLICIES)})")
        if self.mode not in _MODES:
            raise OptionError("security_mode", f"{self.mode!r} is not a message security mode "
                              "(Sign, SignAndEncrypt)")
        if (self.username is None) != (self.password is None):
            raise OptionError("username" if self.username is None else "password_env",
                              "a user name and a password go together (--username, "
                              "--password-env)")
        if self.policy == "None":
            given = [name for name in ("certificate", "private_key", "trust_list")
                     if getattr(self, name) is not None]
            if given:
                raise OptionError(given[0], "security policy None signs and encrypts nothing, "
                                  "so it uses no certificate, key or trust list: choose "
                                  f"--security-policy ({', '.join(POLICIES[1:])})")
            return LoadedSecurity(self)
        for name in ("certificate", "private_key", "trust_list"):
            if getattr(self, name) is None:
                raise OptionError(name, f"security policy {self.policy} needs --certificate, "
                                  "--private-key and --trust-list (the folder of server or CA "
                                  "certificates Andon trusts)")
        certificate = _read_certificate(cast("Path", self.certificate))
        key = _read_key(cast("Path", self.private_key), certificate,
                        cast("Path", self.certificate))
        trusted = _read_trust_list(cast("Path", self.trust_list))
        return LoadedSecurity(self, certificate, key, trusted)


@dataclass(frozen=True)
class LoadedSecurity:
    """A checked ``OpcUaSecurity`` with its certificate, key and trusted certificates read."""

    config: OpcUaSecurity
    certificate: x509.Certificate | None = None
    key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    trusted: tuple[x509.Certificate, ...] = ()

    @property
    def secure(self) -> bool:
        """Whether the channel is signed (a policy other than None)."""
        return self.config.policy != "None"

    @property
    def application_uri(self) -> str | None:
        """The application URI Andon announces: its certificate's (None without one)."""
        return None if self.certificate is None else _uris(self.certificate)[0]

    @property
    def policy_uri(self) -> str:
        """The OPC UA URI of the configured security policy."""
        return _POLICY_URI + self.config.policy

    @property
    def message_mode(self) -> ua.MessageSecurityMode:
        """The message security mode asked of the server's endpoint."""
        return _MODES[self.config.mode] if self.secure else ua.MessageSecurityMode.None_

    def describe(self) -> str:
        """``Basic256Sha256 SignAndEncrypt as urn:...`` (or ``no security``), for a start line."""
        if not self.secure:
            return "no security (policy None)"
        return f"{self.config.policy} {self.config.mode} as {self.application_uri}"

    def endpoint(self, url: str,
                 endpoints: Sequence[ua.EndpointDescription]) -> ua.EndpointDescription:
        """The server's endpoint with this policy and mode; ``OpcUaRefused`` if it has none."""
        for ep in endpoints:
            if (ep.EndpointUrl.startswith(ua.OPC_TCP_SCHEME)
                    and ep.SecurityPolicyUri == self.policy_uri
                    and ep.SecurityMode == self.message_mode):
                return ep
        offered = sorted({_offer(ep) for ep in endpoints}) or ["no endpoints"]
        wanted = "None" if not self.secure else f"{self.config.policy} {self.config.mode}"
        raise OpcUaRefused(url, f"offers no endpoint with security {wanted} (it offers: "
                           f"{', '.join(offered)}); choose one with --security-policy and "
                           "--security-mode")

    def check_server(self, url: str, endpoint: ua.EndpointDescription) -> bytes:
        """The server certificate (DER) of ``endpoint`` once trusted; else ``OpcUaRefused``."""
        der = _first_certificate(endpoint.ServerCertificate or b"")
        if not der:
            raise OpcUaRefused(url, "its endpoint shows no server certificate")
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            raise OpcUaRefused(url, "its server certificate is not a readable X.509 "
                               "certificate") from None
        why = self._untrusted(certificate, endpoint.Server.ApplicationUri)
        if why:
            raise OpcUaRefused(url, f"its certificate {_show(certificate)} {why}")
        return der

    def _untrusted(self, certificate: x509.Certificate, server_uri: str | None) -> str:
        """Why ``certificate`` is not trusted as the server's ("" if it is)."""
        now = datetime.now(UTC)
        if certificate.not_valid_after_utc < now:
            return f"expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        if certificate.not_valid_before_utc > now:
            return f"is not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        if not _trusted(certificate, self.trusted, now):
            return (f"is not in the trust list {self.config.trust_list} (nor issued by a CA "
                    "certificate in it): copy the server's certificate there once you have "
                    "checked its fingerprint with the plant")
        uris = _uris(certificate)
        if server_uri and server_uri not in uris:
            return (f"names application URI {', '.join(uris) or '(none)'} but the server "
                    f"announces {server_uri}")
        return ""

    async def apply(self, client: Client, server_certificate: bytes) -> None:
        """Set the policy, mode, certificate and key on ``client`` (before it connects)."""
        if self.config.username is not None:
            client.set_user(self.config.username)
            client.set_password(cast("str", self.config.password))
        if not self.secure or self.certificate is None or self.key is None:
            return
        client.application_uri = cast("str", self.application_uri)
        der = serialization.Encoding.DER
        await client.set_security(
            _POLICY_CLASS[self.config.policy], self.certificate.public_bytes(der),
            self.key.private_bytes(der, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()),
            server_certificate=server_certificate, mode=self.message_mode)

    def refusal(self, url: str, exc: UaStatusCodeError) -> OpcUaRefused | None:
        """The refusal ``exc`` is when the server refused Andon's certificate or user."""
        name = ua.StatusCode(ua.UInt32(exc.code)).name
        if name.startswith("BadCertificate") or name in _CERTIFICATE_REFUSED:
            if self.certificate is None:
                return OpcUaRefused(url, f"refused the connection ({name})")
            return OpcUaRefused(url, f"refused Andon's certificate {self.config.certificate} "
                                f"({_show(self.certificate)}, application URI "
                                f"{self.application_uri}): {name}; the server must trust it "
                                "(copy it into the server's trusted certificates, or issue it "
                                "from a CA the server trusts)")
        if name in _USER_REFUSED:
            if self.config.username is None:
                return OpcUaRefused(url, f"refused an anonymous session ({name}); give "
                                    "--username and --password-env")
            return OpcUaRefused(url, f"refused user {self.config.username!r} ({name}): a "
                                "wrong user name or password, or a user it does not allow")
        return None


@contextlib.contextmanager
def masking_password(password: str | None) -> Iterator[None]:
    """While inside, asyncua's client log records show ``***`` where ``password`` would be.

    (At DEBUG, asyncua logs each request whole; a user token not encrypted by its own policy
    holds the password in clear.)
    """
    if not password:
        yield
        return
    mask = _Mask(password)
    loggers = [logging.getLogger(name) for name in _CLIENT_LOGGERS]
    for logger in loggers:
        logger.addFilter(mask)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(mask)


class _Mask(logging.Filter):
    """Replace a secret in a record's message by ``***`` (the record is kept)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self._secret in text:
            record.msg, record.args = text.replace(self._secret, "***"), None
        return True


# -- reading the files -------------------------------------------------------------------------
def _read(path: Path, option: str, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise OptionError(option, f"{what} {path}: {exc.strerror or exc}") from None


def _read_certificate(path: Path) -> x509.Certificate:
    certificate = _parse_certificate(_read(path, "certificate", "certificate"))
    if certificate is None:
        raise OptionError("certificate", f"certificate {path}: not a PEM or DER X.509 "
                          "certificate")
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise OptionError("certificate", f"certificate {path}: OPC UA's security policies "
                          "need an RSA key, this certificate's is not")
    if not _uris(certificate):
        raise OptionError("certificate", f"certificate {path} names no application URI (a URI "
                          "subject alternative name such as urn:site:andon); OPC UA servers "
                          "refuse such certificates")
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise OptionError("certificate", f"certificate {path} is valid from "
                          f"{certificate.not_valid_before_utc:%Y-%m-%d} to "
                          f"{certificate.not_valid_after_utc:%Y-%m-%d}, not now")
    return certificate


def _read_key(path: Path, certificate: x509.Certificate, cert_path: Path) -> rsa.RSAPrivateKey:
    data = _read(path, "private_key", "private key")
    load = (serialization.load_pem_private_key if data.lstrip().startswith(b"-----BEGIN")
            else serialization.load_der_private_key)
    try:
        key = load(data, password=None)
    except TypeError:  # a password-protected key
        raise OptionError("private_key", f"private key {path} is encrypted; Andon reads an "
                          "unencrypted key (keep the file readable by Andon only, mode "
                          "600)") from None
    except ValueError:
        raise OptionError("private_key", f"private key {path}: not a PEM or DER private "
                          "key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise OptionError("private_key", f"private key {path} is not an RSA key (OPC UA's "
                          "security policies need RSA)")
    if key.public_key().public_numbers() != cast(
            "rsa.RSAPublicKey", certificate.public_key()).public_numbers():
        raise OptionError("private_key", f"private key {path} does not match certificate "
                          f"{cert_path}")
    return key


def _read_trust_list(folder: Path) -> tuple[x509.Certificate, ...]:
    if not folder.is_dir():
        raise OptionError("trust_list", f"trust list {folder}: no such folder")
    try:
        files = sorted(p for p in folder.iterdir()
                       if p.is_file() and p.suffix.lower() in _TRUST_SUFFIXES)
    except OSError as exc:
        raise OptionError("trust_list", f"trust list {folder}: {exc.strerror or exc}") from None
    trusted: list[x509.Certificate] = []
    for path in files:
        certificate = _parse_certificate(_read(path, "trust_list", "trusted certificate"))
        if certificate is None:
            raise OptionError("trust_list", f"trusted certificate {path}: not a PEM or DER "
                              "X.509 certificate")
        trusted.append(certificate)
    if not trusted:
        raise OptionError("trust_list", f"trust list {folder} holds no certificates "
                          f"({', '.join(_TRUST_SUFFIXES)}): put the server's certificate, or "
                          "its CA's, there")
    return tuple(trusted)


def _parse_certificate(data: bytes) -> x509.Certificate | None:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        return None


# -- trust -------------------------------------------------------------------------------------
def _trusted(certificate: x509.Certificate, trusted: Sequence[x509.Certificate],
             now: datetime) -> bool:
    """In the list itself (a self-signed application certificate), or issued by a CA in it."""
    if certificate in trusted:
        return True
    authorities = [c for c in trusted if _is_ca(c)]
    if not authorities:
        return False
    ca_policy = verification.ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, verification.Criticality.AGNOSTIC, _must_be_ca)
    verifier = (verification.PolicyBuilder().store(verification.Store(authorities)).time(now)
                .extension_policies(ca_policy=ca_policy,
                                    ee_policy=verification.ExtensionPolicy.permit_all())
                .build_client_verifier())
    try:
        verifier.verify(certificate, [])
    except verification.VerificationError:
        return False
    return True


def _must_be_ca(_policy: object, _certificate: x509.Certificate,
                constraints: x509.BasicConstraints) -> None:
    """The verifier's check of an issuer: its basic constraints say it is a CA."""
    if not constraints.ca:
        raise ValueError("an issuer must be a CA (basicConstraints ca=true)")


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _uris(certificate: x509.Certificate) -> list[str]:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(names.value.get_values_for_type(x509.UniformResourceIdentifier))


def _show(certificate: x509.Certificate) -> str:
    """``CN=..., SHA-1 AB:CD:...`` (OPC UA products show the SHA-1 thumbprint)."""
    subject = certificate.subject.rfc4514_string() or "(no subject)"
    thumb = hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER),
                         usedforsecurity=False).hexdigest().upper()
    return f"{subject}, SHA-1 {thumb}"


def _first_certificate(der: bytes) -> bytes:
    """The first certificate of a DER chain (a server may send its whole chain)."""
    if len(der) < 4 or der[0] != 0x30 or der[1] != 0x82:  # noqa: PLR2004 - DER SEQUENCE header
        return der
    return der[:int.from_bytes(der[2:4], "big") + 4]


def _offer(ep: ua.EndpointDescription) -> str:
    policy = (ep.SecurityPolicyUri or "").rpartition("#")[2] or "?"
    if ep.SecurityMode == ua.MessageSecurityMode.None_:
        return policy
    return f"{policy} {ep.SecurityMode.name}"
