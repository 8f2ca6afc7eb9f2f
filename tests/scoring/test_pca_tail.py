"""PCA-tail: a calibrated score (-log10 healthy tail probability of SPE and T² together).

What it must do: on new healthy data, the share of windows above threshold is about alpha
whatever the units or noise of the series (so one threshold serves several); a fault off the
healthy directions is flagged and explained like PCA-SPE's; an operating point far along them
(which SPE alone does not see) is flagged too; its artifact round-trips and a broken one is
refused with a reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

from andon.clock import utc
from andon.errors import ModelError
from andon.scoring import PcaSpeModel, TrainingSet, load_model, model_kind, save_model
from andon.scoring.pca_tail import PcaTailModel, PcaTailParams

if TYPE_CHECKING:
    from pathlib import Path

    from numpy.typing import NDArray

FEATURES = ["flow", "current", "vibration"]
UNITS = ["m^3/h", "A", "mm/s"]


def series(n: int, seed: int, *, scale: float = 1.0, noise: float = 1.0,
           load: tuple[float, float] = (0.5, 1.0)) -> NDArray[np.float64]:
    """A pump's windows: flow and current follow load, vibration is noise around a level."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(*load, n)
    return scale * np.column_stack([
        300 * x + rng.normal(0, 3 * noise, n),
        10 + 80 * x + rng.normal(0, noise, n),
        2 + rng.normal(0, 0.05 * noise, n),
    ])


@pytest.mark.parametrize(("scale", "noise"), [(1.0, 1.0), (1000.0, 0.2), (0.01, 5.0)])
def test_the_false_alarm_share_on_new_healthy_data_is_about_alpha(scale: float,
                                                                  noise: float) -> None:
    """Three series in other units and noise levels: the same threshold (2 = -log10 0.01)
    and about 1 % of 20 000 new healthy windows above it on each."""
    m = PcaTailModel.fit_tail(series(2000, 1, scale=scale, noise=noise), FEATURES, UNITS,
                              alpha=0.01)
    assert m.threshold == pytest.approx(2.0)
    scores = np.array([s.value for s in m.score_many(series(20_000, 2, scale=scale,
                                                              noise=noise))])
    assert 0.003 < float(np.mean(scores > m.threshold)) < 0.03


def test_a_fault_off_the_healthy_directions_is_flagged_and_explained() -> None:
    m = PcaTailModel.fit_tail(series(2000, 1), FEATURES, UNITS)
    x = np.array([225.0, 70.0, 2.6])  # load 0.75, vibration up 12 standard deviations
    s = m.score(x)
    assert s.value > m.threshold == pytest.approx(3.0)
    assert s.why[0].feature == "vibration"
    assert m.score(np.array([225.0, 70.0, 2.0])).value < m.threshold


def test_an_operating_point_far_along_the_healthy_directions_is_flagged() -> None:
    """Load 3x the trained range with flow and current consistent: PCA-SPE's residual stays
    below its threshold, T² does not, and PCA-tail flags it."""
    train = series(2000, 1)
    far = series(200, 3, load=(2.5, 3.0))
    spe = PcaSpeModel.fit(train, FEATURES, UNITS)
    tail = PcaTailModel.fit_tail(train, FEATURES, UNITS)
    assert float(np.mean(spe.spe(far) > spe.threshold)) < 0.05
    assert all(s.value > tail.threshold for s in tail.score_many(far))


def test_the_artifact_round_trips_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    kind = model_kind("pca-tail", "test")
    data = series(500, 1)
    fitted = kind.fit(TrainingSet(data, FEATURES, UNITS), PcaTailParams(alpha=1e-4))
    meta = save_model(fitted.model, {
        "name": "tail", "use_case": "u", "asset_kind": "pump", "train_start": utc(2026, 1, 1),
        "train_end": utc(2026, 1, 2), "train_assets": ["p-1"], "train_windows": 500,
        "data_sha256": "0" * 64, "created_at": utc(2026, 1, 2), "code_version": "test",
        "params": dict(fitted.params), "metrics": dict(fitted.metrics)}, tmp_path)
    assert (meta.kind, meta.threshold) == ("pca-tail", pytest.approx(4.0))
    loaded, _ = load_model(tmp_path / "tail" / "v1")
    probe = series(50, 9, load=(0.2, 1.5))
    assert [s.value for s in loaded.score_many(probe)] == [  # type: ignore[attr-defined]
        s.value for s in fitted.model.score_many(probe)]  # type: ignore[attr-defined]
    # metadata naming fewer features than the artifact holds: refused with the reason
    meta_file = tmp_path / "tail" / "v1" / "meta.json"
    doc = json.loads(meta_file.read_text(encoding="utf-8"))
    doc.update(features=FEATURES[:2], units=UNITS[:2])
    meta_file.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ModelError, match="metadata lists 2 features and 2 units; the "
                       "artifact expects 3"):
        load_model(tmp_path / "tail" / "v1")
