"""Operator load in ISA-18.2 figures, per operator position.

From the interventions raised on each position (``andon.interventions.position``: the console
whose attention they took, whoever they were later escalated to; raised, closed at their first
move into a final state, source ``use_case/asset``) over a period of time:

- **interventions per 10 minutes**, average and maximum (ISA-18.2: about 1 on average is very
  likely acceptable, 2 manageable; the maximum should stay well below 10);
- **% of 10-minute periods in flood** (10 or more new interventions; target below 1 %);
- **top-10 sources' share** of all interventions (a few chattering sources usually dominate;
  target a few %);
- **stale** interventions: still open more than 24 h after they were raised, at ``now``.

Periods are ``period`` (10 min) long, counted from ``start``; the last one may be shorter
when ``end - start`` is not a whole number of periods, and still counts as one.

>>> from andon.clock import utc
>>> items = [LoadItem("cr1", utc(2026, 1, 5, 8, m), None, "pump-bearing/p-101") for m in (1, 2, 15)]
>>> report = load_figures(items, start=utc(2026, 1, 5, 8), end=utc(2026, 1, 5, 8, 30))
>>> fig = report.positions[0]
>>> fig.interventions, fig.average_per_period, fig.max_per_period, fig.stale
(3, 1.0, 2, 0)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from andon.interventions.lifecycle import FINAL_STATES
from andon.interventions.position import position_of_intervention

if TYPE_CHECKING:
    from andon.interventions.record import Intervention
    from andon.spec.model import PlantSpec

__all__ = [
    "LoadItem",
    "LoadReport",
    "PositionLoad",
    "chattering",
    "closed_at",
    "load_figures",
    "load_items",
    "per_step",
]

PERIOD = timedelta(minutes=10)
FLOOD_THRESHOLD = 10
STALE_AFTER = timedelta(hours=24)
TOP = 10
#: ISA-18.2 per operator and hour: about 6 (150 a day) very likely acceptable, 12 (300 a day)
#: the most that is manageable
ACCEPTABLE_PER_HOUR = 6
MANAGEABLE_PER_HOUR = 12
#: chattering: this many interventions or more from one source within ``CHATTER_WINDOW``
#: (ISA-18.2 counts 3 in a minute for alarms; an intervention is raised once per episode, so
#: the window is one period of the load figures)
CHATTER_REPEATS = 3
CHATTER_WINDOW = PERIOD


@dataclass(frozen=True, slots=True)
class LoadItem:
    """One intervention as load: the position it went to, raised, closed (None: open), source.

    ``source`` is what raised it, e.g. ``"pump-bearing/p-101"`` (use case/asset).
    """

    position: str
    raised_at: datetime
    closed_at: datetime | None = None
    source: str = ""

    def open_at(self, now: datetime) -> bool:
        """Raised by ``now`` and not closed by then."""
        return self.raised_at <= now and (self.closed_at is None or self.closed_at > now)


@dataclass(frozen=True, slots=True)
class PositionLoad:
    """The load figures of one operator position."""

    position: str
    interventions: int  # raised in [start, end)
    periods: int
    average_per_period: float
    max_per_period: int
    flood_periods: int  # periods with flood_threshold or more new interventions
    flood_percent: float
    top_sources: tuple[tuple[str, int], ...]  # most frequent first, at most ``top``
    top_share: float  # share (0..1) of interventions coming from ``top_sources``
    stale: int  # open more than ``stale_after`` at ``now``


@dataclass(frozen=True, slots=True)
class LoadReport:
    """Load figures of every position over ``[start, end)``; staleness as of ``now``."""

    start: datetime
    end: datetime
    now: datetime
    period: timedelta
    flood_threshold: int
    positions: tuple[PositionLoad, ...]

    def position(self, name: str) -> PositionLoad:
        """The figures of one position (KeyError if it had no interventions)."""
        for p in self.positions:
            if p.position == name:
                return p
        raise KeyError(name)

    def format_table(self) -> str:
        """Plain-text table, one row per position."""
        minutes = f"{self.period.total_seconds() / 60:g} min"
        header = ("position", "interventions", f"avg/{minutes}", f"max/{minutes}",
                  f"% in flood (>={self.flood_threshold})", "top-10 share", "stale")
        rows = [header] + [
            (p.position, str(p.interventions), f"{p.average_per_period:.2f}",
             str(p.max_per_period), f"{p.flood_percent:.1f}%", f"{100 * p.top_share:.1f}%",
             str(p.stale))
            for p in self.positions
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]

        def line(row: tuple[str, ...]) -> str:
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                            strict=True)]
            return "  ".join(cells).rstrip()

        title = (f"Operator load {self.start.isoformat()} to {self.end.isoformat()} "
                 f"({len(self.positions)} position(s); stale as of "
                 f"{self.now.isoformat()})")
        rule = "  ".join("-" * w for w in widths)
        return "\n".join([title, line(rows[0]), rule, *(line(r) for r in rows[1:])])


def load_figures(
    items: Iterable[LoadItem | tuple[str, datetime, datetime | None]],
    *,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    period: timedelta = PERIOD,
    flood_threshold: int = FLOOD_THRESHOLD,
    stale_after: timedelta = STALE_AFTER,
    top: int = TOP,
) -> LoadReport:
    """ISA-18.2 load figures per position for interventions raised in ``[start, end)``.

    ``items`` are ``LoadItem`` or plain ``(position, raised_at, closed_at)`` tuples (source
    unknown). Staleness is judged at ``now`` (default ``end``) over every item, including
    those raised before ``start``.
    """
    if end <= start:
        raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
    if period <= timedelta(0):
        raise ValueError(f"period {period} must be positive")
    when = end if now is None else now
    periods = math.ceil((end - start) / period)
    by_position: dict[str, list[LoadItem]] = {}
    for raw in items:
        item = raw if isinstance(raw, LoadItem) else LoadItem(*raw)
        by_position.setdefault(item.position, []).append(item)

    out: list[PositionLoad] = []
    for position in sorted(by_position):
        mine = by_position[position]
        inside = [i for i in mine if start <= i.raised_at < end]
        per_period = Counter((i.raised_at - start) // period for i in inside)
        flood = sum(1 for n in per_period.values() if n >= flood_threshold)
        sources = Counter(i.source or "(unknown)" for i in inside)
        ranked = tuple(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))[:top])
        total = len(inside)
        out.append(PositionLoad(
            position=position,
            interventions=total,
            periods=periods,
            average_per_period=total / periods,
            max_per_period=max(per_period.values(), default=0),
            flood_periods=flood,
            flood_percent=100.0 * flood / periods,
            top_sources=ranked,
            top_share=sum(n for _, n in ranked) / total if total else 0.0,
            stale=sum(1 for i in mine if i.open_at(when) and when - i.raised_at > stale_after),
        ))
    return LoadReport(start, end, when, period, flood_threshold, tuple(out))


def closed_at(iv: Intervention) -> datetime | None:
    """When ``iv`` first reached a final state (done, dismissed, expired), or None while open."""
    for move in iv.lifecycle.history:
        if move.to_state in FINAL_STATES:
            return move.at
    return None


def load_items(spec: PlantSpec, ivs: Iterable[Intervention]) -> list[LoadItem]:
    """One ``LoadItem`` per stored intervention: its position, raised, closed, source."""
    return [LoadItem(position_of_intervention(spec, iv), iv.lifecycle.raised_at, closed_at(iv),
                     f"{iv.use_case}/{iv.asset}") for iv in ivs]


def per_step(items: Iterable[LoadItem], *, start: datetime, end: datetime,
             step: timedelta = timedelta(hours=1)) -> dict[str, list[int]]:
    """Position -> interventions raised in each ``step`` of ``[start, end)``, oldest first.

    The figures over time (per hour: against ``ACCEPTABLE_PER_HOUR`` and
    ``MANAGEABLE_PER_HOUR``); the last step may be shorter, like the last period.

    >>> from andon.clock import utc
    >>> items = [LoadItem("cr1", utc(2026, 1, 5, h, 5)) for h in (8, 8, 10)]
    >>> per_step(items, start=utc(2026, 1, 5, 8), end=utc(2026, 1, 5, 11))
    {'cr1': [2, 0, 1]}
    """
    if end <= start or step <= timedelta(0):
        raise ValueError(f"an empty period or step: {start.isoformat()} to {end.isoformat()} "
                         f"by {step}")
    steps = math.ceil((end - start) / step)
    out: dict[str, list[int]] = {}
    for item in items:
        if start <= item.raised_at < end:
            out.setdefault(item.position, [0] * steps)[(item.raised_at - start) // step] += 1
    return dict(sorted(out.items()))


def chattering(items: Iterable[LoadItem], *, start: datetime, end: datetime,
               window: timedelta = CHATTER_WINDOW,
               repeats: int = CHATTER_REPEATS) -> dict[str, tuple[tuple[str, int], ...]]:
    """Position -> its chattering sources and their most raises within one ``window``.

    A source chatters when it raised ``repeats`` or more interventions within ``window``
    (sliding) in ``[start, end)``; most first.

    >>> from andon.clock import utc
    >>> t = utc(2026, 1, 5, 8)
    >>> items = [LoadItem("cr1", t + timedelta(minutes=m), None, "a/p-1") for m in (0, 3, 9, 30)]
    >>> chattering(items, start=t, end=t + timedelta(hours=1))
    {'cr1': (('a/p-1', 3),)}
    """
    times: dict[tuple[str, str], list[datetime]] = {}
    for item in items:
        if start <= item.raised_at < end:
            times.setdefault((item.position, item.source or "(unknown)"), []).append(
                item.raised_at)
    found: dict[str, list[tuple[str, int]]] = {}
    for (position, source), raised in sorted(times.items()):
        raised.sort()
        most, first = 0, 0
        for last, at in enumerate(raised):
            while at - raised[first] >= window:
                first += 1
            most = max(most, last - first + 1)
        if most >= repeats:
            found.setdefault(position, []).append((source, most))
    return {p: tuple(sorted(found[p], key=lambda kv: (-kv[1], kv[0]))) for p in sorted(found)}
