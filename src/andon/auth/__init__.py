"""Who is calling and what they may do.

Good means: every surface resolves a caller from a token before doing anything, and every
action names the permission it needs; roles come from the plant spec (each role grants one
access level), secrets are stored only as hashes and never logged.
"""

from andon.auth.access import (
    PERMISSIONS,
    Permission,
    User,
    access_allows,
    hash_password,
    hash_token,
    new_token,
    require,
    verify_password,
)

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
