"""A model that hangs is detected and scoring restarted, while ingestion never waits on it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from andon.clock import ManualClock, to_ms
from andon.edge import build_edge
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing.factories import T0, make_model, small_model

DEADLINE_S = 10.0
HEALTHY = [1.4, 47.0, 70.0]  # vibration, bearing temperature, flow of a loaded pump


class HangingModel:
    """The small real model, except that its first score blocks until released."""

    def __init__(self) -> None:
        self.model = small_model()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def score(self, x: np.ndarray[Any, Any]) -> Any:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            self.release.wait(DEADLINE_S)
        return self.model.score(x)


def test_a_hung_model_is_abandoned_restarted_and_ingestion_goes_on(
    demo_spec: PlantSpec, tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'andon.db'}")
    edge = build_edge(demo_spec, store, tmp_path / "models", clock=ManualClock(T0), record=False)
    now = [0.0]
    watchdog = edge.enable_watchdog(5.0, monotonic=lambda: now[0])
    uc = demo_spec.use_case("pump-bearing")
    hanging = HangingModel()
    edge.models.put(uc.id, hanging, make_model())  # type: ignore[arg-type]
    try:
        edge.scoring.submit(uc, "p-101", to_ms(T0), HEALTHY)
        assert hanging.entered.wait(DEADLINE_S), "the first window reaches the model"
        # ingestion is not blocked: messages are still handled while the model hangs
        edge.on_message("andon/v1/acme/ghent/utilities/cooling-water/p-101/vibration", b"{")
        assert edge.stats.received == 1
        edge.scoring.submit(uc, "p-101", to_ms(T0) + 60_000, HEALTHY)  # queued behind the hung one
        assert edge.stats.watchdog.queued == 1

        assert not watchdog.check(), "within stall_s: nothing to do"
        now[0] = 5.5
        assert watchdog.check(), "stalled for more than 5 s: restarted"
        assert (edge.stats.watchdog.restarts, edge.stats.watchdog.stalled) == (1, 1)
        assert watchdog.drain(DEADLINE_S), "the fresh worker scores the queued window"
        assert edge.stats.scored == 1
        assert hanging.calls == 2

        events = edge.take_pending()[1]
        restarted = [e for e in events if e.kind == "scoring_restarted"]
        assert len(restarted) == 1
        assert "pump-bearing on p-101" in restarted[0].detail
    finally:
        hanging.release.set()
        for thread in threading.enumerate():
            if thread.name == "andon-scoring-1":
                thread.join(DEADLINE_S)
        watchdog.stop()
        store.close()
    assert edge.stats.scored == 1, "the abandoned worker's late result is dropped"
