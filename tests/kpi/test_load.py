"""ISA-18.2 load figures on a small scripted history, computed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from andon.clock import utc
from andon.kpi.load import LoadItem, load_figures

T0 = utc(2026, 3, 2, 8, 0)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


#: cr1 over 08:00-09:00 (six 10-minute periods):
#:   period 0: 12 new (7 from p-101, 5 from m-103)       -> flood (>= 10)
#:   period 2: 6 new, one each from s-1 ... s-6
#:   period 4: 1 new from p-101, exactly at 08:40 (a period starts there)
#:   period 5: 3 new from s-7, s-8, s-9 (the last at 08:59:59)
#: outside the window: one at 07:59 and one at 09:00 (end is exclusive)
#: 22 inside; sources p-101 8, m-103 5, s-1..s-9 1 each: the top ten hold 8 + 5 + 8 = 21
HISTORY = (
    [LoadItem("cr1", at(i * 0.5), at(30), "pump-bearing/p-101") for i in range(7)]
    + [LoadItem("cr1", at(4 + i), at(30), "motor/m-103") for i in range(5)]
    + [LoadItem("cr1", at(20 + i), at(25), f"s-{i + 1}") for i in range(6)]
    + [LoadItem("cr1", at(40), None, "pump-bearing/p-101")]
    + [LoadItem("cr1", at(50), None, "s-7"), LoadItem("cr1", at(55), None, "s-8"),
       LoadItem("cr1", T0 + HOUR - timedelta(seconds=1), None, "s-9")]
    + [LoadItem("cr1", at(-1), at(5), "early"), LoadItem("cr1", T0 + HOUR, None, "late")]
    # stale candidates, raised the day before (judged at 09:00)
    + [LoadItem("cr1", T0 - 25 * HOUR, None, "old-open"),  # open 26 h: stale
       LoadItem("cr1", T0 - 25 * HOUR, T0 - HOUR, "old-closed"),  # closed: not stale
       LoadItem("cr1", T0 - 25 * HOUR, T0 + 2 * HOUR, "old-closed-later"),  # open at 09:00
       LoadItem("cr1", T0 + HOUR - 24 * HOUR, None, "exactly-24h")]  # not more than 24 h
)


def test_figures_per_position_match_the_hand_count() -> None:
    report = load_figures([*HISTORY, ("cr2", at(5), None)], start=T0, end=T0 + HOUR)
    assert [p.position for p in report.positions] == ["cr1", "cr2"]
    cr1 = report.position("cr1")
    assert cr1.interventions == 22
    assert cr1.periods == 6
    assert cr1.average_per_period == pytest.approx(22 / 6)
    assert cr1.max_per_period == 12
    assert cr1.flood_periods == 1
    assert cr1.flood_percent == pytest.approx(100 / 6)
    assert cr1.top_sources == (("pump-bearing/p-101", 8), ("motor/m-103", 5),
                               *((f"s-{i}", 1) for i in range(1, 9)))
    assert cr1.top_share == pytest.approx(21 / 22)
    assert cr1.stale == 2

    cr2 = report.position("cr2")
    assert (cr2.interventions, cr2.max_per_period, cr2.flood_periods, cr2.stale) == (1, 1, 0, 0)
    assert cr2.average_per_period == pytest.approx(1 / 6)
    assert cr2.top_sources == (("(unknown)", 1),)
    assert cr2.top_share == 1.0


def test_staleness_is_judged_at_now() -> None:
    later = load_figures(HISTORY, start=T0, end=T0 + HOUR, now=T0 + 3 * HOUR)
    # at 11:00 also the one raised at 09:00 the day before (26 h) is stale, and the one
    # closed at 10:00 is no longer open; the rest of the day's items are younger than 24 h
    assert later.position("cr1").stale == 2
    next_day = load_figures(HISTORY, start=T0, end=T0 + HOUR, now=T0 + 26 * HOUR)
    # open at 10:00 next day: old-open, exactly-24h, p-101@08:40, s-7, s-8, s-9, late (09:00)
    assert next_day.position("cr1").stale == 7


def test_a_partial_last_period_counts_as_a_period() -> None:
    report = load_figures([("cr1", at(1), None)], start=T0, end=T0 + 25 * MIN)
    fig = report.position("cr1")
    assert fig.periods == 3
    assert fig.average_per_period == pytest.approx(1 / 3)


def test_an_empty_history_has_no_positions() -> None:
    report = load_figures([], start=T0, end=T0 + HOUR)
    assert report.positions == ()
    with pytest.raises(KeyError):
        report.position("cr1")


def test_the_window_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="is not after start"):
        load_figures([], start=T0, end=T0)


def test_format_table_renders_plain_text() -> None:
    report = load_figures([*HISTORY, ("cr2", at(5), None)], start=T0, end=T0 + HOUR)
    title = ("Operator load 2026-03-02T08:00:00+00:00 to 2026-03-02T09:00:00+00:00 "
             "(2 position(s); stale as of 2026-03-02T09:00:00+00:00)")
    assert report.format_table().splitlines() == [
        title,
        "position  interventions  avg/10 min  max/10 min  % in flood (>=10)  top-10 share  stale",
        "--------  -------------  ----------  ----------  -----------------  ------------  -----",
        "cr1                  22        3.67          12              16.7%         95.5%      2",
        "cr2                   1        0.17           1               0.0%        100.0%      0",
    ]
