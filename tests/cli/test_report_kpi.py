"""``andon report kpi``: table, JSON, CSV and one self-contained HTML file."""

from __future__ import annotations

import csv
import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.cli.app import app
from andon.clock import to_ms, utc
from andon.simulator.production import Outage, production_samples
from andon.spec import load_spec
from andon.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result

SPEC = "examples/demo-plant.yaml"
DAY1 = utc(2026, 1, 5)  # Monday: baseline
DAY2 = utc(2026, 1, 6)  # Tuesday: after
PERIODS = ("--baseline", "2026-01-05T00:00..2026-01-06T00:00",
           "--after", "2026-01-06T00:00..2026-01-07T00:00")


def seeded(url: str) -> str:
    """Two days of the cooling-water line: a 3 h outage the first day, 1 h the second."""
    spec = load_spec(SPEC)
    outages = [Outage(DAY1 + timedelta(hours=12), DAY1 + timedelta(hours=15)),
               Outage(DAY2 + timedelta(hours=12), DAY2 + timedelta(hours=13))]
    with open_store(url) as store:
        for batch in production_samples(spec, "cooling-water", seed=1,
                                        start=DAY1 - timedelta(minutes=5),
                                        end=DAY2 + timedelta(days=1), outages=outages):
            store.add_samples(batch, to_ms(DAY2))
    return url


def run(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["report", "kpi", "--spec", SPEC, "--db", db, *args],
                              env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_json_has_both_periods_downtime_and_roi(sqlite_url: str) -> None:
    result = run(seeded(sqlite_url), "--line", "cooling-water", *PERIODS, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["baseline"]["unplanned_downtime_h"], out["after"]["unplanned_downtime_h"]) == (
        3.0, 1.0)
    assert out["baseline"]["planned_downtime_h"] == 1.0  # the daily changeover stop
    assert out["after"]["availability"] > out["baseline"]["availability"]
    # baseline 3 h of 23 h busy -> 13.04 % of the after period's 23 h = 3 h, 1 h happened
    assert out["roi"]["avoided_downtime_h"] == 2.0
    assert out["roi"]["currency"] == "EUR"
    assert out["roi"]["value"] >= 2.0 * 1800 - 50  # plus or minus a little scrap


def test_the_table_csv_and_html(sqlite_url: str, tmp_path: Path) -> None:
    db = seeded(sqlite_url)
    csv_path, html_path = tmp_path / "kpi.csv", tmp_path / "kpi.html"
    result = run(db, "--line", "p-101", *PERIODS, "--csv", str(csv_path), "--html",
                 str(html_path))
    assert result.exit_code == 0, result.output
    assert re.search(r"unplanned downtime\s+│\s+3\.0 h\s+│\s+1\.0 h", result.output), result.output
    assert "ROI " in result.output
    rows = list(csv.DictReader(csv_path.read_text(encoding="utf-8").splitlines()))
    assert [(r["period"], r["unplanned_downtime_h"], r["unplanned_stops"]) for r in rows] == [
        ("baseline", "3.0", "1"), ("after", "1.0", "1")]
    html = html_path.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "<style>" in html
    assert html.count("<svg") == 3
    assert "Equipment failure" in html
    assert "ROI" in html or "Return on investment" in html
    # one file for e-mail: nothing fetched from anywhere
    assert not re.search(r"https?://|//[a-z]|<link|<script|src=", html, re.IGNORECASE)


def test_bad_periods_and_lines_are_one_line(sqlite_url: str) -> None:
    db = seeded(sqlite_url)
    bad = run(db, "--line", "cooling-water", "--baseline", "2026-01-05", "--after",
              "2026-01-06..2026-01-07")
    assert bad.exit_code != 0
    assert "is not START..END" in bad.output
    none = run(db, "--line", "bottling-1", *PERIODS)
    assert none.exit_code != 0
    assert "declares no production" in none.output
    assert "Traceback" not in none.output
