"""The command line as a user meets it: help texts, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from andon.store import open_store

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-plant.yaml"
COMMANDS = ["demo", "simulate", "edge", "train", "serve", "broker", "spec", "users",
            "interventions"]


def andon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", *args], capture_output=True, text=True, timeout=120,
        env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}, check=False,
    )


def test_help_lists_every_command() -> None:
    out = andon("--help")
    assert out.returncode == 0
    for command in COMMANDS:
        assert command in out.stdout


@pytest.mark.parametrize("command", ["demo", "simulate", "edge", "train", "serve", "broker"])
def test_each_command_has_a_help_text(command: str) -> None:
    out = andon(command, "--help")
    assert out.returncode == 0
    assert f"Usage: andon {command}" in out.stdout
    assert "--help" in out.stdout


def test_spec_check_accepts_the_demo_plant() -> None:
    out = andon("spec", "check", str(DEMO))
    assert out.returncode == 0
    assert "2 sites, 4 lines, 14 assets, 70 tags" in out.stdout


def test_spec_check_prints_one_line_per_problem_and_exits_3(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8")
    broken = text.replace('unit: "degC"', 'unit: "bar"', 1).replace("horizon: 24h", "horizon: soon")
    path = tmp_path / "plant.yaml"
    path.write_text(broken, encoding="utf-8")
    out = andon("spec", "check", str(path))
    assert out.returncode == 3  # ExitCode.BAD_INPUT
    lines = out.stderr.strip().splitlines()
    unit_line = next(i for i, t in enumerate(broken.splitlines(), 1) if 'unit: "bar"' in t
                     and "bearing_temp" in t)
    assert lines[0] == (
        f"error: plant.yaml:{unit_line} sites[0].areas[0].lines[0].assets[0].tags[4].unit: "
        "'bar' is not a temperature unit (it is a pressure unit; use e.g. degC)"
    )
    assert len(lines) == 2
    assert "use_cases[0].horizon" in lines[1]
    assert "'soon' is not a duration" in lines[1]


def test_missing_spec_file_is_one_line() -> None:
    out = andon("spec", "check", "/nonexistent/plant.yaml")
    assert out.returncode == 3
    assert out.stderr.strip() == "error: /nonexistent/plant.yaml: file not found"


def test_train_without_recorded_data_says_what_to_do(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    open_store(db).close()
    out = andon("train", "--use-case", "pump-bearing", "--from", "2026-01-01T00:00",
                "--to", "2026-01-02T00:00", "--spec", str(DEMO), "--db", db,
                "--models-dir", str(tmp_path / "models"))
    assert out.returncode == 5  # ExitCode.REFUSED (TrainingError)
    assert "no recorded samples for p-101, p-102, p-301, p-302" in out.stderr
    assert "run the edge with recording on first" in out.stderr
