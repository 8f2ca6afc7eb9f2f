"""Access levels, permissions, users and secret handling (argon2id, sha256 of tokens)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from andon.errors import Forbidden

__all__ = [
    "PERMISSIONS",
    "Permission",
    "User",
    "access_allows",
    "hash_password",
    "hash_token",
    "new_token",
    "password_needs_rehash",
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
    disabled: bool = False  # may not sign in; every token refused


def access_allows(access: str, permission: Permission) -> bool:
    """Whether an access level grants a permission."""
    return permission in PERMISSIONS.get(access, frozenset())


def require(user: User, permission: Permission) -> None:
    """Raise ``Forbidden`` unless ``user`` holds ``permission``."""
    if not access_allows(user.access, permission):
        raise Forbidden(user.username, user.role, permission.value.replace("_", " "))


#: release 0.1's scrypt cost; such hashes still verify and are replaced at the next sign-in
_LEGACY_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
#: argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane): ~30 ms here
_ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32,
                         salt_len=16)


def hash_password(password: str) -> str:
    """Hash a password with argon2id (PHC string ``$argon2id$v=19$m=19456,t=2,p=1$...``)."""
    return _ARGON2.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Check a password against a stored hash (argon2id, or release 0.1's scrypt)."""
    if stored.startswith("$argon2"):
        try:
            return _ARGON2.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_LEGACY_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def password_needs_rehash(stored: str) -> bool:
    """True when ``stored`` is not argon2id at today's cost (rehash it at the next sign-in)."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _ARGON2.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def new_token() -> str:
    """A fresh bearer token (shown once, stored only as a hash)."""
    return "andon_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()
