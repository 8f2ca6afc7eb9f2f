"""Throwaway TLS certificates and a private Mosquitto with TLS, logins and ACLs, for tests.

``make_pki(directory)`` writes a fresh CA, a server certificate for ``127.0.0.1`` and
``localhost`` signed by it, and a client certificate (PEM files, keys unencrypted), all made
here with ``cryptography``: nothing is read from or trusted by the system.
``secure_mosquitto(directory, pki, users=..., acl=...)`` configures a ``MosquittoProcess``
whose listener speaks TLS with that server certificate, refuses anonymous clients, checks
passwords (a ``password_file`` written by ``mosquitto_passwd``) and topic ACLs, and with
``require_certificate`` asks every client for a certificate signed by the CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from andon.testing.mosquitto import MosquittoProcess

__all__ = ["MOSQUITTO_PASSWD", "Pki", "make_pki", "secure_mosquitto"]

#: where Debian installs the password file tool (a package of its own on some systems)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


@dataclass(frozen=True)
class Pki:
    """The PEM files of one throwaway CA: its certificate, a server's and a client's."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey,
                 issuer: x509.Name) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2)))


def make_pki(directory: Path, *, name: str = "andon-test",
             hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Pki:
    """A new CA in ``directory`` (``NAME-ca.pem``), a server certificate for ``hosts``, a client's.

    Each call makes new keys: the CA of one call does not verify the certificates of another.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_name = _name(f"{name} CA")
    ca = (_certificate(f"{name} CA", ca_key, ca_name)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    paths = Pki(directory / f"{name}-ca.pem", directory / f"{name}-server.pem",
                directory / f"{name}-server.key", directory / f"{name}-client.pem",
                directory / f"{name}-client.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for subject, usage, cert_path, key_path, extra in (
            ("broker", ExtendedKeyUsageOID.SERVER_AUTH, paths.server_cert, paths.server_key,
             x509.SubjectAlternativeName(names)),
            ("andon-client", ExtendedKeyUsageOID.CLIENT_AUTH, paths.client_cert,
             paths.client_key, None)):
        key = _key()
        builder = (_certificate(subject, key, ca_name)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if extra is not None:
            builder = builder.add_extension(extra, critical=False)
        cert_path.write_bytes(builder.sign(ca_key, hashes.SHA256())
                              .public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
    return paths


def secure_mosquitto(directory: Path, pki: Pki, *, users: dict[str, str], acl: str = "",
                     require_certificate: bool = False, options: str = "") -> MosquittoProcess:
    """A ``MosquittoProcess`` (not started) speaking TLS with logins and, if given, an ACL.

    ``users``: name -> password (written with ``mosquitto_passwd``); ``acl``: the text of a
    Mosquitto ``acl_file`` (``user NAME`` then ``topic readwrite PREFIX/#`` lines; empty: no
    ACL, every user may use every topic); ``require_certificate``: clients must show a
    certificate signed by the CA.
    """
    directory.mkdir(parents=True, exist_ok=True)
    passwords = directory / "mosquitto.passwd"
    passwords.write_text("", encoding="utf-8")
    for user, password in users.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwords), user, password],  # noqa: S603
                       check=True, capture_output=True, timeout=30)
    lines = [f"cafile {pki.ca}", f"certfile {pki.server_cert}", f"keyfile {pki.server_key}",
             f"require_certificate {'true' if require_certificate else 'false'}",
             f"password_file {passwords}"]
    if os.geteuid() == 0:  # Mosquitto started as root drops to its own user, which may not
        lines.append("user root")  # read the keys in a private temporary directory
    if acl:
        acl_file = directory / "mosquitto.acl"
        acl_file.write_text(acl, encoding="utf-8")
        lines.append(f"acl_file {acl_file}")
    return MosquittoProcess(directory, tls=True, anonymous=False,
                            options="\n".join([*lines, options]) + "\n")
