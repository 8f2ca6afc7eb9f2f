"""Planned stops in real time: recurring windows in the site's zone, one-off windows, next stop.

Every expected instant is written out in UTC, so a reader can check the time-zone arithmetic
by hand (Europe/Brussels is UTC+2 in summer, UTC+1 in winter; Europe/Lisbon is one hour behind).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from andon.clock import utc
from andon.spec import next_planned_stop, planned_stops
from andon.spec.calendar import PlannedStop
from andon.spec.model import Calendar, Downtime

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

BRUSSELS = "Europe/Brussels"
HOUR = timedelta(hours=1)


def calendar(*windows: Downtime) -> Calendar:
    return Calendar(planned_downtime=list(windows))


def starts(stops: list[PlannedStop]) -> list[tuple[str, datetime]]:
    return [(s.name, s.start) for s in stops]


def line_calendar(spec: PlantSpec, site: str, line: str) -> tuple[Calendar, str]:
    s, _, ln = spec.line(site, line)
    return ln.calendar, s.timezone


# -- recurring windows ------------------------------------------------------------------------
def test_daily_stop_keeps_its_local_time_across_the_autumn_dst_change(
    demo_spec: PlantSpec,
) -> None:
    """Ghent's 05:30 stop is 03:30 UTC in summer time and 04:30 UTC from 25 Oct 2026 on."""
    cal, tz = line_calendar(demo_spec, "ghent", "cooling-water")
    stops = planned_stops(cal, tz, utc(2026, 10, 23), utc(2026, 10, 27))
    assert starts(stops) == [
        ("Early-shift changeover stop", utc(2026, 10, 23, 3, 30)),
        ("Early-shift changeover stop", utc(2026, 10, 24, 3, 30)),
        ("Weekly maintenance window", utc(2026, 10, 24, 6, 0)),  # Saturday 08:00 CEST
        ("Early-shift changeover stop", utc(2026, 10, 25, 4, 30)),  # first day of CET
        ("Early-shift changeover stop", utc(2026, 10, 26, 4, 30)),
    ]
    assert [s.end - s.start for s in stops] == [HOUR, HOUR, 6 * HOUR, HOUR, HOUR]


def test_daily_stop_keeps_its_local_time_across_the_spring_dst_change(
    demo_spec: PlantSpec,
) -> None:
    """On 29 Mar 2026 Brussels moves to CEST: 05:30 local goes from 04:30 to 03:30 UTC."""
    cal, tz = line_calendar(demo_spec, "ghent", "cooling-water")
    stops = planned_stops(cal, tz, utc(2026, 3, 28), utc(2026, 3, 30))
    assert starts(stops) == [
        ("Early-shift changeover stop", utc(2026, 3, 28, 4, 30)),
        ("Weekly maintenance window", utc(2026, 3, 28, 7, 0)),  # Saturday 08:00 CET
        ("Early-shift changeover stop", utc(2026, 3, 29, 3, 30)),
    ]


def test_each_site_uses_its_own_time_zone(demo_spec: PlantSpec) -> None:
    """Porto's 04:00 sanitation stop: 03:00 UTC in WEST, 04:00 UTC in WET."""
    cal, tz = line_calendar(demo_spec, "porto", "process-water")
    assert tz == "Europe/Lisbon"
    stops = planned_stops(cal, tz, utc(2026, 10, 24), utc(2026, 10, 26))
    assert starts(stops) == [
        ("Daily sanitation stop", utc(2026, 10, 24, 3, 0)),
        ("Daily sanitation stop", utc(2026, 10, 25, 4, 0)),
    ]
    assert [s.end - s.start for s in stops] == [1.5 * HOUR, 1.5 * HOUR]


def test_weekday_filter_skips_the_weekend(demo_spec: PlantSpec) -> None:
    """Press line: 22:00 Monday to Friday only (20:00 UTC in CEST, 21:00 UTC in CET)."""
    cal, tz = line_calendar(demo_spec, "ghent", "press-line")
    stops = planned_stops(cal, tz, utc(2026, 10, 19), utc(2026, 10, 27))
    assert [s.start for s in stops] == [
        utc(2026, 10, 19, 20), utc(2026, 10, 20, 20), utc(2026, 10, 21, 20),
        utc(2026, 10, 22, 20), utc(2026, 10, 23, 20),  # Fri; then no Sat 24 / Sun 25
        utc(2026, 10, 26, 21),  # Mon, now CET
    ]
    assert {s.start.astimezone(ZoneInfo(tz)).strftime("%a %H:%M") for s in stops} == {
        "Mon 22:00", "Tue 22:00", "Wed 22:00", "Thu 22:00", "Fri 22:00"}


def test_two_days_a_week(demo_spec: PlantSpec) -> None:
    cal, tz = line_calendar(demo_spec, "porto", "bottling-1")
    stops = planned_stops(cal, tz, utc(2026, 7, 6), utc(2026, 7, 13))  # Mon 6 .. Mon 13 July
    assert [(s.start, s.end) for s in stops] == [
        (utc(2026, 7, 7, 13), utc(2026, 7, 7, 16)),  # Tue 14:00-17:00 WEST
        (utc(2026, 7, 9, 13), utc(2026, 7, 9, 16)),  # Thu
    ]


def test_a_stop_just_after_local_midnight_is_found_on_the_previous_utc_day() -> None:
    """00:30 in Brussels (summer) is 22:30 UTC the day before."""
    cal = calendar(Downtime(name="Midnight check", days=["daily"], start="00:30",
                            duration=900))
    stops = planned_stops(cal, BRUSSELS, utc(2026, 8, 1, 22), utc(2026, 8, 1, 23))
    assert starts(stops) == [("Midnight check", utc(2026, 8, 1, 22, 30))]


def test_a_stop_in_the_evening_west_of_utc_is_found_on_the_next_utc_day() -> None:
    """22:00 in New York (EDT) is 02:00 UTC the next day."""
    cal = calendar(Downtime(name="Late stop", days=["sat"], start="22:00", duration="1h"))
    stops = planned_stops(cal, "America/New_York", utc(2026, 8, 2), utc(2026, 8, 3))
    assert starts(stops) == [("Late stop", utc(2026, 8, 2, 2))]  # Saturday 1 Aug, local


def test_a_local_time_skipped_by_dst_uses_the_offset_before_the_jump() -> None:
    """02:30 does not exist in Brussels on 29 Mar 2026; the stop happens at 01:30 UTC."""
    cal = calendar(Downtime(name="Night", days=["daily"], start="02:30", duration="30min"))
    stops = planned_stops(cal, BRUSSELS, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert starts(stops) == [("Night", utc(2026, 3, 29, 1, 30))]


def test_a_local_time_repeated_by_dst_happens_once_at_its_first_occurrence() -> None:
    """02:30 happens twice in Brussels on 25 Oct 2026; the stop is the first (00:30 UTC)."""
    cal = calendar(Downtime(name="Night", days=["daily"], start="02:30", duration="30min"))
    stops = planned_stops(cal, BRUSSELS, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert starts(stops) == [("Night", utc(2026, 10, 25, 0, 30))]


# -- one-off windows --------------------------------------------------------------------------
def test_one_off_window_without_offset_is_site_local() -> None:
    cal = calendar(Downtime(name="Overhaul", start="2026-08-01T06:00", end="2026-08-01T08:00"))
    [stop] = planned_stops(cal, BRUSSELS, utc(2026, 7, 1), utc(2026, 9, 1))
    assert (stop.start, stop.end) == (utc(2026, 8, 1, 4), utc(2026, 8, 1, 6))


def test_one_off_window_with_offset_keeps_its_instant() -> None:
    cal = calendar(Downtime(name="Overhaul", start="2026-08-01T06:00+00:00", duration="2h"))
    [stop] = planned_stops(cal, BRUSSELS, utc(2026, 7, 1), utc(2026, 9, 1))
    assert (stop.start, stop.end) == (utc(2026, 8, 1, 6), utc(2026, 8, 1, 8))


def test_one_off_window_with_two_different_offsets_is_measured_in_real_time() -> None:
    """10:00+02:00 to 09:30Z is 90 minutes, not 'end before start'."""
    cal = calendar(Downtime(name="Crane", start="2026-08-01T10:00+02:00",
                            end="2026-08-01T09:30+00:00"))
    [stop] = planned_stops(cal, BRUSSELS, utc(2026, 7, 1), utc(2026, 9, 1))
    assert (stop.start, stop.end) == (utc(2026, 8, 1, 8), utc(2026, 8, 1, 9, 30))


def test_local_one_off_window_spanning_the_dst_change_lasts_the_real_time() -> None:
    """01:00 to 05:00 local on 25 Oct 2026 is five real hours (the clock goes back once)."""
    cal = calendar(Downtime(name="Turnaround", start="2026-10-25T01:00",
                            end="2026-10-25T05:00"))
    [stop] = planned_stops(cal, BRUSSELS, utc(2026, 10, 1), utc(2026, 11, 1))
    assert (stop.start, stop.end) == (utc(2026, 10, 24, 23), utc(2026, 10, 25, 4))


def test_one_off_window_outside_the_interval_is_not_listed() -> None:
    cal = calendar(Downtime(name="Overhaul", start="2026-08-01T06:00", duration="2h"))
    assert planned_stops(cal, BRUSSELS, utc(2026, 8, 2), utc(2026, 9, 1)) == []
    assert planned_stops(cal, BRUSSELS, utc(2026, 7, 1), utc(2026, 8, 1, 4)) == []


def test_recurring_and_one_off_windows_are_merged_in_start_order() -> None:
    cal = calendar(
        Downtime(name="Overhaul", start="2026-08-01T12:00", duration="4h"),
        Downtime(name="Morning", days=["daily"], start="05:30", duration="1h"),
    )
    stops = planned_stops(cal, BRUSSELS, utc(2026, 8, 1), utc(2026, 8, 3))
    assert starts(stops) == [
        ("Morning", utc(2026, 8, 1, 3, 30)),
        ("Overhaul", utc(2026, 8, 1, 10)),
        ("Morning", utc(2026, 8, 2, 3, 30)),
    ]


def test_interval_bounds_must_be_timezone_aware() -> None:
    cal = calendar(Downtime(name="Morning", days=["daily"], start="05:30", duration="1h"))
    with pytest.raises(ValueError, match="timezone-aware"):
        planned_stops(cal, BRUSSELS, datetime(2026, 8, 1), utc(2026, 8, 2))


# -- next planned stop ------------------------------------------------------------------------
def test_next_planned_stop_is_the_first_start_in_the_interval(demo_spec: PlantSpec) -> None:
    cal, tz = line_calendar(demo_spec, "ghent", "cooling-water")
    stop = next_planned_stop(cal, tz, utc(2026, 10, 24, 4), utc(2026, 10, 25, 4))
    assert stop == PlannedStop("Weekly maintenance window", utc(2026, 10, 24, 6),
                               utc(2026, 10, 24, 12))


def test_next_planned_stop_includes_after_and_excludes_before(demo_spec: PlantSpec) -> None:
    cal, tz = line_calendar(demo_spec, "ghent", "cooling-water")
    at_start = utc(2026, 10, 25, 4, 30)
    stop = next_planned_stop(cal, tz, at_start, utc(2026, 10, 26))
    assert stop is not None
    assert stop.start == at_start
    assert next_planned_stop(cal, tz, utc(2026, 10, 24, 12), at_start) is None


def test_a_stop_already_running_is_not_the_next_stop(demo_spec: PlantSpec) -> None:
    """At 04:45 UTC the 04:30-05:30 stop is under way; the next one is tomorrow's."""
    cal, tz = line_calendar(demo_spec, "ghent", "cooling-water")
    stop = next_planned_stop(cal, tz, utc(2026, 10, 25, 4, 45), utc(2026, 10, 27))
    assert stop is not None
    assert stop.start == utc(2026, 10, 26, 4, 30)


def test_no_next_planned_stop_without_windows_or_before_the_next_one() -> None:
    assert next_planned_stop(calendar(), BRUSSELS, utc(2026, 1, 1), utc(2027, 1, 1)) is None
    cal = calendar(Downtime(name="Morning", days=["mon"], start="05:30", duration="1h"))
    # Tue 4 Aug 2026 to Sun 9 Aug: no Monday inside.
    assert next_planned_stop(cal, BRUSSELS, utc(2026, 8, 4), utc(2026, 8, 10)) is None
