"""The track record on scripted histories, with exact counts: confirmed, false alarms,
unresolved, missed, lead times, and the edge cases the definitions decide (no outcome yet, two
interventions for one failure, a failure nobody warned of, a failure found in a planned stop).

Demo plant: pump-bearing (horizon 24 h) watches p-101 and p-102 on cooling-water, p-301 and
p-302 on process-water; the cooling-water line stops daily 05:30-06:30 Europe/Brussels (CET in
March: 04:30-05:30 UTC).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from andon.audit import Event, EventKind
from andon.clock import utc
from andon.feedback import Feedback, FeedbackKind, Outcome
from andon.feedback.workorders import WorkOrder, WorkType
from andon.interventions.lifecycle import InterventionState, TransitionRecord
from andon.interventions.record import Intervention, OutcomeLabel
from andon.kpi.trackrecord import Verdict, track_record_from
from andon.testing.factories import make_intervention

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore

START = utc(2026, 3, 2)  # a Monday
END = START + timedelta(days=14)  # two weeks
H = timedelta(hours=1)


def raise_(store: SqlStore, iid: str, asset: str, at: datetime, *, version: str = "3",
           line: str = "cooling-water") -> Intervention:
    iv = replace(make_intervention(iid, asset=asset, created_at=at), line=line,
                 model_version=version, dedup_key=f"pump-bearing:{asset}:{at.isoformat()}",
                 history=(TransitionRecord(None, InterventionState.NEW, "andon", at,
                                           "raised"),))
    store.save_intervention(iv)
    return iv


def close(store: SqlStore, iid: str, at: datetime, outcome: OutcomeLabel | None = None,
          kind: FeedbackKind = FeedbackKind.ACTED) -> None:
    store.record_feedback(Feedback(iid, kind, "" if kind is FeedbackKind.ACTED else "why",
                                   "chris", at, "api"))
    if outcome is not None:
        store.record_outcome(Outcome(iid, outcome, "", "chris", at + H, "api"))


def failure(store: SqlStore, wo: str, asset: str, at: datetime, *,
            kind: WorkType = WorkType.CORRECTIVE, confirmed: bool = True) -> None:
    store.upsert_work_orders([WorkOrder(wo, asset, at, kind, failure_confirmed=confirmed)], at)


@pytest.fixture
def history(store: SqlStore) -> SqlStore:
    d = START
    # p-101: warned 30 h... no: warned 20 h before a confirmed failure, then fixed -> confirmed
    raise_(store, "a1", "p-101", d + 10 * H)
    close(store, "a1", d + 12 * H)
    failure(store, "WO-1", "p-101", d + 30 * H)
    # p-102: told "no fault" -> a false alarm; later dismissed one -> a false alarm
    raise_(store, "a2", "p-102", d + 2 * 24 * H)
    close(store, "a2", d + 2 * 24 * H + 2 * H, OutcomeLabel.NO_FAULT)
    raise_(store, "a3", "p-102", d + 3 * 24 * H)
    close(store, "a3", d + 3 * 24 * H + H, kind=FeedbackKind.DISMISSED)
    # p-101 again: still open, no outcome -> unresolved
    raise_(store, "a4", "p-101", d + 5 * 24 * H)
    # p-102: two interventions warn of one failure (both right, the failure counts once)
    raise_(store, "a5", "p-102", d + 7 * 24 * H)
    close(store, "a5", d + 7 * 24 * H + H)
    raise_(store, "a6", "p-102", d + 7 * 24 * H + 6 * H)
    failure(store, "WO-2", "p-102", d + 7 * 24 * H + 10 * H)
    # p-101: a failure nobody warned of -> missed
    failure(store, "WO-3", "p-101", d + 9 * 24 * H)
    # p-101: a failure found in the morning stop (05:00 UTC = 06:00 CET) -> neither
    failure(store, "WO-4", "p-101", d + 11 * 24 * H + 5 * H)
    # p-102: confirmed by its outcome alone, 3 h after it was raised (no work order)
    raise_(store, "a7", "p-102", d + 12 * 24 * H)
    close(store, "a7", d + 12 * 24 * H + 2 * H, OutcomeLabel.FAULT_CONFIRMED)
    # a preventive work order is not a failure
    failure(store, "PM-1", "p-101", d + 13 * 24 * H, kind=WorkType.PREVENTIVE, confirmed=False)
    # process-water: one false alarm by the same model on another line
    raise_(store, "b1", "p-301", d + 4 * 24 * H, line="process-water")
    close(store, "b1", d + 4 * 24 * H + H, OutcomeLabel.NO_FAULT)
    return store


def test_the_figures_of_one_version_on_one_line_are_exact(history: SqlStore,
                                                          demo_spec: PlantSpec) -> None:
    records = track_record_from(history, demo_spec, start=START, end=END, model="pump-bearing")
    by_scope = {r.scope: r for r in records}
    assert set(by_scope) == {"cooling-water", "process-water"}
    cw = by_scope["cooling-water"]
    assert (cw.model, cw.version, cw.assets, cw.weeks) == ("pump-bearing", "3", 2, 2.0)
    assert (cw.raised, cw.confirmed, cw.false_alarms, cw.unresolved) == (7, 4, 2, 1)
    assert (cw.detected, cw.missed, cw.found_in_planned_stop) == (2, 1, 1)
    assert cw.precision == pytest.approx(4 / 6)
    assert cw.recall == pytest.approx(2 / 3)
    assert cw.false_alarms_per_asset_week == pytest.approx(2 / (2 * 2.0))
    verdicts = {j.intervention.id: j.verdict for j in cw.judged}
    assert verdicts == {"a1": Verdict.CONFIRMED, "a2": Verdict.FALSE_ALARM,
                        "a3": Verdict.FALSE_ALARM, "a4": Verdict.UNRESOLVED,
                        "a5": Verdict.CONFIRMED, "a6": Verdict.CONFIRMED,
                        "a7": Verdict.CONFIRMED}
    assert sorted(cw.lead_times) == [3 * H, 4 * H, 10 * H, 20 * H]
    assert cw.median_lead_time == 4 * H  # nearest rank of 4
    assert [f.source for f in cw.missed_failures] == ["WO-3"]
    pw = by_scope["process-water"]
    assert (pw.raised, pw.confirmed, pw.false_alarms, pw.precision, pw.recall) == (
        1, 0, 1, 0.0, None)


def test_a_failure_is_charged_to_the_version_in_production_then(
        history: SqlStore, demo_spec: PlantSpec) -> None:
    history.add_event(Event(EventKind.MODEL_PROMOTED, "pump-bearing v3", "x", START - H))
    history.add_event(Event(EventKind.MODEL_PROMOTED, "pump-bearing v4", "x",
                            START + 8 * 24 * H))
    records = track_record_from(history, demo_spec, start=START, end=END, model="pump-bearing",
                                lines=["cooling-water"])
    by_version = {r.version: r for r in records}
    assert set(by_version) == {"3", "4"}
    assert (by_version["3"].detected, by_version["3"].missed) == (2, 0)
    assert (by_version["4"].raised, by_version["4"].detected, by_version["4"].missed) == (
        0, 0, 1)  # WO-3 on day 9: v4 was serving and did not warn
    only = track_record_from(history, demo_spec, start=START, end=END, model="pump-bearing",
                             version="4")
    assert [r.version for r in only] == ["4"]


def test_per_asset_and_an_empty_period_say_nothing_rather_than_zero(
        history: SqlStore, demo_spec: PlantSpec) -> None:
    per_asset = {r.scope: r for r in track_record_from(
        history, demo_spec, start=START, end=END, model="pump-bearing", by="asset")}
    assert (per_asset["p-101"].raised, per_asset["p-102"].raised) == (2, 5)
    assert per_asset["p-101"].assets == 1
    later = START + timedelta(days=60)
    assert track_record_from(history, demo_spec, start=later, end=later + timedelta(days=7),
                             model="pump-bearing") == []
