"""Healthy behaviour derived from the spec, for asset kinds without the demo's physics.

A plant of made-up kinds and magnitudes (a compressor current of 0-400 A, a pump flow of
0-5 m3/h, a kiln at 800-1200 degC with a tight max_rate, a state tag, counters) must pass
every data contract of its spec while healthy, deterministically for a seed; the demo's kinds
keep their physics where they fit.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import numpy as np
import pytest

from andon.clock import utc
from andon.contracts import ContractChecker
from andon.namespace.sample import Sample
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.simulator.derived import physics_fits
from andon.simulator.plant import KIND_PHYSICS
from andon.spec import PlantSpec, load_spec_text

START = utc(2026, 3, 6, 18)  # a Friday evening: shift changes and the weekend ramp

MADE_UP = """
version: 1
enterprise: {id: brickco, name: BrickCo}
roles: [{id: op, name: Operator, access: operator}]
sites:
  - id: leuven
    name: Leuven
    timezone: Europe/Brussels
    areas:
      - id: firing
        name: Firing
        lines:
          - id: kiln-1
            name: Kiln 1
            assets:
              - id: kc-1
                name: Kiln compressor
                kind: compressor
                tags:
                  - {name: current, quantity: current, unit: A, range: [0, 400], period: 60s}
                  - {name: motor_current, quantity: current, unit: A, range: [0, 100],
                     period: 60s, stuck_after: 5}
              - id: dp-1
                name: Dosing pump
                kind: pump
                tags:
                  - {name: flow, quantity: flow, unit: "m^3/h", range: [0, 5], period: 60s}
                  - {name: discharge_pressure, quantity: pressure, unit: bar, range: [0, 16],
                     period: 60s}
              - id: kz-1
                name: Kiln zone
                kind: kiln
                tags:
                  - {name: temperature, quantity: temperature, unit: degC, range: [800, 1200],
                     period: 60s, max_rate: 0.05, stuck_after: 5}
                  - {name: draft, quantity: pressure, unit: mbar, range: [-5, 0], period: 30s,
                     max_rate: 0.002}
                  - {name: state, quantity: state, unit: dimensionless, range: [0, 3],
                     enum: [0, 1, 2], period: 60s, stuck_after: 4}
                  - {name: mode, quantity: state, unit: dimensionless, range: [0, 9],
                     enum: [3, 7], period: 120s}
                  - {name: cars, quantity: count, unit: dimensionless, range: [0, 100000],
                     period: 60s, stuck_after: 3}
                  - {name: energy, quantity: energy, unit: kWh, range: [0, 1000000000],
                     period: 60s, monotonic: true}
"""


@pytest.fixture(scope="module")
def made_up() -> PlantSpec:
    return load_spec_text(MADE_UP)


def simulate(spec: PlantSpec, hours: float, *, seed: int = 3,
             scenario: Scenario | None = None) -> list[Sample]:
    sim = PlantSimulator(spec, seed=seed, start=START, scenario=scenario or Scenario())
    return [s for batch in sim.run_until(START + timedelta(hours=hours)) for s in batch]


def series(samples: list[Sample], asset: str, tag: str) -> np.ndarray:
    return np.array([s.value for s in samples
                     if s.address.asset == asset and s.address.tag == tag])


def test_a_day_of_made_up_kinds_passes_every_contract(made_up: PlantSpec) -> None:
    samples = simulate(made_up, 24)
    checker = ContractChecker(made_up)
    broken = Counter(v.rule.value for s in samples for v in checker.check(s, s.ts_ms).violations)
    assert broken == Counter()
    per_tag = Counter((s.address.asset, s.address.tag) for s in samples)
    assert per_tag[("kz-1", "draft")] == 24 * 120  # every tag once per its own period
    assert per_tag[("kz-1", "mode")] == 24 * 30
    assert len(per_tag) == 10


def test_same_seed_same_samples_other_seed_other_noise(made_up: PlantSpec) -> None:
    a, b = simulate(made_up, 1), simulate(made_up, 1)
    assert a == b
    other = simulate(made_up, 1, seed=4)
    assert series(other, "dp-1", "flow").tolist() != series(a, "dp-1", "flow").tolist()


def test_measured_tags_sit_mid_range_and_follow_the_load_together(made_up: PlantSpec) -> None:
    samples = simulate(made_up, 24)
    flow, pressure = series(samples, "dp-1", "flow"), series(samples, "dp-1", "discharge_pressure")
    assert abs(flow.mean() - 2.5) < 0.25  # middle of 0-5 m3/h, not the demo pump's 250
    assert np.all((flow > 1.5) & (flow < 3.5))
    assert np.corrcoef(flow, pressure)[0, 1] > 0.5  # one asset, one load
    current = series(samples, "kc-1", "current")
    assert current.min() > 150
    assert current.max() < 250
    # the day shift runs harder than the night: the load shows
    hours = np.arange(len(flow)) / 60 + START.hour + 1  # local time (CET)
    day, night = flow[(hours % 24 > 7) & (hours % 24 < 13)], flow[(hours % 24 < 5)]
    assert day.mean() > night.mean() + 0.2


def test_max_rate_bounds_every_change(made_up: PlantSpec) -> None:
    samples = simulate(made_up, 24)
    temp = series(samples, "kz-1", "temperature")
    assert np.abs(np.diff(temp)).max() <= 0.8 * 0.05 * 60
    draft = series(samples, "kz-1", "draft")
    assert np.abs(np.diff(draft)).max() <= 0.8 * 0.002 * 30
    assert np.all((draft > -5) & (draft < 0))
    assert temp.std() > 0.5  # slowed down, not frozen


def test_states_hold_a_nominal_value_and_counters_count(made_up: PlantSpec) -> None:
    samples = simulate(made_up, 6)
    state = series(samples, "kz-1", "state")
    assert Counter(state.tolist()) == {1.0: 240, 0.0: 120}  # 1 held, 0 visited every 3rd period
    assert set(series(samples, "kz-1", "mode").tolist()) == {3.0}  # 1 not allowed: the first
    cars = series(samples, "kz-1", "cars")
    assert np.all(np.diff(cars) >= 1)  # at least a count per period (stuck_after)
    assert np.all(cars == np.floor(cars))
    assert cars[0] >= 1000  # starts at 1 % of the span
    energy = series(samples, "kz-1", "energy")
    assert np.all(np.diff(energy) > 0)


def test_demo_physics_kept_where_they_fit_and_replaced_where_not(
        demo_spec: PlantSpec, made_up: PlantSpec) -> None:
    kept = [(x.id, t.name) for *_, x in demo_spec.assets() for t in x.tags
            if t.name in KIND_PHYSICS.get(x.kind, {})]
    assert len(kept) >= 50
    for *_, x in demo_spec.assets():
        for t in x.tags:
            physics = KIND_PHYSICS.get(x.kind, {}).get(t.name)
            if physics is not None:
                assert physics_fits(physics, t, 0.95), (x.id, t.name)
                assert physics_fits(physics, t, 1.05), (x.id, t.name)
    pump = {t.name: t for *_, x in made_up.assets() if x.id == "dp-1" for t in x.tags}
    assert not physics_fits(KIND_PHYSICS["pump"]["flow"], pump["flow"], 1.0)
    assert physics_fits(KIND_PHYSICS["pump"]["discharge_pressure"], pump["discharge_pressure"],
                        1.0)


def test_bearing_wear_on_a_kind_without_physics_raises_then_stops(made_up: PlantSpec) -> None:
    wear = Scenario((Fault("bearing_wear", asset="kz-1", start_s=3600, end_s=4 * 3600),))
    healthy, worn = simulate(made_up, 6), simulate(made_up, 6, scenario=wear)
    temp_h, temp_w = series(healthy, "kz-1", "temperature"), series(worn, "kz-1", "temperature")
    assert np.allclose(temp_h[:60], temp_w[:60])  # nothing before the wear
    assert temp_w[235] - temp_h[235] > 0.5 * 0.08 * 400  # heated toward +8 % of the span
    cars_w = series(worn, "kz-1", "cars")
    assert cars_w[-1] == cars_w[4 * 60 + 5]  # a tripped machine's counter holds
    flow_h = series(healthy, "dp-1", "flow")
    assert np.allclose(flow_h, series(worn, "dp-1", "flow"))  # other assets untouched
