"""Done when: the data-quality report and ``andon quarantine list`` name the demo's faults.

The seeded simulator plays the demo scenario's live hours in-process (no broker) into an edge
whose clock is the true simulated time; the plant declares ``time: {skew_threshold: 2s}``.
The report must name the stuck sensor on cv-202, the calibration step on k-104, the dropout on
pr-201 and the skewed clock of line bottling-1's source (estimate close to the injected 90 s),
and both CLI commands must print them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from andon.cli.app import app
from andon.clock import ManualClock, utc
from andon.contracts.timing import SKEW_MIN_SAMPLES
from andon.edge import build_edge
from andon.kpi.quality import report_from
from andon.namespace import Quality
from andon.simulator import PlantSimulator, Scenario
from andon.simulator.scenario import (
    DEMO_CALIBRATION_ASSET,
    DEMO_CALIBRATION_START_S,
    DEMO_CALIBRATION_TAG,
    DEMO_DROPOUT_ASSET,
    DEMO_DROPOUT_END_S,
    DEMO_DROPOUT_START_S,
    DEMO_SKEW_LINE,
    DEMO_SKEW_OFFSET_S,
    DEMO_STUCK_ASSET,
    DEMO_STUCK_END_S,
    DEMO_STUCK_TAG,
)
from andon.spec.model import TimePolicy
from andon.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from andon.kpi.quality import QualityReport
    from andon.spec import PlantSpec

START = utc(2026, 3, 2)
SKEW_SOURCE = f"plc-porto-{DEMO_SKEW_LINE}"


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, QualityReport]:
    """Play the demo from 1 h before the calibration step to 1 h after the stuck interval."""
    from andon.spec import load_spec  # noqa: PLC0415
    from conftest import DEMO_SPEC  # noqa: PLC0415

    base: PlantSpec = load_spec(DEMO_SPEC)
    spec = base.model_copy(update={"time": TimePolicy(skew_threshold=2.0, lateness=60.0)})
    tmp = tmp_path_factory.mktemp("dq")
    url = f"sqlite:///{tmp / 'andon.db'}"
    sim = PlantSimulator(spec, seed=7, start=START, scenario=Scenario.demo())
    for _ in sim.run_until(START + timedelta(seconds=DEMO_CALIBRATION_START_S - 3600)):
        pass  # the healthy history, not fed
    clock = ManualClock(sim.now)
    with open_store(url) as store:
        edge = build_edge(spec, store, tmp / "models", clock=clock)
        for step in sim.run_until(START + timedelta(seconds=DEMO_STUCK_END_S + 3600)):
            clock.set(sim.now + timedelta(milliseconds=40))  # the true time, plus a network hop
            for sample in step:
                edge.on_sample(sample)
            edge.flush()
        report = report_from(store)
    return url, report


def _tag(report: QualityReport, asset: str, tag: str) -> tuple[str, ...]:
    return next(t.findings for t in report.tags if (t.asset, t.tag) == (asset, tag))


def test_the_report_names_the_stuck_sensor_and_the_calibration_step(
    played: tuple[str, QualityReport],
) -> None:
    _, report = played
    stuck = _tag(report, DEMO_STUCK_ASSET, DEMO_STUCK_TAG)
    assert len(stuck) == 1
    assert stuck[0].startswith("stuck sensor: ")
    step = _tag(report, DEMO_CALIBRATION_ASSET, DEMO_CALIBRATION_TAG)
    assert step == ("sudden step (calibration step or spike): rate of change exceeded 1x",)


def test_the_report_names_the_dropout_with_its_missing_rate(
    played: tuple[str, QualityReport],
) -> None:
    _, report = played
    rows = [t for t in report.tags if t.asset == DEMO_DROPOUT_ASSET]
    assert rows
    missing = round((DEMO_DROPOUT_END_S - DEMO_DROPOUT_START_S) / 60)  # 60 s period
    for t in rows:
        assert t.missing == missing, t
        assert t.counts["gap"] == 1
        assert t.findings[0].startswith(f"dropout: {missing} samples missing in 1 gap (")
    # nothing else of the plant is missing anything
    assert {t.asset for t in report.tags if t.missing} == {DEMO_DROPOUT_ASSET}


def test_the_report_names_the_skewed_clock_close_to_the_injected_skew(
    played: tuple[str, QualityReport],
) -> None:
    _, report = played
    skewed = [s for s in report.sources if s.findings]
    assert [s.source for s in skewed] == [SKEW_SOURCE]
    src = skewed[0]
    assert src.skew_ms is not None
    assert abs(src.skew_ms / 1000 - DEMO_SKEW_OFFSET_S) < 0.1  # 90 s minus the 40 ms hop
    assert src.correcting
    # corrected from the 5th sample on (the estimate needs a few)
    assert src.corrected == src.received - (SKEW_MIN_SAMPLES - 1) > 0
    assert src.findings == ("skewed clock: 89.96 s ahead (corrected)",)
    others = [s for s in report.sources if s.source != SKEW_SOURCE]
    assert others
    assert all(s.skew_ms is not None and abs(s.skew_ms) < 100 for s in others)


def test_corrected_samples_keep_the_true_time_and_say_so(
    played: tuple[str, QualityReport],
) -> None:
    url, _ = played
    with open_store(url) as store:
        samples = store.samples(start_ms=None, limit=None)
    bottling = [s for s in samples if s.source == SKEW_SOURCE]
    assert bottling
    corrected = [s for s in bottling if s.reason == "skew_corrected"]
    assert len(corrected) == len(bottling) - (SKEW_MIN_SAMPLES - 1)
    # corrected onto the simulation's minute grid (the true time, 40 ms hop aside), not 90 s
    # ahead of it; the first few, before the estimate settled, keep the source's time
    assert all(s.ts_ms % 60_000 == 40 for s in corrected)
    assert all(s.ts_ms % 60_000 == 30_000 for s in bottling if s.reason is None)
    stuck = [s for s in samples if (s.address.asset, s.address.tag)
             == (DEMO_STUCK_ASSET, DEMO_STUCK_TAG) and s.quality is Quality.UNCERTAIN]
    assert stuck
    assert {s.reason for s in stuck} == {"stuck"}


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


def test_dq_report_and_quarantine_list_print_the_faults_by_name(
    played: tuple[str, QualityReport], tmp_path: Path,
) -> None:
    url, _ = played
    out = _cli("dq", "report", "--db", url, "--plots", str(tmp_path / "plots"))
    for name in ("stuck sensor", "sudden step (calibration step or spike)", "dropout",
                 "skewed clock: 89.96 s ahead (corrected)", SKEW_SOURCE, DEMO_STUCK_ASSET,
                 DEMO_CALIBRATION_ASSET, DEMO_DROPOUT_ASSET):
        assert name in out, name
    # worst first: the stuck sensor (171 of 360 flat), then the dropped-out press tags
    rows = [line for line in out.splitlines() if line.startswith("│ ghent")]
    assert DEMO_STUCK_ASSET in rows[0]
    assert all(DEMO_DROPOUT_ASSET in row for row in rows[1:6])
    assert DEMO_CALIBRATION_ASSET in rows[6]
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert "clock-skew.png" in pngs
    assert f"ghent_{DEMO_STUCK_ASSET}_{DEMO_STUCK_TAG}.png" in pngs
    assert all((tmp_path / "plots" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    listed = _cli("quarantine", "list", "--db", url)
    for name in (f"{DEMO_STUCK_ASSET}/{DEMO_STUCK_TAG}: stuck sensor",
                 f"{DEMO_CALIBRATION_ASSET}/{DEMO_CALIBRATION_TAG}: sudden step",
                 f"{DEMO_DROPOUT_ASSET}/", "dropout",
                 f"{SKEW_SOURCE}: skewed clock"):
        assert name in listed, name
