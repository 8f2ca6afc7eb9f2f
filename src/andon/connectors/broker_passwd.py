"""The embedded broker's password file: who may log in, and how their passwords are checked.

One login a line, ``user:hash``; blank lines and lines starting with ``#`` are ignored::

    # written by `andon broker-passwd FILE USER`: argon2id, as Andon's own logins
    edge-1:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$...
    # written by Mosquitto 2's `mosquitto_passwd`: PBKDF2-SHA512, read for compatibility
    gateway:$7$101$c2FsdHNhbHQ=$...

``andon broker-passwd`` writes argon2id (``andon.auth.access.hash_password``: the same cost
as the inbox's logins); a file Mosquitto 2's ``mosquitto_passwd`` wrote (``$7$``) is read as
it is, so one file can serve a Mosquitto and the embedded broker. Mosquitto 1's ``$6$`` (a
single SHA-512) and anything else are refused: set such a password again. A line that cannot
be used is an error naming the file and line (``ConnectorError``), never skipped, and never
shows the hash.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError

from andon.auth.access import hash_password, verify_password
from andon.errors import ConnectorError

__all__ = ["PasswordFile", "set_password", "username_problem"]

#: Mosquitto 2's PBKDF2-SHA512 entry: ``$7$<iterations>$<salt, base64>$<hash, base64>``
_PBKDF2: Final = re.compile(r"\$7\$(?P<iterations>[0-9]{1,9})\$(?P<salt>[A-Za-z0-9+/=]+)"
                            r"\$(?P<hash>[A-Za-z0-9+/=]+)")
_BAD_NAME: Final = re.compile(r"[:\s/+#\x00-\x1f\x7f]")
MAX_NAME: Final = 128  # longest user name ``andon broker-passwd`` writes


def username_problem(username: str) -> str | None:
    """Why ``username`` cannot be a broker login (None: it can).

    No ``:`` (the file's separator), space or control character, and none of ``/ + #``
    (the ACL's ``%u`` puts the name inside topics).
    """
    if not username:
        return "a user name cannot be empty"
    if len(username) > MAX_NAME:
        return f"a user name is at most {MAX_NAME} characters"
    if _BAD_NAME.search(username):
        return "a user name cannot contain ':', '/', '+', '#', spaces or control characters"
    return None


def _hash_problem(stored: str) -> str | None:
    """Why ``stored`` is not a hash this broker can check (None: it is one)."""
    if stored.startswith("$argon2id$"):
        try:
            extract_parameters(stored)
        except InvalidHashError:
            return "a malformed argon2id hash"
        return None
    if stored.startswith("$7$"):
        found = _PBKDF2.fullmatch(stored)
        try:
            ok = (found is not None and int(found["iterations"]) >= 1
                  and bool(base64.b64decode(found["salt"], validate=True))
                  and bool(base64.b64decode(found["hash"], validate=True)))
        except binascii.Error:
            ok = False
        return None if ok else "a malformed $7$ (mosquitto_passwd) hash"
    if stored.startswith("$6$"):
        return ("a Mosquitto 1 $6$ hash (a single SHA-512) is too weak: set this password again "
                "with andon broker-passwd (argon2id) or Mosquitto 2's mosquitto_passwd")
    return ("not a password hash this broker reads (argon2id from andon broker-passwd, or $7$ "
            "from Mosquitto 2's mosquitto_passwd)")


def _verify_pbkdf2(password: str, stored: str) -> bool:
    found = _PBKDF2.fullmatch(stored)
    if found is None:
        return False
    salt = base64.b64decode(found["salt"])
    expected = base64.b64decode(found["hash"])
    got = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(found["iterations"]),
                              dklen=len(expected))
    return hmac.compare_digest(got, expected)


@cache
def _decoy() -> str:
    """A hash to check unknown users against, so that they take as long as known ones."""
    return hash_password(os.urandom(16).hex())


@dataclass
class PasswordFile:
    """The logins of a password file: ``verify(user, password)``."""

    source: str = "<passwd>"
    hashes: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, path: Path) -> PasswordFile:
        """Read and check a password file; ``ConnectorError`` naming the file and line if bad."""
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"{path}: password file is not UTF-8 text ({exc.reason})"
                                 ) from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<passwd>") -> PasswordFile:
        """The logins written in ``text``; ``ConnectorError`` (``source:line: reason``) if bad."""
        found = cls(source)
        first: dict[str, int] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            user, colon, stored = line.partition(":")
            if not colon or not user:
                raise ConnectorError(f"{source}:{number}: expected user:hash (one login a "
                                     "line)")
            problem = _hash_problem(stored)
            if problem is not None:
                raise ConnectorError(f"{source}:{number}: user {user[:MAX_NAME]!r}: {problem}")
            if user in first:
                raise ConnectorError(f"{source}:{number}: user {user[:MAX_NAME]!r} is listed "
                                     f"twice (first on line {first[user]})")
            first[user] = number
            found.hashes[user] = stored
        return found

    def __contains__(self, username: object) -> bool:
        return username in self.hashes

    def verify(self, username: str, password: str) -> bool:
        """True when ``username`` is listed and ``password`` is its password."""
        stored = self.hashes.get(username)
        if stored is None:
            verify_password(password, _decoy())  # same work as for a known user
            return False
        if stored.startswith("$7$"):
            return _verify_pbkdf2(password, stored)
        return verify_password(password, stored)


def set_password(path: Path, username: str, password: str) -> bool:
    """Set ``username``'s password in the file at ``path`` (argon2id); True if it is new.

    The file is created if missing (mode 0600); an existing one must read cleanly
    (``PasswordFile.read``), keeps its other lines, comments and order, and is replaced
    atomically. ``ConnectorError`` if the name cannot be a login.
    """
    problem = username_problem(username)
    if problem is not None:
        raise ConnectorError(f"{path}: {problem}")
    lines: list[str] = []
    if path.exists():
        text = path.read_text(encoding="utf-8")
        PasswordFile.parse(text, str(path))  # refuse to rewrite a file that is broken
        lines = text.splitlines()
    entry = f"{username}:{hash_password(password)}"
    at = next((i for i, line in enumerate(lines)
               if line.strip().partition(":")[0] == username), None)
    if at is None:
        lines.append(entry)
    else:
        lines[at] = entry
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        Path(tmp).replace(path)  # mkstemp made it 0600
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
    return at is None
