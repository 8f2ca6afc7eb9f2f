"""The reference anomaly model and its artifact.

The model is trained on synthetic pump data in which load drives flow, current, pressure,
vibration and temperature together (seeded, so every run sees the same numbers). Healthy data
stays quiet, an off-correlation change is flagged and explained, a load change along the learned
correlation is not. The artifact round-trips exactly and refuses anything altered.
"""

from __future__ import annotations

import doctest
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import andon.clock
import andon.interventions.record
import andon.scoring.pca_spe
import andon.units
from andon.clock import utc
from andon.errors import ModelError
from andon.scoring import ModelMeta, PcaSpeModel, latest_version_dir, load_model, save_model

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

    from numpy.typing import NDArray

FEATURES = ["flow", "motor_current", "discharge_pressure", "vibration", "bearing_temp"]
UNITS = ["m^3/h", "A", "bar", "mm/s", "degC"]
VIBRATION = FEATURES.index("vibration")
TRAIN_LOAD = (0.5, 1.0)  # fraction of rated load seen in the healthy training period


def pump(load: NDArray[np.float64], rng: np.random.Generator | None = None,
         ) -> NDArray[np.float64]:
    """Feature rows of a healthy pump at ``load``; noise-free when ``rng`` is None."""
    n = load.shape[0]

    def noise(sd: float) -> NDArray[np.float64]:
        return rng.normal(0.0, sd, size=(n,)) if rng is not None else np.zeros(n)

    return np.column_stack([
        300.0 * load + noise(3.0),  # flow
        10.0 + 80.0 * load + noise(1.0),  # motor current
        4.0 + 8.0 * load + noise(0.1),  # discharge pressure
        1.5 + 1.0 * load + noise(0.05),  # vibration
        40.0 + 20.0 * load + noise(0.5),  # bearing temperature
    ])


def healthy(n: int, seed: int) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    return pump(rng.uniform(*TRAIN_LOAD, n), rng)


@pytest.fixture(scope="module")
def model() -> PcaSpeModel:
    return PcaSpeModel.fit(healthy(1000, seed=1), FEATURES, UNITS)


# -- behaviour of the model -------------------------------------------------------------------
def test_fresh_healthy_data_stays_below_threshold(model: PcaSpeModel) -> None:
    """False-alarm rate on 20 000 new healthy windows is under 1 %."""
    scores = model.spe(healthy(20_000, seed=2))
    assert float(np.mean(scores > model.threshold)) < 0.01


def test_training_data_itself_is_quiet(model: PcaSpeModel) -> None:
    assert float(np.mean(model.spe(healthy(1000, seed=1)) > model.threshold)) < 0.01


def test_vibration_up_with_load_unchanged_is_flagged_and_explained(model: PcaSpeModel) -> None:
    x = pump(np.array([0.75]))[0]
    x[VIBRATION] += 0.6  # 12 noise standard deviations, load and everything else unchanged
    score = model.score(x)
    assert score.value > score.threshold == model.threshold
    top = score.why[0]
    assert top.feature == "vibration"
    assert top.unit == "mm/s"
    assert top.value == pytest.approx(1.5 + 0.75 + 0.6)
    assert top.share > 0.5
    assert len(score.why) == 3
    assert [c.share for c in score.why] == sorted((c.share for c in score.why), reverse=True)


def test_contribution_baseline_is_the_healthy_mean(model: PcaSpeModel) -> None:
    x = pump(np.array([0.75]))[0]
    x[VIBRATION] += 0.6
    top = model.score(x).why[0]
    train = healthy(1000, seed=1)
    assert top.baseline == pytest.approx(float(train[:, VIBRATION].mean()))
    assert top.spread == pytest.approx(float(train[:, VIBRATION].std()))
    assert top.describe().startswith(
        f"vibration 2.85 mm/s, {(x[VIBRATION] - top.baseline) / top.spread:.1f} σ above healthy "
        "(2.25 ± 0.15 mm/s): ")


@pytest.mark.parametrize("load", [1.1, 1.2])
def test_load_change_along_the_learned_correlation_stays_quiet(
    model: PcaSpeModel, load: float,
) -> None:
    """20 % beyond the highest training load, every feature moves as load says: not a fault."""
    rng = np.random.default_rng(3)
    rows = pump(np.full(500, load), rng)
    assert float(np.mean(model.spe(rows) > model.threshold)) < 0.01
    assert model.score(pump(np.array([load]))[0]).value < model.threshold


def test_same_data_same_model(model: PcaSpeModel) -> None:
    again = PcaSpeModel.fit(healthy(1000, seed=1), FEATURES, UNITS)
    probe = healthy(50, seed=9)
    assert again.threshold == model.threshold
    assert np.array_equal(again.spe(probe), model.spe(probe))


def test_fit_refuses_a_matrix_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="expected 5 feature columns, got shape"):
        PcaSpeModel.fit(healthy(100, seed=1)[:, :4], FEATURES, UNITS)
    with pytest.raises(ValueError, match="need at least 10 healthy windows, got 9"):
        PcaSpeModel.fit(healthy(9, seed=1), FEATURES, UNITS)


def test_a_constant_training_feature_does_not_make_every_wiggle_anomalous() -> None:
    rows = healthy(500, seed=4)
    rows[:, 0] = 100.0  # flow never moved in training
    m = PcaSpeModel.fit(rows, FEATURES, UNITS)
    x = rows[0].copy()
    x[0] = 100.1  # 0.1 % off a level that never moved
    assert m.score(x).value < m.threshold


# -- artifact ---------------------------------------------------------------------------------
def meta_fields(name: str = "pump-bearing") -> dict[str, Any]:
    data = healthy(1000, seed=1)
    return {
        "name": name, "use_case": "pump-bearing", "asset_kind": "pump",
        "train_start": utc(2026, 9, 1), "train_end": utc(2026, 10, 1),
        "train_assets": ["p-101", "p-102"], "train_windows": data.shape[0],
        "data_sha256": hashlib.sha256(data.tobytes()).hexdigest(),
        "created_at": utc(2026, 10, 2, 8), "code_version": "0.1.0",
        "params": {"variance": 0.9, "quantile": 0.995, "margin": 2.0},
        "metrics": {"false_alarm_rate": 0.004},
    }


@dataclass
class Saved:
    meta: ModelMeta
    dir: Path

    @property
    def blob(self) -> Path:
        return self.dir / "model.skops"

    @property
    def meta_file(self) -> Path:
        return self.dir / "meta.json"


@pytest.fixture
def saved(model: PcaSpeModel, tmp_path: Path) -> Saved:
    meta = save_model(model, meta_fields(), tmp_path)
    return Saved(meta, tmp_path / "pump-bearing" / "v1")


def test_round_trip_gives_identical_scores(model: PcaSpeModel, saved: Saved) -> None:
    loaded, meta = load_model(saved.dir)
    probe = np.vstack([healthy(200, seed=5), pump(np.array([0.75, 1.2]))])
    assert np.array_equal(loaded.spe(probe), model.spe(probe))
    assert loaded.threshold == model.threshold
    assert loaded.score(probe[0]) == model.score(probe[0])
    assert meta == saved.meta


def test_meta_says_what_made_the_model(model: PcaSpeModel, saved: Saved) -> None:
    meta = ModelMeta.from_json(saved.meta_file.read_text(encoding="utf-8"))
    assert meta == saved.meta
    assert (meta.name, meta.version, meta.label) == ("pump-bearing", 1, "pump-bearing v1")
    assert (meta.features, meta.units, meta.threshold) == (FEATURES, UNITS, model.threshold)
    assert (meta.train_start, meta.train_end) == (utc(2026, 9, 1), utc(2026, 10, 1))
    assert meta.train_windows == 1000
    assert meta.artifact_sha256 == hashlib.sha256(saved.blob.read_bytes()).hexdigest()
    assert json.loads(saved.meta_file.read_text(encoding="utf-8"))["train_start"] == (
        "2026-09-01T00:00:00+00:00")


def test_each_save_is_a_new_version(model: PcaSpeModel, tmp_path: Path) -> None:
    assert latest_version_dir(tmp_path, "pump-bearing") is None
    first = save_model(model, meta_fields(), tmp_path)
    second = save_model(model, meta_fields(), tmp_path)
    other = save_model(model, meta_fields("motor-health"), tmp_path)
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert latest_version_dir(tmp_path, "pump-bearing") == tmp_path / "pump-bearing" / "v2"
    assert load_model(tmp_path / "pump-bearing" / "v1")[1].label == "pump-bearing v1"
    assert load_model(tmp_path / "pump-bearing" / "v2")[1].label == "pump-bearing v2"


def test_version_10_sorts_after_version_9(model: PcaSpeModel, tmp_path: Path) -> None:
    for v in (2, 9, 10):
        (tmp_path / "pump-bearing" / f"v{v}").mkdir(parents=True)
    (tmp_path / "pump-bearing" / "notes").mkdir()
    assert latest_version_dir(tmp_path, "pump-bearing") == tmp_path / "pump-bearing" / "v10"
    assert save_model(model, meta_fields(), tmp_path).version == 11


def refused(version_dir: Path) -> str:
    with pytest.raises(ModelError) as info:
        load_model(version_dir)
    return str(info.value)


def test_one_flipped_byte_is_refused(saved: Saved) -> None:
    data = bytearray(saved.blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    saved.blob.write_bytes(bytes(data))
    digest = hashlib.sha256(bytes(data)).hexdigest()
    assert refused(saved.dir) == (
        f"{saved.blob}: content hash {digest[:12]} does not match metadata "
        f"{saved.meta.artifact_sha256[:12]} (corrupt or altered)")


def test_a_truncated_artifact_is_refused(saved: Saved) -> None:
    data = saved.blob.read_bytes()
    saved.blob.write_bytes(data[: len(data) // 2])
    assert refused(saved.dir).startswith(f"{saved.blob}: content hash ")
    assert refused(saved.dir).endswith("(corrupt or altered)")


def test_a_truncated_artifact_with_a_matching_hash_is_still_refused(saved: Saved) -> None:
    """Someone 'fixed' the hash in meta.json: the zip itself is unreadable."""
    data = saved.blob.read_bytes()[:2000]
    saved.blob.write_bytes(data)
    rewrite_meta(saved, artifact_sha256=hashlib.sha256(data).hexdigest())
    assert refused(saved.dir).startswith(f"{saved.blob}: cannot read skops artifact (")


def test_meta_with_the_wrong_hash_is_refused(saved: Saved) -> None:
    rewrite_meta(saved, artifact_sha256="0" * 64)
    assert refused(saved.dir) == (
        f"{saved.blob}: content hash {saved.meta.artifact_sha256[:12]} does not match metadata "
        "000000000000 (corrupt or altered)")


def test_missing_artifact_is_refused(saved: Saved) -> None:
    saved.blob.unlink()
    assert refused(saved.dir) == f"{saved.blob}: artifact file is missing"


def test_missing_metadata_is_refused(saved: Saved) -> None:
    saved.meta_file.unlink()
    assert refused(saved.dir) == f"{saved.meta_file}: metadata file is missing"


def test_missing_version_directory_is_refused(tmp_path: Path) -> None:
    version_dir = tmp_path / "pump-bearing" / "v7"
    assert refused(version_dir) == f"{version_dir / 'meta.json'}: metadata file is missing"


def test_unreadable_metadata_is_refused(saved: Saved) -> None:
    saved.meta_file.write_text("{not json", encoding="utf-8")
    assert refused(saved.dir).startswith(f"{saved.meta_file}: metadata is not valid (")
    saved.meta_file.write_text('{"name": "pump-bearing"}', encoding="utf-8")
    assert refused(saved.dir).startswith(f"{saved.meta_file}: metadata is not valid (")


def test_a_directory_where_the_artifact_should_be_is_refused(saved: Saved) -> None:
    saved.blob.unlink()
    saved.blob.mkdir()
    assert refused(saved.dir).startswith(f"{saved.blob}: cannot read artifact (")


def test_metadata_listing_other_features_than_the_artifact_is_refused(saved: Saved) -> None:
    rewrite_meta(saved, features=FEATURES[:4], units=UNITS[:4])
    assert refused(saved.dir) == (
        f"{saved.meta_file}: metadata lists 4 features and 4 units; the artifact expects 5")


def test_meta_names_the_model_kind(saved: Saved) -> None:
    assert saved.meta.kind == "pca-spe"
    assert json.loads(saved.meta_file.read_text(encoding="utf-8"))["kind"] == "pca-spe"


def test_an_artifact_from_before_model_kinds_loads_as_pca_spe(saved: Saved) -> None:
    data = json.loads(saved.meta_file.read_text(encoding="utf-8"))
    del data["kind"]
    saved.meta_file.write_text(json.dumps(data), encoding="utf-8")
    model, meta = load_model(saved.dir)
    assert (model.kind, meta.kind) == ("pca-spe", "pca-spe")


def test_an_artifact_of_a_kind_that_is_not_installed_is_refused_naming_it(
        saved: Saved) -> None:
    rewrite_meta(saved, kind="isolation-forest")
    assert refused(saved.dir) == (f"{saved.meta_file}: unknown model kind 'isolation-forest' "
                                  "(installed: pca-spe, pca-tail)")


def test_a_model_whose_state_its_kind_could_not_load_back_is_not_saved(tmp_path: Path) -> None:
    """The kind declares what its artifact may hold; saving checks it before writing."""
    from sklearn.pipeline import Pipeline  # noqa: PLC0415
    from sklearn.preprocessing import FunctionTransformer  # noqa: PLC0415

    odd = PcaSpeModel(Pipeline([("f", FunctionTransformer(np.log1p))]), FEATURES, UNITS, 1.0)
    with pytest.raises(ModelError, match="stores types it does not declare as trusted"):
        save_model(odd, meta_fields(), tmp_path)
    assert latest_version_dir(tmp_path, "pump-bearing") is None


def test_an_artifact_with_a_type_off_the_allowlist_is_refused(saved: Saved) -> None:
    """Hash and metadata are consistent, but the pipeline holds a function: not loaded."""
    import skops.io as sio  # noqa: PLC0415 - heavy import, only where an artifact is forged
    from sklearn.pipeline import Pipeline  # noqa: PLC0415
    from sklearn.preprocessing import FunctionTransformer  # noqa: PLC0415

    forged = sio.dumps(Pipeline([("f", FunctionTransformer(np.log1p))]))
    saved.blob.write_bytes(forged)
    rewrite_meta(saved, artifact_sha256=hashlib.sha256(forged).hexdigest())
    message = refused(saved.dir)
    assert message.startswith(f"{saved.blob}: refusing untrusted types [")
    assert "FunctionTransformer" in message


def rewrite_meta(saved: Saved, **changes: object) -> None:
    data = json.loads(saved.meta_file.read_text(encoding="utf-8"))
    data.update(changes)
    saved.meta_file.write_text(json.dumps(data), encoding="utf-8")


# -- runnable docstring examples --------------------------------------------------------------
@pytest.mark.parametrize("module", [
    andon.scoring.pca_spe, andon.units, andon.clock, andon.interventions.record,
], ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, raise_on_error=False)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0
