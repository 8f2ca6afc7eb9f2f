"""The plant simulator: determinism, fidelity to the spec, plausible physics, every fault."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from andon.clock import to_ms, utc
from andon.errors import SpecError
from andon.namespace.sample import Quality, Sample
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.simulator import scenario as demo
from andon.simulator.plant import shift_level, weekend_factor
from andon.spec import PlantSpec, load_spec_text

if TYPE_CHECKING:
    from pathlib import Path

START = utc(2026, 3, 2)  # a Monday, 01:00 in Ghent
HOUR = 3600.0
FAULTY_HOURS = 74  # the demo story: 48 h healthy history, failure at 72 h, 2 h after it
SEED = 7


@dataclass(frozen=True)
class Step:
    now: datetime
    samples: list[Sample]

    @property
    def t(self) -> float:
        return (self.now - START).total_seconds()


def run(sim: PlantSimulator, hours: float) -> list[Step]:
    end = sim.now + timedelta(hours=hours)
    steps = []
    while sim.now < end:
        samples = sim.step()
        steps.append(Step(sim.now, samples))
    return steps


def series(steps: list[Step], asset: str, tag: str) -> list[tuple[float, float]]:
    """(seconds after START, value) of one tag."""
    return [(s.t, x.value) for s in steps for x in s.samples
            if x.address.asset == asset and x.address.tag == tag]


def values(steps: list[Step], asset: str, tag: str, lo: float = 0.0, hi: float = math.inf,
           ) -> np.ndarray:
    return np.array([v for t, v in series(steps, asset, tag) if lo <= t < hi])


@pytest.fixture(scope="module")
def healthy(demo_spec: PlantSpec) -> list[Step]:
    return run(PlantSimulator(demo_spec, seed=SEED, start=START), FAULTY_HOURS)


@pytest.fixture(scope="module")
def faulty(demo_spec: PlantSpec) -> list[Step]:
    return run(PlantSimulator(demo_spec, seed=SEED, start=START, scenario=Scenario.demo()),
               FAULTY_HOURS)


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_samples(demo_spec: PlantSpec) -> None:
    a = run(PlantSimulator(demo_spec, seed=3, start=START, scenario=Scenario.demo()), 3)
    b = run(PlantSimulator(demo_spec, seed=3, start=START, scenario=Scenario.demo()), 3)
    assert len(a) == 180
    assert [s.samples for s in a] == [s.samples for s in b]


def test_different_seed_gives_different_values(demo_spec: PlantSpec) -> None:
    a = run(PlantSimulator(demo_spec, seed=3, start=START), 1)
    b = run(PlantSimulator(demo_spec, seed=4, start=START), 1)
    va = [x.value for s in a for x in s.samples]
    vb = [x.value for s in b for x in s.samples]
    assert len(va) == len(vb)
    differing = sum(x != y for x, y in zip(va, vb, strict=True))
    assert differing > 0.9 * len(va)


def test_restricting_lines_leaves_remaining_assets_unchanged(
    demo_spec: PlantSpec, healthy: list[Step],
) -> None:
    chosen = {"cooling-water", "bottling-1"}
    part = run(PlantSimulator(demo_spec, seed=SEED, start=START, lines=chosen), 3)
    for whole, some in zip(healthy, part, strict=False):
        assert some.samples == [x for x in whole.samples if x.address.line in chosen]
    assert {x.address.line for s in part for x in s.samples} == chosen


def test_unknown_line_and_naive_start_are_refused(demo_spec: PlantSpec) -> None:
    with pytest.raises(ValueError, match="unknown line id"):
        PlantSimulator(demo_spec, seed=1, start=START, lines={"no-such-line"})
    with pytest.raises(ValueError, match="timezone-aware"):
        PlantSimulator(demo_spec, seed=1, start=datetime(2026, 3, 2))


# -- fidelity to the spec ---------------------------------------------------------------------


def test_every_tag_emits_once_per_period_in_its_unit_with_increasing_seq(
    demo_spec: PlantSpec, healthy: list[Step],
) -> None:
    first_hour = [s for s in healthy if s.t <= HOUR]
    counts = Counter((x.address.asset, x.address.tag) for s in first_hour for x in s.samples)
    declared = {(a.id, t.name): t for *_, a in demo_spec.assets() for t in a.tags}
    assert set(counts) == set(declared)
    assert all(n == 60 for n in counts.values())  # 60 s periods over one hour
    seqs: dict[str, list[int]] = defaultdict(list)
    for s in first_hour:
        keys = [(x.address.asset, x.address.tag) for x in s.samples]
        assert keys == sorted(keys)
        for x in s.samples:
            assert x.unit == declared[x.address.asset, x.address.tag].unit
            assert x.quality is Quality.GOOD
            assert x.source == f"plc-{x.address.site}-{x.address.line}"
            assert x.ts_ms == to_ms(s.now)
            seqs[x.source].append(x.seq)
    assert len(seqs) == len(demo_spec.lines())
    for seq in seqs.values():
        assert seq == list(range(len(seq)))


def test_healthy_values_stay_within_declared_ranges(
    demo_spec: PlantSpec, healthy: list[Step],
) -> None:
    declared = {(a.id, t.name): t.range for *_, a in demo_spec.assets() for t in a.tags}
    for s in healthy:
        for x in s.samples:
            low, high = declared[x.address.asset, x.address.tag]
            assert low <= x.value <= high, (x.address, x.value)


def test_now_step_and_run_until(demo_spec: PlantSpec) -> None:
    sim = PlantSimulator(demo_spec, seed=1, start=START)
    assert sim.now == START
    assert sim.step_s == 60.0
    batches = list(sim.run_until(START + timedelta(seconds=150)))
    assert len(batches) == 3
    assert sim.now == START + timedelta(seconds=180)
    assert list(sim.run_until(START + timedelta(seconds=180))) == []
    assert [len(b) for b in batches] == [70, 70, 70]


# -- plausible physics ------------------------------------------------------------------------


def test_pump_flow_and_current_correlate_over_a_day(healthy: list[Step]) -> None:
    for pump in ("p-101", "p-102", "p-301", "p-302"):
        flow = values(healthy, pump, "flow", 0, 24 * HOUR)
        current = values(healthy, pump, "motor_current", 0, 24 * HOUR)
        assert len(flow) == len(current) >= 1439
        assert np.corrcoef(flow, current)[0, 1] > 0.8


def test_day_shift_runs_harder_than_night_shift(healthy: list[Step]) -> None:
    ghent = ZoneInfo("Europe/Brussels")

    def hour(t: float) -> int:
        return (START + timedelta(seconds=t)).astimezone(ghent).hour

    flows = series(healthy, "p-101", "flow")
    day = [v for t, v in flows if 7 <= hour(t) < 13]
    night = [v for t, v in flows if hour(t) >= 23 or hour(t) < 5]
    assert len(day) > 300
    assert len(night) > 300
    assert np.mean(day) > 1.3 * np.mean(night)


def test_weekend_runs_lighter_than_a_weekday(demo_spec: PlantSpec) -> None:
    friday = utc(2026, 3, 6, 6)  # 07:00 in Ghent
    sim = PlantSimulator(demo_spec, seed=SEED, start=friday, lines={"cooling-water"})
    flow: list[float] = []
    for _ in range(24 * 60 + 6 * 60):  # Friday 07:00 to Saturday 13:00 local
        flow.extend(x.value for x in sim.step()
                    if (x.address.asset, x.address.tag) == ("p-101", "flow"))
    weekday, saturday = np.mean(flow[:360]), np.mean(flow[-360:])
    assert saturday < 0.95 * weekday


def test_stroke_count_never_decreases(faulty: list[Step]) -> None:
    strokes = values(faulty, "pr-201", "stroke_count")
    assert np.all(np.diff(strokes) >= 0)
    assert np.all(strokes == np.round(strokes))
    per_minute = (strokes[-1] - strokes[0]) / (FAULTY_HOURS * 60)
    assert 5 < per_minute < 13


# -- faults -----------------------------------------------------------------------------------


def test_bearing_wear_grows_into_a_failure(demo_spec: PlantSpec, faulty: list[Step]) -> None:
    sim = PlantSimulator(demo_spec, seed=SEED, start=START, scenario=Scenario.demo())
    failure = demo.DEMO_WEAR_FAILURE_S
    assert sim.failure_time("p-101") == START + timedelta(seconds=failure)
    assert sim.failure_time("p-102") is None
    healthy_vib = values(faulty, "p-101", "vibration", 0, demo.DEMO_WEAR_START_S)
    last_hour = values(faulty, "p-101", "vibration", failure - HOUR, failure)
    assert last_hour.mean() >= 3 * healthy_vib.mean()
    temp = values(faulty, "p-101", "bearing_temp", failure - HOUR, failure)
    twin = values(faulty, "p-102", "bearing_temp", failure - HOUR, failure)
    assert temp.mean() > twin.mean() + 15
    after = failure + 10 * 60
    assert np.all(np.abs(values(faulty, "p-101", "speed", after)) < 5)
    assert np.all(values(faulty, "p-101", "flow", after) < 1)
    assert np.all(values(faulty, "p-101", "motor_current", after) < 1)
    assert np.all(values(faulty, "p-101", "discharge_pressure", after) <= 0.2)
    assert np.all(values(faulty, "p-101", "vibration", after) < 0.5)
    cooling = values(faulty, "p-101", "bearing_temp", failure)
    assert cooling[-1] < cooling[0] - 5  # decays toward ambient
    other = values(faulty, "p-102", "vibration")
    assert other.max() < 4.0
    assert values(faulty, "p-102", "speed", after).min() > 2000


def test_calibration_step_shifts_reported_value_by_offset(
    healthy: list[Step], faulty: list[Step],
) -> None:
    at = demo.DEMO_CALIBRATION_START_S
    tag = (demo.DEMO_CALIBRATION_ASSET, demo.DEMO_CALIBRATION_TAG)
    before = values(faulty, *tag, 0, at) - values(healthy, *tag, 0, at)
    after = values(faulty, *tag, at) - values(healthy, *tag, at)
    assert np.all(np.abs(before) < 1e-3)
    assert np.all(np.abs(after - demo.DEMO_CALIBRATION_OFFSET) < 1e-3)
    assert values(faulty, *tag, at).mean() - values(healthy, *tag, at).mean() == pytest.approx(
        demo.DEMO_CALIBRATION_OFFSET, abs=1e-3)


def test_stuck_tag_freezes_then_varies_again(healthy: list[Step], faulty: list[Step]) -> None:
    tag = (demo.DEMO_STUCK_ASSET, demo.DEMO_STUCK_TAG)
    begin, end = demo.DEMO_STUCK_START_S, demo.DEMO_STUCK_END_S
    last_before = values(faulty, *tag, begin - 60, begin)
    during = values(faulty, *tag, begin, end)
    assert len(during) == 180
    assert set(during.tolist()) == {last_before[0]}
    after = values(faulty, *tag, end, end + HOUR)
    assert len(set(after.tolist())) > 30
    assert np.array_equal(after, values(healthy, *tag, end, end + HOUR))


def test_dropout_emits_nothing_for_the_asset_in_the_interval(faulty: list[Step]) -> None:
    begin, end = demo.DEMO_DROPOUT_START_S, demo.DEMO_DROPOUT_END_S
    asset = demo.DEMO_DROPOUT_ASSET
    times = sorted({t for t, _ in series(faulty, asset, "oil_temp")})
    assert not [t for t in times if begin <= t < end]
    assert begin - 60 in times
    assert end in times
    gone = [x for s in faulty if begin <= s.t < end for x in s.samples if x.address.asset == asset]
    assert gone == []
    assert len(values(faulty, "cv-202", "load", begin, end)) == 20  # same line, still there
    seq = [x.seq for s in faulty for x in s.samples if x.source == "plc-ghent-press-line"]
    assert seq == list(range(len(seq)))


def test_clock_skew_moves_only_that_lines_timestamps(faulty: list[Step]) -> None:
    skew_ms = round(demo.DEMO_SKEW_OFFSET_S * 1000)
    skew_from = demo.DEMO_HISTORY_S
    for s in faulty[int(skew_from / 60) - 60:int(skew_from / 60) + 120]:
        for x in s.samples:
            if x.address.line == demo.DEMO_SKEW_LINE and s.t >= skew_from:
                assert x.ts_ms == to_ms(s.now) + skew_ms
            else:
                assert x.ts_ms == to_ms(s.now)


def test_fault_on_unknown_asset_or_tag_is_refused(demo_spec: PlantSpec) -> None:
    bad_asset = Scenario((Fault("stuck", asset="p-999", tag="flow", start_s=0, end_s=60),))
    with pytest.raises(SpecError, match=r"faults\[0\]\.asset"):
        PlantSimulator(demo_spec, seed=1, start=START, scenario=bad_asset)
    bad_tag = Scenario((Fault("stuck", asset="p-101", tag="colour", start_s=0, end_s=60),))
    with pytest.raises(SpecError, match=r"faults\[0\]\.tag"):
        PlantSimulator(demo_spec, seed=1, start=START, scenario=bad_tag)


def test_malformed_fault_is_refused() -> None:
    with pytest.raises(ValueError, match="end_s"):
        Fault("bearing_wear", asset="p-101", start_s=3600)
    with pytest.raises(ValueError, match="line"):
        Fault("clock_skew", offset=90)


# -- scenario files ---------------------------------------------------------------------------


def test_scenario_from_file(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "faults:\n"
        "  - {kind: bearing_wear, asset: p-101, start_s: 49h, end_s: 72h}\n"
        "  - {kind: calibration_step, asset: k-104, tag: discharge_temp, start_s: 50h,"
        " offset: 6.0}\n"
        "  - {kind: stuck, asset: cv-202, tag: drive_temp, start_s: 51h, end_s: 54h}\n"
        "  - {kind: dropout, asset: pr-201, start_s: 52h, end_s: 3140min}\n"
        "  - {kind: clock_skew, line: bottling-1, start_s: 48h, offset: 90}\n",
        encoding="utf-8",
    )
    assert Scenario.from_file(path) == Scenario.demo()


@pytest.mark.parametrize(
    ("body", "line", "field"),
    [
        ("faults:\n  - kind: bearing_melt\n    asset: p-101\n", 2, "faults[0].kind"),
        ("faults:\n  - kind: stuck\n    tag: flow\n    end_s: 1h\n", 2, "faults[0].asset"),
        ("faults:\n  - kind: dropout\n    asset: p-101\n    start_s: 2h\n    end_s: 1h\n", 5,
         "faults[0].end_s"),
        ("faults:\n  - {kind: stuck, asset: p-1, tag: x, colour: red}\n", 2, "faults[0].colour"),
    ],
    ids=["unknown-kind", "missing-asset", "end-before-start", "unknown-field"],
)
def test_broken_scenario_file_names_file_line_and_field(
    tmp_path: Path, body: str, line: int, field: str,
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        Scenario.from_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line} {field}: ")


def test_demo_scenario_uses_the_named_constants() -> None:
    kinds = [f.kind for f in Scenario.demo().faults]
    assert kinds == ["bearing_wear", "calibration_step", "stuck", "dropout", "clock_skew"]
    wear = Scenario.demo().faults[0]
    assert (wear.asset, wear.start_s, wear.end_s) == ("p-101", 49 * HOUR, 72 * HOUR)


# -- any spec ---------------------------------------------------------------------------------

_SPEC = """
version: 1
enterprise: {id: test, name: Test}
roles: [{id: op, name: Operator, access: operator}]
sites:
  - id: s1
    name: Site
    areas:
      - id: a1
        name: Area
        lines:
          - id: l1
            name: Line
            assets:
              - id: p-1
                name: Pump
                kind: pump
                tags:
                  - {name: flow, quantity: flow, unit: "FLOW", range: [0, 400], period: 10s}
                  - {name: bearing_temp, quantity: temperature, unit: "TEMP",
                     range: [-100, 400], period: 30s}
                  - {name: seal_leak, quantity: flow, unit: "l/h", range: [0, 50], period: 60s}
"""


def _spec(flow: str, temp: str) -> PlantSpec:
    return load_spec_text(_SPEC.replace("FLOW", flow).replace("TEMP", temp))


def test_mixed_periods_emit_on_their_own_period() -> None:
    sim = PlantSimulator(_spec("m^3/h", "degC"), seed=1, start=START)
    assert sim.step_s == 10.0
    emitted: dict[str, list[float]] = defaultdict(list)
    for _ in range(60):
        for x in sim.step():
            emitted[x.address.tag].append((x.ts_ms - to_ms(START)) / 1000)
    assert len(emitted["flow"]) == 60
    assert emitted["bearing_temp"] == [30.0 * k for k in range(1, 21)]
    assert emitted["seal_leak"] == [60.0 * k for k in range(1, 11)]


def test_values_follow_the_declared_unit() -> None:
    si = run(PlantSimulator(_spec("m^3/h", "degC"), seed=1, start=START), 1)
    us = run(PlantSimulator(_spec("l/s", "degF"), seed=1, start=START), 1)
    assert {x.unit for s in us for x in s.samples} == {"l/s", "degF", "l/h"}
    for tag, scale, shift in (("flow", 1 / 3.6, 0.0), ("bearing_temp", 1.8, 32.0)):
        converted = values(si, "p-1", tag) * scale + shift
        assert np.allclose(values(us, "p-1", tag), converted, atol=1e-3)


def test_unknown_tag_reports_middle_of_its_range() -> None:
    """A tag without physics sits in the middle of its range, following the load (derived)."""
    steps = run(PlantSimulator(_spec("m^3/h", "degC"), seed=1, start=START), 2)
    leak = values(steps, "p-1", "seal_leak")
    assert len(leak) == 120
    assert np.all(np.abs(leak - 25.0) <= 5.0)  # within 10 % of the span of its middle
    assert leak.std() > 0


# -- cost -------------------------------------------------------------------------------------


def test_shift_pattern_ramps_without_steps() -> None:
    assert shift_level(10) == 1.0
    assert shift_level(18) == 0.85
    assert shift_level(2) == 0.6
    assert weekend_factor(3 * 24 + 12) == 1.0  # Thursday noon
    assert weekend_factor(5 * 24 + 12) == 0.9  # Saturday noon
    minutes = np.arange(0, 24 * 60 + 1) / 60
    shift = np.array([shift_level(h) for h in minutes])
    assert np.abs(np.diff(shift)).max() < 0.025  # a 0.4 change spread over 30 min
    week = np.array([weekend_factor(h) for h in np.arange(0, 168 * 60 + 1) / 60])
    assert np.abs(np.diff(week)).max() < 0.01


def test_first_seq_shifts_every_source_counter_and_nothing_else(demo_spec: PlantSpec) -> None:
    """An earlier stretch counted from ``first_seq`` never collides with a run from 0."""
    end = START + timedelta(minutes=30)
    plain = [s for batch in PlantSimulator(demo_spec, seed=3, start=START).run_until(end)
             for s in batch]
    ahead = [s for batch in PlantSimulator(demo_spec, seed=3, start=START,
                                           first_seq=1_000).run_until(end) for s in batch]
    assert len(plain) == len(ahead) > 0
    assert [s.seq + 1_000 for s in plain] == [s.seq for s in ahead]
    assert [(s.address, s.value, s.ts_ms, s.source) for s in plain] == [
        (s.address, s.value, s.ts_ms, s.source) for s in ahead]
    assert min(s.seq for s in plain) == 0
