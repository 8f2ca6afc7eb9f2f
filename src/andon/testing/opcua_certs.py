"""Throwaway OPC UA application instance certificates, for tests.

OPC UA secures a connection with each application's own *application instance certificate*
(OPC 10000-6 6.2.2): an RSA key (2048 bits here, what Basic256Sha256 and the Aes policies
take), the application URI as a ``URI`` subject alternative name (a peer compares it with the
``ApplicationUri`` the application announces), its host names and addresses as ``DNS`` / ``IP``
names, key usages digitalSignature, nonRepudiation, keyEncipherment and dataEncipherment, and
the extended key usage ``serverAuth`` (a server) or ``clientAuth`` (a client).

``application_certificate(directory, name, uri, ...)`` writes one such certificate
(``NAME.pem``) and its key (``NAME-key.pem``),
self-signed (how most OPC UA servers start: each side then trusts the other's certificate
itself) or issued by a CA from ``make_ca`` (a plant's own CA, or a GDS: each side then trusts
the CA). Files are PEM by default, DER (what many OPC UA products exchange) with ``der=True``;
keys are unencrypted (PKCS#8). Everything is made here with ``cryptography``; nothing is read
from or trusted by the system. Each call makes a new key.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["AppCertificate", "OpcUaCa", "application_certificate", "make_ca"]

#: OPC UA's RSA policies take 2048 to 4096 bit keys; 2048 is the quickest to make
KEY_BITS = 2048


@dataclass(frozen=True)
class OpcUaCa:
    """A throwaway certificate authority: its certificate file and, in memory, its key."""

    cert: Path
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class AppCertificate:
    """One application's certificate and key files, and the application URI it names."""

    cert: Path
    key: Path
    uri: str
    certificate: x509.Certificate

    def write_to(self, folder: Path) -> Path:
        """Copy the certificate into ``folder`` (a trust list), as DER; the copy's path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.cert.stem}.der"
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.DER))
        return path


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Andon tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _encoding(der: bool) -> serialization.Encoding:
    return serialization.Encoding.DER if der else serialization.Encoding.PEM


def make_ca(directory: Path, name: str = "andon-test-ca", *, der: bool = False) -> OpcUaCa:
    """A new CA in ``directory`` (``NAME.pem`` or ``NAME.der``), valid for two days."""
    directory.mkdir(parents=True, exist_ok=True)
    key = _key()
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256()))
    path = directory / f"{name}.{'der' if der else 'pem'}"
    path.write_bytes(certificate.public_bytes(_encoding(der)))
    return OpcUaCa(path, certificate, key)


def application_certificate(
        directory: Path, name: str, uri: str, *, role: Literal["server", "client"],
        ca: OpcUaCa | None = None, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
        der: bool = False, valid_from: dt.datetime | None = None,
        valid_days: float = 2.0) -> AppCertificate:
    """An application instance certificate for ``uri``, self-signed or issued by ``ca``.

    Written to ``directory`` as ``NAME.pem`` and ``NAME-key.pem`` (``.der`` with ``der``).
    ``role`` sets the extended key usage (``serverAuth`` or ``clientAuth``); ``hosts`` become
    ``IP`` or ``DNS`` alternative names beside the ``URI``. ``valid_from`` and ``valid_days``
    make a certificate that is not yet, or no longer, valid.
    """
    directory.mkdir(parents=True, exist_ok=True)
    key = _key()
    start = valid_from or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri)]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    usage = ExtendedKeyUsageOID.SERVER_AUTH if role == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    issuer = _name(name) if ca is None else ca.certificate.subject
    builder = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(issuer)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # self-signed: its own issuer, so a trust list holding it verifies it as a CA would
        .add_extension(x509.BasicConstraints(ca=ca is None, path_length=0 if ca is None
                                             else None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                     key_encipherment=True, data_encipherment=True,
                                     key_agreement=False, key_cert_sign=ca is None,
                                     crl_sign=False, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False))
    if ca is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False)
    certificate = builder.sign(key if ca is None else ca.key, hashes.SHA256())
    cert_path = directory / f"{name}.{'der' if der else 'pem'}"
    key_path = directory / f"{name}-key.{'der' if der else 'pem'}"
    cert_path.write_bytes(certificate.public_bytes(_encoding(der)))
    key_path.write_bytes(key.private_bytes(_encoding(der), serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return AppCertificate(cert_path, key_path, uri, certificate)
