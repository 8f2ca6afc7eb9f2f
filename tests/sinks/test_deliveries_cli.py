"""``andon deliveries list``: every attempt with its result; ``--failed`` for the failures."""

from __future__ import annotations

from datetime import timedelta

from typer.testing import CliRunner

from andon.cli.app import app
from andon.store import open_store
from andon.store.base import Delivery
from andon.testing.factories import T0


def test_lists_attempts_newest_first_and_filters_failures(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.record_deliveries([
            Delivery("webhook:ops", "rec-1", "k1", 1, "d1", 1, T0, ok=False, http_status=500,
                     error="HTTP 500: boom"),
            Delivery("webhook:ops", "rec-1", "k1", 1, "d1", 2, T0 + timedelta(seconds=1),
                     ok=True, http_status=200),
            Delivery("cmms:atlas", "rec-1", "k1", 1, "d1", 1, T0, ok=True, http_status=201,
                     external_id="WO-7"),
        ])
    env = {"COLUMNS": "250", "NO_COLOR": "1"}
    everything = CliRunner().invoke(app, ["deliveries", "list", "--db", sqlite_url], env=env)
    assert everything.exit_code == 0, everything.output
    assert "3 attempt(s)" in everything.output
    assert "WO-7" in everything.output
    failed = CliRunner().invoke(app, ["deliveries", "list", "--failed", "--db", sqlite_url],
                                env=env)
    assert failed.exit_code == 0, failed.output
    assert "1 attempt(s)" in failed.output
    assert "500 failed: HTTP 500: boom" in failed.output
