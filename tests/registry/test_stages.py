"""Model stages: the allowed moves, and refusals that name both stages."""

from __future__ import annotations

import pytest

from andon.errors import StageError
from andon.registry import Stage, transition

ALLOWED = {
    (Stage.CANDIDATE, Stage.PRODUCTION),
    (Stage.CANDIDATE, Stage.ARCHIVED),
    (Stage.PRODUCTION, Stage.ARCHIVED),
    (Stage.ARCHIVED, Stage.CANDIDATE),
}
ALL = [(a, b) for a in Stage for b in Stage]


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_moves_return_the_target(current: Stage, target: Stage) -> None:
    assert transition(current, target) is target
    assert transition(current.value, target.value) is target


@pytest.mark.parametrize(("current", "target"), [m for m in ALL if m not in ALLOWED])
def test_every_other_move_is_refused_naming_both_stages(current: Stage, target: Stage) -> None:
    with pytest.raises(StageError) as info:
        transition(current, target, "pump-bearing v2")
    message = str(info.value)
    assert message.startswith(f"pump-bearing v2: cannot move from {current} to {target} (")
    assert "\n" not in message
    assert (info.value.current, info.value.target) == (current.value, target.value)


def test_refusals_say_what_to_do_instead() -> None:
    with pytest.raises(StageError, match=r"requalify it as a candidate first"):
        transition(Stage.ARCHIVED, Stage.PRODUCTION)
    with pytest.raises(StageError, match=r"it is already production"):
        transition(Stage.PRODUCTION, Stage.PRODUCTION)
    with pytest.raises(StageError, match=r"archive it, then register a new version"):
        transition(Stage.PRODUCTION, Stage.CANDIDATE)


def test_unknown_stage_is_refused_with_the_known_ones() -> None:
    with pytest.raises(StageError, match=r"from candidate to shadow \(stages are candidate, "
                                         r"production, archived\)"):
        transition("candidate", "shadow")


def test_every_stage_has_a_value_and_the_lifecycle_has_three() -> None:
    assert [s.value for s in Stage] == ["candidate", "production", "archived"]
