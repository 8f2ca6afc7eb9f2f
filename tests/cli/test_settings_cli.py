"""Every ``ANDON_*`` variable changes what each command using its setting sees; a flag wins.

"What the command sees" is the value its function is called with: the parameters of the
command's context once Typer has parsed (and our callbacks resolved) an invocation, without
running the command. One command per setting also runs for real, in-process and as a process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from andon.cli.app import app
from andon.cli.options import needs_value, setting_of
from andon.settings import TABLE, Setting
from cli.commands import REQUIRED, leaves
from test_settings import example


def uses() -> list[tuple[str, str, Setting[Any]]]:
    """(command, parameter name, setting) for every option bound to a setting."""
    return [(path, p.name, s) for path, cmd in sorted(leaves().items()) for p in cmd.params
            if (s := setting_of(p)) is not None]


def seen(path: str, args: list[str] | None = None, *, drop: str = "") -> dict[str, Any]:
    """The parameters the command at ``path`` would be called with for ``args``, after its
    ``REQUIRED`` ones (less the ``drop`` flag and its value)."""
    base = REQUIRED.get(path, [])
    if drop in base:
        at = base.index(drop)
        base = base[:at] + base[at + 2:]
    # --create: a --db that does not exist is accepted (parsing it creates nothing)
    create = ["--create"] if any("--create" in p.opts for p in leaves()[path].params) else []
    ctx = leaves()[path].make_context(f"andon {path}", [*base, *(args or []), *create])
    return dict(ctx.params)


@pytest.mark.parametrize(("path", "name", "setting"), uses(),
                         ids=[f"{p}:{s.name}" for p, _, s in uses()])
def test_the_variable_changes_what_the_command_sees(
    path: str, name: str, setting: Setting[Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text, value = example(setting, tmp_path)
    flag = setting.cli_flag
    if not any(needs_value(p) for p in leaves()[path].params if setting_of(p) is setting):
        assert not _same(seen(path, drop=flag)[name], value)
    monkeypatch.setenv(setting.env, text)
    assert _same(seen(path, drop=flag)[name], value)


def test_options_take_default_and_help_from_the_table() -> None:
    for path, name, setting in uses():
        (param,) = [p for p in leaves()[path].params if p.name == name]
        # the table's default, or None where the command makes the setting optional
        assert param.default in (setting.default, None), f"andon {path} {param.opts[0]}"
        assert (param.help or "").startswith(setting.help), f"andon {path} {param.opts[0]}"
        assert param.help.endswith(f"Env: {setting.env}.")
        assert param.opts[0] == setting.cli_flag


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, list):
        return list(got or []) == want
    return bool(got == want)


def test_a_flag_wins_over_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDON_HEARTBEAT", "2.5")
    assert seen("edge")["heartbeat"] == 2.5
    assert seen("edge", ["--heartbeat", "4"])["heartbeat"] == 4.0
    monkeypatch.setenv("ANDON_RECORD", "no")
    assert seen("edge")["record"] is False
    assert seen("edge", ["--record"])["record"] is True


def test_a_variable_reaches_a_command_that_runs(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "elsewhere" / "andon.db"
    result = CliRunner().invoke(app, ["interventions", "list", "--create"],
                                env={"ANDON_DB": f"sqlite:///{db}", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert db.is_file(), "the command opened the store ANDON_DB names"
    assert not (tmp_path / "andon-data").exists(), "not the default one"


def test_andon_settings_shows_where_values_come_from_and_never_a_secret() -> None:
    out = subprocess.run(  # noqa: S603 - our own CLI
        [str(Path(sys.executable).with_name("andon")), "settings"], capture_output=True,
        text=True, timeout=120, check=False,
        env={"COLUMNS": "250", "NO_COLOR": "1", "PATH": "/usr/bin:/bin",
             "ANDON_TOKEN": "s3cret-token", "ANDON_HEARTBEAT": "3",
             "ANDON_DB": "postgresql://ana:pa55@db.example/andon"},
    )
    assert out.returncode == 0, out.stderr
    assert "s3cret" not in out.stdout
    assert "pa55" not in out.stdout
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in out.stdout.splitlines() if line.count("│") > 4}
    assert rows["token"] == ["***", "env"]
    assert rows["heartbeat"] == ["3.0", "env"]
    assert rows["db"] == ["postgresql://ana:***@db.example/andon", "env"]
    assert rows["port"] == ["8080", "default"]
    assert set(rows) == {s.name for s in TABLE}
