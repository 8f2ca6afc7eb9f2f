"""Bad input never shows a user a traceback, and a service never starts on a bad value.

Every command of the tree (``typer.main.get_command(app)``) gets one bad option value, picked
from the option's setting rule or type (a table for the few commands without such an option):
it exits non-zero with one ``error:`` line (or Typer's usage error) on stderr and no
"Traceback" anywhere. Options bound to settings are validated by their callbacks while Typer
parses the command line, so long-running commands (edge, serve, broker, demo, simulate,
connectors) stop before they start anything, and the test stays quick. The commands run
in-process (``CliRunner``: the root group ``AndonGroup`` prints errors, so it sees what a
user sees); a few run as real processes through the ``andon`` entry point.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from andon.cli.app import app
from andon.cli.options import setting_of
from andon.errors import ExitCode
from andon.settings import TABLE, Setting
from cli.commands import REQUIRED, leaves

ANDON = Path(sys.executable).with_name("andon")
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}

#: a value breaking each settings rule (``Check.rule``)
BREAKS = {
    "> 0": "-5", ">= 0": "-5", ">= 1": "0.5", "1-65535": "70000", "0 or 1": "2",
    "mqtt://host:port": "http://localhost:1883", "http://host:port": "ftp://central",
    "mqtt://host:port[,mqtt://host:port...]": "mqtt://127.0.0.1:1883,http://localhost:1883",
    "sqlite:///file or postgresql://...": "nonsense://db",
    "an existing file": "/nonexistent/file.yaml", "no / + # or control characters": "a/b",
    "demo, none or a YAML file": "/nonexistent/scenario.yaml", "not empty": " ",
    "I/N, 1 <= I <= N": "4/3",
    "scheme://host[:port]": "https://hmi.plant.example/inbox",
    "debug | info | warning | error": "loud", "console | json": "xml",
}
#: a value of the wrong type per option type
WRONG_TYPE = {int: "twelve", float: "fast"}
#: commands without an option of either kind: what to give them instead, and the environment
EXPLICIT: dict[str, tuple[list[str], dict[str, str]]] = {
    "spec check": (["/nonexistent/plant.yaml"], {}),
    "spec show": (["/nonexistent/plant.yaml"], {}),
    "settings": ([], {"ANDON_PORT": "eighty"}),
    "registry keygen": (["--name", "../elsewhere"], {}),
    # commands without options: an option they do not have is the bad value
    "db history": (["--until", "0001"], {}),
    "plugins": (["--group", "sinks"], {}),
    "evaluate cmapss": (["/nonexistent", "--subset", "FD9"], {}),
    "broker-passwd": (["passwd-file", "a/b"], {}),  # a user name that cannot be a login
}


def _options(cmd: Any) -> list[Any]:
    return [p for p in cmd.params if p.param_type_name == "option"]


def _bad(path: str) -> tuple[list[str], dict[str, str]]:
    """One bad invocation of the command at ``path``: (arguments, extra environment)."""
    if path in EXPLICIT:
        return EXPLICIT[path]
    cmd = leaves(hidden=True)[path]
    users = {s.name: sum(setting_of(p) is s for c in leaves().values() for p in c.params)
             for s in TABLE}
    checked = [(p, s) for p in _options(cmd) if (s := setting_of(p)) is not None and s.checks]
    if checked:  # the setting fewest commands share: a different rule for most commands
        p, s = min(checked, key=lambda ps: users[ps[1].name])
        return [*REQUIRED.get(path, []), p.opts[0], BREAKS[s.checks[0].rule]], {}
    typed = [p for p in _options(cmd) if p.type_descriptor.annotation in WRONG_TYPE]
    if typed:
        return [*REQUIRED.get(path, []), typed[0].opts[0],
                WRONG_TYPE[typed[0].type_descriptor.annotation]], {}
    raise AssertionError(f"andon {path}: add a bad invocation to EXPLICIT")


def _assert_refused(exit_code: int, stdout: str, stderr: str) -> None:
    assert exit_code != 0, stdout
    assert "Traceback" not in stdout + stderr
    # a deprecated alias (andon recommendations) says so first; the rest is the refusal
    lines = [line for line in stderr.strip().splitlines()
             if not line.startswith("DeprecationWarning: The command")]
    usage = exit_code == ExitCode.USAGE and lines[0].startswith("Usage: andon")
    one_line = len(lines) == 1 and lines[0].startswith("error: ")
    assert usage or one_line, stderr


def _run(args: list[str], env: dict[str, str]) -> Any:
    result = CliRunner().invoke(app, args, env={**ENV, **env})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}")
    return result


@pytest.mark.parametrize("path", sorted(leaves(hidden=True)))
def test_every_command_refuses_a_bad_value_in_one_line(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # whatever a command might create stays here
    args, env = _bad(path)
    result = _run([*path.split(), *args], env)
    _assert_refused(result.exit_code, result.stdout, result.stderr)
    assert not (tmp_path / "andon-data").exists(), "refused before opening anything"


def _checked_options() -> list[tuple[str, Any, Setting[Any]]]:
    return [(path, p, s) for path, cmd in sorted(leaves().items()) for p in _options(cmd)
            if (s := setting_of(p)) is not None and s.checks]


@pytest.mark.parametrize(("path", "param", "setting"), _checked_options(),
                         ids=[f"{p}:{o.opts[0]}" for p, o, _ in _checked_options()])
def test_every_checked_option_names_flag_value_and_setting(
    path: str, param: Any, setting: Setting[Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = BREAKS[setting.checks[0].rule]
    result = _run([*path.split(), *REQUIRED.get(path, []), param.opts[0], bad], {})
    assert result.exit_code == ExitCode.USAGE
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {param.opts[0]} "), line
    assert line.endswith(f"(setting {setting.name}, env {setting.env})"), line


def _typed_options() -> list[tuple[str, Any]]:
    return [(path, p) for path, cmd in sorted(leaves().items()) for p in _options(cmd)
            if setting_of(p) is None and p.type_descriptor.annotation in WRONG_TYPE]


@pytest.mark.parametrize(("path", "param"), _typed_options(),
                         ids=[f"{p}:{o.opts[0]}" for p, o in _typed_options()])
def test_every_number_option_refuses_text_with_a_usage_error(path: str, param: Any) -> None:
    result = _run([*path.split(), *REQUIRED.get(path, []), param.opts[0],
                   WRONG_TYPE[param.type_descriptor.annotation]], {})
    assert result.exit_code == ExitCode.USAGE
    assert "Usage: andon" in result.stderr
    assert param.opts[0] in result.stderr


def _bad_variables() -> list[tuple[Setting[Any], str, str]]:
    """(setting, a command using it, a bad value) for each setting a value can be bad for."""
    unparsable = {"integer": "twelve", "number": "fast", "boolean": "maybe"}
    out = []
    for s in TABLE:
        bad = BREAKS[s.checks[0].rule] if s.checks else unparsable.get(s.kind.name)
        users = [path for path, cmd in sorted(leaves().items())
                 if any(setting_of(p) is s for p in cmd.params)] or [
                     "settings"]  # an option of every command (andon --mqtt-ca): the simplest
        if bad is not None:
            out.append((s, users[0], bad))
    return out


@pytest.mark.parametrize(("setting", "path", "bad"), _bad_variables(),
                         ids=[s.env for s, _, _ in _bad_variables()])
def test_a_bad_variable_stops_a_command_naming_it(setting: Setting[Any], path: str, bad: str,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run([*path.split(), *REQUIRED.get(path, [])], {setting.env: bad})
    assert result.exit_code == ExitCode.USAGE
    (line,) = result.stderr.splitlines()
    shown = "***" if setting.secret else bad.strip() or "' '"
    assert line.startswith(f"error: {setting.env}={shown}"), line
    assert f"(setting {setting.name}, flag {setting.cli_flag})" in line


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["edge", "--broker", "http://localhost:1883"], {},
     ("error: --broker http://localhost:1883: expected mqtt://host:port (setting broker, env "
      "ANDON_BROKER)")),
    (["serve", "--port", "99999"], {},
     "error: --port 99999: must be a TCP port, 1 to 65535 (setting port, env ANDON_PORT)"),
    (["edge"], {"ANDON_HEARTBEAT": "-1"},
     "error: ANDON_HEARTBEAT=-1: must be greater than 0 (setting heartbeat, flag --heartbeat)"),
    (["demo", "--data-dir", "/proc/andon-demo"], {},
     "error: /proc/andon-demo: No such file or directory"),
    (["spec", "check", "/nonexistent/plant.yaml"], {},
     "error: /nonexistent/plant.yaml: file not found"),
], ids=["edge-broker-url", "serve-port", "edge-heartbeat-env", "demo-data-dir", "spec-file"])
def test_the_entry_point_itself_prints_one_line(args: list[str], env: dict[str, str],
                                                expected: str, tmp_path: Path) -> None:
    out = subprocess.run(  # noqa: S603 - our own CLI
        [str(ANDON), *args], capture_output=True, text=True, timeout=120, check=False,
        cwd=tmp_path, env={**ENV, "PATH": "/usr/bin:/bin", **env},
    )
    _assert_refused(out.returncode, out.stdout, out.stderr)
    assert out.stderr.strip() == expected
