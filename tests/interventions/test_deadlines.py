"""Deadlines, action text and priority of a new intervention across time zones and DST changes.

Ghent (Europe/Brussels): daily changeover stop 05:30, Saturday window 08:00. Porto
(Europe/Lisbon): daily sanitation stop 04:00. In 2026 summer time ends on Sunday 25 October
(01:00 UTC) and starts on Sunday 29 March (01:00 UTC) in both zones.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.clock import ManualClock, utc
from andon.interventions.lifecycle import InterventionState, Priority
from interventions.test_decider import HOP, Rig, with_use_case

if TYPE_CHECKING:
    from datetime import datetime

    from andon.spec.model import PlantSpec


@pytest.fixture
def demo_spec(demo_spec: PlantSpec) -> PlantSpec:
    """The demo plant without pump-bearing's failure band: these tests pin the stop chosen
    before the predicted failure (the band: tests/interventions/test_failure_band.py)."""
    return with_use_case(demo_spec, "pump-bearing", horizon_min=None)


@pytest.mark.parametrize(("start", "asset", "deadline", "label"), [
    # autumn: Saturday after Ghent's window; the next stops fall on the first winter morning
    (utc(2026, 10, 24, 10), "p-101", utc(2026, 10, 25, 4, 30),
     "Early-shift changeover stop (Sun 25 Oct 05:30 CET)"),
    (utc(2026, 10, 24, 10), "p-301", utc(2026, 10, 25, 4, 0),
     "Daily sanitation stop (Sun 25 Oct 04:00 WET)"),
    # spring: the night the clocks go forward, the same local times are an hour earlier in UTC
    (utc(2026, 3, 28, 10), "p-101", utc(2026, 3, 29, 3, 30),
     "Early-shift changeover stop (Sun 29 Mar 05:30 CEST)"),
    (utc(2026, 3, 28, 10), "p-301", utc(2026, 3, 29, 3, 0),
     "Daily sanitation stop (Sun 29 Mar 04:00 WEST)"),
    # the day before, in winter time: 05:30 CET is 04:30 UTC
    (utc(2026, 3, 27, 10), "p-101", utc(2026, 3, 28, 4, 30),
     "Early-shift changeover stop (Sat 28 Mar 05:30 CET)"),
])
def test_deadline_is_the_local_stop_in_the_sites_zone_across_dst(
    demo_spec: PlantSpec, start: datetime, asset: str, deadline: datetime, label: str,
) -> None:
    iv = Rig(demo_spec, clock=_clock(start)).raised(start, asset=asset)
    assert iv.deadline == deadline
    assert iv.deadline_label == label
    assert iv.action.endswith(f"at the {label}")
    assert iv.priority is Priority.HIGH  # the use case's default, a stop is planned in time


def _clock(start: datetime) -> ManualClock:
    return ManualClock(start)


@pytest.mark.parametrize(("horizon_h", "spec_priority", "expected"), [
    (24, "medium", Priority.MEDIUM),  # a stop before the failure: the use case's priority
    (24, "low", Priority.LOW),
    (1, "medium", Priority.CRITICAL),  # no stop in time: deadline now, raised to critical
    (1, "high", Priority.CRITICAL),
])
def test_priority_comes_from_the_use_case_and_is_critical_when_the_deadline_is_now(
    demo_spec: PlantSpec, horizon_h: int, spec_priority: str, expected: Priority,
) -> None:
    spec = with_use_case(demo_spec, "pump-bearing", horizon=horizon_h * 3600.0,
                         priority=spec_priority)
    start = utc(2026, 10, 24, 10)
    iv = Rig(spec, clock=_clock(start)).raised(start)
    assert iv.priority is expected
    assert iv.deadline_is_now is (horizon_h == 1)


def test_no_stop_before_the_horizon_in_porto_means_now(demo_spec: PlantSpec) -> None:
    """Porto at 05:00 UTC on the DST night: the next 04:00 stop is 23 h away, horizon 12 h."""
    spec = with_use_case(demo_spec, "pump-bearing", horizon=12 * 3600.0)
    start = utc(2026, 3, 29, 5)
    iv = Rig(spec, clock=_clock(start)).raised(start, asset="p-301")
    assert (iv.deadline, iv.deadline_label) == (start + 2 * HOP, "now")
    assert iv.action == (
        "Failure predicted before the next planned stop (Daily sanitation stop, Mon 30 Mar "
        "04:00 WEST): request an unplanned stop to inspect and re-grease the drive-end bearing "
        "on Pump P-301 at the earliest opportunity")
    assert iv.failure_window == (iv.deadline + timedelta(hours=12),) * 2


def test_template_fields_are_filled_from_the_plant(demo_spec: PlantSpec) -> None:
    spec = with_use_case(demo_spec, "pump-bearing",
                         action="{asset_id} on {line} at {site}: check before {deadline}")
    start = utc(2026, 10, 24, 10)
    iv = Rig(spec, clock=_clock(start)).raised(start, asset="p-301")
    assert iv.action == ("p-301 on Process water at Porto bottling: check before Daily "
                          "sanitation stop (Sun 25 Oct 04:00 WET)")


def test_a_new_intervention_carries_its_evidence_key_and_first_history_record(
    demo_spec: PlantSpec,
) -> None:
    start = utc(2026, 10, 24, 10)
    rig = Rig(demo_spec, clock=_clock(start))
    iv = rig.raised(start)
    uc = demo_spec.use_case("pump-bearing")
    detected = start + 2 * HOP
    # the first confirming window started one window length before the first hop's end
    assert iv.evidence_window == (start - timedelta(seconds=uc.window), detected)
    assert iv.dedup_key == "pump-bearing:p-101:2026-10-24T10:20:00Z"
    [raised] = iv.history
    assert (raised.from_state, raised.to_state, raised.by, raised.at) == (
        None, InterventionState.NEW, "andon", rig.clock.now())
    assert raised.reason == ("raised for maintenance_planner (high): score 5 above threshold 1 "
                             "in 3 window(s)")
    rig.inbox.store(iv)
    update = rig.feed(detected + HOP, 6.0)
    assert update is not None
    assert update.evidence_window == (start - timedelta(seconds=uc.window), detected + HOP)
    assert (update.id, update.dedup_key, update.detections) == (iv.id, iv.dedup_key, 2)
    assert update.history == iv.history
