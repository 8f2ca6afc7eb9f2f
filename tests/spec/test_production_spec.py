"""A line's ``production:`` and ``costs:`` blocks: what loads and what is refused, by field."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon.errors import SpecErrors
from andon.spec import load_spec_text

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

DEMO_SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
PROD = "sites[0].areas[0].lines[0].production"


def edit(text: str, old: str, new: str) -> str:
    """Replace ``old`` (which must occur exactly once) by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line of ``text`` containing ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found}"
    return found[0]


def problems(text: str) -> list[str]:
    """The one-line messages a broken spec text produces."""
    with pytest.raises(SpecErrors) as info:
        load_spec_text(text, "plant.yaml")
    return [str(e) for e in info.value.errors]


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def _demo() -> str:
    return DEMO_SPEC.read_text(encoding="utf-8")


def test_the_demo_declares_production_and_costs_on_two_lines(demo_spec: PlantSpec) -> None:
    declared = {ln.id: ln for _s, _a, ln in demo_spec.lines() if ln.production is not None}
    assert sorted(declared) == ["cooling-water", "press-line"]
    cw = declared["cooling-water"]
    assert cw.production is not None
    assert cw.costs is not None
    assert cw.production.tags() == {"state_tag": "cw-line/state",
                                    "good_count": "cw-line/good_count",
                                    "scrap_count": "cw-line/scrap_count"}
    assert cw.production.states[3].loss == "unplanned"
    assert cw.production.value_of("planned") == 2
    assert (cw.costs.downtime_per_hour, cw.costs.currency) == (1800.0, "EUR")


def test_a_spec_without_production_stays_valid() -> None:
    text = _demo()
    start = text.index("            # OEE (docs/kpi.md)")
    end = text.index("            assets:", start)
    spec = load_spec_text(text[:start] + text[end:], "plant.yaml")
    _s, _a, line = spec.line("ghent", "cooling-water")
    assert line.production is None
    assert line.costs is None


def test_a_tag_not_on_the_line_is_named_with_its_field() -> None:
    text = edit(_demo(), "good_count: cw-line/good_count", "good_count: pl-line/good_count ")
    message = only_problem(text)
    assert message.startswith(f"plant.yaml:{line_of(text, 'good_count: pl-line/good_count ')} "
                              f"{PROD}.good_count: 'pl-line/good_count' is not a tag of an "
                              "asset of line 'cooling-water'")


def test_a_counter_that_is_not_a_count_is_refused() -> None:
    text = edit(_demo(), "scrap_count: cw-line/scrap_count", "scrap_count: p-101/flow")
    assert "p-101/flow measures flow; scrap_count needs a count tag" in only_problem(text)


def test_total_or_scrap_and_a_rate_are_required() -> None:
    text = edit(_demo(), "              ideal_rate: 60  # treated-water batches per hour\n", "")
    assert "give ideal_rate (units per hour) or ideal_rate_tag" in only_problem(text)
    both = edit(_demo(), "scrap_count: cw-line/scrap_count",
                "scrap_count: cw-line/scrap_count\n              total_count: cw-line/good_count")
    assert "give total_count or scrap_count (one of them)" in only_problem(both)


def test_costs_are_checked() -> None:
    text = edit(_demo(), "downtime_per_hour: 1800, scrap_per_unit: 12, currency: EUR",
                "downtime_per_hour: -5, scrap_per_unit: 12, currency: euro")
    found = problems(text)
    assert any("costs.downtime_per_hour" in p for p in found), found
    assert any("costs.currency" in p for p in found), found
