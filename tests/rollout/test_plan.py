"""Where each version scores at an instant: the shift of live_pilot_shift, history, withdrawal."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from andon.clock import utc
from andon.rollout import Action, coverage_of, move, start

if TYPE_CHECKING:
    from andon.spec import PlantSpec

T = utc(2026, 3, 2)  # Monday; Ghent is UTC+1: the early shift (06:00-14:00) is 05:00-13:00 UTC
H = timedelta(hours=1)
UC, CW, PW = "pump-bearing", "cooling-water", "process-water"


def test_live_in_its_shift_only_and_shadow_the_rest_of_the_day(demo_spec: PlantSpec) -> None:
    r = start(UC, UC, "4", pilot=CW, at=T, by="ana", reason="try")
    r = move(r, Action.ADVANCE, at=T + 24 * H, by="ana", reason="gate met", shift="early",
             all_lines=(CW, PW))
    cover = coverage_of([r], demo_spec)
    day = T + 24 * H
    hours = {h: (cover.live(UC, CW, day + h * H), cover.shadow(UC, CW, day + h * H))
             for h in (4, 5, 12, 13, 20)}
    assert hours == {4: (None, ("4",)), 5: ("4", ()), 12: ("4", ()), 13: (None, ("4",)),
                     20: (None, ("4",))}
    assert (cover.live(UC, PW, day + 6 * H), cover.shadow(UC, PW, day + 6 * H)) == (None, ())
    # before the advance it was shadow all day, the history says so
    assert (cover.live(UC, CW, T + 6 * H), cover.shadow(UC, CW, T + 6 * H)) == (None, ("4",))


def test_after_a_withdrawal_production_serves_again_but_the_past_keeps_its_coverage(
        demo_spec: PlantSpec) -> None:
    r = start(UC, UC, "4", pilot=CW, at=T, by="ana", reason="try")
    r = move(r, Action.WITHDRAW, at=T + 48 * H, by="ana", reason="stop")
    again = start(UC, UC, "5", pilot=PW, at=T + 72 * H, by="ana", reason="next")
    cover = coverage_of([r, again], demo_spec)
    assert cover.shadow(UC, CW, T + 24 * H) == ("4",)
    assert cover.shadow(UC, CW, T + 60 * H) == ()
    assert cover.shadow(UC, PW, T + 80 * H) == ("5",)
    assert cover.shadow("motor-health", CW, T + 24 * H) == ()
