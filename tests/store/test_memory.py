"""``MemoryGateStore`` answers the gate's questions as ``SqlStore`` does (the replay's twin).

One scripted sequence of writes (interventions saved then updated, episodes saved, queued
and deleted, decisions kept in and out of time order, triage items added and updated) goes
to both; after each step every read the gate makes is asked of both and must agree.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.clock import utc
from andon.errors import NotFound
from andon.interventions.fatigue import Verdict
from andon.interventions.gate import EpisodeState, GateEntry, GateEpisode
from andon.interventions.lifecycle import InterventionState
from andon.interventions.triage import TriageItem, TriageReason
from andon.store import open_store
from andon.store.memory import MemoryGateStore
from andon.testing.factories import make_intervention

if TYPE_CHECKING:
    from pathlib import Path

T0 = utc(2026, 3, 2, 8)
M = timedelta(minutes=1)


def _reads(store: object) -> object:
    s = store  # both have the gate's reads
    out: list[object] = []
    for position in ("maintenance_planner@ghent", "operator@ghent"):
        for since in (T0 - M, T0 + 3 * M, T0 + 9 * M):
            out.append(s.gate_times(position, since, arrivals=False))  # type: ignore[attr-defined]
            out.append(s.gate_times(position, since, arrivals=True))  # type: ignore[attr-defined]
        out.append([e.key for e in s.queued_episodes(position)])  # type: ignore[attr-defined]
    out.append([e.key for e in s.queued_episodes()])  # type: ignore[attr-defined]
    for key in (None, "pump-bearing/p-101", "pump-bearing/p-102"):
        for verdict in (None, Verdict.SUPPRESSED.value, Verdict.DELIVERED.value):
            for since in (None, T0 + 2 * M):
                out.extend(s.gate_entries(key=key, verdict=verdict,  # type: ignore[attr-defined]
                                          since=since, limit=limit) for limit in (1, 200))
    for key in ("pump-bearing/p-101", "pump-bearing/p-102", "nope"):
        ep = s.get_episode(key)  # type: ignore[attr-defined]
        out.append(None if ep is None else replace(ep, queued=None if ep.queued is None
                                                   else ep.queued.id))
    for asset in ("p-101", "p-102"):
        iv = s.open_intervention_for("pump-bearing", asset)  # type: ignore[attr-defined]
        out.append(None if iv is None else (iv.id, iv.score, iv.detections, iv.state))
    return out


def test_memory_gate_store_agrees_with_the_sql_store(tmp_path: Path) -> None:
    """Every gate read agrees after each write, in time order and out of it."""
    memory = MemoryGateStore()
    with open_store(f"sqlite:///{tmp_path / 'gate.db'}") as sql:
        def both(op: str, *args: object, **kw: object) -> None:
            for store in (memory, sql):
                getattr(store, op)(*args, **kw)
            assert _reads(memory) == _reads(sql), op

        a = make_intervention("iv-a", created_at=T0)
        b = make_intervention("iv-b", asset="p-102", asset_name="Pump P-102",
                              created_at=T0 + M)
        both("save_intervention", a)
        both("save_intervention", b)
        both("save_intervention", replace(a, score=9.5, detections=3,
                                          state=InterventionState.DONE))  # evidence only
        closed = replace(make_intervention("iv-c", created_at=T0 + 2 * M),
                         state=InterventionState.DONE)
        both("save_intervention", closed)
        for i, (key, verdict, arrival) in enumerate([
                ("pump-bearing/p-101", Verdict.DELIVERED, True),
                ("pump-bearing/p-101", Verdict.SUPPRESSED, False),
                ("pump-bearing/p-102", Verdict.QUEUED, True),
                ("pump-bearing/p-101", Verdict.SUPPRESSED, False),
                ("pump-bearing/p-102", Verdict.DELIVERED, False)]):
            both("add_gate_entry", GateEntry(T0 + i * 2 * M, "maintenance_planner@ghent", key,
                                             verdict, f"reason {i}", "iv-a", arrival=arrival))
        ep = GateEpisode("pump-bearing/p-101", "maintenance_planner@ghent",
                         EpisodeState.DELIVERED, T0, T0 + M, 2, "iv-a")
        both("save_episode", ep)
        queued = GateEpisode("pump-bearing/p-102", "maintenance_planner@ghent",
                             EpisodeState.QUEUED, T0, T0 + M, 1, "iv-b", queued=b,
                             queued_at=T0 + M)
        both("save_episode", queued)
        both("save_episode", replace(queued, state=EpisodeState.DELIVERED))  # leaves the queue
        both("save_episode", queued)
        both("add_gate_entry", GateEntry(T0 + 3 * M, "maintenance_planner@ghent",
                                         "pump-bearing/p-101", Verdict.SUPPRESSED, "late",
                                         "iv-a"))  # older than the last: out of order
        both("add_gate_entry", GateEntry(T0 + 20 * M, "operator@ghent", "pump-bearing/p-102",
                                         Verdict.DELIVERED, "x", None, arrival=True))
        both("delete_episode", "pump-bearing/p-101")
        both("delete_episode", "nope")
        item = TriageItem(0, "pump-bearing", "ghent", "cooling-water", "p-101",
                          (TriageReason.LOW_CONFIDENCE,), 1.0, 2.0, "pump-bearing", "1",
                          T0, (), T0, T0)
        got = [store.add_triage(item) for store in (memory, sql)]
        assert got[0] == got[1]
        assert got[0].id == 1
        for store in (memory, sql):
            store.update_triage(replace(got[0], score=3.0, detections=2, updated_at=T0 + M,
                                        created_at=T0 + 5 * M))
        assert memory.get_triage(1) == sql.get_triage(1)
        assert memory.get_triage(1).created_at == T0
        for store in (memory, sql):
            with pytest.raises(NotFound):
                store.get_triage(7)
            with pytest.raises(NotFound):
                store.get_intervention("nope")
        assert memory.get_intervention("iv-a") == sql.get_intervention("iv-a")
        assert sorted(iv.id for iv in memory.interventions()) == ["iv-a", "iv-b", "iv-c"]
