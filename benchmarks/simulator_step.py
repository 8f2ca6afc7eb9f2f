"""Cost of one step of the demo plant's simulator against a bare baseline, one run.

Run from the repository root::

    .venv/bin/python benchmarks/simulator_step.py               # 20,000 steps, 5 rounds

What it does: builds ``PlantSimulator`` on ``examples/demo-plant.yaml`` with the demo scenario
(the bearing fault included), warms it up, then times ``--steps`` calls of ``step()`` in CPU
time (``time.process_time``: other processes on the machine do not count), ``--repeat`` times,
and reports the median per step. The baseline, measured in the same run, is the least any
simulator of that plant must do each step: one ``random.gauss`` draw and one ``Sample`` built
per tag. The requirement is a step under 1 ms (the demo steps every simulated second; at 10x
speed a step must leave the CPU mostly idle); the ratio says how much the physics, faults and
shift pattern cost over the baseline.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from andon.clock import to_ms, utc  # noqa: E402
from andon.namespace.sample import Quality, Sample  # noqa: E402
from andon.simulator import PlantSimulator, Scenario  # noqa: E402
from andon.spec import load_spec  # noqa: E402

START = utc(2026, 3, 2)
REQUIREMENT_S = 1e-3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    spec = load_spec(ROOT / "examples" / "demo-plant.yaml")
    sim = PlantSimulator(spec, seed=1, start=START, scenario=Scenario.demo())
    first = sim.step()
    addresses = [s.address for s in first]
    units = [s.unit for s in first]
    for _ in range(50):
        sim.step()

    def andon() -> float:
        began = time.process_time()
        for _ in range(args.steps):
            sim.step()
        return (time.process_time() - began) / args.steps

    rng = random.Random(1)
    ts = to_ms(START)

    def baseline() -> float:
        nonlocal ts
        began = time.process_time()
        for _ in range(args.steps):
            ts += 1000
            [Sample(a, rng.gauss(0.0, 1.0), u, Quality.GOOD, ts, ts, "sim")
             for a, u in zip(addresses, units, strict=True)]
        return (time.process_time() - began) / args.steps

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load average {load}")
    print(f"demo plant: {len(addresses)} tags per step; {args.steps:,} steps x {args.repeat}")
    base = statistics.median(baseline() for _ in range(args.repeat))
    ours = statistics.median(andon() for _ in range(args.repeat))
    print()
    print("| step | CPU per step (ms) | x baseline |")
    print("|---|---:|---:|")
    print(f"| baseline: one gauss draw + one Sample per tag | {base * 1e3:.3f} | 1.00 |")
    print(f"| PlantSimulator.step (demo scenario) | {ours * 1e3:.3f} | {ours / base:.2f} |")
    print()
    met = ours < REQUIREMENT_S
    print(f"requirement: a step under {REQUIREMENT_S * 1e3:.0f} ms: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
