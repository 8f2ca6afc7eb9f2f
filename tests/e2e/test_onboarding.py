"""docs/onboarding.md, run as written: an empty directory to the first intervention.

The guide's files (``<!-- file: NAME -->`` before a code block) are written into an empty
directory and its ``sh`` blocks run in order, each line a command exactly as a reader types it
(in-process, through the CLI's root group, so options, defaults and errors are the real ones).
A stale guide (a renamed option, a spec the loader refuses, a fault that no longer raises an
intervention) fails here. The plant is not the demo's: fans and a kiln zone, kinds the
simulator has no physics for.
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from andon.cli.app import app
from andon.store import open_store

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "onboarding.md"
_FILE = re.compile(r"<!-- file: (?P<name>[\w.-]+) -->\n```\w*\n(?P<body>.*?)```", re.DOTALL)
_SH = re.compile(r"```sh\n(?P<body>.*?)```", re.DOTALL)


def guide_files(text: str) -> dict[str, str]:
    """The files the guide asks the reader to save: name -> content."""
    return {m["name"]: m["body"] for m in _FILE.finditer(text)}


def guide_commands(text: str) -> list[list[str]]:
    """Every command of the guide's ``sh`` blocks, in order, as argument lists (no ``andon``)."""
    out = []
    for block in _SH.finditer(text):
        for line in block["body"].splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                words = shlex.split(line)
                assert words[0] == "andon", f"the guide's sh blocks hold andon commands: {line}"
                out.append(words[1:])
    return out


def test_the_guide_takes_a_new_plant_to_its_first_intervention(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    files = guide_files(text)
    assert set(files) == {"plant.yaml", "faults.yaml"}
    commands = guide_commands(text)
    steps = [" ".join(c[:2]) for c in commands]
    assert steps == ["spec check", "simulate --spec", "train --spec", "registry keygen",
                     "registry register", "registry promote", "simulate --spec",
                     "interventions list"]
    monkeypatch.chdir(tmp_path)
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    for name in ("ANDON_DB", "ANDON_MODELS_DIR", "ANDON_KEYS_DIR", "ANDON_SPEC",
                 "ANDON_TRUSTED_KEYS", "ANDON_USER"):
        monkeypatch.delenv(name, raising=False)
    outputs = []
    for args in commands:
        result = CliRunner().invoke(app, args, env={"COLUMNS": "250", "NO_COLOR": "1"})
        assert result.exit_code == 0, f"andon {shlex.join(args)}:\n{result.output}"
        outputs.append(result.output)

    history = outputs[1]
    assert "0 quarantined, 0 flagged" in history, history
    with open_store("sqlite:///andon-data/andon.db") as store:
        raised = store.list_interventions(open_only=False)
        assert not store.quarantined()
    assert [iv.asset for iv in raised] == ["fan-2"], [(iv.asset, iv.detected_at) for iv in raised]
    (first,) = raised
    fault_run = commands[6]
    day = datetime.fromisoformat(fault_run[fault_run.index("--since") + 1]).replace(tzinfo=UTC)
    # the drift begins 2 h into the day and is full at 8 h: caught while it grows
    assert day + timedelta(hours=2) < first.detected_at < day + timedelta(hours=8)
    assert first.owner_role == "maintenance"
    assert "Induced-draft fan F-2" in outputs[-1]
    assert "F-1" not in outputs[-1]
