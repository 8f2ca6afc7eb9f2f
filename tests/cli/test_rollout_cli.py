"""``andon rollout``: start, status with the gate's figures, advance refused, back, withdraw."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.cli.app import app
from andon.registry import Stage
from andon.store import open_store
from andon.testing.factories import add_user, make_model

if TYPE_CHECKING:
    from click.testing import Result


PASSWORD = "correct horse battery staple"


def run(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["rollout", *args, "--db", db],
                              env={"COLUMNS": "200", "NO_COLOR": "1",
                                   "ANDON_PASSWORD": PASSWORD})


def registered(url: str) -> str:
    with open_store(url) as store:
        add_user(store, "dana", access="engineer", role="reliability_engineer",
                 password=PASSWORD)
        store.register_model(make_model(version=3))
        store.set_model_stage("pump-bearing", 3, Stage.PRODUCTION)
        store.register_model(make_model(version=4))
    return url


def test_a_rollout_from_the_terminal(sqlite_url: str) -> None:
    db = registered(sqlite_url)
    done = run(db, "start", "pump-bearing", "--version", "4", "--pilot", "cooling-water",
               "--reason", "v4 beats v3 on replay", "--user", "dana")
    assert done.exit_code == 0, done.output
    moved, signed = done.output.strip().splitlines()
    assert moved == "pump-bearing v4 on pump-bearing: shadow_pilot (shadow on cooling-water)"
    assert signed.startswith("signed: approved by Dana (dana) on ")
    assert signed.endswith(": v4 beats v3 on replay")

    shown = run(db, "status", "pump-bearing")
    assert shown.exit_code == 0, shown.output
    assert "production v3; pump-bearing v4 in shadow_pilot since" in shown.output
    assert "not met" in shown.output
    assert "0 labelled events < 3 (min)" in shown.output
    assert "not yet: advance would be refused; next: live on cooling-water for one shift" in (
        shown.output)
    as_json = json.loads(run(db, "status", "--json").output)
    assert [(s["use_case"], s["stage"], s["gate_met"]) for s in as_json] == [
        ("pump-bearing", "shadow_pilot", False), ("motor-health", None, False)]
    first = as_json[0]["history"][0]
    assert "shadow_pilot by dana: v4 beats v3 on replay [signed: approved by Dana (dana) on " in (
        first)

    refused = run(db, "advance", "pump-bearing", "--shift", "early", "--reason", "eager")
    assert refused.exit_code == 5, refused.output
    assert refused.output.startswith("error: pump-bearing v4 on pump-bearing: the gate of "
                                     "shadow_pilot is not met: ")
    assert "< 7.0 d (min)" in refused.output

    back = run(db, "back", "pump-bearing", "--reason", "wrong version")
    assert back.exit_code == 0, back.output
    assert back.output.strip() == "pump-bearing v4 on pump-bearing: withdrawn"
    again = run(db, "withdraw", "pump-bearing", "--reason", "twice")
    assert again.exit_code == 5
    assert "its last rollout is withdrawn; start one with andon rollout start" in again.output
