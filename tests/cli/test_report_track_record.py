"""``andon report track-record`` over the scripted two weeks (``andon.testing.histories``)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.cli.app import app
from andon.store import open_store
from andon.testing.histories import END, START, two_weeks

if TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result

PERIOD = ("--since", START.isoformat(), "--until", END.isoformat())


def run(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["report", "track-record", *args, "--db", db],
                              env={"COLUMNS": "250", "NO_COLOR": "1"})


def seeded(url: str) -> str:
    with open_store(url) as store:
        two_weeks(store)
    return url


def test_json_gives_the_figures_per_version_and_line(sqlite_url: str) -> None:
    result = run(seeded(sqlite_url), *PERIOD, "--model", "pump-bearing@3", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    cw, pw = out["records"]
    assert (cw["scope"], cw["version"], cw["raised"], cw["confirmed"], cw["false_alarms"],
            cw["unresolved"], cw["detected"], cw["missed"], cw["found_in_planned_stop"]) == (
        "cooling-water", "3", 7, 4, 2, 1, 2, 1, 1)
    assert (cw["precision"], cw["recall"], cw["false_alarms_per_asset_week"]) == (
        0.6667, 0.6667, 0.5)
    assert (cw["lead_times_h"], cw["median_lead_time_h"]) == ([3.0, 4.0, 10.0, 20.0], 4.0)
    assert (pw["scope"], pw["false_alarms"], pw["recall"]) == ("process-water", 1, None)
    assert out["start"] == START.isoformat()


def test_the_table_shows_ratios_lead_times_and_dashes_for_nothing(sqlite_url: str) -> None:
    result = run(seeded(sqlite_url), *PERIOD, "--line", "process-water")
    assert result.exit_code == 0, result.output
    row = next(ln for ln in result.output.splitlines() if "process-water" in ln)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:9] == ["pump-bearing v3", "process-water", "live", "1", "0", "1", "0", "0",
                         "0"]
    # precision 0 of 1; recall over nothing; 1 false alarm / (2 pumps x 2 weeks)
    assert cells[9:12] == ["0%", "-", "0.25"]
    assert cells[12] == "- / - / -"
    full = run(sqlite_url, *PERIOD, "--line", "cooling-water")
    row = next(ln for ln in full.output.splitlines() if "cooling-water" in ln)
    assert "1 (+1 in planned stops)" in row
    assert "3.0 h / 4.0 h / 20.0 h" in row


def test_csv_to_a_file_and_to_standard_output(sqlite_url: str, tmp_path: Path) -> None:
    db = seeded(sqlite_url)
    target = tmp_path / "tr.csv"
    assert run(db, *PERIOD, "--by", "asset", "--csv", str(target)).exit_code == 0
    with target.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_asset = {r["scope"]: r for r in rows}
    assert set(by_asset) == {"p-101", "p-102", "p-301"}
    assert (by_asset["p-102"]["raised"], by_asset["p-102"]["lead_times_h"]) == ("5", "3;4;10")
    assert by_asset["p-301"]["recall"] == ""  # a ratio over nothing: an empty cell
    out = run(db, *PERIOD, "--csv", "-")
    assert out.exit_code == 0
    assert [r["scope"] for r in csv.DictReader(io.StringIO(out.output))] == [
        "cooling-water", "process-water"]


def test_unknown_model_line_or_period_is_refused_in_one_line(sqlite_url: str) -> None:
    db = seeded(sqlite_url)
    for args, named, code in (
            (("--model", "pump-bering"), "the spec's models: motor-health, pump-bearing", 3),
            (("--model", "pump-bearing@"), "NAME@VERSION", 3),
            (("--line", "coolingwater"), "its lines: ", 3),
            (("--by", "site"), "per line or per asset", 3),
            (("--since", "2026-03-02", "--until", "2026-03-01"), "not after", 2)):
        result = run(db, *args)
        assert result.exit_code == code, (args, result.output)
        assert len(result.output.strip().splitlines()) <= 5, result.output
        assert named in result.output, result.output


def test_an_empty_period_says_so(sqlite_url: str) -> None:
    result = run(seeded(sqlite_url), "--since", "2025-01-01", "--until", "2025-01-08")
    assert result.exit_code == 0
    assert "no interventions or failures" in result.output
