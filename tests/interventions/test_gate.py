"""The gate on scripted bursts, with exact counts: dedup and episodes, planned downtime,
shelving expiry, rate limit with overflow release, flood, dismissal re-raise, triage, restart.

Real stores (SQLite and PostgreSQL), a manual clock, the Decider as the edge wires it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from andon.interventions.gate import EpisodeState
from andon.interventions.lifecycle import InterventionState
from andon.interventions.triage import TriageLabel, TriageReason, TriageStatus, TriageVerdict
from interventions.gate_plant import POSITION, T0, Harness, plant, verdicts

if TYPE_CHECKING:
    from andon.store import SqlStore


HOP = timedelta(minutes=10)


def counts(h: Harness) -> dict[str, int]:
    return {verdict: n for (pos, verdict), n in h.store.gate_counts().items() if pos == POSITION}


def test_repeated_detections_on_one_asset_are_one_episode(any_store: SqlStore) -> None:
    h = Harness(plant(), any_store)
    outs = []
    for _ in range(6):
        outs += h.window("p-01", 2.0)
        h.clock.advance(seconds=HOP.total_seconds())
    assert verdicts(outs) == ["delivered"] + ["deduplicated"] * 5
    assert all(o.emit for o in outs)  # updates are published, as updates of the one record
    ivs = h.store.list_interventions()
    assert len(ivs) == 1
    assert ivs[0].detections == 6
    ep = h.store.get_episode("pump-bearing/p-01")
    assert ep is not None
    assert (ep.state, ep.detections, ep.intervention_id) == (EpisodeState.DELIVERED, 6, ivs[0].id)
    assert counts(h) == {"delivered": 1, "deduplicated": 5}


def test_planned_downtime_suppresses_counts_and_records_once(any_store: SqlStore) -> None:
    h = Harness(plant(), any_store)
    h.clock.set(T0.replace(hour=12, minute=10))
    outs = []
    for _ in range(3):  # 12:10, 12:20, 12:30: inside the 12:00-13:00 lunch stop
        outs += h.window("p-02", 2.0)
        h.clock.advance(seconds=HOP.total_seconds())
    assert verdicts(outs) == ["suppressed"] * 3
    assert "planned downtime 'Lunch stop'" in outs[0].reason
    assert not any(o.emit for o in outs)
    assert h.store.list_interventions() == []
    events = h.store.events(kind="fatigue_suppressed")
    assert len(events) == 1
    assert events[0].subject == "pump-bearing/p-02"
    h.clock.set(T0.replace(hour=13, minute=10))
    assert verdicts(h.window("p-02", 2.0)) == ["delivered"]
    assert counts(h) == {"suppressed": 3, "delivered": 1}


def test_windows_scored_late_record_each_planned_stop_once(any_store: SqlStore) -> None:
    """Buffered data scored after an outage: gate time is long past both stops."""
    h = Harness(plant(), any_store)
    h.clock.set(T0 + timedelta(days=2))
    for day in (0, 0, 1, 1):  # two windows in the lunch stop of each of two days
        h.window("p-02", 2.0, at=T0.replace(hour=12, minute=10) + timedelta(days=day))
    events = h.store.events(kind="fatigue_suppressed")
    assert len(events) == 2
    assert {e.detail.split("(")[1][:10] for e in events} == {"2026-03-02", "2026-03-03"}


def test_shelved_updates_go_silently_into_the_record_until_expiry(any_store: SqlStore) -> None:
    h = Harness(plant(), any_store)
    [first] = h.window("p-03", 2.0)
    assert first.iv is not None
    h.store.transition_intervention(first.iv.id, InterventionState.SHELVED, by="chris",
                                      at=h.clock.now(), reason="known, parts on order",
                                      shelve_until=h.clock.now() + timedelta(minutes=25))
    outs = []
    for _ in range(3):  # +10, +20 shelved; +30 past the expiry
        h.clock.advance(seconds=HOP.total_seconds())
        outs += h.window("p-03", 2.5)
    assert verdicts(outs) == ["shelved", "shelved", "deduplicated"]
    assert [o.emit for o in outs] == [False, False, True]
    stored = h.store.get_intervention(first.iv.id)
    assert stored.detections == 4  # the shelved updates are in the record
    assert len(h.store.list_interventions()) == 1


def test_rate_limit_queues_the_overflow_and_releases_it_in_order(any_store: SqlStore) -> None:
    h = Harness(plant(), any_store)
    outs = []
    for i in range(1, 14):  # 13 pumps, 10 s apart: 13 new interventions in 2 min
        outs += h.window(f"p-{i:02d}", 2.0)
        h.clock.advance(seconds=10)
    assert verdicts(outs) == ["delivered"] * 10 + ["queued"] * 3
    assert [q.iv.asset for q in h.gate.overflow()[POSITION]] == ["p-11", "p-12", "p-13"]
    assert len(h.store.list_interventions()) == 10  # the queued ones are in no inbox yet
    # a repeat of a queued intervention updates it in the queue, no new one is raised
    assert verdicts(h.window("p-12", 3.0)) == ["deduplicated"]
    assert [ep.queued.detections for ep in h.store.queued_episodes(POSITION)
            if ep.queued is not None] == [1, 2, 1]
    # nothing frees before the first delivery leaves the 10-minute window
    h.clock.set(T0 + timedelta(minutes=9, seconds=59))
    assert h.release() == []
    h.clock.set(T0 + timedelta(minutes=10, seconds=15))  # 2 of the 10 have left the window
    released = h.release()
    assert [o.iv.asset for o in released if o.iv] == ["p-11", "p-12"]
    assert all(o.verdict.value == "delivered" and o.emit for o in released)
    h.clock.set(T0 + timedelta(minutes=10, seconds=25))
    assert [o.iv.asset for o in h.release() if o.iv] == ["p-13"]
    assert h.gate.overflow() == {}
    ivs = {r.asset: r for r in h.store.list_interventions()}
    assert len(ivs) == 13
    assert ivs["p-12"].detections == 2
    ep = h.store.get_episode("pump-bearing/p-13")
    assert ep is not None
    assert ep.state is EpisodeState.DELIVERED
    assert counts(h) == {"delivered": 13, "queued": 3, "deduplicated": 1}


def test_flood_is_detected_at_the_tenth_new_intervention_in_ten_minutes(
        any_store: SqlStore) -> None:
    h = Harness(plant(), any_store)
    outs = []
    for i in range(1, 13):  # 12 new interventions, 30 s apart
        outs += h.window(f"p-{i:02d}", 2.0)
        h.clock.advance(seconds=30)
    floods = h.store.events(kind="fatigue_flood")
    assert len(floods) == 1
    assert floods[0].subject == POSITION
    assert floods[0].at == T0 + timedelta(seconds=9 * 30)
    # one event when the position enters flood, not one per intervention while in it
    assert ["in flood" in o.reason for o in outs] == [False] * 9 + [True] * 3
    assert verdicts(outs) == ["delivered"] * 10 + ["queued"] * 2
    # 10 minutes after the 5th arrival, 7 remain in the window: with one more, no flood
    h.clock.set(T0 + timedelta(minutes=10, seconds=121))
    *released, out = h.window("p-13", 2.0)
    assert verdicts(released) == ["delivered", "delivered"]  # the queue first
    assert out.verdict.value == "delivered"
    assert "in flood" not in out.reason
    assert len(h.store.events(kind="fatigue_flood")) == 1


def test_a_dismissed_episode_is_not_reraised_until_the_asset_was_normal(
        any_store: SqlStore) -> None:
    h = Harness(plant(rearm=3), any_store)
    [first] = h.window("p-04", 2.0)
    assert first.iv is not None
    h.store.transition_intervention(first.iv.id, InterventionState.DISMISSED, by="chris",
                                      at=h.clock.now(), reason="sensor was being cleaned")
    script = [2.0, 2.0, 0.5, 0.5, 2.0, 0.5, 0.5, 0.5, 2.0]  # 2 normal, then 3 normal
    outs = []
    for score in script:
        h.clock.advance(seconds=HOP.total_seconds())
        outs += h.window("p-04", score)
    assert verdicts(outs) == ["held", "held", "held", "delivered"]
    assert "raised again only after 3 normal window(s) in a row; it had 2" in outs[2].reason
    ivs = h.store.list_interventions(open_only=False)
    assert len(ivs) == 2
    assert outs[-1].iv is not None
    assert outs[-1].iv.id != first.iv.id
    assert counts(h) == {"delivered": 2, "held": 3}


def test_low_confidence_goes_to_triage_not_to_the_inbox(any_store: SqlStore) -> None:
    h = Harness(plant(floor=1.25), any_store)
    outs = []
    for score in (1.1, 1.2, 1.05):  # above the threshold (1.0), below the floor (1.25)
        outs += h.window("p-05", score)
        h.clock.advance(seconds=HOP.total_seconds())
    assert verdicts(outs) == ["triage"] * 3
    assert not any(o.emit for o in outs)
    assert h.store.list_interventions(open_only=False) == []
    [item] = h.store.list_triage()
    assert item.reasons == (TriageReason.LOW_CONFIDENCE,)
    assert (item.detections, item.score, item.status) == (3, 1.05, TriageStatus.OPEN)
    assert len(h.store.events(kind="triage")) == 1
    # a confident window of the same asset is an intervention after all
    assert verdicts(h.window("p-05", 1.6)) == ["delivered"]
    assert len(h.store.list_interventions()) == 1


def test_a_reviewers_label_decides_what_the_next_windows_do(any_store: SqlStore) -> None:
    h = Harness(plant(floor=1.25, rearm=2), any_store)
    outs = h.window("p-08", 1.1) + h.window("p-09", 1.1) + h.window("p-10", 1.1)
    assert verdicts(outs) == ["triage"] * 3
    items = {i.asset: i for i in h.store.list_triage()}
    at = h.clock.now()
    for asset, verdict in (("p-08", TriageVerdict.REAL_PROBLEM), ("p-09", TriageVerdict.NORMAL),
                           ("p-10", TriageVerdict.UNSURE)):
        h.store.label_triage(TriageLabel(items[asset].id, verdict, "dana",
                                         "reliability_engineer", at))
    h.clock.advance(seconds=HOP.total_seconds())
    confirmed = h.window("p-08", 1.1)  # still low confidence, but a reviewer confirmed it
    assert verdicts(confirmed) == ["delivered"]
    assert f"confirmed in triage item {items['p-08'].id}" in confirmed[0].reason
    script = [1.1, 0.5, 0.5, 1.1]  # held until normal for 2 windows, then a new triage item
    called_normal = [o for score in script for o in h.window("p-09", score)]
    assert verdicts(called_normal) == ["held", "triage"]
    unsure = h.window("p-10", 1.1)  # folded into the same item, which keeps its label
    assert verdicts(unsure) == ["triage"]
    after = {i.id: i for i in h.store.list_triage()}
    assert after[items["p-10"].id].detections == 2
    assert len(after) == 4  # p-08, p-09 twice, p-10
    assert [r.asset for r in h.store.list_interventions()] == ["p-08"]


def test_out_of_distribution_goes_to_triage_unknown_does_not(any_store: SqlStore) -> None:
    h = Harness(plant(), any_store)
    assert verdicts(h.window("p-06", 3.0, in_distribution=False)) == ["triage"]
    assert verdicts(h.window("p-07", 3.0, in_distribution=None)) == ["delivered"]
    [item] = h.store.list_triage()
    assert (item.asset, item.reasons) == ("p-06", (TriageReason.OUT_OF_DISTRIBUTION,))
    assert [r.asset for r in h.store.list_interventions()] == ["p-07"]


def test_an_open_intervention_from_before_the_gate_is_adopted(any_store: SqlStore) -> None:
    h = Harness(plant(), any_store)
    [first] = h.window("p-15", 2.0)
    assert first.iv is not None
    any_store.delete_episode("pump-bearing/p-15")  # as if raised before episodes were kept
    h.clock.advance(seconds=HOP.total_seconds())
    assert verdicts(h.window("p-15", 2.0)) == ["deduplicated"]
    assert counts(h) == {"delivered": 1, "deduplicated": 1}  # not a second new intervention
    ep = any_store.get_episode("pump-bearing/p-15")
    assert ep is not None
    assert (ep.intervention_id, ep.detections) == (first.iv.id, 2)


def test_state_survives_a_restart_on_the_same_store(any_store: SqlStore) -> None:
    h = Harness(plant(), any_store)
    for i in range(1, 12):  # 10 delivered, p-11 queued
        h.window(f"p-{i:02d}", 2.0)
    dismissed = h.store.open_intervention_for("pump-bearing", "p-01")
    assert dismissed is not None
    h.store.transition_intervention(dismissed.id, InterventionState.DISMISSED, by="chris",
                                      at=h.clock.now(), reason="false alarm")
    h.window("p-14", 1.1)  # triage
    h.restart()  # nothing kept in memory
    h.clock.advance(seconds=60)
    assert verdicts(h.window("p-01", 2.0)) == ["held"]
    assert verdicts(h.window("p-11", 2.0)) == ["deduplicated"]  # into the queued one
    assert verdicts(h.window("p-14", 1.1)) == ["triage"]
    assert [q.iv.asset for q in h.gate.overflow()[POSITION]] == ["p-11"]
    [item] = h.store.list_triage()
    assert item.detections == 2
    h.clock.advance(seconds=600)
    h.restart()
    assert [o.iv.asset for o in h.release() if o.iv] == ["p-11"]
    assert h.store.get_intervention(
        h.store.open_intervention_for("pump-bearing", "p-11").id,  # type: ignore[union-attr]
    ).detections == 2
