"""``andon report load`` and ``andon labels export`` over a scripted set of stored interventions."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.cli.app import app
from andon.clock import utc
from andon.feedback import Feedback, FeedbackKind, Outcome
from andon.interventions.lifecycle import InterventionState, TransitionRecord
from andon.interventions.record import OutcomeLabel
from andon.store import open_store
from andon.testing.factories import make_intervention

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from click.testing import Result

    from andon.interventions.record import Intervention
    from andon.store import SqlStore

S = InterventionState
START = utc(2026, 3, 2, 8, 0)
END = utc(2026, 3, 2, 9, 0)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250", "NO_COLOR": "1"})


def iv(n: int, at: datetime, *, asset: str = "p-101", closed: datetime | None = None,
        site: str = "ghent", use_case: str = "pump-bearing") -> Intervention:
    history = (TransitionRecord(None, S.NEW, "andon", at, "raised"),)
    state = S.NEW
    if closed is not None:
        history = (*history, TransitionRecord(S.NEW, S.DISMISSED, "chris", closed, "dup"))
        state = S.DISMISSED
    return replace(make_intervention(f"rec-{n}", asset=asset, created_at=at), site=site,
                   use_case=use_case, history=history, state=state)


def scripted(db: str) -> None:
    """ghent/maintenance_planner: a flood of 12 in 08:00-08:10 (8 on p-101, 4 on p-102), 3 more
    at 08:2x, one open since the day before (stale) and one closed the day before; porto's
    motors (reliability_engineer): 2 at 08:4x."""
    ivs = [iv(i, START + timedelta(seconds=40 * i), asset="p-101" if i < 8 else "p-102")
            for i in range(12)]
    ivs += [iv(20 + i, START + timedelta(minutes=21 + i)) for i in range(3)]
    ivs += [iv(30, START - timedelta(hours=30)),
             iv(31, START - timedelta(hours=30), closed=START - timedelta(hours=29))]
    ivs += [iv(40 + i, START + timedelta(minutes=41 + i), asset="m-203", site="porto",
                 use_case="motor-health") for i in range(2)]
    with open_store(db) as store:
        for r in ivs:
            store.save_intervention(r)


def test_report_load_gives_the_isa_18_2_figures_per_position(sqlite_url: str) -> None:
    scripted(sqlite_url)
    result = run("report", "load", "--db", sqlite_url, "--since", "2026-03-02T08:00",
                 "--until", "2026-03-02T09:00:00+00:00", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["start"], report["end"], report["period_s"]) == (
        "2026-03-02T08:00:00+00:00", "2026-03-02T09:00:00+00:00", 600.0)
    ghent, porto = report["positions"]
    assert ghent == {
        "position": "ghent/maintenance_planner", "interventions": 15, "periods": 6,
        "average_per_period": 2.5, "max_per_period": 12, "flood_periods": 1,
        "flood_percent": 100 / 6, "top_sources": [
            {"source": "pump-bearing/p-101", "count": 11},
            {"source": "pump-bearing/p-102", "count": 4}],
        "top_share": 1.0, "stale": 1,
    }
    assert porto["position"] == "porto/reliability_engineer"
    assert (porto["interventions"], porto["max_per_period"], porto["flood_periods"],
            porto["stale"]) == (2, 2, 0, 0)
    assert porto["average_per_period"] == 2 / 6

    table = run("report", "load", "--db", sqlite_url, "--since", "2026-03-02T08:00",
                "--until", "2026-03-02T09:00")
    assert table.exit_code == 0, table.output
    row = next(ln for ln in table.output.splitlines() if "ghent/maintenance_planner" in ln)
    assert [c.strip() for c in row.split("│")[2:8]] == ["15", "2.50", "12", "16.7%", "100.0%",
                                                        "1"]


def test_report_load_shows_times_given_with_an_offset_in_utc(sqlite_url: str) -> None:
    scripted(sqlite_url)
    result = run("report", "load", "--db", sqlite_url, "--since", "2026-03-02T09:00+01:00",
                 "--until", "2026-03-02T10:00+01:00")
    assert result.exit_code == 0, result.output
    assert "Operator load 2026-03-02 08:00 to 2026-03-02 09:00 UTC" in result.output
    as_json = run("report", "load", "--db", sqlite_url, "--since", "2026-03-02T09:00+01:00",
                  "--until", "2026-03-02T10:00+01:00", "--json")
    assert json.loads(as_json.output)["start"] == "2026-03-02T08:00:00+00:00"


def test_report_load_refuses_a_bad_period_in_one_line(store: SqlStore,
                                                       sqlite_url: str) -> None:
    del store  # the database exists
    result = run("report", "load", "--db", sqlite_url, "--since", "yesterday")
    assert result.exit_code == 2
    assert "'yesterday' is neither an ISO 8601 time nor a duration" in result.output
    backwards = run("report", "load", "--db", sqlite_url, "--since", "2026-03-02T09:00",
                    "--until", "2026-03-02T08:00")
    assert backwards.exit_code == 2
    assert "is not after --since" in backwards.output


def test_labels_export_writes_every_feedback_and_outcome(sqlite_url: str, tmp_path: Path) -> None:
    with open_store(sqlite_url) as store:
        store.save_intervention(make_intervention("rec-1", created_at=START))
        store.record_feedback(Feedback("rec-1", FeedbackKind.ACTED, "re-greased", "chris",
                                       START + timedelta(minutes=5), via="web"))
        store.record_outcome(Outcome("rec-1", OutcomeLabel.FAULT_CONFIRMED, "dry bearing",
                                     "chris", START + timedelta(hours=1), via="cmms"))
    out = tmp_path / "out" / "labels.csv"
    result = run("labels", "export", "--db", sqlite_url, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2 label(s) written" in result.output
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["kind"], r["label"], r["detail"], r["via"], r["at"]) for r in rows] == [
        ("feedback", "acted", "re-greased", "web", "2026-03-02T08:05:00+00:00"),
        ("outcome", "fault_confirmed", "dry bearing", "cmms", "2026-03-02T09:00:00+00:00")]
    assert rows[0]["window_start"] == "2026-03-02T07:55:00+00:00"
    assert (rows[0]["asset"], rows[0]["model"], rows[0]["model_version"]) == (
        "p-101", "pump-bearing", "3")
