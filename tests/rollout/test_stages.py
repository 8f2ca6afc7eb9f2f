"""Every legal and illegal rollout move, through the one transition function."""

from __future__ import annotations

from datetime import timedelta

import pytest

from andon.clock import utc
from andon.errors import RolloutError
from andon.rollout import Action, Rollout, Stage, move, start
from andon.rollout.stages import from_doc, to_doc

T = utc(2026, 3, 2)
LINES = ("cooling-water", "process-water", "boiler-feed")
D = timedelta(days=1)


def begin() -> Rollout:
    return start("pump-bearing", "pump-bearing", "4", pilot="cooling-water", at=T, by="ana",
                 reason="replay looks good")


def adv(r: Rollout, **kw: object) -> Rollout:
    return move(r, Action.ADVANCE, at=r.since + D, by="ana", reason="gate met",
                all_lines=LINES, **kw)  # type: ignore[arg-type]


def walk() -> list[Rollout]:
    """The plant's whole path: shadow pilot ... complete, one Rollout per stage."""
    r0 = begin()
    r1 = adv(r0, shift="early")
    r2 = adv(r1)
    r3 = adv(r2, lines=["process-water"])
    r4 = adv(r3)
    r5 = adv(r4, lines=["boiler-feed"])
    r6 = adv(r5)
    r7 = adv(r6)
    return [r0, r1, r2, r3, r4, r5, r6, r7]


def test_the_whole_path_and_where_the_challenger_scores_at_each_stage() -> None:
    got = [(r.stage, r.live_lines, r.shadow_lines, r.shift) for r in walk()]
    assert got == [
        (Stage.SHADOW_PILOT, (), ("cooling-water",), None),
        (Stage.LIVE_PILOT_SHIFT, ("cooling-water",), ("cooling-water",), "early"),
        (Stage.LIVE_PILOT, ("cooling-water",), (), None),
        (Stage.SHADOW_WIDE, ("cooling-water",), ("process-water",), None),
        (Stage.LIVE_WIDE, ("cooling-water", "process-water"), (), None),
        (Stage.SHADOW_WIDE, ("cooling-water", "process-water"), ("boiler-feed",), None),
        (Stage.LIVE_WIDE, ("boiler-feed", "cooling-water", "process-water"), (), None),
        (Stage.COMPLETE, ("boiler-feed", "cooling-water", "process-water"), (), None),
    ]
    assert len(walk()[-1].steps) == 8  # append-only: every move is a step


@pytest.mark.parametrize("index", range(1, 8))
def test_back_from_every_stage_restores_the_configuration_before_the_last_move(
        index: int) -> None:
    path = walk()
    went_back = move(path[index], Action.BACK, at=path[index].since + D, by="bo",
                     reason="operators unsure")
    before = path[index - 1]
    assert (went_back.stage, went_back.live_lines, went_back.shadow_lines, went_back.shift) == (
        before.stage, before.live_lines, before.shadow_lines, before.shift)
    assert (went_back.current.by, went_back.current.reason) == ("bo", "operators unsure")
    assert len(went_back.steps) == len(path[index].steps) + 1


def test_back_twice_walks_back_two_stages_and_back_from_the_first_withdraws() -> None:
    r = walk()[2]
    r = move(r, Action.BACK, at=r.since + D, by="bo", reason="a")
    r = move(r, Action.BACK, at=r.since + D, by="bo", reason="b")
    assert r.stage is Stage.SHADOW_PILOT
    r = move(r, Action.BACK, at=r.since + D, by="bo", reason="c")
    assert (r.stage, r.live_lines, r.shadow_lines) == (Stage.WITHDRAWN, (), ())


@pytest.mark.parametrize("index", range(7))
def test_withdraw_from_every_stage_that_has_not_ended(index: int) -> None:
    r = move(walk()[index], Action.WITHDRAW, at=T + 30 * D, by="bo", reason="stop")
    assert (r.stage, r.live_lines, r.shadow_lines) == (Stage.WITHDRAWN, (), ())


@pytest.mark.parametrize(("index", "kw", "named"), [
    (0, {}, "name the shift"),  # shadow_pilot -> live_pilot_shift needs the shift
    (2, {}, "name the further lines"),  # live_pilot, not live everywhere yet
    (2, {"lines": ["cooling-water"]}, "already live on cooling-water"),
    (2, {"lines": ["nowhere"]}, "watches nothing on line nowhere"),
    (4, {}, "not live yet on boiler-feed"),
    (7, {}, "complete: nothing to advance to"),
])
def test_illegal_advances_are_refused_with_the_reason(index: int, kw: dict[str, object],
                                                      named: str) -> None:
    r = walk()[index]
    with pytest.raises(RolloutError, match=named):
        adv(r, **kw)


def test_an_ended_rollout_cannot_move_on_and_every_move_needs_a_reason() -> None:
    gone = move(begin(), Action.WITHDRAW, at=T + D, by="bo", reason="stop")
    with pytest.raises(RolloutError, match="withdrawn: nothing to advance to"):
        adv(gone)
    with pytest.raises(RolloutError, match="already withdrawn"):
        move(gone, Action.WITHDRAW, at=T + D, by="bo", reason="again")
    with pytest.raises(RolloutError, match="a reason is required"):
        move(begin(), Action.BACK, at=T + D, by="bo", reason="  ")
    with pytest.raises(RolloutError, match="a reason is required"):
        start("pump-bearing", "pump-bearing", "4", pilot="cooling-water", at=T, by="a",
              reason="")


def test_a_pilot_line_alone_completes_from_live_pilot() -> None:
    r = adv(adv(begin(), shift="early"))
    done = move(r, Action.ADVANCE, at=r.since + D, by="ana", reason="only line",
                all_lines=("cooling-water",))
    assert (done.stage, done.live_lines) == (Stage.COMPLETE, ("cooling-water",))


def test_the_document_round_trips_every_step() -> None:
    for r in walk():
        assert from_doc(to_doc(r)) == r
