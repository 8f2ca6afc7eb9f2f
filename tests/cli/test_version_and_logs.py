"""``andon --version`` answers at once; ``--log-level`` / ``--log-format`` hold for every command.

The version runs as a real process through the console script and as ``python -m andon``,
and is checked not to import the commands' heavy dependencies. The log pipeline
(``andon.cli.logs``) is checked in process for Andon's own loggers and the standard library's
(a library's lines go through it; a real ``andon serve`` is ``test_serve_operations.py``),
with secrets in fields and URLs; the options reach it
through the root group of the real command line.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from andon import __version__
from andon.cli.app import app
from andon.cli.logs import configure_logging

ANDON = Path(sys.executable).with_name("andon")
#: what the commands import and ``--version`` must not (``andon.cli.app`` is all of them)
HEAVY = ("typer", "fastapi", "sqlalchemy", "sklearn", "numpy", "structlog", "pydantic")


def test_version_prints_the_package_version_through_the_console_script() -> None:
    done = subprocess.run([ANDON, "--version"], capture_output=True, text=True,  # noqa: S603
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"andon {__version__}\n"
    assert done.stderr == ""


def test_version_imports_none_of_the_commands_dependencies() -> None:
    probe = ("import sys; sys.argv = ['andon', '--version']; from andon.cli import main; "
             f"main(); print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} "
             "or m == 'andon.cli.app'))")
    done = subprocess.run([sys.executable, "-c", probe],  # noqa: S603 - our own probe
                          capture_output=True, text=True, timeout=60, check=True)
    printed, imported = done.stdout.splitlines()
    assert printed == f"andon {__version__}"
    assert imported == "[]", f"--version imported {imported}"


def test_version_is_an_option_of_the_root_group_too() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"andon {__version__}\n"
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    for flag in ("--version", "--log-level", "--log-format"):
        assert flag in help_text


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_json_lines_carry_level_logger_time_and_fields_with_secrets_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "json")
    log = structlog.get_logger("andon.services.central")
    log.info("central ingest subscribed", url="mqtt://edge:s3cret@broker:8883", token="abc",
             mqtt_password="hunter2", n=3)
    log.debug("not shown at info")
    # a library's logger (stdlib logging) that no other test quietens
    logging.getLogger("plc_gateway.driver").warning("port %d in use", 4840)
    logging.getLogger("amqtt.broker").info("a library's chatter, not shown at info")
    out, err = capsys.readouterr()
    assert out == ""  # standard output stays the command's
    first, second = _lines(err)
    assert first["event"] == "central ingest subscribed"
    assert first["level"] == "info"
    assert first["logger"] == "andon.services.central"
    assert str(first["timestamp"]).endswith("Z")
    assert first["url"] == "mqtt://edge:***@broker:8883"
    assert first["token"] == "***"
    assert first["mqtt_password"] == "***"
    assert first["n"] == 3
    assert second == {"event": "port 4840 in use", "level": "warning",
                      "logger": "plc_gateway.driver", "timestamp": second["timestamp"]}
    assert "s3cret" not in err
    assert "hunter2" not in err


def test_debug_shows_andon_and_library_lines_and_console_is_for_people(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("debug", "console")
    structlog.get_logger("andon.edge").debug("window scored", asset="p-101")
    logging.getLogger("amqtt.broker").info("client connected")
    configure_logging("error", "console")  # replaces the handler, never adds a second
    structlog.get_logger("andon.edge").warning("not shown at error")
    logging.getLogger("amqtt.broker").warning("not shown at error either")
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert "[debug" in lines[0]
    assert "window scored" in lines[0]
    assert "asset=p-101" in lines[0]
    assert "andon.edge" in lines[0]
    assert "client connected" in lines[1]
    assert "amqtt.broker" in lines[1]


def test_an_exception_is_one_json_object_with_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "json")
    try:
        int("the bad value")
    except ValueError:
        structlog.get_logger("andon.edge").exception("message handling failed", topic="t")
    (line,) = _lines(capsys.readouterr().err)
    assert line["event"] == "message handling failed"
    assert line["level"] == "error"
    assert "ValueError: invalid literal for int()" in str(line["exception"])


def test_the_root_options_configure_logging_before_the_command_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    result = CliRunner().invoke(app, ["--log-format", "json", "--log-level", "warning",
                                      "db", "current", "--db", db, "--create"])
    assert result.exit_code == 0, result.output
    structlog.get_logger("andon.test").warning("after the command")
    (line,) = _lines(capsys.readouterr().err)
    assert line["event"] == "after the command"
    assert line["logger"] == "andon.test"


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["--log-level", "loud"], {}, ("error: --log-level loud: must be one of debug, info, "
                                    "warning, error (setting log_level, env ANDON_LOG_LEVEL)")),
    ([], {"ANDON_LOG_FORMAT": "xml"}, ("error: ANDON_LOG_FORMAT=xml: must be one of console, "
                                       "json (setting log_format, flag --log-format)")),
])
def test_a_bad_log_option_is_one_line_before_anything_starts(
    args: list[str], env: dict[str, str], expected: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*args, "serve"], env=env)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [expected]
    assert not (tmp_path / "andon-data").exists()
