"""Fault scenarios on any tag: each kind's signature, magnitudes in % of the span, the file.

Reporting faults change only what one tag reports, so a faulty run minus a healthy run of the
same seed is exactly the fault's signature (and zero everywhere else). The scenario file is
refused with one line naming the file, the line and the field; docs/simulator.md's examples
load against docs/onboarding.md's plant.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from andon.clock import utc
from andon.errors import SpecError
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.spec import PlantSpec, load_spec_text
from e2e.test_onboarding import guide_files

START = utc(2026, 3, 2, 8)
H = 3600.0
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def plant() -> PlantSpec:
    """The onboarding guide's plant: fans and a kiln zone (no demo physics)."""
    return load_spec_text(guide_files((DOCS / "onboarding.md").read_text("utf-8"))["plant.yaml"])


def run(spec: PlantSpec, *faults: Fault, hours: float = 6) -> dict[tuple[str, str], np.ndarray]:
    sim = PlantSimulator(spec, seed=11, start=START, scenario=Scenario(faults))
    out: dict[tuple[str, str], list[float]] = {}
    for batch in sim.run_until(START + timedelta(hours=hours)):
        for s in batch:
            out.setdefault((s.address.asset, s.address.tag), []).append(s.value)
    return {k: np.array(v) for k, v in out.items()}


def effect(spec: PlantSpec, fault: Fault) -> tuple[np.ndarray, dict[tuple[str, str], np.ndarray]]:
    """(faulty - healthy) of the fault's tag, and the faulty run."""
    healthy, faulty = run(spec), run(spec, fault)
    for key in healthy:
        if key != (fault.asset, fault.tag):
            assert np.array_equal(healthy[key], faulty[key]), key  # nothing else changes
    key = (fault.asset or "", fault.tag or "")
    return faulty[key] - healthy[key], faulty


def minute(i: float) -> int:
    """Index of the sample reported at ``i`` hours (60 s periods, the first at 1 min)."""
    return round(i * 60) - 1


def test_calibration_step_in_percent_of_the_span(plant: PlantSpec) -> None:
    diff, _ = effect(plant, Fault("calibration_step", asset="kz-1", tag="temperature",
                                  start_s=H, end_s=3 * H, offset=-5.0, percent=True))
    assert np.allclose(diff[minute(1):minute(3)], -20.0, atol=1e-3)  # 5 % of 800-1200 degC
    assert np.allclose(diff[:minute(1)], 0)
    assert np.allclose(diff[minute(3):], 0)


def test_drift_grows_linearly_then_holds(plant: PlantSpec) -> None:
    diff, _ = effect(plant, Fault("drift", asset="fan-2", tag="vibration", start_s=H,
                                  end_s=3 * H, offset=20.0, percent=True))
    assert np.allclose(diff[:minute(1)], 0)
    assert diff[minute(2)] == pytest.approx(2.0, abs=1e-3)  # halfway: half of 4 mm/s
    assert np.allclose(diff[minute(3):], 4.0, atol=1e-3)
    assert np.all(np.diff(diff[minute(1):minute(3)]) > 0)


def test_spike_once_and_every(plant: PlantSpec) -> None:
    once, _ = effect(plant, Fault("spike", asset="fan-1", tag="current", start_s=H, offset=30.0))
    assert np.flatnonzero(np.abs(once) > 1e-6).tolist() == [minute(1)]
    assert once[minute(1)] == pytest.approx(30.0, abs=1e-3)
    every, _ = effect(plant, Fault("spike", asset="fan-1", tag="current", start_s=H,
                                   end_s=4 * H, every_s=H, offset=10.0, percent=True))
    assert np.flatnonzero(np.abs(every) > 1e-6).tolist() == [minute(h) for h in (1, 2, 3)]
    assert every[minute(2)] == pytest.approx(15.0, abs=1e-3)


def test_noise_adds_the_given_sd_deterministically(plant: PlantSpec) -> None:
    fault = Fault("noise", asset="fan-1", tag="speed", start_s=H, end_s=5 * H, offset=2.0,
                  percent=True)
    diff, faulty = effect(plant, fault)
    assert np.allclose(diff[:minute(1)], 0)
    assert np.allclose(diff[minute(5):], 0)
    assert diff[minute(1):minute(5)].std() == pytest.approx(36.0, rel=0.15)  # 2 % of 1800 rpm
    assert np.array_equal(faulty[("fan-1", "speed")], run(plant, fault)[("fan-1", "speed")])


def test_stuck_and_dropout_on_a_derived_tag(plant: PlantSpec) -> None:
    _, faulty = effect(plant, Fault("stuck", asset="kz-1", tag="temperature", start_s=H,
                                    end_s=2 * H))
    stuck = faulty[("kz-1", "temperature")][minute(1):minute(2)]
    assert len(set(stuck.tolist())) == 1
    healthy = run(plant)
    gone = run(plant, Fault("dropout", asset="kz-1", start_s=H, end_s=2 * H))
    assert len(gone[("kz-1", "state")]) == len(healthy[("kz-1", "state")]) - 60
    assert np.array_equal(gone[("fan-1", "speed")], healthy[("fan-1", "speed")])


def test_scenario_file_reads_percentages_and_every(tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text("faults:\n"
                    "  - {kind: drift, asset: fan-2, tag: vibration, start_s: 2h, end_s: 8h,"
                    " offset: 20%}\n"
                    "  - {kind: spike, asset: fan-1, tag: current, every_s: 30min, offset: -4}\n"
                    "  - {kind: noise, asset: fan-1, tag: speed, offset: ' 2.5 %'}\n",
                    encoding="utf-8")
    scenario = Scenario.from_file(path)
    assert scenario.faults == (
        Fault("drift", asset="fan-2", tag="vibration", start_s=2 * H, end_s=8 * H, offset=20.0,
              percent=True),
        Fault("spike", asset="fan-1", tag="current", every_s=1800.0, offset=-4.0),
        Fault("noise", asset="fan-1", tag="speed", offset=2.5, percent=True),
    )
    assert scenario.lines == (2, 3, 4)


@pytest.mark.parametrize(
    ("body", "line", "field", "reason"),
    [
        ("faults:\n  - {kind: drift, asset: a, tag: t, end_s: 1h, offset: a lot}\n", 2,
         "faults[0].offset", "expected a number in the tag's unit or a percentage"),
        ("faults:\n  - {kind: drift, asset: a, tag: t, offset: 5%}\n", 2, "faults[0].end_s",
         "drift needs end_s, when the drift reaches its full offset"),
        (("faults:\n  - {kind: spike, asset: a, tag: t, offset: 1}\n"
          "  - {kind: stuck, asset: a, tag: t, every_s: 1h}\n"), 3, "faults[1].every_s",
         "every_s does not apply to stuck"),
        ("faults:\n  - kind: spike\n    asset: a\n    tag: t\n    offset: 2\n    every_s: -1h\n",
         6, "faults[0].every_s", ""),
        ("faults:\n  - {kind: noise, asset: a, tag: t, offset: -3}\n", 2, "faults[0].offset",
         "noise needs a positive offset"),
        ("faults:\n  - {kind: clock_skew, line: l, offset: 10%}\n", 2, "faults[0].offset",
         "clock_skew needs its offset in seconds"),
        ("faults:\n  - {kind: drift, asset: a, end_s: 2h, offset: 1}\n", 2, "faults[0].tag",
         "drift needs a tag name"),
        ("faults:\n  - {kind: calibration_step, asset: a, tag: t, offset: 0%}\n", 2,
         "faults[0].offset", "calibration_step needs a non-zero finite offset"),
    ],
    ids=["offset-text", "drift-no-end", "every-on-stuck", "every-negative", "noise-negative",
         "skew-percent", "drift-no-tag", "zero-percent"],
)
def test_broken_scenario_names_file_line_and_field(
        tmp_path: Path, body: str, line: int, field: str, reason: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        Scenario.from_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line} {field}: {reason}")


def test_a_tag_the_spec_lacks_is_named_with_file_and_line(plant: PlantSpec,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text("description: typo\nfaults:\n"
                    "  - {kind: spike, asset: fan-1, tag: current, offset: 1}\n"
                    "  - {kind: drift, asset: fan-2, tag: vibraton, end_s: 1h, offset: 1}\n",
                    encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        PlantSimulator(plant, seed=1, start=START, scenario=Scenario.from_file(path))
    assert str(caught.value) == (
        f"{path}:4 faults[1].tag: asset 'fan-2' has no tag 'vibraton' (tags: bearing_temp, "
        "current, speed, vibration)")


def test_the_docs_examples_load_and_run_on_the_guides_plant(plant: PlantSpec,
                                                            tmp_path: Path) -> None:
    text = (DOCS / "simulator.md").read_text("utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 2
    kinds = set()
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block, encoding="utf-8")
        scenario = Scenario.from_file(path)
        kinds |= {f.kind for f in scenario.faults}
        sim = PlantSimulator(plant, seed=1, start=START, scenario=scenario)
        assert sum(len(b) for b in sim.run_until(START + timedelta(hours=1))) > 0
    assert kinds == {"bearing_wear", "drift", "calibration_step", "spike", "noise", "stuck",
                     "dropout", "clock_skew"}
