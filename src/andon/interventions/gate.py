"""The gate between the Decider and the people: which interventions reach an inbox, and why.

The ``Decider`` says *what* to raise (persistence, one open intervention per use case and
asset); the gate says whether a person sees it *now*. For each scored window it answers with
one ``GateOutcome`` (plus any queued interventions whose slot has come), in this order:

1. **normal window**: counted on the asset's episode; after a dismissal, the episode closes
   once the asset has scored normal for the use case's ``rearm_after`` windows in a row;
2. **suppressed**: the window lies in a planned stop of the asset's line (the line's
   calendar): not delivered, counted, and kept as a ``fatigue_suppressed`` event (once per
   stop and use case/asset); an update of an open intervention still goes into its record;
3. **shelved**: its open intervention is shelved (until an expiry, for a reason, see
   ``andon.interventions.lifecycle``): updates go silently into the record;
4. **update-episode** (``deduplicated``): a repeat of an open episode updates its record
   (published again as an update, never counted as a new intervention); a repeat while the
   intervention waits in the queue updates the queued record;
5. **held**: the episode's intervention was dismissed and the asset has not been normal for
   ``rearm_after`` windows since: it is not raised again (the known re-raise defect);
6. **triage**: a new intervention whose confidence (``score / threshold``) is below the use
   case's ``confidence_floor``, or whose input is out of the model's training distribution,
   becomes a triage item for a reviewer (``andon.interventions.triage``), not an intervention;
   later windows of the same episode update that item (also once labelled ``unsure``). Once
   a reviewer labels it ``real_problem``, the next window raises the intervention; labelled
   ``normal``, the episode is held like a dismissed one;
7. **delivered** or **queued**: a new intervention goes to its operator position (owner role
   at the site, or as ``fatigue.position`` says) unless the position already had
   ``rate_limit`` deliveries in the last ``rate_window``; then it waits in the position's
   visible overflow queue and is released, oldest first, as slots free (``release_due``).
   Every new intervention counts toward **flood** detection: the ``flood_threshold``-th within
   ``flood_window`` on a position is kept as a ``fatigue_flood`` event.

Everything the gate remembers (episodes, the decision log that rate limits and floods are
counted from, the queue, triage items) lives in the store (``GateStore``), so an edge restart
changes nothing. The gate reads time from its injected clock (rate limits, floods, queue) and
from the window (planned downtime: event time).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from andon.audit import Event, EventKind
from andon.errors import NotFound
from andon.interventions.fatigue import (
    DowntimeWindow,
    FatigueConfig,
    Verdict,
    downtime_covering,
    flood_count,
    slot_free_at,
)
from andon.interventions.lifecycle import InterventionState, describe_duration
from andon.interventions.position import position_of
from andon.interventions.triage import (
    TriageItem,
    TriageReason,
    TriageStatus,
    TriageVerdict,
    confidence,
    triage_reasons,
)
from andon.spec.calendar import planned_stops

if TYPE_CHECKING:
    from andon.clock import Clock
    from andon.interventions.decide import Detection
    from andon.interventions.record import Intervention
    from andon.spec.model import PlantSpec

__all__ = [
    "EpisodeState",
    "Gate",
    "GateEntry",
    "GateEpisode",
    "GateOutcome",
    "GateStore",
    "Queued",
    "fatigue_config",
    "overflow",
]

#: how far back a planned stop may have started and still cover a window
_STOP_LOOKBACK = timedelta(days=8)


class EpisodeState(StrEnum):
    """Where the episode of a use case on an asset stands at the gate."""

    DELIVERED = "delivered"  # its intervention reached the position (updates follow it)
    QUEUED = "queued"  # its intervention waits in the position's overflow queue
    TRIAGE = "triage"  # held for a reviewer as a triage item


@dataclass(frozen=True, slots=True)
class GateEpisode:
    """Repeated detections of one use case on one asset, as the gate tracks them."""

    key: str  # use_case/asset
    position: str
    state: EpisodeState
    opened_at: datetime  # gate (clock) time
    last_at: datetime
    detections: int
    intervention_id: str | None = None  # its intervention (delivered or queued)
    triage_id: int | None = None  # its triage item, while in triage
    normal_windows: int = 0  # normal windows in a row since the last anomalous one
    queued: Intervention | None = None  # while QUEUED: the record waiting for a slot
    queued_at: datetime | None = None  # while QUEUED: since when (gate time)


@dataclass(frozen=True, slots=True)
class GateEntry:
    """One gate decision, as kept: rate limits, floods and counters are read from these."""

    at: datetime
    position: str
    key: str
    verdict: Verdict
    reason: str
    intervention_id: str | None = None
    arrival: bool = False  # a new intervention for the position (delivered or queued now)


@dataclass(frozen=True, slots=True)
class Queued:
    """A new intervention waiting in a position's overflow queue (a view of its episode)."""

    position: str
    iv: Intervention
    queued_at: datetime

    @classmethod
    def of(cls, ep: GateEpisode) -> Queued:
        """The queued intervention of a ``QUEUED`` episode."""
        if ep.queued is None or ep.queued_at is None:
            raise ValueError(f"episode {ep.key} is {ep.state.value}, not queued")
        return cls(ep.position, ep.queued, ep.queued_at)


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """What the gate did with one intervention; ``emit``: store and publish ``iv`` now."""

    verdict: Verdict
    reason: str
    iv: Intervention | None = None
    emit: bool = False


class GateStore(Protocol):
    """What the gate reads and keeps (``andon.store.Store`` provides it)."""

    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        """The open intervention of a use case on an asset, if any."""
        ...

    def get_intervention(self, intervention_id: str) -> Intervention:
        """One intervention; ``NotFound`` if unknown."""
        ...

    def save_intervention(self, iv: Intervention) -> None:
        """Insert, or update the evidence of, an intervention (by id)."""
        ...

    def add_event(self, event: Event) -> None:
        """Append an event."""
        ...

    def get_episode(self, key: str) -> GateEpisode | None:
        """The gate's episode of a use case/asset key (with its queued record), if any."""
        ...

    def save_episode(self, episode: GateEpisode) -> None:
        """Insert or replace (by key) an episode, its queued record included."""
        ...

    def delete_episode(self, key: str) -> None:
        """Forget an episode (no-op if absent)."""
        ...

    def queued_episodes(self, position: str | None = None) -> list[GateEpisode]:
        """Episodes waiting in an overflow queue (of one position), oldest queued first."""
        ...

    def add_gate_entry(self, entry: GateEntry) -> None:
        """Keep one gate decision."""
        ...

    def gate_times(self, position: str, since: datetime, *, arrivals: bool) -> list[datetime]:
        """Times after ``since`` of a position's deliveries (or, ``arrivals``, new ones)."""
        ...

    def gate_entries(self, *, key: str | None = None, verdict: str | None = None,
                     since: datetime | None = None, limit: int = 200) -> list[GateEntry]:
        """Kept decisions, newest first, optionally filtered."""
        ...

    def add_triage(self, item: TriageItem) -> TriageItem:
        """Store a new triage item; returns it with its id."""
        ...

    def update_triage(self, item: TriageItem) -> None:
        """Replace a triage item's evidence and counts (by id)."""
        ...

    def get_triage(self, item_id: int) -> TriageItem:
        """One triage item; ``NotFound`` if unknown."""
        ...


def fatigue_config(spec: PlantSpec) -> FatigueConfig:
    """The plant's fatigue limits (``spec.fatigue``) as ``FatigueConfig``."""
    f = spec.fatigue
    return FatigueConfig(rate_limit=f.rate_limit, rate_window=timedelta(seconds=f.rate_window),
                         flood_threshold=f.flood_threshold,
                         flood_window=timedelta(seconds=f.flood_window))


@dataclass
class Gate:
    """Alert-fatigue control and the confidence floor, over state kept in ``store``.

    Serve as the ``Decider``'s lookup (``open_intervention_for``) so that repeats of a queued
    intervention update it instead of raising another. Thread-safe (one lock).
    """

    spec: PlantSpec
    clock: Clock
    store: GateStore
    config: FatigueConfig = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.config = fatigue_config(self.spec)

    # -- the Decider's lookup ---------------------------------------------------------------
    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        """The open intervention in the store, else the one waiting in the queue."""
        iv = self.store.open_intervention_for(use_case, asset)
        if iv is not None:
            return iv
        ep = self.store.get_episode(_key(use_case, asset))
        return None if ep is None or ep.state is not EpisodeState.QUEUED else ep.queued

    # -- positions --------------------------------------------------------------------------
    def position_of(self, use_case: str, asset: str) -> str:
        """The operator position a use case's interventions on ``asset`` go to."""
        return position_of(self.spec, use_case, asset)

    # -- the gate ---------------------------------------------------------------------------
    def admit(self, d: Detection, iv: Intervention | None,
              in_distribution: bool | None = None) -> list[GateOutcome]:
        """Decide on one scored window and the Decider's answer to it (``iv``, maybe None).

        Returns the outcomes: queue releases due now first, then this window's (none for a
        window that raised nothing). Emit (store and publish) those with ``emit`` set.
        """
        with self._lock:
            out = self._release(self.clock.now())
            outcome = self._admit(d, iv, in_distribution)
            if outcome is not None:
                out.append(outcome)
            return out

    def release_due(self) -> list[GateOutcome]:
        """Release queued interventions whose position has a free slot now (oldest first)."""
        with self._lock:
            return self._release(self.clock.now())

    def overflow(self) -> dict[str, list[Queued]]:
        """Each position's overflow queue, oldest first."""
        return overflow(self.store)

    # -- internals --------------------------------------------------------------------------
    def _admit(self, d: Detection, iv: Intervention | None,  # noqa: PLR0911 - one per step
               in_distribution: bool | None) -> GateOutcome | None:
        key = _key(d.use_case, d.asset)
        ep = self.store.get_episode(key)
        if not d.anomalous:
            self._normal(d, ep)
            return None
        normal_before = 0 if ep is None else ep.normal_windows
        if ep is not None and ep.normal_windows:
            ep = replace(ep, normal_windows=0)
            self.store.save_episode(ep)
        if iv is None:
            return None
        now = self.clock.now()
        position = self.position_of(d.use_case, d.asset)
        if ep is None and self._stored(iv.id) is not None:
            # an open intervention raised before the gate kept episodes: adopt it
            ep = GateEpisode(key, position, EpisodeState.DELIVERED, now, now, iv.detections - 1,
                             intervention_id=iv.id)
        is_update = ep is not None and ep.intervention_id == iv.id
        stop = self._downtime(d)
        if stop is not None:
            return self._suppressed(iv, key, position, stop=stop, now=now, is_update=is_update)
        if is_update and ep is not None:
            return self._update(iv, ep, position, now)
        if ep is not None:
            answered = self._answered(ep, iv, position, now, normal_before)
            if answered is not None:
                return answered
        reasons = triage_reasons(confidence(d.score, d.threshold),
                                 floor=self.spec.use_case(d.use_case).confidence_floor,
                                 in_distribution=in_distribution)
        if reasons:
            return self._triage(d, iv, ep, key=key, position=position, now=now, reasons=reasons)
        return self._new(iv, key, position, now)

    def _answered(self, ep: GateEpisode, iv: Intervention, position: str, now: datetime,
                  normal_before: int) -> GateOutcome | None:
        """What people already said about this episode: dismissed, or labelled in triage."""
        held = self._held(ep, iv, position, now, normal_before)
        if held is not None:
            return held
        reviewed = self._reviewed(ep)
        if reviewed is TriageVerdict.REAL_PROBLEM:  # a reviewer confirmed it: raise it
            return self._new(iv, ep.key, position, now,
                             note=f" (confirmed in triage item {ep.triage_id})")
        if reviewed is TriageVerdict.NORMAL:
            return self._held_as_normal(ep, iv, position, now, normal_before)
        return None

    def _reviewed(self, ep: GateEpisode) -> TriageVerdict | None:
        """The reviewer's verdict on the episode's triage item, if it is in triage and labelled."""
        if ep.state is not EpisodeState.TRIAGE or ep.triage_id is None:
            return None
        label = self.store.get_triage(ep.triage_id).label
        return None if label is None else label.verdict

    def _held_as_normal(self, ep: GateEpisode, iv: Intervention, position: str,
                        now: datetime, normal_before: int) -> GateOutcome:
        """A reviewer called the episode normal: hold it like a dismissal until re-armed."""
        rearm = self.spec.use_case(iv.use_case).rearm_after
        reason = (f"held: triage item {ep.triage_id} was labelled normal; raised again only "
                  f"after {rearm} normal window(s) in a row; it had {normal_before}")
        self.store.save_episode(replace(ep, last_at=now, detections=ep.detections + 1))
        self._log(now, position, ep.key, Verdict.HELD, reason=reason, intervention_id=None)
        return GateOutcome(Verdict.HELD, reason, iv)

    def _normal(self, d: Detection, ep: GateEpisode | None) -> None:
        """Count a normal window; close a dismissed or triaged episode once re-armed."""
        if ep is None:
            return
        ep = replace(ep, normal_windows=ep.normal_windows + 1)
        rearm = self.spec.use_case(d.use_case).rearm_after
        if ep.normal_windows >= rearm and not self._iv_open(ep):
            self.store.delete_episode(ep.key)
        else:
            self.store.save_episode(ep)

    def _iv_open(self, ep: GateEpisode) -> bool:
        """Whether the episode's intervention is still open (delivered) or waiting (queued)."""
        if ep.state is EpisodeState.QUEUED:
            return True
        if ep.state is EpisodeState.TRIAGE or ep.intervention_id is None:
            return False
        iv = self._stored(ep.intervention_id)
        return iv is not None and iv.is_open

    def _stored(self, intervention_id: str) -> Intervention | None:
        try:
            return self.store.get_intervention(intervention_id)
        except NotFound:
            return None

    def _downtime(self, d: Detection) -> DowntimeWindow | None:
        site, _, line, _ = self.spec.asset(d.asset)
        at = d.window_end
        stops = planned_stops(line.calendar, site.timezone, at - _STOP_LOOKBACK,
                              at + timedelta(microseconds=1))
        windows = [DowntimeWindow(s.name, s.start, s.end, line.id) for s in stops]
        return downtime_covering(windows, line.id, at)

    def _log(self, now: datetime, position: str, key: str, verdict: Verdict, *, reason: str,
             intervention_id: str | None, arrival: bool = False) -> None:
        self.store.add_gate_entry(GateEntry(now, position, key, verdict, reason, intervention_id,
                                            arrival))

    def _suppressed(self, iv: Intervention, key: str, position: str, *,
                    stop: DowntimeWindow, now: datetime, is_update: bool) -> GateOutcome:
        reason = (f"suppressed: planned downtime '{stop.name}' of line {stop.line} "
                  f"({stop.start.isoformat()} to {stop.end.isoformat()})")
        if is_update:
            self.store.save_intervention(iv)  # the record stays true, nobody is called
        # once per stop: the reason names the stop (name, line, start, end), so compare it with
        # the key's latest suppression rather than gate (clock) time with the stop's event time,
        # which differ when buffered data is scored late
        last = self.store.gate_entries(key=key, verdict=Verdict.SUPPRESSED.value, limit=1)
        first = not last or last[0].reason != reason
        self._log(now, position, key, Verdict.SUPPRESSED, reason=reason, intervention_id=iv.id)
        if first:
            self.store.add_event(Event(EventKind.FATIGUE_SUPPRESSED, key, reason, now))
        return GateOutcome(Verdict.SUPPRESSED, reason, iv)

    def _update(self, iv: Intervention, ep: GateEpisode, position: str,
                now: datetime) -> GateOutcome:
        ep = replace(ep, last_at=now, detections=ep.detections + 1)
        self.store.save_episode(ep)
        if ep.state is EpisodeState.QUEUED:
            self.store.save_episode(replace(ep, queued=iv))
            reason = (f"deduplicated into the queued intervention {iv.id} "
                      f"(detection {ep.detections})")
            self._log(now, position, ep.key, Verdict.DEDUPLICATED, reason=reason,
                      intervention_id=iv.id)
            return GateOutcome(Verdict.DEDUPLICATED, reason, iv)
        until = iv.shelved_until
        if iv.state is InterventionState.SHELVED and (until is None or until > now):
            self.store.save_intervention(iv)
            reason = (f"shelved until {until.isoformat() if until else '?'}: update "
                      f"{ep.detections} kept in the record, not announced")
            self._log(now, position, ep.key, Verdict.SHELVED, reason=reason, intervention_id=iv.id)
            return GateOutcome(Verdict.SHELVED, reason, iv)
        reason = f"deduplicated into episode {ep.key} (detection {ep.detections})"
        self._log(now, position, ep.key, Verdict.DEDUPLICATED, reason=reason, intervention_id=iv.id)
        return GateOutcome(Verdict.DEDUPLICATED, reason, iv, emit=True)

    def _held(self, ep: GateEpisode, iv: Intervention, position: str, now: datetime,
              normal_before: int) -> GateOutcome | None:
        """Hold a re-raise of a dismissed episode until the asset has been normal long enough."""
        if ep.state is not EpisodeState.DELIVERED or ep.intervention_id is None:
            return None
        before = self._stored(ep.intervention_id)
        if before is None or before.state is not InterventionState.DISMISSED:
            return None
        rearm = self.spec.use_case(iv.use_case).rearm_after
        reason = (f"held: {ep.intervention_id} was dismissed; raised again only after {rearm} "
                  f"normal window(s) in a row; it had {normal_before}")
        self.store.save_episode(replace(ep, last_at=now, detections=ep.detections + 1))
        self._log(now, position, ep.key, Verdict.HELD, reason=reason,
                  intervention_id=ep.intervention_id)
        return GateOutcome(Verdict.HELD, reason, iv)

    def _triage(self, d: Detection, iv: Intervention, ep: GateEpisode | None, *,
                key: str, position: str, now: datetime,
                reasons: tuple[TriageReason, ...]) -> GateOutcome:
        why = ", ".join(r.value.replace("_", " ") for r in reasons)
        item = None
        if ep is not None and ep.state is EpisodeState.TRIAGE and ep.triage_id is not None:
            current = self.store.get_triage(ep.triage_id)
            unsure = current.label is not None and current.label.verdict is TriageVerdict.UNSURE
            if current.status is TriageStatus.OPEN or unsure:  # else: a new item
                item = replace(current, score=d.score, threshold=d.threshold, model=d.model,
                               model_version=d.model_version, window_end=d.window_end,
                               why=d.why, updated_at=now, detections=current.detections + 1,
                               reasons=tuple(sorted({*current.reasons, *reasons})))
                self.store.update_triage(item)
        if item is None:
            item = self.store.add_triage(TriageItem(
                id=0, use_case=d.use_case, site=iv.site, line=iv.line, asset=d.asset,
                reasons=reasons,
                score=d.score, threshold=d.threshold, model=d.model,
                model_version=d.model_version, window_end=d.window_end, why=d.why,
                created_at=now, updated_at=now))
            self.store.add_event(Event(EventKind.TRIAGE, key, f"triage item {item.id}: {why} "
                                       f"(confidence {item.confidence:.2f})", now))
            ep = GateEpisode(key, position, EpisodeState.TRIAGE, now, now, 0,
                             triage_id=item.id)
        assert ep is not None  # noqa: S101 - set on both branches above
        self.store.save_episode(replace(ep, last_at=now, detections=ep.detections + 1,
                                        state=EpisodeState.TRIAGE, triage_id=item.id,
                                        intervention_id=None))
        reason = (f"triage item {item.id} ({why}): confidence {item.confidence:.2f} "
                  f"(score / threshold), for a reviewer instead of the inbox")
        self._log(now, position, key, Verdict.TRIAGE, reason=reason, intervention_id=None)
        return GateOutcome(Verdict.TRIAGE, reason, None)

    def _new(self, iv: Intervention, key: str, position: str, now: datetime, *,
             note: str = "") -> GateOutcome:
        arrivals = self.store.gate_times(position, now - self.config.flood_window,
                                         arrivals=True)
        count = flood_count([*arrivals, now], now, self.config.flood_window)
        flood = count >= self.config.flood_threshold
        if count == self.config.flood_threshold:
            self.store.add_event(Event(
                EventKind.FATIGUE_FLOOD, position,
                f"flood: {count} new interventions within "
                f"{describe_duration(self.config.flood_window)} on position {position}", now))
        if flood:
            note += (f" (position {position} in flood: {count} in "
                     f"{describe_duration(self.config.flood_window)})")
        waiting = self.store.queued_episodes(position)
        deliveries = self.store.gate_times(position, now - self.config.rate_window,
                                           arrivals=False)
        free = not waiting and slot_free_at(deliveries, now, self.config) <= now
        self.store.save_episode(
            GateEpisode(key, position, EpisodeState.DELIVERED, now, now, 1,
                        intervention_id=iv.id) if free else
            GateEpisode(key, position, EpisodeState.QUEUED, now, now, 1, intervention_id=iv.id,
                        queued=iv, queued_at=now))
        if free:
            reason = f"delivered: new intervention {iv.id} to {position}{note}"
            self._log(now, position, key, Verdict.DELIVERED, reason=reason, intervention_id=iv.id,
                      arrival=True)
            return GateOutcome(Verdict.DELIVERED, reason, iv, emit=True)
        reason = (f"queued: rate limit {self.config.rate_limit} per "
                  f"{describe_duration(self.config.rate_window)} reached on position "
                  f"{position}; {len(waiting)} ahead in the queue{note}")
        self._log(now, position, key, Verdict.QUEUED, reason=reason, intervention_id=iv.id,
                  arrival=True)
        return GateOutcome(Verdict.QUEUED, reason, iv)

    def _release(self, now: datetime) -> list[GateOutcome]:
        out: list[GateOutcome] = []
        by_position = overflow(self.store)
        for position in sorted(by_position):
            deliveries = self.store.gate_times(position, now - self.config.rate_window,
                                               arrivals=False)
            for item in by_position[position]:
                if slot_free_at(deliveries, now, self.config) > now:
                    break
                deliveries.append(now)
                key = _key(item.iv.use_case, item.iv.asset)
                ep = self.store.get_episode(key)
                if ep is not None and ep.intervention_id == item.iv.id:
                    self.store.save_episode(replace(ep, state=EpisodeState.DELIVERED,
                                                    queued=None, queued_at=None))
                reason = (f"delivered from the queue after "
                          f"{describe_duration(now - item.queued_at)}: intervention "
                          f"{item.iv.id} to {position}")
                self._log(now, position, key, Verdict.DELIVERED, reason=reason,
                          intervention_id=item.iv.id)
                out.append(GateOutcome(Verdict.DELIVERED, reason, item.iv, emit=True))
        return out


def overflow(store: GateStore) -> dict[str, list[Queued]]:
    """Each position's overflow queue, oldest first (what the API and the gate show)."""
    out: dict[str, list[Queued]] = {}
    for ep in store.queued_episodes():
        if ep.queued is not None and ep.queued_at is not None:
            out.setdefault(ep.position, []).append(Queued.of(ep))
    return out


def _key(use_case: str, asset: str) -> str:
    return f"{use_case}/{asset}"
