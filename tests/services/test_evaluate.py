"""``andon evaluate skab``: SKAB's protocol through the live scoring path, causal, per sample.

The SKAB files are read from ``../shared/data/skab`` (relative to the repository root); a few
are copied into a temporary folder in SKAB's own layout so the run stays short.
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from andon.cli.app import app
from andon.errors import DatasetError
from andon.kpi.changepoints import NabTally, flips
from andon.kpi.detection import Confusion
from andon.services.evaluate import SKAB_TRAIN_ROWS, evaluate_skab

SKAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "skab"
needs_skab = pytest.mark.skipif(not (SKAB / "valve1" / "0.csv").is_file(),
                                reason=f"SKAB dataset not at {SKAB}")
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def _subset(tmp: Path, *names: str) -> Path:
    """A SKAB-layout folder holding copies of ``names`` (e.g. ``valve1/0.csv``)."""
    for name in names:
        (tmp / "skab" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SKAB / name, tmp / "skab" / name)
    return tmp / "skab"


def test_confusion_on_a_hand_checked_series() -> None:
    """Ten samples: 4 labelled anomalous, the detector flags 3 of them and 2 normal ones.
    F1 = 3 / (3 + (2 + 1) / 2) = 2/3; FAR = 2 / 6; MAR = 1 / 4. Pooling sums counts first."""
    labels = [0, 0, 0, 1, 1, 1, 1, 0, 0, 0]
    flagged = [0, 1, 0, 0, 1, 1, 1, 1, 0, 0]
    c = Confusion.of(labels, flagged)
    assert (c.tp, c.fp, c.fn, c.tn) == (3, 2, 1, 4)
    assert c.f1 == pytest.approx(2 / 3)
    assert c.far == pytest.approx(100 * 2 / 6)
    assert c.mar == pytest.approx(100 * 1 / 4)
    other = Confusion.of([1, 1], [0, 0])  # a second series: two misses
    pooled = Confusion.pooled([c, other])
    assert (pooled.tp, pooled.fp, pooled.fn, pooled.tn) == (3, 2, 3, 4)
    assert pooled.mar == pytest.approx(50.0)  # 3 of 6, not the mean of 25 % and 100 %
    assert Confusion.of([0, 0], [0, 0]).f1 is None  # nothing to find, nothing flagged
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        Confusion.of([0, 1, 0], [0, 1])


def test_nab_score_on_a_hand_checked_series() -> None:
    """Changepoints at 100 s and 130 s (60 s windows; the second is cut to start at 160 s) and
    400 s. Verdict flips at 100 s (right at the first: worth A_tp = 1), 300 s (outside every
    window: A_fp) and 420 s and 430 s (the first, a third into its window, counts)."""
    s = 1000
    times = [t * s for t in range(0, 500, 10)]
    verdict = [int(100 <= t < 300 or 420 <= t < 430) for t in range(0, 500, 10)]
    assert flips(times, verdict) == [100 * s, 300 * s, 420 * s, 430 * s]
    nab = NabTally.of([100 * s, 130 * s, 400 * s], flips(times, verdict), width_ms=60 * s)
    assert (nab.windows, nab.missed, nab.false_positives) == (3, 1, 1)
    assert nab.positions == [0.0, pytest.approx(1 / 3)]
    # standard: 1 + w(1/3) - 0.11 (FP) - 1 (miss); null -3, perfect 3
    w = (1 + 0.11) / 2 * -math.tanh(-math.pi / 2 + math.pi * 333 / 999) / math.tanh(
        math.pi / 2) + (1 + 0.11) / 2 - 0.11
    assert nab.score("standard") == pytest.approx(100 * (1 + w - 0.11 - 1 + 3) / 6)
    assert NabTally.of([], [5 * s], width_ms=60 * s).windows == 0


@needs_skab
def test_scores_do_not_use_later_rows(tmp_path: Path) -> None:
    """Rows after row 700 of valve1/0.csv are altered (every sensor x3): the scores of rows
    0..699 stay exactly the same, and some later ones change."""
    plain = evaluate_skab(_subset(tmp_path / "a", "valve1/0.csv"))
    src = SKAB / "valve1" / "0.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    cut = 700
    altered_dir = tmp_path / "b" / "skab" / "valve1"
    altered_dir.mkdir(parents=True)
    out = lines[:cut + 1]  # header + rows 0..cut-1
    for line in lines[cut + 1:]:
        cells = line.split(";")
        cells[1:9] = [repr(float(v) * 3) for v in cells[1:9]]
        out.append(";".join(cells))
    (altered_dir / "0.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    altered = evaluate_skab(tmp_path / "b" / "skab")
    a, b = plain.files[0], altered.files[0]
    assert a.rows == b.rows == len(lines) - 1
    assert a.scores[:cut] == b.scores[:cut]
    assert sum(s is not None for s in a.scores[:cut]) > cut - 20  # scored, not all empty
    assert a.scores[cut:] != b.scores[cut:]


@needs_skab
def test_cli_writes_one_score_per_input_row_and_the_figures_it_prints(tmp_path: Path) -> None:
    """Two files: the CSV has one row per input row, the plot exists, and F1 / FAR / MAR
    recomputed from the CSV's test rows are the ones printed."""
    folder = _subset(tmp_path, "valve1/0.csv", "other/5.csv")
    rows_in = sum(len((folder / n).read_text(encoding="utf-8").splitlines()) - 1
                  for n in ("valve1/0.csv", "other/5.csv"))
    out = tmp_path / "out" / "scores.csv"
    result = CliRunner().invoke(app, ["evaluate", "skab", str(folder), "--out", str(out)],
                                env=ENV)
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == rows_in
    assert {r["file"] for r in rows} == {"valve1/0.csv", "other/5.csv"}
    test = [r for r in rows if r["part"] == "test"]
    assert len(test) == rows_in - 2 * SKAB_TRAIN_ROWS
    c = Confusion.of([int(r["anomaly"]) for r in test], [int(r["predicted"]) for r in test])
    assert f"F1 {c.f1:.2f}, FAR {c.far:.2f} %, MAR {c.mar:.2f} %" in result.output
    assert c.tp > 0
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")


def test_refusals_name_the_folder_and_why(tmp_path: Path) -> None:
    """A missing folder, a folder without SKAB files and one whose only file lacks columns
    are refused with one line and exit code 3 (bad input)."""
    runner = CliRunner()
    missing = runner.invoke(app, ["evaluate", "skab", str(tmp_path / "nope")], env=ENV)
    assert missing.exit_code == 3
    [line] = missing.output.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'nope'}: no such folder")
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["evaluate", "skab", str(tmp_path / "empty")], env=ENV)
    assert empty.exit_code == 3
    assert "no labelled SKAB file" in empty.output
    bad = tmp_path / "bad" / "valve1"
    bad.mkdir(parents=True)
    (bad / "0.csv").write_text("datetime;Current\n2020-03-09 10:14:33;1.0\n", encoding="utf-8")
    broken = runner.invoke(app, ["evaluate", "skab", str(tmp_path / "bad")], env=ENV)
    assert broken.exit_code == 3
    assert "valve1/0.csv:1: missing column(s) Accelerometer1RMS" in broken.output
    assert len(broken.output.strip().splitlines()) == 1
    assert not Path("skab-scores.csv").exists()  # the default --out: nothing written


@needs_skab
def test_a_bad_file_is_skipped_with_its_line_and_the_rest_evaluated(tmp_path: Path) -> None:
    folder = _subset(tmp_path, "other/5.csv")
    lines = (SKAB / "valve2" / "0.csv").read_text(encoding="utf-8").splitlines()
    lines[500] = lines[500].replace(";", ";oops", 1)
    (folder / "valve2").mkdir()
    (folder / "valve2" / "0.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = evaluate_skab(folder)
    assert [f.name for f in result.files] == ["other/5.csv"]
    assert len(result.skipped) == 1
    assert result.skipped[0][0] == "valve2/0.csv"
    assert result.skipped[0][1].startswith("valve2/0.csv:501: could not convert string")
    with pytest.raises(DatasetError, match="no labelled SKAB file matching x/\\*"):
        evaluate_skab(folder, only=["x/*"])
