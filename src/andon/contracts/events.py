"""``QualityEvents``: breaches become events, at most one per (tag, rule) and interval.

A stuck sensor breaks its contract with every sample; writing an event per sample would bury
everything else. The first breach of a (subject, rule) writes an event at once; later ones
within ``every_s`` are only counted, and the next event written for that pair says how many
were held back. ``counts`` keeps every breach per rule. Times are passed in: no wall clock.

>>> from andon.clock import utc
>>> from andon.contracts.check import Violation
>>> from andon.contracts.rules import Rule
>>> events = QualityEvents(every_s=3600)
>>> v = Violation("acme/ghent/a/l/cv-202/drive_temp", Rule.STUCK, 41.0, "plc", "flat")
>>> [events.note(v, utc(2026, 3, 2, 6, m)) is not None for m in (0, 1, 2)]
[True, False, False]
>>> events.note(v, utc(2026, 3, 2, 7, 0)).detail
'stuck: flat (+2 more since 2026-03-02T06:00:00+00:00)'
>>> events.counts[Rule.STUCK]
4
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Protocol

from andon.audit import Event, EventKind

if TYPE_CHECKING:
    from datetime import datetime

    from andon.contracts.check import Violation

__all__ = ["DATA_QUALITY", "QualityEvents", "Reasoned"]

#: event kind of contract breaches
DATA_QUALITY = EventKind.DATA_QUALITY
_MAX_KEYS = 100_000  # (subject, rule) pairs remembered; beyond that, pairs start afresh


class QualityEvents:
    """Rate-limits breach events per (subject, rule); counts every breach per rule."""

    def __init__(self, every_s: float = 3600.0) -> None:
        self.every_s = every_s
        self.counts: Counter[str] = Counter()
        self._last: dict[tuple[str, str], tuple[datetime, int]] = {}

    def note(self, v: Violation, at: datetime, kind: EventKind = DATA_QUALITY) -> Event | None:
        """Count a breach; return the event to write, or None while the pair is held back."""
        return self.note_of(v.tag, v.rule, v, at, kind)

    def note_of(self, subject: str, rule: str, why: Reasoned, at: datetime,
                kind: EventKind = DATA_QUALITY) -> Event | None:
        """``note`` for a breach whose one-line reason is costly to format (a gap note).

        ``why.reason`` is read only when an event is written, not for the held-back ones.
        """
        self.counts[rule] += 1
        key = (subject, rule)
        seen = self._last.get(key)
        if seen is not None and (at - seen[0]).total_seconds() < self.every_s:
            self._last[key] = (seen[0], seen[1] + 1)
            return None
        if len(self._last) >= _MAX_KEYS:
            self._last.clear()
        self._last[key] = (at, 0)
        held = "" if seen is None or not seen[1] else (
            f" (+{seen[1]} more since {seen[0].isoformat()})")
        return Event(kind, subject, f"{rule}: {why.reason}{held}", at)


class Reasoned(Protocol):
    """Anything with a one-line ``reason`` (a ``Violation``, a ``GapNote``)."""

    @property
    def reason(self) -> str:
        """Why, in one line naming what."""
        ...
