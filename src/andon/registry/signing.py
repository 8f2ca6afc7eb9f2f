"""Ed25519 signatures over model versions, checked offline against a plant's trusted keys.

A version directory ``<models>/<name>/v<N>/`` holds ``model.skops``, ``meta.json`` and, once
signed, a detached ``signature.json``::

    {"format": 1, "key_id": "3f1c...", "signer": "ana", "signed_at": "2026-...",
     "payload_sha256": "...", "signature": "<base64 Ed25519 signature>"}

The signed payload binds both files: ``andon-model-signature/v1``, the SHA-256 of the
``model.skops`` bytes and the SHA-256 of the canonical ``meta.json`` (its JSON re-serialised
with sorted keys and no whitespace), one per line. Changing one byte of the artifact, or the
threshold in the metadata, breaks it. A key is named by its ``key_id``: the first 16 hex digits
of the SHA-256 of the raw 32-byte public key. Trusted public keys are the ``*.pub`` files of a
directory; nothing here touches the network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from andon.errors import ModelError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "SIGNATURE_FILE",
    "Signature",
    "generate_keypair",
    "key_id_of",
    "load_private_key",
    "payload_of",
    "read_signature",
    "sign",
    "trusted_keys",
    "verify",
]

SIGNATURE_FILE = "signature.json"
_MAGIC = "andon-model-signature/v1"
_KEY_MODE = 0o600


@dataclass(frozen=True, slots=True)
class Signature:
    """The content of a ``signature.json``."""

    key_id: str
    signer: str
    signed_at: datetime
    payload_sha256: str
    signature: str  # base64

    def to_json(self) -> str:
        """Serialise as the detached signature file's text."""
        return json.dumps({
            "format": 1, "key_id": self.key_id, "signer": self.signer,
            "signed_at": self.signed_at.isoformat(), "payload_sha256": self.payload_sha256,
            "signature": self.signature,
        }, indent=2, sort_keys=True) + "\n"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair(directory: Path, name: str) -> tuple[Path, Path, str]:
    """Write ``name.key`` (PKCS8 PEM, mode 0600) and ``name.pub`` (PEM); return both + key id.

    Refuses (``ModelError``) to overwrite an existing key file.
    """
    if not name or "/" in name or name.startswith("."):
        raise ModelError(name, "key name must be a plain file name")
    directory.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (key_path, pub_path):
        if path.exists():
            raise ModelError(str(path), "already exists; refusing to overwrite a key")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _KEY_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(key_path, _KEY_MODE)  # noqa: PTH101 - the umask may have narrowed os.open's mode
    public = private.public_key()
    pub_path.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_path, pub_path, key_id_of(public)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PKCS8 PEM Ed25519 private key; ``ModelError`` saying why if it cannot be used."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ModelError(str(path), "signing key file is missing") from None
    except OSError as exc:
        raise ModelError(str(path), f"cannot read signing key ({exc.strerror})") from None
    except (ValueError, TypeError):
        raise ModelError(str(path), "not an unencrypted PKCS8 PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ModelError(str(path), "not an Ed25519 private key")
    return key


def _load_public_key(path: Path) -> Ed25519PublicKey | None:
    data = path.read_bytes()
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:  # a raw 32-byte key is accepted too
            key = Ed25519PublicKey.from_public_bytes(data)
        except ValueError:
            return None
    return key if isinstance(key, Ed25519PublicKey) else None


def trusted_keys(directory: Path) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 public keys of ``directory/*.pub`` by key id (unreadable files are skipped)."""
    found: dict[str, Ed25519PublicKey] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.pub")):
        try:
            key = _load_public_key(path)
        except OSError:
            continue
        if key is not None:
            found[key_id_of(key)] = key
    return found


def payload_of(version_dir: Path) -> bytes:
    """The bytes a signature covers: the artifact's hash and the canonical metadata's hash.

    ``ModelError`` ("truncated or unreadable artifact ...") if a file is missing, unreadable,
    or not what it should be (a skops zip, a JSON object).
    """
    blob = _read(version_dir / "model.skops")
    try:
        with zipfile.ZipFile(version_dir / "model.skops") as archive:
            archive.getinfo("schema.json")
    except (zipfile.BadZipFile, KeyError, OSError):
        raise ModelError(str(version_dir / "model.skops"),
                         "truncated or unreadable artifact (not a complete skops file)") from None
    meta_raw = _read(version_dir / "meta.json")
    try:
        meta = json.loads(meta_raw)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise ModelError(str(version_dir / "meta.json"),
                         "truncated or unreadable artifact (meta.json is not a JSON object)")
    canonical = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    lines = [_MAGIC, hashlib.sha256(blob).hexdigest(),
             hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    return ("\n".join(lines) + "\n").encode("ascii")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelError(str(path), f"truncated or unreadable artifact ({path.name} is missing)"
                         ) from None
    except OSError as exc:
        raise ModelError(str(path), f"truncated or unreadable artifact ({exc.strerror})") from None


def sign(version_dir: Path, private_key_path: Path, signer: str, *,
         at: datetime) -> Signature:
    """Sign a version directory with a private key; writes and returns ``signature.json``."""
    key = load_private_key(private_key_path)
    payload = payload_of(version_dir)
    sig = Signature(
        key_id=key_id_of(key.public_key()), signer=signer, signed_at=at,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        signature=base64.b64encode(key.sign(payload)).decode("ascii"),
    )
    (version_dir / SIGNATURE_FILE).write_text(sig.to_json(), encoding="utf-8")
    return sig


def read_signature(version_dir: Path) -> Signature:
    """Read ``signature.json``; ``ModelError`` "unsigned (no signature.json)" if there is none."""
    path = version_dir / SIGNATURE_FILE
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return Signature(key_id=str(d["key_id"]), signer=str(d["signer"]),
                         signed_at=datetime.fromisoformat(d["signed_at"]),
                         payload_sha256=str(d["payload_sha256"]), signature=str(d["signature"]))
    except FileNotFoundError:
        raise ModelError(str(version_dir), f"unsigned (no {SIGNATURE_FILE})") from None
    except OSError as exc:
        raise ModelError(str(path), f"cannot read signature ({exc.strerror})") from None
    except (ValueError, TypeError, KeyError):
        raise ModelError(str(path), "signature file is not valid") from None


def verify(version_dir: Path, trusted_keys_dir: Path) -> str:
    """Check a version's detached signature against the trusted keys; return the key id.

    Raises ``ModelError`` with a one-line reason: unsigned, untrusted key, truncated or
    unreadable artifact, signature does not match (artifact or metadata altered), or metadata
    naming another model or version than its directory.
    """
    sig = read_signature(version_dir)
    keys = trusted_keys(trusted_keys_dir)
    key = keys.get(sig.key_id)
    if key is None:
        where = "" if keys else f"; no trusted keys in {trusted_keys_dir}"
        raise ModelError(str(version_dir), f"signed by untrusted key {sig.key_id}{where}")
    payload = payload_of(version_dir)
    altered = ModelError(str(version_dir),
                         "signature does not match (artifact or metadata altered)")
    if hashlib.sha256(payload).hexdigest() != sig.payload_sha256:
        raise altered
    try:
        key.verify(base64.b64decode(sig.signature, validate=True), payload)
    except (InvalidSignature, binascii.Error, ValueError):
        raise altered from None
    meta = json.loads((version_dir / "meta.json").read_text(encoding="utf-8"))
    name, version = version_dir.parent.name, version_dir.name
    if meta.get("name") != name or f"v{meta.get('version')}" != version:
        raise ModelError(str(version_dir), f"signed metadata is for {meta.get('name')} "
                         f"v{meta.get('version')}, not {name} {version} (copied version)")
    return sig.key_id
