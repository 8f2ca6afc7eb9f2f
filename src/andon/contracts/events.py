"""``QualityEvents``: breaches become events, at most one per (tag, rule) and interval.

A stuck sensor breaks its contract with every sample; writing an event per sample would bury
everything else. The first breach of a (subject, rule) writes an event at once; later ones
within ``every_s`` are only counted, and the next event written for that pair says how many
were held back. ``counts`` keeps every breach per rule. Times are passed in: no wall clock.

A flood of *distinct* subjects (100,000 garbage topics, each its own unknown tag) would still
write an event per subject: so only the first ``max_subjects`` new subjects of a rule in an
interval get events of their own; the rest of that interval are counted, and one event per
rule and interval says so (``subject`` ``"{rule}:*"``), naming the first subject held back and,
on the next interval's, how many were held back before. Memory stays bounded by the same cap.

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
>>> flood = QualityEvents(every_s=3600, max_subjects=2)
>>> unknown = [Violation(f"acme/x/a/l/junk/t{i}", Rule.UNKNOWN_TAG, 1.0, "x", "no such tag")
...            for i in range(5)]
>>> [e.subject for v in unknown if (e := flood.note(v, utc(2026, 3, 2, 6))) is not None]
['acme/x/a/l/junk/t0', 'acme/x/a/l/junk/t1', 'unknown_tag:*']
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
#: new subjects per rule and interval that get an event of their own (the rest: one event)
MAX_SUBJECTS = 100


class _Crowd:
    """New subjects of one rule in the current interval, and what was held back."""

    __slots__ = ("held", "held_before", "start", "subjects")

    def __init__(self, start: datetime, held_before: int) -> None:
        self.start = start
        self.subjects = 0  # new subjects that got their own event
        self.held = 0  # breaches of further new subjects: counted, no event of their own
        self.held_before = held_before  # ... in the interval before


class QualityEvents:
    """Rate-limits breach events per (subject, rule); counts every breach per rule."""

    def __init__(self, every_s: float = 3600.0, max_subjects: int = MAX_SUBJECTS) -> None:
        self.every_s = every_s
        self.max_subjects = max_subjects
        self.counts: Counter[str] = Counter()
        self._last: dict[tuple[str, str], tuple[datetime, int]] = {}
        self._crowds: dict[str, _Crowd] = {}  # rule -> its new subjects this interval

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
        if seen is None:
            crowd = self._crowd(rule, at)
            if crowd.subjects >= self.max_subjects:
                return self._held(crowd, subject, rule, at, kind)
            crowd.subjects += 1
        if len(self._last) >= _MAX_KEYS:
            self._last.clear()
        self._last[key] = (at, 0)
        held = "" if seen is None or not seen[1] else (
            f" (+{seen[1]} more since {seen[0].isoformat()})")
        return Event(kind, subject, f"{rule}: {why.reason}{held}", at)


    def _crowd(self, rule: str, at: datetime) -> _Crowd:
        crowd = self._crowds.get(rule)
        if crowd is None or (at - crowd.start).total_seconds() >= self.every_s:
            crowd = self._crowds[rule] = _Crowd(at, 0 if crowd is None else crowd.held)
        return crowd

    def _held(self, crowd: _Crowd, subject: str, rule: str, at: datetime,
              kind: EventKind) -> Event | None:
        """A new subject over the cap: counted; the interval's first one says so in an event."""
        crowd.held += 1
        if crowd.held > 1:
            return None
        before = (f" ({crowd.held_before} held back in the interval before)"
                  if crowd.held_before else "")
        return Event(kind, f"{rule}:*",
                     f"{rule}: more than {self.max_subjects} distinct subjects since "
                     f"{crowd.start.isoformat()}; the rest of this interval are counted, not "
                     f"reported one by one (first held back: {subject[:300]}){before}", at)


class Reasoned(Protocol):
    """Anything with a one-line ``reason`` (a ``Violation``, a ``GapNote``)."""

    @property
    def reason(self) -> str:
        """Why, in one line naming what."""
        ...
