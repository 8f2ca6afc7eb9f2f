"""Sign-in back-off: after a few failures, each further one locks the key for twice as long.

Keys are ``user:<login>`` (a guesser on one account, from anywhere) and ``addr:<address>`` (one
guesser trying many accounts). While a key is locked, a sign-in is refused before the password
is checked, so even the right password does not open it; a success clears the keys it used.
Failures older than ``forget_s`` are forgotten. Pure: the store keeps the ``Failures`` and
the caller passes the time.

>>> b = Backoff()
>>> [b.lock_s(n) for n in (1, 4, 5, 6, 7, 12, 20)]
[0.0, 0.0, 30.0, 60.0, 120.0, 900.0, 900.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Backoff", "Failures", "address_key", "user_key"]


def user_key(username: str) -> str:
    """The back-off key of a login."""
    return f"user:{username.strip().lower()}"


def address_key(address: str) -> str:
    """The back-off key of a client address."""
    return f"addr:{address}"


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed sign-ins counted on one key."""

    key: str
    failures: int
    last_at: datetime
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        """Whether the key refuses sign-ins at ``now``."""
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True, slots=True)
class Backoff:
    """How failures turn into locks."""

    free: int = 5  # failures allowed before the first lock
    base_s: float = 30.0  # the first lock
    max_s: float = 900.0  # no lock is longer (15 min)
    forget_s: float = 3600.0  # a key with no failure for this long starts again at 0

    def lock_s(self, failures: int) -> float:
        """Seconds a key is locked after its ``failures``-th failure."""
        if failures < self.free:
            return 0.0
        return float(min(self.max_s, self.base_s * 2 ** (failures - self.free)))

    def after_failure(self, key: str, before: Failures | None, now: datetime) -> Failures:
        """The key's count after one more failure at ``now`` (locked when due)."""
        fresh = before is None or (now - before.last_at).total_seconds() > self.forget_s
        failures = 1 if fresh or before is None else before.failures + 1
        lock = self.lock_s(failures)
        return Failures(key, failures, now, now + timedelta(seconds=lock) if lock else None)
