"""An in-memory twin of what the intervention gate keeps (``GateStore``), for replays.

A backtest runs the live gate (``andon.interventions.gate.Gate``) over every scored window;
with a SQLite scratch store each window paid several queries and writes (~4 ms), which capped
a replay at a few thousand rows a second. ``MemoryGateStore`` keeps the same things in
dicts and lists with the same semantics as ``SqlStore``'s gate, intervention and triage
tables: an intervention saved again only updates its evidence (its lifecycle stays as
stored); an episode saved not queued loses its queued record; decisions are read newest
first, times oldest first; triage items get ids from 1. Nothing is durable: it is for runs
that end with the process (``andon replay``). The replay test that runs the same export
through both (``tests/services/test_replay.py``) checks they agree.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from andon.errors import NotFound
from andon.interventions.fatigue import Verdict
from andon.interventions.gate import EpisodeState, GateEntry, GateEpisode

if TYPE_CHECKING:
    from datetime import datetime

    from andon.audit import Event
    from andon.interventions.record import Intervention
    from andon.interventions.triage import TriageItem

__all__ = ["MemoryGateStore"]


class MemoryGateStore:
    """Interventions, gate episodes and decisions, triage items and events, in memory."""

    def __init__(self) -> None:
        self._interventions: dict[str, Intervention] = {}
        self._episodes: dict[str, GateEpisode] = {}
        self._entries: list[GateEntry] = []  # in insertion order (the SQL table's id order)
        self._by_position: dict[str, list[GateEntry]] = {}  # the same, per position ...
        self._by_key: dict[str, list[GateEntry]] = {}  # ... and per key
        #: every entry came no earlier than the one before it (a replay's event time): the
        #: recent ones are then read from the end of a list instead of scanning all of it
        self._in_order = True
        self._triage: list[TriageItem] = []  # id i at index i - 1
        self.kept_events: list[Event] = []

    # -- interventions ----------------------------------------------------------------------
    def save_intervention(self, iv: Intervention) -> None:
        """Insert an intervention, or update the evidence of a stored one (by id)."""
        stored = self._interventions.get(iv.id)
        if stored is None:
            self._interventions[iv.id] = iv
            return
        self._interventions[iv.id] = replace(
            stored, score=iv.score, threshold=iv.threshold, why=iv.why,
            detections=iv.detections, updated_at=iv.updated_at, model=iv.model,
            model_version=iv.model_version, window_end=iv.window_end, action=iv.action,
            deadline=iv.deadline, deadline_label=iv.deadline_label,
            predicted_failure=iv.predicted_failure, failure_earliest=iv.failure_earliest,
            stopped_at=iv.stopped_at)

    def get_intervention(self, intervention_id: str) -> Intervention:
        """One intervention; ``NotFound`` if unknown."""
        try:
            return self._interventions[intervention_id]
        except KeyError:
            raise NotFound("intervention", intervention_id) from None

    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        """The newest open intervention of a use case on an asset (by created_at, then id)."""
        found = [iv for iv in self._interventions.values()
                 if iv.use_case == use_case and iv.asset == asset and iv.is_open]
        if not found:
            return None
        newest = max(iv.created_at for iv in found)
        return min((iv for iv in found if iv.created_at == newest), key=lambda iv: iv.id)

    def interventions(self) -> list[Intervention]:
        """Every intervention kept, as last saved."""
        return list(self._interventions.values())

    def add_event(self, event: Event) -> None:
        """Keep an event."""
        self.kept_events.append(event)

    # -- episodes and the overflow queue ----------------------------------------------------
    def get_episode(self, key: str) -> GateEpisode | None:
        """The episode of a use case/asset key (with its queued record), if any."""
        return self._episodes.get(key)

    def save_episode(self, episode: GateEpisode) -> None:
        """Insert or replace (by key) an episode; only a queued one keeps its record."""
        if episode.state is not EpisodeState.QUEUED or episode.queued is None:
            episode = replace(episode, queued=None, queued_at=None)
        self._episodes[episode.key] = episode

    def delete_episode(self, key: str) -> None:
        """Forget an episode (no-op if absent)."""
        self._episodes.pop(key, None)

    def queued_episodes(self, position: str | None = None) -> list[GateEpisode]:
        """Episodes waiting in an overflow queue (of one position), oldest queued first."""
        found = [e for e in self._episodes.values()
                 if e.state is EpisodeState.QUEUED and e.queued_at is not None
                 and (position is None or e.position == position)]
        return sorted(found, key=lambda e: (e.queued_at or e.opened_at, e.key))

    # -- decisions --------------------------------------------------------------------------
    def add_gate_entry(self, entry: GateEntry) -> None:
        """Keep one gate decision."""
        if self._entries and entry.at < self._entries[-1].at:
            self._in_order = False
        self._entries.append(entry)
        self._by_position.setdefault(entry.position, []).append(entry)
        self._by_key.setdefault(entry.key, []).append(entry)

    def gate_times(self, position: str, since: datetime, *, arrivals: bool) -> list[datetime]:
        """Times after ``since``, oldest first, of a position's deliveries (or new arrivals)."""
        kept = self._by_position.get(position, [])
        picked = [e.at for e in self._newest(kept, since)
                  if (e.arrival if arrivals else e.verdict is Verdict.DELIVERED)]
        return sorted(picked)  # stable: equal times stay in the order they were kept

    def gate_entries(self, *, key: str | None = None, verdict: str | None = None,
                     since: datetime | None = None, limit: int = 200) -> list[GateEntry]:
        """Kept decisions, newest first, optionally of one key, verdict, and after ``since``."""
        kept = self._entries if key is None else self._by_key.get(key, [])
        if self._in_order:  # newest first is last kept first; stop at ``limit``
            out = []
            for e in reversed(kept):
                if since is not None and e.at <= since:
                    break
                if verdict is None or e.verdict.value == verdict:
                    out.append(e)
                    if len(out) >= limit:
                        break
            return out
        picked = [(e.at, i, e) for i, e in enumerate(kept)
                  if (verdict is None or e.verdict.value == verdict)
                  and (since is None or e.at > since)]
        picked.sort(key=lambda p: (p[0], p[1]), reverse=True)
        return [e for _, _, e in picked[:limit]]

    def _newest(self, kept: list[GateEntry], since: datetime) -> list[GateEntry]:
        """The entries of ``kept`` after ``since``, in the order they were kept."""
        if not self._in_order:
            return [e for e in kept if e.at > since]
        start = len(kept)
        while start and kept[start - 1].at > since:
            start -= 1
        return kept[start:]

    # -- triage -----------------------------------------------------------------------------
    def add_triage(self, item: TriageItem) -> TriageItem:
        """Store a new triage item; returns it with its id."""
        kept = replace(item, id=len(self._triage) + 1)
        self._triage.append(kept)
        return kept

    def update_triage(self, item: TriageItem) -> None:
        """Replace a triage item's evidence and counts (its status and creation kept)."""
        current = self.get_triage(item.id)
        self._triage[item.id - 1] = replace(item, status=current.status,
                                            created_at=current.created_at,
                                            label=current.label)

    def get_triage(self, item_id: int) -> TriageItem:
        """One triage item; ``NotFound`` if unknown."""
        if not 1 <= item_id <= len(self._triage):
            raise NotFound("triage item", item_id)
        return self._triage[item_id - 1]
