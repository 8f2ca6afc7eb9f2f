"""Time as a dependency: domain code asks a ``Clock``, never the wall.

``SystemClock`` reads the wall; ``ManualClock`` moves only when told, for tests and for the
simulator's event time. All datetimes in Andon are timezone-aware UTC.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "from_ms", "to_ms", "utc"]


class Clock(Protocol):
    """Anything that can tell the current UTC time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""
        ...

    def now_ms(self) -> int:
        """Return the current time in epoch milliseconds (the hot path's cheap read).

        The same instant as ``now()``; building a ``datetime`` costs ~1-5 us, an int does not.
        """
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the wall-clock time in UTC."""
        return datetime.now(UTC)

    def now_ms(self) -> int:
        """Return the wall-clock time in epoch milliseconds (the hot path's cheap read)."""
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when ``advance`` or ``set`` is called.

    >>> c = ManualClock(utc(2026, 1, 1))
    >>> c.advance(seconds=90).isoformat()
    '2026-01-01T00:01:30+00:00'
    """

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._ms = to_ms(self._now)

    def now(self) -> datetime:
        """Return the time last set."""
        return self._now

    def now_ms(self) -> int:
        """Return the time last set in epoch milliseconds."""
        return self._ms

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (may not go backwards)."""
        when = when.astimezone(UTC)
        if when < self._now:
            raise ValueError(f"ManualClock cannot go back from {self._now} to {when}")
        self._now = when
        self._ms = to_ms(when)
        return self._now

    def advance(self, seconds: float = 0.0) -> datetime:
        """Move forward by ``seconds``."""
        return self.set(self._now + timedelta(seconds=seconds))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,  # noqa: PLR0917
        second: int = 0) -> datetime:
    """Build an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def to_ms(when: datetime) -> int:
    """Milliseconds since the Unix epoch, the UNS payload's time unit."""
    return round(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Inverse of ``to_ms``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def monotonic() -> float:
    """Monotonic seconds, for measuring durations only."""
    return time.monotonic()
