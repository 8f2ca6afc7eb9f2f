"""Wall time of ``andon --help`` and of every command's ``--help``, against bare baselines.

Run from the repository root::

    .venv/bin/python benchmarks/cli_help.py                 # every command, 5 runs each
    .venv/bin/python benchmarks/cli_help.py --runs 9 --top 15

What it does: walks the whole ``andon`` command tree (every group, every command, the
connectors included), then runs ``andon [PATH ...] --help`` for each in a fresh process
(``python -m andon``, output discarded), ``--runs`` rounds, each round the baselines then
every command (a busy machine slows both alike), and reports the median wall time of each.
The baselines, measured in the same run: ``python -c pass`` (the interpreter's start)
and a minimal Typer app with rich help (one group option, two commands: ``typer_app
--help`` and ``typer_app sub --help``), the least any Typer command line pays. The
requirement (issue 15) is every ``--help`` under 0.5 s on an idle machine; the ratios say what
Andon adds over bare Typer.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

REQUIREMENT_S = 0.5

#: the baseline: a minimal Typer app with rich help, an option of its group and two commands
TYPER_APP = '''
from pathlib import Path
from typing import Annotated
import typer
app = typer.Typer(rich_markup_mode="rich", add_completion=False)
@app.callback()
def root(level: Annotated[str, typer.Option(help="A level.")] = "info",
         ca: Annotated[Path | None, typer.Option(help="A file.")] = None) -> None:
    """A minimal command line."""
@app.command()
def sub(db: Annotated[str, typer.Option(help="A store.")] = "x",
        spec: Annotated[Path, typer.Option(help="A file.")] = Path("x")) -> None:
    """One command."""
@app.command()
def other(n: int = 1) -> None:
    """Another."""
app()
'''


def _paths() -> list[list[str]]:
    """Every command path of ``andon`` (``[]`` is ``andon`` itself), hidden ones left out."""
    import typer.main  # noqa: PLC0415

    from andon.cli.app import app  # noqa: PLC0415

    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        found.append(path)
        if getattr(cmd, "commands", None) is None:
            return
        ctx = cmd.context_class(cmd, info_name=path[-1] if path else "andon")  # type: ignore[attr-defined]
        for name in cmd.list_commands(ctx):  # type: ignore[attr-defined]
            sub = cmd.get_command(ctx, name)  # type: ignore[attr-defined]
            if not getattr(sub, "hidden", False):
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _time(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU: user + system) seconds of one run of ``argv`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,  # noqa: S603
                   cwd=ROOT, env={**os.environ, "COLUMNS": "100"})
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    parser.add_argument("--top", type=int, default=10, help="slowest commands listed")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        typer_app = Path(tmp) / "typer_app.py"
        typer_app.write_text(TYPER_APP, encoding="utf-8")
        baselines = {"python -c pass": [py, "-c", "pass"],
                     "typer_app --help": [py, str(typer_app), "--help"],
                     "typer_app sub --help": [py, str(typer_app), "sub", "--help"]}
        commands = {" ".join(["andon", *p, "--help"]): [py, "-m", "andon", *p, "--help"]
                    for p in _paths()}
        walls: dict[str, list[float]] = {name: [] for name in [*baselines, *commands]}
        cpus: dict[str, list[float]] = {name: [] for name in walls}
        for _ in range(args.runs):
            for name, argv in [*baselines.items(), *commands.items()]:
                wall, cpu = _time(argv)
                walls[name].append(wall)
                cpus[name].append(cpu)
    median = {name: statistics.median(t) for name, t in walls.items()}
    cpu_median = {name: statistics.median(t) for name, t in cpus.items()}
    load = os.getloadavg()
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {len(commands)} commands, median of "
          f"{args.runs} runs each (fresh process; CPU = user + system)\n")
    print("| run | wall (s) | x typer_app sub --help | CPU (s) | x typer_app sub --help |\n"
          "|---|---:|---:|---:|---:|")

    def row(label: str, wall: float, cpu: float) -> None:
        print(f"| {label} | {wall:.3f} | {wall / median['typer_app sub --help']:.2f} | "
              f"{cpu:.3f} | {cpu / cpu_median['typer_app sub --help']:.2f} |")

    for name in baselines:
        row(f"baseline: `{name}`", median[name], cpu_median[name])
    row("`andon --help`", median["andon --help"], cpu_median["andon --help"])
    andon = {name: median[name] for name in commands}
    andon_cpu = sorted(cpu_median[name] for name in commands)
    values = sorted(andon.values())
    row("every `andon ... --help`: median", statistics.median(values),
        statistics.median(andon_cpu))
    row("every `andon ... --help`: slowest", values[-1], andon_cpu[-1])
    print(f"\nslowest {args.top} (wall, CPU):")
    for name, t in sorted(andon.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {t:.3f} s  {cpu_median[name]:.3f} s  {name}")
    over = [name for name, t in andon.items() if t >= REQUIREMENT_S]
    print(f"\nrequirement (every --help under {REQUIREMENT_S} s): "
          + ("met" if not over else f"NOT met by {len(over)}: {', '.join(sorted(over))}"))
    return 0 if not over else 1


if __name__ == "__main__":
    sys.exit(main())
