"""Alert-fatigue control: which detections reach a person, and why the others do not.

A stream of detections (``Signal``) goes through one deterministic pipeline, in this order:

1. **duplicates**: a signal whose ``id`` was already seen (a redelivered message) is dropped;
2. **planned downtime**: a signal inside a planned stop of its line is suppressed, naming it;
3. **shelving**: a shelved key (use case + asset) is suppressed until the shelf expires;
4. **episodes**: repeated detections of the same use case on the same asset form one episode,
   which stays open while detections keep coming within ``episode_gap`` (2 h) of each other;
   only the first detection of an episode is a new intervention, the rest are deduplicated
   into it;
5. **rate limit**: each operator position gets at most ``rate_limit`` new interventions in any
   ``rate_window`` (10 per 10 min); beyond that they wait in a visible first-in-first-out
   queue and are delivered, in order, at the exact instant the window frees a slot. Nothing
   is dropped.

Alongside, **flood detection** flags a position that receives ``flood_threshold`` (10) or more
new interventions (delivered or queued) in any ``flood_window`` (10 min), the ISA-18.2 flood.

Every ``Decision`` says why (delivered / deduplicated into episode X / suppressed: planned
downtime 'name' / shelved until ... (reason) / queued: rate limit ...). Time is the signals'
own: the filter reads no clock, and ``tick(now)`` releases what the queue owes by ``now``.

``FatigueFilter`` keeps its state in memory (what-if runs over a recorded stream); the live
path's ``andon.interventions.gate`` applies the same rules (``slot_free_at``, ``flood_count``,
``downtime_covering``) over state kept in the store, so that an edge restart forgets nothing.

>>> from andon.clock import utc
>>> f = FatigueFilter(FatigueConfig(rate_limit=2))
>>> for minute in range(4):
...     signal = Signal("pump-bearing", f"p-{minute}", "cr1", utc(2026, 1, 5, 8, minute))
...     for d in f.feed(signal):
...         print(f"{d.at:%H:%M} {d.signal.asset} {d.verdict}")
08:00 p-0 delivered
08:01 p-1 delivered
08:02 p-2 queued
08:03 p-3 queued
>>> [f"{d.at:%H:%M} {d.signal.asset}" for d in f.tick(utc(2026, 1, 5, 9))]
['08:10 p-2', '08:11 p-3']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from andon.interventions.lifecycle import describe_duration

__all__ = [
    "Decision",
    "DowntimeWindow",
    "Episode",
    "FatigueConfig",
    "FatigueFilter",
    "Flood",
    "Queued",
    "Shelf",
    "Signal",
    "Verdict",
    "downtime_covering",
    "flood_count",
    "run",
    "slot_free_at",
]


class Verdict(StrEnum):
    """What fatigue control did with one signal."""

    DELIVERED = "delivered"  # a new intervention shown to the position now
    DUPLICATE = "duplicate"  # the same signal id was already seen; dropped
    DEDUPLICATED = "deduplicated"  # a repeat within an open episode; folded into it
    SUPPRESSED = "suppressed"  # inside a planned downtime window
    SHELVED = "shelved"  # its key is shelved until a given instant
    QUEUED = "queued"  # a new intervention held back by the position's rate limit
    TRIAGE = "triage"  # not confident enough, or out of distribution: held for a reviewer
    HELD = "held"  # its episode was dismissed: not raised again until the asset is normal


@dataclass(frozen=True, slots=True)
class Signal:
    """One detection entering fatigue control.

    ``position`` is the operator position (console) that would receive it; ``line`` scopes
    planned downtime; ``id`` (optional) identifies the message, for duplicate detection.
    """

    use_case: str
    asset: str
    position: str
    at: datetime
    line: str | None = None
    id: str = ""

    @property
    def key(self) -> str:
        """The episode and shelving key: use case and asset."""
        return f"{self.use_case}/{self.asset}"


@dataclass(frozen=True, slots=True)
class FatigueConfig:
    """The knobs of fatigue control (ISA-18.2 defaults)."""

    episode_gap: timedelta = timedelta(hours=2)
    rate_limit: int = 10
    rate_window: timedelta = timedelta(minutes=10)
    flood_threshold: int = 10
    flood_window: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        for name in ("episode_gap", "rate_window", "flood_window"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"fatigue.{name}: {getattr(self, name)} must be positive")
        for name in ("rate_limit", "flood_threshold"):
            if getattr(self, name) < 1:
                raise ValueError(f"fatigue.{name}: {getattr(self, name)} must be at least 1")


@dataclass(frozen=True, slots=True)
class DowntimeWindow:
    """A planned stop ``[start, end)``; ``line`` None means every line.

    ``andon.spec.planned_stops`` gives the stops of a line's calendar (name, start, end).
    """

    name: str
    start: datetime
    end: datetime
    line: str | None = None

    def covers(self, signal: Signal) -> bool:
        """Whether ``signal`` falls inside this window."""
        in_scope = self.line is None or self.line == signal.line
        return in_scope and self.start <= signal.at < self.end


@dataclass(frozen=True, slots=True)
class Shelf:
    """A key shelved until ``until`` (exclusive), and why."""

    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Episode:
    """Repeated detections of one use case on one asset, counted as one intervention."""

    id: str
    key: str
    position: str
    opened_at: datetime
    last_at: datetime
    detections: int


@dataclass(frozen=True, slots=True)
class Queued:
    """A new intervention waiting for its position's rate limit."""

    signal: Signal
    episode_id: str
    queued_at: datetime


@dataclass(frozen=True, slots=True)
class Flood:
    """A position entered flood: ``count`` new interventions within one flood window."""

    position: str
    started_at: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Decision:
    """What happened to one signal, when, and why (``reason`` is the line a person reads)."""

    signal: Signal
    verdict: Verdict
    at: datetime  # when decided: the signal's time, or the release instant for a queued one
    reason: str
    episode_id: str | None = None
    flood: bool = False  # the position was in flood when this signal arrived

    @property
    def delivered(self) -> bool:
        """True when a person sees it now."""
        return self.verdict is Verdict.DELIVERED


@dataclass
class FatigueFilter:
    """Stateful, deterministic fatigue control over one time-ordered stream of signals.

    Feed signals in time order (``feed``); ``tick`` releases queued items due by a time.
    """

    config: FatigueConfig = field(default_factory=FatigueConfig)
    downtime: Sequence[DowntimeWindow] = ()
    shelves: dict[str, Shelf] = field(default_factory=dict)
    floods: list[Flood] = field(default_factory=list, init=False)  # each time a position floods
    _now: datetime | None = field(default=None, init=False, repr=False)
    _seen: set[str] = field(default_factory=set, init=False, repr=False)
    _open: dict[str, Episode] = field(default_factory=dict, init=False, repr=False)
    _episodes: dict[str, Episode] = field(default_factory=dict, init=False, repr=False)
    _deliveries: dict[str, deque[datetime]] = field(default_factory=dict, init=False,
                                                     repr=False)
    _arrivals: dict[str, deque[datetime]] = field(default_factory=dict, init=False, repr=False)
    _queues: dict[str, deque[Queued]] = field(default_factory=dict, init=False, repr=False)

    # -- inputs ---------------------------------------------------------------------------
    def shelve(self, key: str, until: datetime, reason: str) -> None:
        """Suppress ``key`` (use case/asset) until ``until``; a reason is required."""
        if not reason.strip():
            raise ValueError(f"shelving {key} needs a reason")
        self.shelves[key] = Shelf(until, reason)

    def unshelve(self, key: str) -> None:
        """Lift a shelf early (no-op if ``key`` is not shelved)."""
        self.shelves.pop(key, None)

    def feed(self, signal: Signal) -> list[Decision]:
        """Decide on ``signal``: queue releases due by its time first (in order), then it."""
        out = self.tick(signal.at)
        out.append(self._decide(signal))
        return out

    def tick(self, now: datetime) -> list[Decision]:
        """Deliver queued items whose slot has come by ``now``, each at its exact instant."""
        if self._now is not None and now < self._now:
            raise ValueError(f"fatigue control cannot go back from {self._now.isoformat()} "
                             f"to {now.isoformat()}; feed signals in time order")
        self._now = now
        out: list[Decision] = []
        for position in sorted(self._queues):
            out.extend(self._release(position, now))
        out.sort(key=lambda d: d.at)  # stable: positions stay in name order at equal instants
        return out

    # -- views ----------------------------------------------------------------------------
    def queue(self, position: str) -> tuple[Queued, ...]:
        """The overflow queue of ``position``, oldest first."""
        return tuple(self._queues.get(position, ()))

    def episodes(self) -> tuple[Episode, ...]:
        """Every episode so far, in the order they opened, with their latest counts."""
        return tuple(self._episodes.values())

    def in_flood(self, position: str, at: datetime) -> bool:
        """Whether ``position`` had ``flood_threshold`` or more arrivals in the window to ``at``.

        Meant for instants from the latest arrival on: older arrivals are forgotten.
        """
        arrivals = self._arrivals.get(position, deque())
        return flood_count(arrivals, at, self.config.flood_window) >= self.config.flood_threshold

    # -- the pipeline ---------------------------------------------------------------------
    @property
    def _limit_text(self) -> str:
        return (f"rate limit {self.config.rate_limit} per "
                f"{describe_duration(self.config.rate_window)}")

    def _decide(self, s: Signal) -> Decision:
        if s.id:
            if s.id in self._seen:
                return Decision(s, Verdict.DUPLICATE, s.at,
                                f"duplicate: signal {s.id} was already seen")
            self._seen.add(s.id)
        w = downtime_covering(self.downtime, s)
        if w is not None:
            return Decision(s, Verdict.SUPPRESSED, s.at,
                            f"suppressed: planned downtime '{w.name}' "
                            f"({w.start.isoformat()} to {w.end.isoformat()})")
        shelf = self.shelves.get(s.key)
        if shelf is not None and s.at < shelf.until:
            return Decision(s, Verdict.SHELVED, s.at,
                            f"shelved until {shelf.until.isoformat()} ({shelf.reason})")
        ep = self._open.get(s.key)
        if ep is not None and s.at - ep.last_at <= self.config.episode_gap:
            ep = replace(ep, last_at=s.at, detections=ep.detections + 1)
            self._open[s.key] = self._episodes[ep.id] = ep
            return Decision(s, Verdict.DEDUPLICATED, s.at,
                            f"deduplicated into episode {ep.id} (detection {ep.detections}, "
                            f"open since {ep.opened_at.isoformat()})", ep.id)
        return self._new_intervention(s)

    def _new_intervention(self, s: Signal) -> Decision:
        ep = Episode(f"{s.key}@{s.at.isoformat()}", s.key, s.position, s.at, s.at, 1)
        self._open[s.key] = self._episodes[ep.id] = ep
        flood = self._arrive(s.position, s.at)
        queue = self._queues.setdefault(s.position, deque())
        if not queue and self._free_at(s.position, s.at) == s.at:
            self._deliveries.setdefault(s.position, deque()).append(s.at)
            return Decision(s, Verdict.DELIVERED, s.at, f"delivered: new episode {ep.id}",
                            ep.id, flood)
        ahead = len(queue)
        queue.append(Queued(s, ep.id, s.at))
        return Decision(s, Verdict.QUEUED, s.at,
                        f"queued: {self._limit_text} reached on position {s.position}; "
                        f"{ahead} ahead in the queue", ep.id, flood)

    def _arrive(self, position: str, at: datetime) -> bool:
        """Count a new intervention for flood detection; True while the position is in flood."""
        arrivals = self._arrivals.setdefault(position, deque())
        arrivals.append(at)
        while arrivals and arrivals[0] <= at - self.config.flood_window:
            arrivals.popleft()
        flooded = len(arrivals) >= self.config.flood_threshold
        if len(arrivals) == self.config.flood_threshold:
            self.floods.append(Flood(position, at, len(arrivals)))
        return flooded

    def _free_at(self, position: str, earliest: datetime) -> datetime:
        """The first instant at or after ``earliest`` when ``position`` has a free slot."""
        deliveries = self._deliveries.setdefault(position, deque())
        t = max(earliest, deliveries[-1]) if deliveries else earliest
        while deliveries and deliveries[0] <= t - self.config.rate_window:
            deliveries.popleft()
        return slot_free_at(deliveries, t, self.config)

    def _release(self, position: str, now: datetime) -> list[Decision]:
        queue = self._queues[position]
        out: list[Decision] = []
        while queue:
            item = queue[0]
            at = self._free_at(position, item.queued_at)
            if at > now:
                break
            queue.popleft()
            self._deliveries[position].append(at)
            waited = describe_duration(at - item.queued_at)
            out.append(Decision(item.signal, Verdict.DELIVERED, at,
                                f"delivered from the queue after {waited} "
                                f"({self._limit_text} on position {position}): "
                                f"new episode {item.episode_id}", item.episode_id))
        return out


def slot_free_at(deliveries: Sequence[datetime], earliest: datetime,
                 config: FatigueConfig) -> datetime:
    """The first instant at or after ``earliest`` when a position has a free delivery slot.

    ``deliveries`` are the position's delivery instants, oldest first, none after ``earliest``.
    """
    recent = [t for t in deliveries if t > earliest - config.rate_window]
    if len(recent) < config.rate_limit:
        return earliest
    # the slot frees when the oldest of the last ``rate_limit`` deliveries leaves the window
    return recent[-config.rate_limit] + config.rate_window


def flood_count(arrivals: Iterable[datetime], at: datetime, window: timedelta) -> int:
    """How many ``arrivals`` fall in the flood window ending at ``at``: ``(at - window, at]``."""
    since = at - window
    return sum(1 for t in arrivals if since < t <= at)


def downtime_covering(windows: Iterable[DowntimeWindow], signal: Signal) -> DowntimeWindow | None:
    """The first planned-downtime window covering ``signal``, if any."""
    return next((w for w in windows if w.covers(signal)), None)


def run(signals: Iterable[Signal], *, config: FatigueConfig | None = None,
        downtime: Sequence[DowntimeWindow] = (), shelves: Mapping[str, Shelf] | None = None,
        until: datetime | None = None) -> list[Decision]:
    """Every decision on ``signals`` (sorted by time, stably), then queue releases by ``until``.

    A pure function: the same inputs always give the same decisions, in the same order.
    """
    f = FatigueFilter(config or FatigueConfig(), downtime, dict(shelves or {}))
    out: list[Decision] = []
    for s in sorted(signals, key=lambda s: s.at):
        out.extend(f.feed(s))
    if until is not None:
        out.extend(f.tick(until))
    return out
