"""The predicted failure's band, the deadline before it, and the unplanned-stop request.

A detection at ``t`` predicts the failure between ``t + horizon_min`` and ``t + horizon``; the
deadline is the line's first planned stop before the *earliest* failure, else now, with an
action that says the failure comes before the next planned stop and asks for an unplanned
stop. The property test draws horizons, bands, calendars, time zones, detection times and
acknowledge limits: the deadline is never after the predicted failure.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.clock import ManualClock, utc
from andon.interventions.lifecycle import Priority
from andon.spec.calendar import next_planned_stop
from andon.spec.model import Calendar, Downtime
from interventions.test_decider import HOP, Rig, with_use_case

if TYPE_CHECKING:
    from datetime import datetime

    from andon.interventions.record import Intervention
    from andon.spec.model import PlantSpec

#: Saturday 24 Oct 2026 10:00 UTC (see test_decider); detection is two hops later
T0 = utc(2026, 10, 24, 10, 0)
DETECTED = T0 + 2 * HOP


def _raise(spec: PlantSpec, start: datetime = T0, asset: str = "p-101") -> Intervention:
    return Rig(spec, clock=ManualClock(start)).raised(start, asset=asset)


def test_the_band_is_in_the_record_and_the_deadline_is_before_its_early_edge(
    demo_spec: PlantSpec,
) -> None:
    """Horizon 24 h, earliest 20 h: Sunday's 05:30 CET stop (18 h 10 min) is in time."""
    spec = with_use_case(demo_spec, "pump-bearing", horizon=24 * 3600.0,
                         horizon_min=20 * 3600.0)
    iv = _raise(spec)
    assert iv.failure_window == (DETECTED + timedelta(hours=20), DETECTED + timedelta(hours=24))
    assert iv.deadline == utc(2026, 10, 25, 4, 30)
    assert iv.deadline <= iv.failure_window[0]
    assert iv.action.endswith("at the Early-shift changeover stop (Sun 25 Oct 05:30 CET)")
    assert iv.priority is Priority.HIGH


def test_a_failure_before_the_next_stop_asks_for_an_unplanned_stop(demo_spec: PlantSpec) -> None:
    """The demo's band (3 h to 24 h): Sunday's stop comes after the earliest failure."""
    spec = with_use_case(demo_spec, "pump-bearing", horizon=24 * 3600.0, horizon_min=3 * 3600.0)
    iv = _raise(spec)
    assert iv.failure_window == (DETECTED + timedelta(hours=3), DETECTED + timedelta(hours=24))
    assert (iv.deadline, iv.deadline_label, iv.priority) == (DETECTED, "now", Priority.CRITICAL)
    assert iv.action == (
        "Failure predicted before the next planned stop (Early-shift changeover stop, Sun 25 Oct "
        "05:30 CET): request an unplanned stop to inspect and re-grease the drive-end bearing on "
        "Pump P-101 at the earliest opportunity")


def test_no_planned_stop_at_all_is_said_so(demo_spec: PlantSpec) -> None:
    site = demo_spec.sites[0]
    area = site.areas[0]
    line = area.lines[0].model_copy(update={"calendar": Calendar()})
    area = area.model_copy(update={"lines": [line, *area.lines[1:]]})
    site = site.model_copy(update={"areas": [area, *site.areas[1:]]})
    spec = demo_spec.model_copy(update={"sites": [site, *demo_spec.sites[1:]]})
    iv = _raise(spec)
    assert iv.deadline_label == "now"
    assert iv.action.startswith("Failure predicted and no planned stop in the line's calendar: "
                                "request an unplanned stop to inspect")


def test_horizon_min_longer_than_the_horizon_is_refused(demo_spec: PlantSpec) -> None:
    text = demo_spec.use_case("pump-bearing").model_dump()
    text.update(horizon=3600.0, horizon_min=7200.0)
    with pytest.raises(ValueError, match="horizon_min 7200s is longer than horizon 3600s"):
        type(demo_spec.use_case("pump-bearing")).model_validate(text)


_DAYS = st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                 min_size=1, max_size=7, unique=True)
_STOP = st.builds(
    lambda days, h, m, minutes: Downtime(name=f"Stop {h:02d}{m:02d}", days=days,  # type: ignore[arg-type]
                                         start=f"{h:02d}:{m:02d}", duration=minutes * 60.0),
    _DAYS, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), st.integers(15, 480))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    horizon_h=st.integers(1, 96),
    band=st.floats(0.0, 1.0),
    stops=st.lists(_STOP, max_size=3),
    zone=st.sampled_from(["Europe/Brussels", "UTC", "America/New_York", "Asia/Kolkata"]),
    start_min=st.integers(0, 14 * 24 * 60),
    ack_s=st.integers(30, 86_400),
)
def test_the_deadline_is_never_after_the_predicted_failure(
    *, demo_spec: PlantSpec, horizon_h: int, band: float, stops: list[Downtime], zone: str,
    start_min: int, ack_s: int,
) -> None:
    horizon = horizon_h * 3600.0
    horizon_min = max(60.0, band * horizon)
    site = demo_spec.sites[0]
    area = site.areas[0]
    line = area.lines[0].model_copy(update={"calendar": Calendar(planned_downtime=stops)})
    area = area.model_copy(update={"lines": [line, *area.lines[1:]]})
    site = site.model_copy(update={"areas": [area, *site.areas[1:]], "timezone": zone})
    limits = dict.fromkeys(("critical", "high", "medium", "low"), float(ack_s))
    spec = with_use_case(
        demo_spec.model_copy(update={
            "sites": [site, *demo_spec.sites[1:]],
            "interventions": demo_spec.interventions.model_copy(update={"ack_limits": limits}),
        }),
        "pump-bearing", horizon=horizon, horizon_min=horizon_min)
    start = utc(2026, 3, 20) + timedelta(minutes=start_min)  # across the spring DST change
    iv = _raise(spec, start)
    detected = start + 2 * HOP
    early, late = iv.failure_window
    assert (early, late) == (detected + timedelta(seconds=horizon_min),
                             detected + timedelta(seconds=horizon))
    assert detected <= iv.deadline <= early <= late
    stop = next_planned_stop(line.calendar, zone, detected, early)
    if stop is None:
        assert (iv.deadline, iv.deadline_label, iv.priority) == (detected, "now",
                                                                 Priority.CRITICAL)
        assert iv.action.startswith("Failure predicted ")
        assert ": request an unplanned stop to " in iv.action
    else:
        assert iv.deadline == stop.start
        assert iv.deadline_label.startswith(f"{stop.name} (")
        assert iv.action.endswith(f"at the {iv.deadline_label}")
        assert "unplanned" not in iv.action
