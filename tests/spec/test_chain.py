"""Escalation chains checked against the roles when a spec loads; the default chain never steps
down; each broken chain is one line naming the file, the place, the use case and the role."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from andon.auth import Permission, access_allows
from andon.clock import ManualClock
from andon.errors import SpecErrors
from andon.interventions.escalation import policy_from_spec
from andon.services.escalation import EscalationService
from andon.spec import ACCESS_LEVELS, load_spec_text
from andon.spec.chain import ACTING_ACCESS, DEFAULT_RANKS, next_role
from andon.store import SqlStore
from andon.testing.factories import T0
from interventions.test_escalation_service import raised

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "examples" / "demo-plant.yaml").read_text(encoding="utf-8")
DEMO_CHAIN = "escalation_chain: [operator, maintenance_planner, reliability_engineer, shift_lead]"
PLANT_MANAGER = "{id: plant_manager, name: Plant manager, access: viewer, rank: 50}"


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    [line] = [n for n, ln in enumerate(text.splitlines(), start=1) if needle in ln]
    return line


def problems(text: str) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        load_spec_text(text, "plant.yaml")
    lines = [str(e) for e in info.value.errors]
    assert all("\n" not in line for line in lines)
    return lines


def with_chain(chain: str, text: str = DEMO_TEXT) -> str:
    return edit(text, DEMO_CHAIN, f"escalation_chain: {chain}")


def test_the_demo_chain_climbs_the_ranks_through_roles_that_may_act() -> None:
    spec = load_spec_text(DEMO_TEXT, "plant.yaml")
    chain = spec.escalation_chain()
    assert chain == ["operator", "maintenance_planner", "reliability_engineer", "shift_lead"]
    ranks = [spec.role(r).effective_rank for r in chain]
    assert ranks == sorted(ranks)
    assert all(spec.role(r).may_act for r in chain)


def test_acting_access_is_what_auth_grants_the_feedback_permission() -> None:
    """The spec's rule (who may act) and the sign-in's permissions are one rule."""
    assert {a for a in ACCESS_LEVELS if access_allows(a, Permission.FEEDBACK)} == ACTING_ACCESS


def test_the_old_demo_chain_is_refused_on_both_counts() -> None:
    """operator -> shift_lead -> maintenance_planner -> plant_manager steps down (40 -> 20) and
    ends with a viewer: two lines, each naming the use cases that would take the step."""
    text = with_chain("[operator, shift_lead, maintenance_planner, plant_manager]")
    line = line_of(text, "escalation_chain:")
    assert problems(text) == [
        (f"plant.yaml:{line} interventions.escalation_chain[2]: use case 'motor-health' (owner "
         "reliability_engineer) escalates down from 'shift_lead' (rank 40) to "
         "'maintenance_planner' (rank 20); put the chain in rank order, or set "
         "interventions.escalation_allow_down: true if that is meant"),
        (f"plant.yaml:{line} interventions.escalation_chain[3]: use cases 'pump-bearing' (owner "
         "maintenance_planner), 'motor-health' (owner reliability_engineer) escalate to "
         "'plant_manager', whose access viewer may not act on interventions (acknowledge, give "
         "feedback); give the role access operator or higher, or take it out of the chain"),
    ]


def test_allow_down_accepts_a_step_down_but_never_a_role_that_cannot_act() -> None:
    text = with_chain("[operator, shift_lead, maintenance_planner]\n"
                      "  escalation_allow_down: true")
    spec = load_spec_text(text, "plant.yaml")
    assert policy_from_spec(spec).allow_down
    viewer = with_chain("[operator, shift_lead, maintenance_planner, plant_manager]\n"
                        "  escalation_allow_down: true")
    [problem] = problems(viewer)
    assert "escalation_chain[3]: use cases 'pump-bearing' (owner maintenance_planner)" in problem
    assert "'plant_manager', whose access viewer may not act" in problem


def test_a_role_without_rank_in_a_chain_is_refused_unless_allow_down() -> None:
    text = with_chain("[operator, data_scientist, shift_lead]")
    [problem] = problems(text)
    assert problem == (
        f"plant.yaml:{line_of(text, 'escalation_chain:')} interventions.escalation_chain[1]: "
        "role 'data_scientist' has no rank, so the chain cannot be checked for steps down; give "
        "it one (roles[4].rank, e.g. operator 10 ... plant_manager 50) or set "
        "interventions.escalation_allow_down: true")
    ranked = edit(text, "{id: data_scientist, name: Plant data scientist, access: engineer}",
                  "{id: data_scientist, name: Plant data scientist, access: engineer, rank: 30}")
    assert load_spec_text(ranked).escalation_chain()[1] == "data_scientist"


def test_an_unknown_role_in_the_chain_is_named_with_the_roles_known() -> None:
    text = with_chain("[operator, janitor]")
    [problem] = problems(text)
    assert problem.startswith(f"plant.yaml:{line_of(text, 'janitor')} "
                              "interventions.escalation_chain[1]: unknown role 'janitor' "
                              "(known: admin, data_scientist, ")


def test_a_use_case_owned_by_a_role_that_cannot_act_is_refused() -> None:
    text = edit(DEMO_TEXT, "owner_role: reliability_engineer", "owner_role: plant_manager")
    [problem] = problems(text)
    assert problem == (
        f"plant.yaml:{line_of(text, 'owner_role: plant_manager')} use_cases[1].owner_role: use "
        "case 'motor-health': owner role 'plant_manager' (access viewer) may not act on its "
        "interventions (acknowledge, give feedback); give the role access operator or higher, "
        "or choose another owner")


def test_an_owner_outside_the_chain_without_rank_is_refused_where_it_is_named() -> None:
    text = edit(DEMO_TEXT, "owner_role: reliability_engineer", "owner_role: data_scientist")
    [problem] = problems(text)
    assert problem == (
        f"plant.yaml:{line_of(text, 'owner_role: data_scientist')} use_cases[1].owner_role: use "
        "case 'motor-health': owner role 'data_scientist' is not in the escalation chain and "
        "has no rank, so where its interventions enter the chain is unknown; give it one "
        "(roles[4].rank) or put it in interventions.escalation_chain")


def test_a_declared_rank_replaces_the_default_of_a_well_known_id() -> None:
    """A plant whose shift lead ranks below the reliability engineer: the demo chain, which has
    the shift lead last, now steps down, and spec check says so."""
    text = edit(DEMO_TEXT, "{id: shift_lead, name: Shift lead, access: operator, rank: 40}",
                "{id: shift_lead, name: Shift lead, access: operator, rank: 25}")
    [problem] = problems(text)
    assert "escalation_chain[3]: use cases 'pump-bearing' (owner maintenance_planner), " in problem
    assert "down from 'reliability_engineer' (rank 30) to 'shift_lead' (rank 25)" in problem
    spec = load_spec_text(edit(text, DEMO_CHAIN, "escalation_chain: [operator, shift_lead]"))
    assert spec.escalation_ranks()["shift_lead"] == 25


# -- the default chain (a spec that writes none) -------------------------------------------

OWN_PLANT = """\
version: 1
enterprise: {id: acme, name: ACME}
roles:
- {id: operator, name: Operator, access: operator}
- {id: maintenance_technician, name: Maintenance technician, access: operator}
- {id: plant_manager, name: Plant manager, access: operator}
- {id: auditor, name: Auditor, access: viewer}
sites:
- id: ghent
  name: Ghent
  areas:
  - id: utilities
    name: Utilities
    lines:
    - id: cooling-water
      name: Cooling water
      assets:
      - id: p-101
        name: Pump P-101
        kind: pump
        tags:
        - {name: flow, quantity: flow, unit: "m^3/h", range: [0, 400], period: 60s}
use_cases:
- id: pump-bearing
  name: Pump bearing wear
  asset_kind: pump
  model: pump-bearing
  action: "Inspect {asset} at the {deadline}"
  owner_role: maintenance_technician
  horizon: 24h
"""


def test_the_default_chain_never_hands_a_maintenance_item_down_to_the_operator(
    store: SqlStore,
) -> None:
    """The reported bug: a plant with no chain of its own, a maintenance technician's
    intervention, nobody acknowledges it. It goes up to the plant manager, not the operator,
    and then stays there (the chain exhausted), on a manual clock through the real service."""
    spec = load_spec_text(OWN_PLANT)
    assert spec.escalation_chain() == ["operator", "maintenance_technician", "plant_manager"]
    store.save_intervention(raised(owner="maintenance_technician"))
    clock = ManualClock(T0 + timedelta(minutes=15))  # high: 15 min by default
    service = EscalationService.for_spec(store, spec, clock)
    [line] = service.tick().escalations
    assert line.endswith("escalated from maintenance_technician to plant_manager")
    clock.advance(seconds=15 * 60)
    [exhausted] = service.tick().escalations
    assert "chain exhausted" in exhausted
    got = store.get_intervention("rec-1")
    assert [m.to_state.value for m in got.history] == ["new", "escalated", "escalated"]
    assert got.owner_role == "plant_manager"


def test_without_any_ranked_role_the_default_chain_is_empty_and_the_spec_loads() -> None:
    """Role ids Andon does not know and no ranks: nobody to hand over to, nothing to refuse."""
    text = OWN_PLANT.replace("maintenance_technician", "mech").replace(
        "- {id: operator, name: Operator, access: operator}\n", "").replace(
        "- {id: plant_manager, name: Plant manager, access: operator}\n", "")
    spec = load_spec_text(text)
    assert spec.escalation_chain() == []
    assert policy_from_spec(spec).next_role("mech") is None


@pytest.mark.parametrize(("owner", "chain", "expected"), [
    ("operator", ["operator", "shift_lead"], "shift_lead"),
    ("maintenance_planner", ["operator", "maintenance_technician", "shift_lead"], "shift_lead"),
    ("plant_manager", ["operator", "shift_lead"], None),
    ("janitor", ["operator", "shift_lead"], "operator"),  # no rank: only with allow_down
])
def test_next_role_enters_above_the_owners_rank(owner: str, chain: list[str],
                                                expected: str | None) -> None:
    assert next_role(owner, chain, DEFAULT_RANKS) == expected


def test_spec_check_prints_each_broken_chain_in_one_line_and_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(with_chain("[operator, shift_lead, maintenance_planner, plant_manager]"),
                    encoding="utf-8")
    out = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", "spec", "check", str(path)], capture_output=True,
        text=True, timeout=120, env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        check=False)
    assert out.returncode == 3
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2, out.stderr
    assert lines[0].startswith("error: plant.yaml:")
    assert "escalation_chain[2]: use case 'motor-health' (owner reliability_engineer)" in lines[0]
    assert "'plant_manager', whose access viewer may not act" in lines[1]
