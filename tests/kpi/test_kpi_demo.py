"""The KPIs of the demo plant's cooling-water line, computed from what the simulator produced.

The demo's production past (``andon.services.demo_production``: run-to-failure outages before
the models went live, the recorded fortnight's failures after) is written into a store on a
manual clock, with the fortnight's corrective work orders and two answered interventions, as
``andon demo`` writes them; the report must find exactly those outages, the calendar's
planned stops, the repairs and the answers. A second test runs the engine itself through a
bearing failure and finds the outage in the line state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from andon.app import Actor, Context, PlantRef, kpi_report
from andon.audit import EventKind
from andon.clock import ManualClock, utc
from andon.errors import AuthError, ReportError
from andon.feedback.workorders import WorkOrder, WorkType
from andon.kpi.report import kpi_report_from
from andon.services.demo_history import EPISODES
from andon.services.demo_production import (
    BASELINE,
    BASELINE_OUTAGES,
    REPAIR,
    write_production_history,
)
from andon.services.history import backfill
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.spec.calendar import planned_stops
from andon.store import SqlStore, open_store
from andon.store.base import Event
from andon.testing.factories import make_intervention

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from andon.kpi.report import KpiReport
    from andon.spec.model import PlantSpec

LIVE = utc(2026, 2, 16)  # the models went live (the recorded fortnight starts)
WARM_UP = timedelta(hours=48)
END = LIVE + timedelta(days=12)
BASE = (LIVE - timedelta(days=14), LIVE - WARM_UP - timedelta(minutes=10))
AFTER = (LIVE + timedelta(minutes=10), END - timedelta(minutes=10))
VIEWER = Actor("gus", "plant_manager", "viewer")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory,
               demo_spec: PlantSpec) -> Iterator[SqlStore]:
    path: Path = tmp_path_factory.mktemp("kpi") / "andon.db"
    store = open_store(f"sqlite:///{path}")
    write_production_history(demo_spec, store, live=LIVE, warm_up=WARM_UP, end=END, seed=7)
    store.upsert_work_orders([
        WorkOrder(f"WO-{n}", ep.asset, LIVE + ep.at, WorkType.CORRECTIVE,
                  failure_confirmed=True, closed_at=LIVE + ep.at + REPAIR,
                  failure_mode="bearing") for n, ep in enumerate(EPISODES)
        if ep.kind in {"failure", "sudden"}], LIVE)
    store.add_event(Event(EventKind.MODEL_PROMOTED, "pump-bearing v1", "live", LIVE, "demo"))
    # one acknowledged after 20 min and done; one dismissed the day before a failure
    done = make_intervention("iv-done", created_at=LIVE + timedelta(days=3))
    store.save_intervention(done)
    at = done.created_at
    store.transition_intervention(done.id, "acknowledged", by="chris",
                                  at=at + timedelta(minutes=20))
    store.transition_intervention(done.id, "done", by="chris", at=at + timedelta(hours=2))
    failure = LIVE + EPISODES[2].at
    dismissed = make_intervention("iv-dismissed", asset=EPISODES[2].asset,
                                  created_at=failure - timedelta(hours=20))
    store.save_intervention(dismissed)
    store.transition_intervention(dismissed.id, "dismissed", by="chris", reason="looks fine",
                                  at=dismissed.created_at + timedelta(hours=1))
    yield store
    store.close()


def _report(store: SqlStore, spec: PlantSpec) -> KpiReport:
    return kpi_report_from(store, spec, "cooling-water", baseline=BASE, after=AFTER)


def _planned_h(spec: PlantSpec, start: datetime, end: datetime) -> float:
    site, _a, line = spec.line("ghent", "cooling-water")
    stops = planned_stops(line.calendar, site.timezone, start - timedelta(days=1), end)
    return sum(max(0.0, (min(s.end, end) - max(s.start, start)).total_seconds())
               for s in stops) / 3600


def test_unplanned_downtime_is_the_simulated_outages(demo_store: SqlStore,
                                                     demo_spec: PlantSpec) -> None:
    r = _report(demo_store, demo_spec)
    after_outages = [ep for ep in EPISODES if ep.kind in {"failure", "sudden"}]
    assert r.after.oee.unplanned_downtime_h == pytest.approx(
        len(after_outages) * REPAIR.total_seconds() / 3600, abs=0.05)
    assert r.after.oee.stops() == len(after_outages)
    start = LIVE - BASELINE
    inside = [length for at, length in BASELINE_OUTAGES if BASE[0] <= start + at < BASE[1]]
    assert r.baseline.oee.unplanned_downtime_h == pytest.approx(
        sum(x.total_seconds() for x in inside) / 3600, abs=0.05)
    assert r.baseline.oee.stops() == len(inside)
    reasons = {(loss, reason) for loss, reason, _h in r.after.oee.downtime_by_reason()}
    assert ("unplanned", "Equipment failure") in reasons


def test_planned_downtime_is_the_calendar_and_nothing_is_unknown(demo_store: SqlStore,
                                                                 demo_spec: PlantSpec) -> None:
    r = _report(demo_store, demo_spec)
    for p, (a, b) in ((r.baseline, BASE), (r.after, AFTER)):
        assert p.oee.planned_downtime_h == pytest.approx(_planned_h(demo_spec, a, b), abs=0.05)
        assert p.oee.unknown_h == pytest.approx(0.0, abs=0.05)  # the last sample's hold only
        assert 0.80 < p.oee.performance < 0.96  # the simulator's 75-95 % of the ideal rate


def test_oee_improves_and_roi_is_the_avoided_losses_at_the_cost_rates(
        demo_store: SqlStore, demo_spec: PlantSpec) -> None:
    r = _report(demo_store, demo_spec)
    b, a = r.baseline.oee, r.after.oee
    assert a.availability > b.availability
    assert a.quality > b.quality  # a day of worn-bearing scrap before each old failure
    assert r.after.oee.oee > r.baseline.oee.oee
    assert r.roi is not None
    expected_h = b.unplanned_downtime_h / b.planned_busy_h * a.planned_busy_h - 16.0
    assert r.roi.avoided_downtime_h == pytest.approx(expected_h, abs=0.1)
    assert r.roi.avoided_scrap is not None
    assert r.roi.avoided_scrap > 0
    assert r.roi.value == pytest.approx(r.roi.avoided_downtime_h * 1800
                                        + r.roi.avoided_scrap * 12, abs=1)


def test_mttr_from_work_orders_and_adoption_from_answers(demo_store: SqlStore,
                                                         demo_spec: PlantSpec) -> None:
    r = _report(demo_store, demo_spec)
    rel = r.after.reliability
    assert (rel.work_order_failures, rel.work_order_mttr_h) == (4, 4.0)
    assert rel.mttr_h == pytest.approx(4.0, abs=0.05)
    ad = r.after.adoption
    assert (ad.raised, ad.acted, ad.dismissed, ad.overridden) == (2, 1, 1, 1)
    assert ad.median_ack_min == 20.0
    assert r.baseline.adoption.raised == 0


def test_default_periods_start_when_the_model_went_live(demo_store: SqlStore,
                                                        demo_spec: PlantSpec) -> None:
    ctx = Context(demo_store, ManualClock(END), PlantRef(demo_spec))
    r = kpi_report(ctx, VIEWER, "p-101")  # an asset: its line
    assert r.line == "cooling-water"
    assert (r.after.oee.start, r.after.oee.end) == (LIVE, END)
    assert (r.baseline.oee.start, r.baseline.oee.end) == (LIVE - (END - LIVE), LIVE)
    # the healthy warm-up right before going live is the engine's (not written here): unknown
    assert r.baseline.oee.unknown_h > 40
    assert any("state unknown" in f for f in r.baseline.oee.flags)


def test_refusals_name_the_reason(demo_store: SqlStore, demo_spec: PlantSpec) -> None:
    ctx = Context(demo_store, ManualClock(END), PlantRef(demo_spec))
    with pytest.raises(ReportError, match="declares no production"):
        kpi_report(ctx, VIEWER, "process-water")
    with pytest.raises(ReportError, match="unknown line or asset 'nope'"):
        kpi_report(ctx, VIEWER, "nope")
    with pytest.raises(ReportError, match="not after its start"):
        kpi_report(ctx, VIEWER, "cooling-water", baseline=(LIVE, LIVE), after=AFTER)
    with pytest.raises(AuthError):
        kpi_report(ctx, replace(VIEWER, access="nobody"), "cooling-water")


def test_the_engine_stops_the_line_when_a_bearing_fails(tmp_path: Path,
                                                        demo_spec: PlantSpec) -> None:
    """Monday 09:00 Brussels, no planned stop for 9 h: wear from 1 h, failure at 6 h."""
    start = utc(2026, 1, 5, 8)
    fault = Fault("bearing_wear", asset="p-101", start_s=3600.0, end_s=6 * 3600.0)
    sim = PlantSimulator(demo_spec, seed=3, start=start, scenario=Scenario((fault,)),
                         lines={"cooling-water"})
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        backfill(sim, store, start + timedelta(hours=9), clock=ManualClock(start))
        r = kpi_report_from(store, demo_spec, "cooling-water",
                            baseline=(start, start + timedelta(hours=1)),
                            after=(start + timedelta(hours=1), start + timedelta(hours=9)))
    k = r.after.oee
    assert k.unplanned_downtime_h == pytest.approx(3.0, abs=2 / 60)
    assert k.stops() == 1
    assert k.planned_downtime_h == 0
    assert k.run_h == pytest.approx(5.0, abs=2 / 60)
    assert k.quality < r.baseline.oee.quality  # the wearing bearing made scrap
