"""The CLI answers fast and consistently (issue 15, item 7).

- ``--help`` (``andon`` and every command under it) imports none of the heavy libraries: the
  groups are built when used (``andon.cli.group``), the commands import what they run inside
  their bodies. A test of imports, not of time: the times are ``benchmarks/cli_help.py``'s.
- One set of option names: the old spellings still work, hidden, with a warning; every time
  option takes a duration back from now or an ISO time.
- Ids wherever a later command takes them; answering interventions from the CLI.
- ``--db`` naming a SQLite file that is not there is refused unless ``--create``.
- One-line errors for what cannot be reached; a replay of nothing usable fails.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import pytest
from typer.testing import CliRunner

from andon.cli.app import app
from andon.cli.drift import PSI_LIMIT
from andon.cli.group import LAZY_GROUPS, canonical_args
from andon.cli.interventions import Found
from andon.cli.options import parse_duration, parse_time, parse_version, sqlite_file
from andon.cli.replay import _refuse_if_nothing_usable
from andon.cli.triage import Status, Verdict
from andon.drift import status
from andon.errors import HistorianError
from andon.interventions.record import OutcomeLabel
from andon.interventions.triage import TriageStatus, TriageVerdict
from andon.services.replay import ReplaySummary
from andon.store import open_store

if TYPE_CHECKING:
    from andon.interventions import Intervention
    from andon.store import SqlStore

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-plant.yaml"

#: what ``--help`` must never import (top-level package names)
HEAVY = ("sklearn", "numpy", "pandas", "scipy", "pyarrow", "sqlalchemy", "alembic", "psycopg",
         "fastapi", "starlette", "uvicorn", "gmqtt", "amqtt", "asyncua", "onnx", "onnxruntime",
         "skops", "matplotlib", "pint", "structlog", "yaml", "ruamel", "cryptography", "jinja2")

#: run in a fresh interpreter: every ``--help`` (the whole tree walked), then the modules loaded
_EVERY_HELP = """
import json, sys
import typer.main
from andon.cli.app import app

def walk(cmd, path):
    yield path
    if getattr(cmd, "commands", None) is None:
        return
    ctx = cmd.context_class(cmd, info_name=path[-1] if path else "andon")
    for name in cmd.list_commands(ctx):
        yield from walk(cmd.get_command(ctx, name), [*path, name])

paths = list(walk(typer.main.get_command(app), []))
for path in paths:
    try:
        typer.main.get_command(app).main([*path, "--help"], prog_name="andon",
                                         standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps({"paths": len(paths), "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _loaded(code: str, *args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,  # noqa: S603
                          text=True, timeout=120, check=True, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "100"})
    found = json.loads(done.stderr.strip().splitlines()[-1])
    assert isinstance(found, dict)
    return found


def _heavy(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HEAVY})


def test_andon_help_imports_no_heavy_module_nor_the_groups() -> None:
    """``andon --help`` lists every group without building it (nor importing pydantic)."""
    found = _loaded("import json, sys, runpy\nsys.argv = ['andon', '--help']\n"
                    "try:\n    runpy.run_module('andon', run_name='__main__')\n"
                    "except SystemExit:\n    pass\n"
                    "print(json.dumps({'modules': sorted(sys.modules)}), file=sys.stderr)")
    assert _heavy(found["modules"]) == []
    assert "pydantic" not in found["modules"]  # not even Typer's coercion: no option parsed


def test_every_help_of_the_tree_imports_no_heavy_module() -> None:
    """``andon GROUP [COMMAND] --help``, for every command: no heavy library, no structlog."""
    found = _loaded(_EVERY_HELP)
    assert isinstance(found["paths"], int)
    assert found["paths"] > 80  # the whole tree, connectors included
    assert _heavy(found["modules"]) == []


def test_lazy_groups_are_listed_and_built_when_asked_for() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = {line.split()[1] for line in result.output.splitlines()
              if line.startswith("│ ") and len(line.split()) > 2}
    visible = {name for name, g in LAZY_GROUPS.items() if not g.hidden}
    assert visible <= listed
    shown = CliRunner().invoke(app, ["dq", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "report" in shown.output  # the group's commands, built on demand
    typo = CliRunner().invoke(app, ["regsitry"])
    assert typo.exit_code == 2
    assert "registry" in typo.output  # suggested, though not built


def test_values_spelled_in_the_cli_match_the_domain() -> None:
    """Literals the CLI spells to keep ``--help`` light are the domain's own values."""
    assert get_args(Status) == tuple(s.value for s in TriageStatus)
    assert get_args(Verdict) == tuple(v.value for v in TriageVerdict)
    assert get_args(Found) == tuple(o.value for o in OutcomeLabel)
    assert status.PSI_LIMIT == PSI_LIMIT


# -- one set of option names --------------------------------------------------------------
def test_old_spellings_become_the_canonical_ones_only_where_they_exist() -> None:
    class Param:
        def __init__(self, *opts: str) -> None:
            self.opts, self.secondary_opts = opts, ()

    class Cmd:
        params = (Param("--since"), Param("--until"), Param("--models-dir"), Param("--to-do"))

    assert canonical_args(Cmd(), ["--from", "a", "--to=b", "--models", "m", "--", "--from"]) == [
        "--since", "a", "--until=b", "--models-dir", "m", "--", "--from"]
    Cmd.params = (Param("--from"),)
    assert canonical_args(Cmd(), ["--from", "a", "--models", "m"]) == [
        "--from", "a", "--models", "m"]  # its own --from; no --models-dir to map to


def test_train_takes_since_until_and_still_the_old_from_to(store: SqlStore,
                                                            sqlite_url: str) -> None:
    del store  # the database exists
    for args in (["--since", "2026-01-01", "--until", "2026-01-02"],
                 ["--from", "2026-01-01", "--to", "2026-01-02"]):
        result = CliRunner().invoke(app, ["train", "--use-case", "no-such", *args, "--spec",
                                          str(DEMO), "--db", sqlite_url])
        assert "No such option" not in result.output
        assert "no-such" in result.output  # got as far as the use case
        assert ("deprecated, use --since" in result.stderr) == (args[0] == "--from")
    help_text = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    assert "--since" in help_text
    assert "--from" not in help_text  # hidden


def test_time_options_take_durations_and_iso_times() -> None:
    now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert parse_time("24h", "--since", now=now) == now - timedelta(hours=24)
    assert parse_time("7d", "--since", now=now) == now - timedelta(days=7)
    assert parse_time("30min", "--since", now=now) == now - timedelta(minutes=30)
    assert parse_time("1.5 hours", "--since", now=now) == now - timedelta(hours=1.5)
    assert parse_time("2026-03-01T06:00", "--since") == datetime(2026, 3, 1, 6, tzinfo=UTC)
    assert parse_time("2026-03-01T07:00+01:00", "--since") == datetime(2026, 3, 1, 6,
                                                                       tzinfo=UTC)
    assert parse_duration("yesterday") is None
    with pytest.raises(Exception, match="neither an ISO 8601 time nor a duration"):
        parse_time("soon", "--since")


def test_every_since_option_takes_a_duration(store: SqlStore, sqlite_url: str) -> None:
    del store
    for args in (["audit", "show", "--since", "24h"], ["labels", "export", "--out",
                                                       os.devnull, "--since", "7d"],
                 ["dq", "report", "--since", "24h"], ["report", "load", "--since", "7d"]):
        result = CliRunner().invoke(app, [*args, "--db", sqlite_url])
        assert result.exit_code == 0, (args, result.output)


# -- ids, and answering from the CLI ------------------------------------------------------
def test_a_version_is_taken_as_the_list_prints_it(store: SqlStore, sqlite_url: str) -> None:
    del store
    assert (parse_version("v2"), parse_version("2")) == (2, 2)
    result = CliRunner().invoke(app, ["registry", "show", "pump-bearing", "v2", "--db",
                                      sqlite_url])
    assert result.exit_code == 4  # not found: accepted as version 2
    assert "Invalid value" not in result.output
    bad = CliRunner().invoke(app, ["registry", "show", "pump-bearing", "x2", "--db",
                                   sqlite_url])
    assert bad.exit_code == 2
    assert "is not a model version" in bad.output


def test_interventions_list_shows_ids_and_the_cli_answers_them(
        iv: Intervention, store: SqlStore, sqlite_url: str) -> None:
    run = CliRunner()
    listed = run.invoke(app, ["interventions", "list", "--db", sqlite_url],
                        env={"COLUMNS": "250"})
    assert listed.exit_code == 0
    assert iv.id in listed.output
    # the predicted failure beside the deadline; reasons in engineering format with sigmas
    assert f"failure {iv.predicted_failure:%m-%d %H:%M} UTC" in listed.output
    assert "σ above healthy" in listed.output
    db = ["--db", sqlite_url, "--spec", str(DEMO)]
    for verb, state in (("ack", "acknowledged"), ("start", "in_progress"), ("done", "done")):
        result = run.invoke(app, ["interventions", verb, iv.id, *db])
        assert result.exit_code == 0, result.output
        assert f"now {state}" in result.output
        assert store.get_intervention(iv.id).state.value == state
    found = run.invoke(app, ["interventions", "outcome", iv.id, "fault_confirmed", "--detail",
                             "dry bearing", *db])
    assert found.exit_code == 0, found.output
    kinds = [str(e.kind) for e in store.events(subject=iv.id)]
    assert kinds.count("transition") >= 2
    assert "outcome" in kinds
    again = run.invoke(app, ["interventions", "dismiss", iv.id, "--reason", "late", *db])
    assert again.exit_code == 5  # the lifecycle's refusal, one line
    assert again.output.startswith("error: ")


def test_dismissing_needs_a_reason_and_shelving_is_bounded(iv: Intervention,
                                                           sqlite_url: str) -> None:
    db = ["--db", sqlite_url, "--spec", str(DEMO)]
    no_reason = CliRunner().invoke(app, ["interventions", "dismiss", iv.id, "--reason", " ",
                                         *db])
    assert no_reason.exit_code == 5
    assert "reason" in no_reason.output
    too_long = CliRunner().invoke(app, ["interventions", "shelve", iv.id, "--reason",
                                        "nuisance", "--for", "48h", *db])
    assert too_long.exit_code == 5
    shelved = CliRunner().invoke(app, ["interventions", "shelve", iv.id, "--reason",
                                       "nuisance", "--for", "4h", *db])
    assert shelved.exit_code == 0, shelved.output
    assert "now shelved" in shelved.output
    unknown = CliRunner().invoke(app, ["interventions", "ack", "iv-nope", *db])
    assert unknown.exit_code == 4


# -- a mistyped database ------------------------------------------------------------------
def test_a_missing_database_is_refused_unless_create(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    url = f"sqlite:///{path}"
    refused = CliRunner().invoke(app, ["interventions", "list", "--db", url])
    assert refused.exit_code == 2
    assert refused.output.count("\n") == 1
    assert f"no database at {path}" in refused.output
    assert "--create" in refused.output
    assert not path.exists()
    from_env = CliRunner().invoke(app, ["users", "list"], env={"ANDON_DB": url})
    assert from_env.exit_code == 2
    assert "ANDON_DB=" in from_env.output
    created = CliRunner().invoke(app, ["interventions", "list", "--db", url, "--create"])
    assert created.exit_code == 0, created.output
    assert path.exists()
    assert sqlite_file("postgresql://andon@db/andon") is None


def test_commands_that_start_a_database_create_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = CliRunner().invoke(app, ["db", "upgrade", "--db", url])
    assert result.exit_code == 0, result.output
    assert "upgraded from empty" in result.output
    help_text = CliRunner().invoke(app, ["db", "upgrade", "--help"], env={"COLUMNS": "200"})
    assert "--create" not in help_text.output  # nothing to ask for


# -- one-line errors, exit codes ----------------------------------------------------------
def test_an_unreachable_postgresql_is_one_line() -> None:
    result = CliRunner().invoke(app, ["db", "current", "--db",
                                      "postgresql://andon@127.0.0.1:1/andon"])
    assert result.exit_code == 7
    assert result.output.startswith("error: cannot open the store postgresql://")
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_an_unreachable_broker_is_one_line() -> None:
    result = CliRunner().invoke(app, ["status", "--broker", "mqtt://127.0.0.1:1"])
    assert result.exit_code == 7
    assert result.output.startswith("error: ")
    assert "127.0.0.1:1" in result.output
    assert result.output.count("\n") == 1


def test_serve_refuses_a_taken_port_before_printing_its_url(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"sqlite:///{tmp_path / 'serve.db'}"
        result = CliRunner().invoke(app, ["serve", "--port", str(port), "--db", url,
                                          "--models-dir", str(tmp_path / "models")])
    assert result.exit_code == 7
    assert "inbox on" not in result.output
    assert result.output.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert not (tmp_path / "serve.db").exists()  # nothing started, nothing stored


def test_spec_show_keeps_units_in_brackets() -> None:
    result = CliRunner().invoke(app, ["spec", "show", str(DEMO)], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert "[mm/s]" in result.output
    assert "[degC]" in result.output


GARBAGE = "time,tag,value\nnot a time,nope,x\nnever,nope,y\n"


def test_a_connector_run_of_nothing_usable_fails(tmp_path: Path, store: SqlStore,
                                                  sqlite_url: str) -> None:
    del store
    export = tmp_path / "garbage.csv"
    export.write_text(GARBAGE, encoding="utf-8")
    result = CliRunner().invoke(app, ["connect", "historian", str(export), "--db", sqlite_url,
                                      "--models-dir", str(tmp_path / "models")])
    assert result.exit_code == 3
    assert f"error: {export}: nothing usable: 2 quarantined (2 undecodable)" in result.output
    assert "export read: 2 rows" in result.output  # the connector's report comes first


def test_nothing_usable_in_a_replay_is_named_in_one_line() -> None:
    rejected = ReplaySummary("x.csv", "pump-bearing", "v1", rows=3, rejected=3)
    rejected.quarantined["malformed"] = 3  # the rejected rows are quarantined too
    with pytest.raises(HistorianError, match=r"x.csv: nothing usable: 3 rows read, 3 rejected"):
        _refuse_if_nothing_usable(rejected)
    quarantined = ReplaySummary("x.csv", "pump-bearing", "v1", rows=2, samples=2)
    quarantined.quarantined["range"] = 2
    with pytest.raises(HistorianError, match="2 of 2 samples quarantined"):
        _refuse_if_nothing_usable(quarantined)
    with pytest.raises(HistorianError, match="0 rows read"):
        _refuse_if_nothing_usable(ReplaySummary("x.csv", "pump-bearing", "v1"))
    partly = ReplaySummary("x.csv", "pump-bearing", "v1", rows=4, samples=2, rejected=2)
    partly.quarantined["malformed"] = 2
    _refuse_if_nothing_usable(partly)  # two samples of four rows: a run


def test_open_store_of_an_existing_database_is_unchanged(sqlite_url: str) -> None:
    with open_store(sqlite_url):
        pass
    result = CliRunner().invoke(app, ["interventions", "list", "--db", sqlite_url])
    assert result.exit_code == 0
    assert "no interventions open" in result.output
