"""Access levels, permissions, users and secret handling (scrypt, sha256 of tokens)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from andon.errors import Forbidden

__all__ = [
    "PERMISSIONS",
    "Permission",
    "User",
    "access_allows",
    "hash_password",
    "hash_token",
    "new_token",
    "require",
    "verify_password",
]


class Permission(StrEnum):
    """Things a caller may do."""

    READ = "read"  # see interventions, models, health
    FEEDBACK = "feedback"  # record acted / deferred / dismissed
    MANAGE_MODELS = "manage_models"  # register / train models
    CHANGE_SPEC = "change_spec"  # replace the plant spec; manage users
    REVIEW = "review"  # label triage items (detections held back for a reviewer)


#: access level (from the spec's role) -> permissions it grants
PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.READ}),
    "operator": frozenset({Permission.READ, Permission.FEEDBACK}),
    "engineer": frozenset({Permission.READ, Permission.FEEDBACK, Permission.MANAGE_MODELS,
                           Permission.REVIEW}),
    "admin": frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class User:
    """A login: a person of the spec with the access their role grants."""

    username: str
    role: str  # the spec role id, e.g. maintenance_planner
    access: str  # viewer / operator / engineer / admin
    display_name: str = ""
    password_hash: str = field(default="", repr=False)


def access_allows(access: str, permission: Permission) -> bool:
    """Whether an access level grants a permission."""
    return permission in PERMISSIONS.get(access, frozenset())


def require(user: User, permission: Permission) -> None:
    """Raise ``Forbidden`` unless ``user`` holds ``permission``."""
    if not access_allows(user.access, permission):
        raise Forbidden(user.username, user.role, permission.value.replace("_", " "))


_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Hash a password with scrypt, as ``scrypt$salt_hex$hash_hex``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against ``hash_password`` output."""
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def new_token() -> str:
    """A fresh bearer token (shown once, stored only as a hash)."""
    return "andon_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()
