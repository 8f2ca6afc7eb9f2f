"""An asset that stops: the edge turns its open intervention corrective, evidence kept.

The edge's scoring (``andon.edge.scoring``) judges each window running or stopped from the
use case's motion tags (``andon.interventions.condition``) and hands the verdict to the
Decider; the gate lets the corrective version through and the store keeps it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from andon.clock import ManualClock, to_ms, utc
from andon.edge import build_edge
from andon.features import feature_names, use_case_tags
from andon.scoring.contribution import Contribution
from andon.scoring.model import Score
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing.factories import make_model

#: Monday 26 Oct 2026 10:00 UTC: no planned stop on Ghent's cooling-water line until Tuesday
T0 = utc(2026, 10, 26, 10)
HOP = timedelta(minutes=10)


class LoudModel:
    """Every window anomalous; the reason names the window's largest feature."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.threshold = 1.0

    def score(self, x: np.ndarray[Any, Any]) -> Score:
        i = int(np.argmax(x))
        return Score(50.0 + float(x[i]) / 1000, self.threshold,
                     (Contribution(self.names[i], float(x[i]), 1.0, 1.0, 0.9, ""),))

    def in_distribution(self, _x: np.ndarray[Any, Any]) -> bool:
        return True


def test_a_pump_that_stops_gets_a_corrective_action_with_its_running_evidence(
    demo_spec: PlantSpec, tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    clock = ManualClock(T0)
    edge = build_edge(demo_spec, store, tmp_path / "models", clock=clock, record=False)
    uc = demo_spec.use_case("pump-bearing")
    names, _units = feature_names(use_case_tags(demo_spec, uc))
    edge.models.put(uc.id, LoudModel(names), make_model())  # type: ignore[arg-type]
    running = {"flow.mean": 210.0, "motor_current.mean": 61.0, "speed.mean": 2950.0,
               "vibration.mean": 9.0}
    run = [running.get(n, 1.0) for n in names]
    rest = [0.0 if n in running and n != "vibration.mean" else 1.0 for n in names]
    ends = [T0 + k * HOP for k in range(9)]
    versions = []
    for end in ends[:6]:  # six running, anomalous windows: raised at the third, 3 updates
        clock.set(end)
        edge.scoring.submit(uc, "p-101", to_ms(end), run)
        versions += [(iv.why, iv.score, iv.window_end, iv.detections)
                     for iv in store.list_interventions()]
    [iv] = store.list_interventions()
    assert (iv.detections, iv.corrective) == (4, False)
    for end in ends[6:]:  # at rest: the stop's window (11:00, from 10:30), and later ones
        clock.set(end)
        edge.scoring.submit(uc, "p-101", to_ms(end), rest)
    [after] = store.list_interventions()
    assert after.id == iv.id
    assert after.corrective
    assert after.stopped_at == ends[6]
    assert after.action.startswith("Corrective action: Pump P-101 stopped by Mon 26 Oct "
                                   "12:00 CET outside any planned stop")
    # the evidence of the last window that ended before the stopped one began (10:20, the
    # raising one): windows overlapping the stop are dropped; never speed 0
    assert (after.why, after.score, after.window_end, after.detections) == versions[0]
    assert after.window_end == ends[2]
    assert after.history == iv.history
    store.close()
