"""``andon evaluate cmapss``: the RUL regressor on C-MAPSS, RMSE and PHM08, causal, per sample.

Reads ``../shared/data/cmapss`` (relative to the repository root). The full FD001 subset runs
in a few seconds, so CI evaluates all of it (and asserts it stays in the published band of
classical models or better, not a figure).
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from andon.cli.app import app
from andon.errors import DatasetError
from andon.scoring.rul import RulRegressor
from andon.services.cmapss import SENSORS, evaluate_cmapss, phm08_score, read_cmapss

CMAPSS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cmapss"
needs_cmapss = pytest.mark.skipif(not (CMAPSS / "train_FD001.txt").is_file(),
                                  reason=f"C-MAPSS FD001 not at {CMAPSS}")
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def test_phm08_score_is_asymmetric_as_published() -> None:
    """10 cycles early costs exp(10/13) - 1, 10 cycles late exp(10/10) - 1."""
    assert phm08_score(np.array([90.0]), np.array([100.0])) == pytest.approx(
        math.exp(10 / 13) - 1)
    assert phm08_score(np.array([110.0]), np.array([100.0])) == pytest.approx(math.e - 1)
    assert phm08_score(np.array([5.0, 7.0]), np.array([5.0, 7.0])) == 0.0


@needs_cmapss
def test_predictions_do_not_use_later_cycles() -> None:
    """A test unit's predictions up to cycle 40 are the same when its later cycles change."""
    train, test, _ = read_cmapss(CMAPSS, "FD001")
    model = RulRegressor.fit([(u.settings, u.sensors) for u in train[:30]], SENSORS)
    unit = next(u for u in test if len(u.cycles) > 80)
    altered = unit.sensors.copy()
    altered[40:] *= 1.05
    plain = model.predict(unit.settings, unit.sensors)
    changed = model.predict(unit.settings, altered)
    assert np.array_equal(plain[:40], changed[:40])
    assert not np.array_equal(plain[40:], changed[40:])
    again = RulRegressor.loads(model.dumps())  # skops round trip, allowlisted types only
    assert np.array_equal(again.predict(unit.settings, unit.sensors), plain)


@needs_cmapss
def test_cli_on_fd001_writes_one_prediction_per_test_row(tmp_path: Path) -> None:
    out = tmp_path / "rul.csv"
    result = CliRunner().invoke(app, ["evaluate", "cmapss", str(CMAPSS), "--subset", "FD001",
                                      "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    test_rows = sum(1 for line in (CMAPSS / "test_FD001.txt").read_text(
        encoding="utf-8").splitlines() if line.strip())
    assert len(rows) == test_rows
    last = [r for r in rows if r["last"] == "1"]
    true = [float(x) for x in (CMAPSS / "RUL_FD001.txt").read_text(encoding="utf-8").split()]
    assert [float(r["true_rul"]) for r in last] == true
    predicted = np.array([float(r["predicted_rul"]) for r in last])
    rmse = math.sqrt(float(np.mean((predicted - np.minimum(true, 125.0)) ** 2)))
    assert f"RMSE {rmse:.2f} (true RUL capped at 125" in result.output
    assert rmse < 24.0  # at least the classical-ML band (18-24), far from the ~41 of a mean
    assert f"PHM08 score {phm08_score(predicted, np.array(true)):,.0f}" in result.output
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    assert RulRegressor.loads(out.with_suffix(".skops").read_bytes()).sensors


def test_refusals_name_the_file_and_why(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_subset = runner.invoke(app, ["evaluate", "cmapss", str(tmp_path), "--subset", "FD9"],
                               env=ENV)
    assert bad_subset.exit_code == 3
    assert "unknown C-MAPSS subset 'FD9' (known: FD001, FD002, FD003, FD004)" in (
        bad_subset.output)
    missing = runner.invoke(app, ["evaluate", "cmapss", str(tmp_path)], env=ENV)
    assert missing.exit_code == 3
    [line] = missing.output.strip().splitlines()
    assert line == f"error: {tmp_path / 'train_FD001.txt'}: missing"
    (tmp_path / "train_FD001.txt").write_text("1 1 0.0 0.0\n", encoding="utf-8")
    short = runner.invoke(app, ["evaluate", "cmapss", str(tmp_path)], env=ENV)
    assert short.exit_code == 3
    assert f"{tmp_path / 'train_FD001.txt'}:1: 4 columns, expected 26" in short.output


@needs_cmapss
def test_a_rul_file_that_does_not_match_the_test_units_is_refused(tmp_path: Path) -> None:
    for name in ("train_FD001.txt", "test_FD001.txt"):
        shutil.copyfile(CMAPSS / name, tmp_path / name)
    (tmp_path / "RUL_FD001.txt").write_text("12\n30\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"RUL_FD001.txt: 2 values for 100 test units"):
        evaluate_cmapss(tmp_path)
