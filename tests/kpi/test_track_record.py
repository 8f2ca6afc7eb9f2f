"""The track record on scripted histories, with exact counts: confirmed, false alarms,
unresolved, missed, lead times, and the edge cases the definitions decide (no outcome yet, two
interventions for one failure, a failure nobody warned of, a failure found in a planned stop).

Demo plant: pump-bearing (horizon 24 h) watches p-101 and p-102 on cooling-water, p-301 and
p-302 on process-water; the cooling-water line stops daily 05:30-06:30 Europe/Brussels (CET in
March: 04:30-05:30 UTC).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.audit import Event, EventKind
from andon.kpi.trackrecord import Verdict, track_record_from
from andon.testing.histories import END, START, two_weeks

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore

H = timedelta(hours=1)


@pytest.fixture
def history(store: SqlStore) -> SqlStore:
    two_weeks(store)
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
