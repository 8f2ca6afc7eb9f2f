"""``andon registry``: keygen, register, list, show, promote, archive as a user runs them."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.cli.app import app
from andon.errors import ExitCode
from andon.store import open_store
from andon.testing.factories import add_user, save_version, small_model
from cli.test_cli import andon

if TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result


PASSWORD = "correct horse battery staple"


def run(*args: str) -> Result:
    """Run a command in-process (fast); ``andon`` runs it as a user would, in a process."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1",
                                                    "ANDON_PASSWORD": PASSWORD})


def refusal(result: Result) -> str:
    """The one line an Andon error prints (``error: <reason>``), checking its exit code."""
    assert result.exit_code not in {0, ExitCode.ERROR, ExitCode.USAGE}, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: "), result.output
    return line.removeprefix("error: ")


def test_registry_commands_from_key_to_production(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    with open_store(db) as store:
        add_user(store, "ana", access="engineer", password=PASSWORD)
    models, keys = tmp_path / "models", tmp_path / "keys"
    save_version(small_model(), models)
    save_version(small_model(), models)

    out = run("registry", "keygen", "--dir", str(keys), "--name", "plant", "--trust")
    assert out.exit_code == 0, out.output
    assert (keys / "trusted" / "plant.pub").is_file()
    assert stat.S_IMODE((keys / "plant.key").stat().st_mode) == 0o600
    again = run("registry", "keygen", "--dir", str(keys), "--name", "plant")
    assert refusal(again) == f"{keys / 'plant.key'}: already exists; refusing to overwrite a key"

    common = ["--db", db]
    for v in ("1", "2"):
        out = run("registry", "register", "pump-bearing", v, "--key", str(keys / "plant.key"),
                  "--models-dir", str(models), "--user", "ana", *common)
        assert out.exit_code == 0, out.output
        assert f"registered pump-bearing v{v}: stage candidate, signed by ana" in out.output

    unreasoned = run("registry", "promote", "pump-bearing", "1", "--reason", " ", *common)
    assert refusal(unreasoned) == "say why you promote this version (a reason is required)"
    for v in ("1", "2"):  # verified against keys/trusted (MODELS_DIR/../keys/trusted)
        out = run("registry", "promote", "pump-bearing", v, "--reason", "better", "--user",
                  "ana", "--models-dir", str(models), *common)
        assert out.exit_code == 0, out.output
        assert "signed: approved by Ana (ana) on " in out.output  # who approved, shown
    listed = run("registry", "list", *common)
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.output.splitlines() if "pump-bearing" in line]
    assert len(rows) == 2
    assert "archived" in rows[0]
    assert "production" in rows[1]

    illegal = andon("registry", "promote", "pump-bearing", "1", "--reason", "back",
                    "--models-dir", str(models), *common)
    assert illegal.returncode == 5  # ExitCode.REFUSED (StageError)
    assert illegal.stderr.strip() == (
        "error: pump-bearing v1: cannot move from archived to production "
        "(requalify it as a candidate first)")
    archived = run("registry", "archive", "pump-bearing", "2", "--reason", "withdrawn", *common)
    assert archived.exit_code == 0, archived.output
    shown = run("registry", "show", "pump-bearing", "2", *common)
    assert shown.exit_code == 0, shown.output
    assert "archived" in shown.output
    assert "training window" in shown.output
    for step in ("requalify", "promote"):  # a rollback to v1
        where = ["--models-dir", str(models)] if step == "promote" else []
        out = run("registry", step, "pump-bearing", "1", "--reason", "roll back", *where,
                  *common)
        assert out.exit_code == 0, out.output
    assert "promoted pump-bearing v1: stage production" in out.output


def test_registry_help_lists_every_command() -> None:
    out = andon("registry", "--help")
    assert out.returncode == 0
    for command in ("keygen", "register", "list", "show", "promote", "archive", "requalify"):
        assert command in out.stdout
    edge = andon("edge", "--help")
    assert "--trusted-keys" in edge.stdout
