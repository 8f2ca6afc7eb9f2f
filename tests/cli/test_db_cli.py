"""``andon db upgrade | current | history``: a 0.1 file migrated on demand; bad input, one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.cli.app import app
from andon.errors import ExitCode
from andon.store import open_store
from andon.store.migrations import head
from release_0_1 import make_0_1_database

if TYPE_CHECKING:
    from click.testing import Result


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})


def andon(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point (``main``), which turns errors into one line and exit 2."""
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", *args], capture_output=True, text=True, timeout=120,
        env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}, check=False,
    )


def test_upgrade_migrates_a_0_1_file_and_says_from_which_revision(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    make_0_1_database(db)

    current = run("db", "current", "--db", db)
    assert current.exit_code == 0, current.output
    assert current.output.startswith("none (unversioned (release 0.1)")

    first = run("db", "upgrade", "--db", db)
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"upgraded from 0001 (unversioned, release 0.1) to {head()}"
    again = run("db", "upgrade", "--db", db)
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"already at {head()}"
    assert run("db", "current", "--db", db).output.strip() == f"{head()} (head)"

    with open_store(db) as store:
        assert store.get_intervention("rec-51c0").outcome_detail == "outer race spalling"


def test_upgrade_creates_an_empty_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'new' / 'andon.db'}"
    missing = run("db", "current", "--db", db)  # a typo must not start a database
    assert missing.exit_code == 2
    assert "no database at" in missing.output
    assert run("db", "current", "--db", db, "--create").output.startswith("none (empty")
    out = run("db", "upgrade", "--db", db)
    assert out.exit_code == 0, out.output
    assert out.output.strip() == f"upgraded from empty to {head()}"


def test_history_lists_the_revisions_oldest_first() -> None:
    out = run("db", "history")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    first = next(i for i, line in enumerate(lines) if "0001" in line)
    last = next(i for i, line in enumerate(lines) if head() in line)
    assert first < last
    assert "Release 0.1.0" in lines[first]
    assert "(head)" in out.output


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    out = andon("db", "upgrade", "--db", "postgresql://andon:hunter2@127.0.0.1:1/andon")
    assert out.returncode == ExitCode.UNAVAILABLE
    assert out.stdout == ""
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("error: cannot open the store postgresql://andon:***@127.0.0.1:1/andon")
    assert "hunter2" not in out.stderr


def test_a_bad_url_is_one_line() -> None:
    out = andon("db", "current", "--db", "mysql://localhost/andon")
    assert out.returncode == ExitCode.USAGE  # refused as a setting, before anything opens
    assert out.stderr.strip() == (
        "error: --db mysql://localhost/andon: expected sqlite:///path/to/andon.db or "
        "postgresql://user@host:5432/db (setting db, env ANDON_DB)")
