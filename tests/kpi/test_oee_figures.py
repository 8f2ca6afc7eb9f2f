"""OEE, downtime, MTBF/MTTR, adoption and ROI on hand-computed examples and edge cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from andon.clock import utc
from andon.kpi.adoption import Answer, adoption
from andon.kpi.oee import count_increments, oee, state_spans
from andon.kpi.reliability import reliability
from andon.kpi.roi import roi

T0 = utc(2026, 1, 5, 6)
MEANING = {1: ("running", "Running"), 2: ("planned", "Changeover"),
           3: ("unplanned", "Jam"), 4: ("unplanned", "Equipment failure")}
GAP = timedelta(minutes=3)


def _h(hours: float) -> object:
    return T0 + timedelta(hours=hours)


def _minutely(spans: list[tuple[float, float, int]]) -> list[tuple[object, float]]:
    """A state sample every minute over each (start h, end h, value)."""
    out = []
    for a, b, v in spans:
        n = round((b - a) * 60)
        out += [(_h(a + i / 60), float(v)) for i in range(n)]
    return out


def test_eight_hour_shift_by_hand() -> None:
    """8 h: 1 h calendar stop, 30 min jam, 1 h failure; 1 710 made, 1 620 good at 360/h.

    PBT = 8 - 1 = 7 h; run = 7 - 1.5 = 5.5 h; A = 5.5/7; P = (1710/360)/5.5; Q = 1620/1710.
    """
    states = _minutely([(0, 2, 1), (2, 2.5, 3), (2.5, 5, 1), (5, 6, 4), (6, 8, 1)])
    planned = [(_h(3), _h(4), "Lunch stop")]
    good = _counter(10_000, 11_620)
    scrap = _counter(500, 590)
    k = oee(states, MEANING, good=good, scrap=scrap, ideal_rate=360, start=_h(0), end=_h(8),
            max_gap=GAP, planned=planned)
    assert k.planned_downtime_h == pytest.approx(1.0)
    assert k.unplanned_downtime_h == pytest.approx(1.5)
    assert k.run_h == pytest.approx(5.5)
    assert k.availability == pytest.approx(5.5 / 7)
    assert k.performance == pytest.approx((1710 / 360) / 5.5)
    assert k.quality == pytest.approx(1620 / 1710)
    assert k.oee == pytest.approx(k.availability * k.performance * k.quality)
    assert k.scrap_rate == pytest.approx(90 / 1710)
    assert k.stops() == 2
    assert k.flags == ()
    by = {(loss, reason): h for loss, reason, h in k.downtime_by_reason()}
    assert by == {("unplanned", "Equipment failure"): pytest.approx(1.0),
                  ("planned", "Lunch stop"): pytest.approx(1.0),
                  ("unplanned", "Jam"): pytest.approx(0.5)}


def _counter(first: int, last: int) -> list[tuple[object, float]]:
    """A counter sampled every minute over 8 h, rising evenly from ``first`` to ``last``."""
    return [(_h(i / 60), float(first + (last - first) * i // 480)) for i in range(481)]


def test_a_state_saying_planned_is_planned_and_the_calendar_wins_over_a_failure() -> None:
    states = _minutely([(0, 1, 2), (1, 2, 4)])
    k = oee(states, MEANING, good=[], scrap=[], ideal_rate=60, start=_h(0), end=_h(2),
            max_gap=GAP, planned=[(_h(1.5), _h(2), "Night stop")])
    assert k.planned_downtime_h == pytest.approx(1.5)  # 1 h the state + 30 min the calendar
    assert k.unplanned_downtime_h == pytest.approx(0.5)


def test_no_planned_time_gives_no_ratio_and_says_why() -> None:
    states = _minutely([(0, 2, 1)])
    k = oee(states, MEANING, good=[(_h(0), 5), (_h(2), 5)], total=[(_h(0), 5), (_h(2), 5)],
            ideal_rate=60, start=_h(0), end=_h(2), max_gap=GAP,
            planned=[(_h(-1), _h(3), "Shutdown")])
    assert k.planned_busy_h == 0
    assert (k.availability, k.performance, k.quality, k.oee) == (None, None, None, None)
    assert any("no planned busy time" in f for f in k.flags)


def test_no_counts_are_flagged_not_zero() -> None:
    k = oee(_minutely([(0, 1, 1)]), MEANING, good=[], scrap=[], ideal_rate=60, start=_h(0),
            end=_h(1), max_gap=GAP)
    assert k.availability == pytest.approx(1.0)
    assert k.quality is None
    assert k.performance == 0.0  # ran an hour and made nothing: a real zero
    assert any("no counts" in f for f in k.flags)


def test_missing_state_samples_are_unknown_and_flagged() -> None:
    states = _minutely([(0, 1, 1), (2, 3, 1)])  # nothing from 1 h to 2 h
    k = oee(states, MEANING, good=[], scrap=[], ideal_rate=60, start=_h(0), end=_h(3),
            max_gap=GAP)
    # the last sample before the gap holds for max_gap, then the state is unknown
    # the sample at 0:59 holds to 1:02; unknown from then to 2:00
    assert k.unknown_h == pytest.approx(1 - 2 / 60)
    assert k.run_h == pytest.approx(2 + 2 / 60)
    assert k.availability == pytest.approx(1.0)  # unknown is neither run nor downtime
    assert any("state unknown" in f for f in k.flags)


def test_an_undeclared_state_value_is_unknown_with_the_value() -> None:
    spans = state_spans([(_h(0), 9.0)], MEANING, start=_h(0), end=_h(1),
                        max_gap=timedelta(hours=2))
    assert [(s.loss, s.reason) for s in spans] == [("unknown", "state value 9 not declared")]


def test_counter_reset_and_rollover_count_from_zero_and_are_flagged() -> None:
    good = [(_h(0), 990), (_h(0.5), 1_000), (_h(1), 4), (_h(1.5), 20)]
    c = count_increments(good, GAP * 100)
    assert (c.units, c.resets) == (10 + 4 + 16, 1)
    k = oee(_minutely([(0, 2, 1)]), MEANING, good=good, scrap=[(_h(0), 1), (_h(2), 2)],
            ideal_rate=60, start=_h(0), end=_h(2), max_gap=timedelta(hours=1))
    assert k.good == 30
    assert any("reset or rollover 1x" in f for f in k.flags)


def test_counts_across_a_gap_in_the_data_are_left_out() -> None:
    c = count_increments([(_h(0), 0), (_h(1), 10), (_h(5), 500), (_h(6), 510)],
                         timedelta(hours=1))
    assert (c.units, c.gaps) == (20, 1)


def test_mtbf_and_mttr_on_both_bases() -> None:
    r = reliability(run_h=120.0, unplanned_h=9.0, stops=3,
                    repairs=[(_h(0), _h(4)), (_h(10), _h(12)), (_h(20), None)])
    assert (r.mtbf_h, r.mttr_h) == (40.0, 3.0)
    assert (r.work_order_failures, r.work_order_mtbf_h, r.work_order_mttr_h) == (3, 40.0, 3.0)
    none = reliability(run_h=50.0, unplanned_h=0.0, stops=0, repairs=[])
    assert (none.mtbf_h, none.mttr_h, none.work_order_mttr_h) == (None, None, None)


def test_adoption_counts_and_time_to_acknowledge() -> None:
    answers = [Answer(_h(0), _h(0.25), "done"), Answer(_h(1), _h(1.5), "deferred"),
               Answer(_h(2), _h(2.1), "dismissed", failed_after=True),
               Answer(_h(3), None, "dismissed"), Answer(_h(4), None, "")]
    a = adoption(answers)
    assert (a.raised, a.acted, a.deferred, a.dismissed, a.overridden, a.unanswered) == (
        5, 1, 1, 2, 1, 1)
    assert a.median_ack_min == 15.0  # 6, 15 and 30 min
    assert a.max_ack_min == 30.0
    assert a.adoption_rate == pytest.approx(0.2)
    assert adoption([]).adoption_rate is None


def test_roi_scales_the_baseline_rates_to_the_after_period() -> None:
    r = roi(base_downtime_h=20, base_busy_h=400, base_scrap=300, base_total=10_000,
            after_downtime_h=6, after_busy_h=200, after_scrap=100, after_total=5_000,
            cost_per_hour=1_500, cost_per_unit=3, currency="EUR")
    # baseline 5 % of busy time down: 10 h expected in 200 h, 6 h happened; scrap 3 %: 150
    assert (r.avoided_downtime_h, r.avoided_scrap) == (4.0, 50.0)
    assert r.value == 4 * 1_500 + 50 * 3
    assert "5.00%" in r.basis


def test_roi_without_a_baseline_says_so() -> None:
    r = roi(base_downtime_h=0, base_busy_h=0, base_scrap=0, base_total=0, after_downtime_h=1,
            after_busy_h=10, after_scrap=1, after_total=10, cost_per_hour=1, cost_per_unit=1,
            currency="EUR")
    assert (r.avoided_downtime_h, r.avoided_scrap, r.value) == (None, None, None)
    assert "no baseline busy time" in r.basis
