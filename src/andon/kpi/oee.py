"""OEE per ISO 22400, from a line's state samples, its counters and its calendar.

Over a period ``[start, end)``, every instant is one of: **planned downtime** (a planned stop
of the line's calendar, or the state tag says a planned stop), **run time** (state running),
**unplanned downtime** (state unplanned, by reason) or **unknown** (no state sample covers it:
a state holds from its sample for at most ``max_gap``; a gap is flagged, never taken as
running or stopped). Then, as Point85 OEE-Designer's availability/performance/quality model:

* planned busy time (PBT) = run time + unplanned downtime (the period less planned downtime
  and unknown time);
* **availability** = run time / PBT;
* **performance** = (total count / ideal rate) / run time;
* **quality** = good count / total count;
* **OEE** = availability x performance x quality.

A ratio over nothing is None (shown "-"), with the reason in ``flags``. Counts are summed
increments of monotonic counters: a decrease is a counter reset or rollover, the new value
counting from zero, and flagged.

>>> from andon.clock import utc
>>> t0 = utc(2026, 1, 5, 8)
>>> states = [(t0, 1), (utc(2026, 1, 5, 9), 3), (utc(2026, 1, 5, 9, 30), 1)]
>>> good = [(t0, 100), (utc(2026, 1, 5, 10), 190)]
>>> scrap = [(t0, 5), (utc(2026, 1, 5, 10), 15)]
>>> k = oee(states, {1: ("running", "Running"), 3: ("unplanned", "Jam")}, good=good,
...         scrap=scrap, ideal_rate=80, start=t0, end=utc(2026, 1, 5, 10),
...         max_gap=timedelta(hours=2))
>>> round(k.availability, 3), round(k.performance, 3), k.quality, round(k.oee, 3)
(0.75, 0.833, 0.9, 0.562)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Counted", "Oee", "StateSpan", "count_increments", "oee", "state_spans"]

Point = tuple[datetime, float]


@dataclass(frozen=True, slots=True)
class StateSpan:
    """A stretch of time in one loss class, with its reason.

    The classes: ``running``, ``planned``, ``unplanned``, ``unknown``.
    """

    start: datetime
    end: datetime
    loss: str
    reason: str

    @property
    def hours(self) -> float:
        """Length in hours."""
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class Counted:
    """Units counted by a counter over a period, the resets seen and the gaps left out."""

    units: float
    resets: int
    samples: int
    gaps: int = 0


@dataclass(frozen=True, slots=True)
class Oee:
    """One period's OEE figures, their basis and what limits them (``flags``)."""

    start: datetime
    end: datetime
    planned_downtime_h: float
    run_h: float
    unplanned_downtime_h: float
    unknown_h: float
    good: float
    total: float
    ideal_rate: float | None
    spans: tuple[StateSpan, ...] = ()
    flags: tuple[str, ...] = field(default=())

    @property
    def planned_busy_h(self) -> float:
        """Planned busy time: run time + unplanned downtime (hours)."""
        return self.run_h + self.unplanned_downtime_h

    @property
    def availability(self) -> float | None:
        """Run time / planned busy time."""
        return _ratio(self.run_h, self.planned_busy_h)

    @property
    def performance(self) -> float | None:
        """(Total count / ideal rate) / run time."""
        if not self.ideal_rate or self.run_h <= 0:
            return None
        return (self.total / self.ideal_rate) / self.run_h

    @property
    def quality(self) -> float | None:
        """Good count / total count."""
        return _ratio(self.good, self.total)

    @property
    def oee(self) -> float | None:
        """Availability x performance x quality."""
        a, p, q = self.availability, self.performance, self.quality
        return None if a is None or p is None or q is None else a * p * q

    @property
    def scrap(self) -> float:
        """Units scrapped (total - good)."""
        return max(0.0, self.total - self.good)

    @property
    def scrap_rate(self) -> float | None:
        """Scrap / total."""
        return _ratio(self.scrap, self.total)

    def downtime_by_reason(self) -> list[tuple[str, str, float]]:
        """(loss, reason, hours) of planned and unplanned downtime, longest first."""
        sums: dict[tuple[str, str], float] = {}
        for s in self.spans:
            if s.loss in {"planned", "unplanned"}:
                sums[s.loss, s.reason] = sums.get((s.loss, s.reason), 0.0) + s.hours
        return sorted(((k[0], k[1], v) for k, v in sums.items()), key=lambda x: -x[2])

    def stops(self, loss: str = "unplanned") -> int:
        """Number of separate stops of a loss class (adjacent spans merged)."""
        n, prev = 0, None
        for s in self.spans:
            if s.loss == loss and (prev is None or prev.loss != loss or prev.end != s.start):
                n += 1
            prev = s
        return n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (hours, counts, ratios 0..1 or None)."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "period_h": _r((self.end - self.start).total_seconds() / 3600),
                "planned_downtime_h": _r(self.planned_downtime_h), "run_h": _r(self.run_h),
                "unplanned_downtime_h": _r(self.unplanned_downtime_h),
                "unknown_h": _r(self.unknown_h), "planned_busy_h": _r(self.planned_busy_h),
                "good": self.good, "total": self.total, "scrap": self.scrap,
                "ideal_rate_per_h": self.ideal_rate,
                "availability": _r(self.availability), "performance": _r(self.performance),
                "quality": _r(self.quality), "oee": _r(self.oee),
                "scrap_rate": _r(self.scrap_rate), "unplanned_stops": self.stops(),
                "downtime_by_reason": [{"loss": lo, "reason": re, "hours": _r(h)}
                                       for lo, re, h in self.downtime_by_reason()],
                "flags": list(self.flags)}


def state_spans(states: Sequence[tuple[datetime, float]], meaning: dict[int, tuple[str, str]],
                *, start: datetime, end: datetime, max_gap: timedelta,
                planned: Sequence[tuple[datetime, datetime, str]] = ()) -> list[StateSpan]:
    """Cut ``[start, end)`` into spans of one loss class each.

    ``states``: (time, value) sorted by time (the last one before ``start`` included, if
    any); ``meaning``: value -> (loss, reason); ``planned``: the calendar's planned stops
    (start, end, name), which win over what the state says.
    """
    cuts = {start, end}
    for at, _v in states:
        if start < at < end:
            cuts.add(at)
        if start < at + max_gap < end:
            cuts.add(at + max_gap)
    for a, b, _n in planned:
        cuts.update(x for x in (a, b) if start < x < end)
    edges = sorted(cuts)
    out: list[StateSpan] = []
    i = -1
    for a, b in itertools.pairwise(edges):
        while i + 1 < len(states) and states[i + 1][0] <= a:
            i += 1
        stop = next((n for s, e, n in planned if s <= a < e), None)
        if stop is not None:
            loss, reason = "planned", stop
        elif i < 0 or a >= states[i][0] + max_gap:
            loss, reason = "unknown", "no state sample"
        else:
            value = int(states[i][1])
            loss, reason = meaning.get(value, ("unknown", f"state value {value} not declared"))
        if out and out[-1].loss == loss and out[-1].reason == reason and out[-1].end == a:
            out[-1] = StateSpan(out[-1].start, b, loss, reason)
        else:
            out.append(StateSpan(a, b, loss, reason))
    return out


def count_increments(points: Sequence[Point], max_gap: timedelta | None = None) -> Counted:
    """Units a monotonic counter counted across ``points`` (sorted by time).

    Each rise adds its size; a fall is a reset or rollover: the new value counts from zero.
    Two points further apart than ``max_gap`` are a gap in the data: what the counter rose
    across it is left out (as the state's unknown time is left out of planned busy time).

    >>> from andon.clock import utc
    >>> t = utc(2026, 1, 5)
    >>> count_increments([(t, 10), (t, 15), (t, 3), (t, 5)])
    Counted(units=10.0, resets=1, samples=4, gaps=0)
    """
    units, resets, gaps = 0.0, 0, 0
    for (a, x), (b, y) in itertools.pairwise(points):
        if max_gap is not None and b - a > max_gap:
            gaps += 1
        elif y >= x:
            units += y - x
        else:
            resets += 1
            units += y
    return Counted(units, resets, len(points), gaps)


def oee(states: Sequence[tuple[datetime, float]], meaning: dict[int, tuple[str, str]], *,
        good: Sequence[Point], start: datetime, end: datetime, max_gap: timedelta,
        total: Sequence[Point] | None = None, scrap: Sequence[Point] | None = None,
        ideal_rate: float | None = None,
        planned: Sequence[tuple[datetime, datetime, str]] = ()) -> Oee:
    """The period's OEE (module docstring); give ``total`` or ``scrap`` counter points."""
    spans = state_spans(states, meaning, start=start, end=end, max_gap=max_gap,
                        planned=planned)
    hours: dict[str, float] = {}
    for s in spans:
        hours[s.loss] = hours.get(s.loss, 0.0) + s.hours
    flags: list[str] = []
    g = count_increments(good, max_gap)
    if total is not None:
        t = count_increments(total, max_gap)
        total_units = t.units
    else:
        t = count_increments(scrap or [], max_gap)
        total_units = g.units + t.units
    unknown = hours.get("unknown", 0.0)
    if unknown > 0:
        span = f"{unknown:.1f} h" if unknown >= 1 else f"{unknown * 60:.0f} min"
        flags.append(f"state unknown for {span} (no state sample within "
                     f"{max_gap.total_seconds() / 60:g} min): left out of planned busy time")
    resets = g.resets + t.resets
    if resets:
        flags.append(f"counter reset or rollover {resets}x: counted from zero after each")
    gaps = max(g.gaps, t.gaps)
    if gaps:
        flags.append(f"counts across {gaps} gap(s) in the counter data left out")
    if g.samples < 2:  # noqa: PLR2004
        flags.append("no counts: fewer than two good-count samples in the period")
    if hours.get("running", 0.0) + hours.get("unplanned", 0.0) <= 0:
        flags.append("no planned busy time: the whole period was planned downtime or unknown")
    if not ideal_rate:
        flags.append("no ideal rate: performance unknown")
    return Oee(start, end, hours.get("planned", 0.0), hours.get("running", 0.0),
               hours.get("unplanned", 0.0), unknown, g.units, total_units, ideal_rate,
               tuple(spans), tuple(flags))


def _ratio(part: float, whole: float) -> float | None:
    return None if whole <= 0 else part / whole


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
