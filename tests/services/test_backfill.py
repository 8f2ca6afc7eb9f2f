"""``andon simulate --backfill``: history through the edge's recording path, idempotent.

On SQLite and PostgreSQL: what a backfill records is what the simulator made (nothing
quarantined on a consistent spec); a second run over the same period adds nothing (counted:
rows, data-quality counters); an overlapping period adds only what is missing; a fault that
breaks a contract is quarantined with its reason, as the live edge would.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from andon.cli.app import app
from andon.clock import to_ms, utc
from andon.services.backfill import backfill_history
from andon.simulator import Fault, Scenario
from andon.spec import PlantSpec, load_spec_text
from andon.store import SqlStore, open_store
from e2e.test_onboarding import guide_files

START = utc(2026, 3, 2)
DOCS = Path(__file__).resolve().parents[2] / "docs"
PLANT = guide_files((DOCS / "onboarding.md").read_text("utf-8"))["plant.yaml"]
TAGS = 11  # the guide's plant: 2 fans x 4 tags + 3 kiln tags, each every 60 s


@pytest.fixture(scope="module")
def plant() -> PlantSpec:
    return load_spec_text(PLANT)


def received(store: SqlStore) -> int:
    """The data-quality counters' received samples, per tag (the edge counts each once)."""
    return sum(c.count for c in store.quality_counts(since_ms=0)
               if c.metric == "received" and c.asset)


def test_backfill_records_everything_once_on_each_backend(any_store: SqlStore,
                                                         plant: PlantSpec) -> None:
    end = START + timedelta(hours=6)
    done: list[float] = []
    first = backfill_history(plant, any_store, start=START, end=end, seed=5, batch_steps=50,
                             progress=done.append)
    assert first.produced == first.recorded == 6 * 60 * TAGS
    assert (first.quarantined, first.flagged, first.stored_before) == (0, 0, 0)
    assert any_store.sample_count() == 6 * 60 * TAGS
    assert done == sorted(done)
    assert done[-1] == 1.0
    assert len(done) == 8  # 360 steps / 50
    assert received(any_store) == 6 * 60 * TAGS
    stored = any_store.samples(assets=["fan-1"], start_ms=to_ms(START), end_ms=to_ms(end))
    assert stored[0].ts_ms == to_ms(START + timedelta(minutes=1))
    assert {s.quality.value for s in stored} == {"good"}

    again = backfill_history(plant, any_store, start=START, end=end, seed=5)
    assert (again.recorded, again.stored_before) == (0, 6 * 60 * TAGS)
    assert any_store.sample_count() == 6 * 60 * TAGS  # no duplicates
    assert received(any_store) == 6 * 60 * TAGS  # nor counted twice

    # another start (another seed, even): only the hours not stored yet are added
    later = backfill_history(plant, any_store, start=START + timedelta(hours=4),
                             end=end + timedelta(hours=2), seed=9)
    assert later.stored_before == 2 * 60 * TAGS
    assert later.recorded == 2 * 60 * TAGS
    assert any_store.sample_count() == 8 * 60 * TAGS
    assert not any_store.quarantined()


def test_a_fault_breaking_a_contract_is_quarantined_with_its_reason(store: SqlStore,
                                                                    plant: PlantSpec) -> None:
    # +60 % of the span on a tag in the middle of its range: out of range for an hour
    out = Scenario((Fault("calibration_step", asset="fan-1", tag="speed", start_s=3600,
                          end_s=7200, offset=60.0, percent=True),))
    summary = backfill_history(plant, store, start=START, end=START + timedelta(hours=3),
                               seed=5, scenario=out)
    assert summary.quarantined == 60
    assert summary.recorded == 3 * 60 * TAGS - 60
    items = store.quarantined(rule="out_of_range", limit=100)
    assert len(items) == 60
    assert "brickco/leuven/firing/kiln-1/fan-1/speed" in items[0].reason
    assert "outside the valid range [0, 1800]" in items[0].reason
    assert min(q.received_at for q in items) == START + timedelta(hours=1)  # the simulated time


def test_an_empty_period_is_refused(store: SqlStore, plant: PlantSpec) -> None:
    with pytest.raises(ValueError, match="is not after the start"):
        backfill_history(plant, store, start=START, end=START, seed=1)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250", "NO_COLOR": "1"})
    return result.exit_code, result.output


def test_cli_backfill_twice_then_refusals(tmp_path: Path) -> None:
    spec = tmp_path / "plant.yaml"
    spec.write_text(PLANT, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'new' / 'andon.db'}"
    args = ["simulate", "--spec", str(spec), "--backfill", "--since", "2026-03-02T00:00:30",
            "--until", "2026-03-02T02:00", "--db", db]
    code, out = cli(*args)
    assert code == 0, out
    # rounded down to the minute
    assert ("1320 samples recorded from 2026-03-02T00:00:00+00:00 to "
            "2026-03-02T02:00:00+00:00 (1320 simulated, 0 quarantined, 0 flagged)") in out
    code, out = cli(*args)
    assert code == 0, out
    assert "0 samples recorded" in out
    assert "1320 already in the store" in out
    with open_store(db) as store:
        assert store.sample_count() == 1320

    code, out = cli(*args[:-4], "--since", "2026-03-02T02:00", "--until", "2026-03-02T01:00",
                    "--db", db)
    assert code == 2
    assert "--until 2026-03-02T01:00:00+00:00 is not after --since" in out
    code, out = cli("simulate", "--spec", str(spec), "--score", "--db", db)
    assert code == 2
    assert "--score needs --backfill" in out
    bad = tmp_path / "faults.yaml"
    bad.write_text("faults:\n  - {kind: drift, asset: fan-9, tag: speed, end_s: 1h, offset: 1}\n",
                   encoding="utf-8")
    code, out = cli(*args, "--scenario", str(bad))
    assert code == 3
    assert f"{bad}:2 faults[0].asset: unknown asset 'fan-9' in the plant spec" in out


def test_default_period_is_the_last_14_days_to_the_minute() -> None:
    from andon.cli.backfill import backfill_period  # noqa: PLC0415

    now = utc(2026, 3, 20, 10, 17) + timedelta(seconds=42)
    start, end = backfill_period(None, None, now=now)
    assert end == utc(2026, 3, 20, 10, 17)
    assert start == end - timedelta(days=14)
    start, end = backfill_period("30d", "2h", now=now)
    assert (start, end) == (utc(2026, 2, 18, 10, 17), utc(2026, 3, 20, 8, 17))
