"""The coverage floor only rises: ``fail_under`` in pyproject.toml is never lower than on the
last commit or the one before it (a commit that lowered it fails here, and so does a working
tree that lowers it)."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def floor_of(text: str) -> float:
    """``[tool.coverage.report] fail_under`` of a pyproject.toml (0 when there is none)."""
    report = tomllib.loads(text).get("tool", {}).get("coverage", {}).get("report", {})
    return float(report.get("fail_under", 0))


def committed(revision: str) -> str | None:
    """pyproject.toml at ``revision``, or None when git has no such revision (or no git)."""
    try:
        done = subprocess.run(  # noqa: S603 - git, from PATH, with our own arguments
            ["git", "-C", str(ROOT), "show", f"{revision}:./pyproject.toml"],  # noqa: S607
            capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        return None
    return done.stdout if done.returncode == 0 else None


def test_the_coverage_floor_never_goes_down() -> None:
    now = floor_of((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    before = {rev: text for rev in ("HEAD", "HEAD~1") if (text := committed(rev)) is not None}
    if not before:
        pytest.skip("no git history here (a tarball?): nothing to compare the floor with")
    for rev, text in before.items():
        assert now >= floor_of(text), (
            f"the coverage floor went down: fail_under = {now:g} here, {floor_of(text):g} at "
            f"{rev}; raise the tests' coverage instead (the floor only rises)")


def test_floor_of_reads_the_report_section() -> None:
    assert floor_of("[tool.coverage.report]\nfail_under = 81.5\n") == 81.5
    assert floor_of("[project]\nname = 'x'\n") == 0
