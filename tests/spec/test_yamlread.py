"""Deeply nested YAML is one spec problem, never a ``RecursionError``: the loader, a tag map
file and ``andon spec check`` all refuse it in one located line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from andon.errors import SpecErrors
from andon.spec import load_spec, load_spec_text
from andon.spec.yamlread import MAX_DEPTH, BoundedLoader, NestingError

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
REASON = f"values are nested more than {MAX_DEPTH} levels deep"

#: each is about 4 KB and, before the bound, raised RecursionError inside PyYAML
DEEP = {
    "flow sequences": "[" * 4000,
    "flow mappings": "{a: " * 1000,
    "a sequence under a key": "sites: " + "[" * 2000 + "]" * 2000,
    "block mappings": "".join(" " * i + "a:\n" for i in range(90)),
}


def _alias_chain(links: int) -> str:
    """Each anchor nests the previous one 50 levels deeper: shallow text, deep data."""
    text = "a0: &a0 " + "[" * 50 + "1" + "]" * 50 + "\n"
    for i in range(1, links):
        text += f"a{i}: &a{i} " + "[" * 50 + f"*a{i - 1}" + "]" * 50 + "\n"
    return text


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_yaml_is_one_located_spec_problem(text: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        load_spec_text(text, "plant.yaml")
    [problem] = caught.value.errors
    assert REASON in str(problem)
    assert str(problem).startswith("plant.yaml:")
    assert "\n" not in str(problem)


def test_aliases_cannot_nest_data_past_the_bound() -> None:
    """Every line nests 50 levels (within the bound); through aliases the data nests 4000."""
    with pytest.raises(SpecErrors) as caught:
        load_spec_text(_alias_chain(80), "plant.yaml")
    [problem] = caught.value.errors
    assert str(problem) == (f"plant.yaml:1 a1: {REASON}; a plant spec needs about ten "
                            "(write the data flatter)")


def test_nesting_up_to_the_bound_is_read() -> None:
    text = "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)
    value = yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == 1
    with pytest.raises(NestingError):
        yaml.load("[" + text + "]", Loader=BoundedLoader)  # noqa: S506


def test_the_demo_plant_is_well_within_the_bound() -> None:
    assert load_spec(DEMO).enterprise.id


def test_a_deep_tag_map_file_is_one_line_naming_the_map_file(tmp_path: Path) -> None:
    spec = DEMO.read_text(encoding="utf-8")
    site = "  - id: porto\n"
    assert site in spec
    (tmp_path / "deep.yaml").write_text("[" * 4000, encoding="utf-8")
    (tmp_path / "plant.yaml").write_text(
        spec.replace(site, site + "    tag_map_file: deep.yaml\n", 1), encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        load_spec(tmp_path / "plant.yaml")
    assert any(str(e).startswith("deep.yaml:") and REASON in str(e)
               for e in caught.value.errors), [str(e) for e in caught.value.errors]


def test_andon_spec_check_prints_one_line_for_deep_yaml(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 4000, encoding="utf-8")
    out = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", "spec", "check", str(path)], capture_output=True,
        text=True, timeout=120, env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        check=False)
    assert out.returncode == 3  # ExitCode.BAD_INPUT, not a traceback (1)
    assert out.stderr.strip().splitlines() == [
        f"error: deep.yaml:1: {REASON}; a plant spec needs about ten (write the data flatter)"]
    assert "Traceback" not in out.stderr
