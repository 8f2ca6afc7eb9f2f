"""Covariate drift of a production model on the demo plant, end to end on a manual clock.

The cooling-water line is simulated for 72 h; from hour 48 pump P-102's discharge-pressure
transmitter reads 0.3 bar high (a calibration step, 2 % of its range), P-101 stays as it was.
The pump-bearing model is trained on hours 0-48 (its reference sketches are written beside
the artifact), signed and promoted. Then ``drift_status`` over hours 48-72 must name P-102's
``discharge_pressure.mean`` and nothing on P-101, over hours 24-48 nothing at all; the CLI
(``andon drift status --json --record``) and ``GET /api/drift`` give the same rows, the events
kept name the asset and the feature; a version without a reference, and one whose reference
file is corrupt, say so per asset instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from andon.api import create_app
from andon.app import Actor, Context, PlantRef, drift_status, record_drift
from andon.app.drift import REFERENCE_FILE
from andon.audit import EventKind
from andon.cli.app import app as cli
from andon.clock import ManualClock, utc
from andon.drift.status import PSI_LIMIT, coarse, feature_drift, reference_of
from andon.errors import Forbidden
from andon.registry import Registry
from andon.registry.signing import generate_keypair
from andon.services.history import backfill
from andon.services.training import TRAINING_STEPS, train_use_case
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store
from andon.testing.factories import add_token, add_user
from api.conftest import TestClient  # starlette's, its httpx deprecation warning silenced

START = utc(2026, 3, 2, 8)
H = 3600.0
SHIFTED = ("p-102", "discharge_pressure.mean")


@dataclass
class Plant:
    spec: PlantSpec
    store: SqlStore
    db: str
    models: Path
    clock: ManualClock
    training_steps: list[str]

    def ctx(self) -> Context:
        return Context(self.store, self.clock, PlantRef(self.spec), models_dir=self.models)

    def at(self, hours: float) -> datetime:
        return START + timedelta(hours=hours)


@pytest.fixture(scope="module")
def plant(demo_spec: PlantSpec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    tmp = tmp_path_factory.mktemp("drift")
    db = f"sqlite:///{tmp / 'andon.db'}"
    store = open_store(db)
    clock = ManualClock(START)
    step = Fault("calibration_step", asset="p-102", tag="discharge_pressure", start_s=48 * H,
                 offset=0.3)
    sim = PlantSimulator(demo_spec, seed=5, start=START, scenario=Scenario((step,)),
                         lines={"cooling-water"})
    backfill(sim, store, START + timedelta(hours=72), clock=clock)
    key, pub, _ = generate_keypair(tmp / "keys", "plant")
    trusted = tmp / "keys" / "trusted"
    trusted.mkdir()
    pub.rename(trusted / pub.name)
    registry = Registry(store, clock, tmp / "models", trusted_keys=trusted)
    steps: list[str] = []
    meta = train_use_case(demo_spec, store, tmp / "models", "pump-bearing", start=START,
                          end=START + timedelta(hours=48), clock=clock, progress=steps.append)
    registry.register(registry.version_dir(meta.name, meta.version), key, "dana")
    registry.promote("pump-bearing", meta.version, "dana", "first model")
    clock.set(START + timedelta(hours=72))
    yield Plant(demo_spec, store, db, tmp / "models", clock, steps)
    store.close()


def test_training_reports_each_step_in_order_for_the_progress_bar(plant: Plant) -> None:
    assert plant.training_steps == list(TRAINING_STEPS)


def _by_asset(rows: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {r.asset: r for r in rows}


def test_the_shifted_feature_of_the_shifted_pump_is_named_and_nothing_else(plant: Plant) -> None:
    rows = _by_asset(drift_status(plant.ctx(), start=plant.at(48), end=plant.at(72),
                                  use_case="pump-bearing"))
    p101, p102 = rows["p-101"], rows["p-102"]
    assert p102.drifted
    assert [f.feature for f in p102.moved] == [SHIFTED[1]]
    assert p102.moved[0].psi > 5 * PSI_LIMIT
    assert p102.moved[0].wasserstein == pytest.approx(0.3, abs=0.05), "the step, in bar"
    assert p102.moved[0].current_mean - p102.moved[0].reference_mean == pytest.approx(0.3,
                                                                                    abs=0.08)
    assert p102.moved[0].unit == "bar"
    assert not p101.drifted, [(f.feature, f.psi) for f in p101.features]
    assert p101.windows == p102.windows == 142  # 24 h of 30-min windows every 10 min
    # the other line's pumps were not simulated: no figures, and the reason
    assert rows["p-301"].note == "no complete window in the period"
    # the training period itself: nothing moved anywhere
    before = drift_status(plant.ctx(), start=plant.at(24), end=plant.at(48),
                          use_case="pump-bearing")
    assert not any(r.drifted for r in before)


def test_drift_events_name_the_asset_and_what_moved_and_need_manage_models(
        plant: Plant) -> None:
    ctx = plant.ctx()
    rows = drift_status(ctx, start=plant.at(48), end=plant.at(72), use_case="pump-bearing")
    with pytest.raises(Forbidden, match="may not manage models"):
        record_drift(ctx, Actor("vic", "viewer", "viewer"), rows)
    kept = record_drift(ctx, Actor.system("dana"), rows)
    assert [(e.kind, e.subject) for e in kept] == [(EventKind.DRIFT, "pump-bearing/p-102")]
    assert "discharge_pressure.mean PSI" in kept[0].detail
    assert "bar" in kept[0].detail
    stored = plant.store.events(kind="drift")
    assert [e.subject for e in stored][-1] == "pump-bearing/p-102"


def test_the_cli_and_the_api_give_the_same_rows(plant: Plant, tmp_path: Path) -> None:
    args = ["drift", "status", "--use-case", "pump-bearing", "--since",
            plant.at(48).isoformat(), "--until", plant.at(72).isoformat(), "--json",
            "--db", plant.db, "--models-dir", str(plant.models)]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    cli_rows = {r["asset"]: r for r in out["assets"]}
    assert cli_rows["p-102"]["moved"] == [SHIFTED[1]]
    assert cli_rows["p-101"]["drifted"] is False

    table = CliRunner().invoke(cli, [a for a in args if a != "--json"],
                               env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert table.exit_code == 0, table.output
    assert "p-102 discharge_pressure.mean: mean" in table.stdout

    user = add_user(plant.store, "vera", access="viewer", password="a long enough password")
    token = add_token(plant.store, user.username, plant.clock.now() + timedelta(days=1))
    api = create_app(plant.store, plant.spec, clock=plant.clock, models_dir=plant.models)
    with TestClient(api) as client:
        params = {"use_case": "pump-bearing", "since": plant.at(48).isoformat(),
                  "until": plant.at(72).isoformat()}
        assert client.get("/api/drift", params=params).status_code == 401
        got = client.get("/api/drift", params=params,
                         headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 200, got.text
        api_rows = {r["asset"]: r for r in got.json()["assets"]}
        assert api_rows == cli_rows
        bad = client.get("/api/drift", params={**params, "use_case": "nope"},
                         headers={"Authorization": f"Bearer {token}"})
        assert bad.status_code == 404
        assert "nope" in bad.text


def test_no_reference_or_a_corrupt_one_is_said_per_asset(plant: Plant) -> None:
    ref = plant.models / "pump-bearing" / "v1" / REFERENCE_FILE
    saved = ref.read_bytes()
    try:
        ref.write_text('{"format": "andon.drift.reference.v1", "features": {"x": {}}}',
                       encoding="utf-8")
        rows = drift_status(plant.ctx(), start=plant.at(48), end=plant.at(72),
                            use_case="pump-bearing")
        assert {r.note.split(":")[0] for r in rows} == {"unreadable reference"}
        assert str(ref) in rows[0].note
        assert "lacks 'edges'" in rows[0].note
        ref.unlink()
        rows = drift_status(plant.ctx(), start=plant.at(48), end=plant.at(72))
        pumps = [r for r in rows if r.use_case == "pump-bearing"]
        assert all("has no drift reference" in r.note for r in pumps)
        others = [r for r in rows if r.use_case != "pump-bearing"]
        assert others
        assert all(r.note == "no production version" for r in others)
    finally:
        ref.write_bytes(saved)


def test_psi_discounts_what_sampling_alone_gives() -> None:
    """An unchanged feature's PSI at few windows is mostly noise; ``psi_noise`` is that part."""
    rng = np.random.default_rng(4)
    ref = reference_of(rng.normal(size=(600, 1)), ["f"])
    raw = [feature_drift(ref, rng.normal(size=(60, 1)), ["f"])[0] for _ in range(200)]
    assert np.mean([f.psi for f in raw]) == pytest.approx(raw[0].psi_noise, rel=0.35)
    assert not any(f.moved for f in raw), "200 unchanged periods, no alarm"
    assert coarse(ref["f"]).size == 10
