"""``andon.testing`` stays a kit on the side: nothing else in ``src/`` imports it (the
import-linter contract covers every top-level module), and what a plug-in author uses imports
and runs without pytest."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import andon

ROOT = Path(__file__).resolve().parents[2]
KIT = "andon.testing"


def test_the_forbidden_contract_lists_every_module_but_the_kit() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["importlinter"]["contracts"]
    (forbidden,) = [c for c in contracts if c["type"] == "forbidden"]
    assert forbidden["forbidden_modules"] == [KIT]
    modules = {f"andon.{m.name}" for m in pkgutil.iter_modules(andon.__path__)}
    assert set(forbidden["source_modules"]) == modules - {KIT}, (
        "add the new module to the forbidden contract's source_modules in pyproject.toml")


def test_the_root_package_does_not_import_the_kit() -> None:
    """``andon/__init__.py`` cannot be a source module of the contract (the kit is inside it)."""
    tree = ast.parse((ROOT / "src" / "andon" / "__init__.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith(KIT)}


PLUGIN_AUTHOR = """
import sys
sys.modules["pytest"] = None  # importing pytest now fails
import andon.testing, andon.testing.factories, andon.testing.cmms
from andon.testing.conformance.sinks import check_sink
from andon.testing.conformance import connectors, store
from andon.sinks.base import Attempt, DeliveryResult

class Sink:
    name = "memory"
    def __init__(self, clock, up):
        self.clock, self.up = clock, up
    async def deliver(self, item):
        if not self.up:
            return DeliveryResult.failed(self.clock.now(), "down")
        return DeliveryResult((Attempt(self.clock.now(), ok=True),), external_id=item.dedup_key)

check_sink(live=lambda clock: Sink(clock, True), dead=lambda clock: Sink(clock, False),
           external_id=True)
print("conformant")
"""


def test_a_plugin_author_runs_the_sink_suite_without_pytest() -> None:
    done = subprocess.run([sys.executable, "-c", PLUGIN_AUTHOR], capture_output=True,  # noqa: S603
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "conformant"


def test_the_checks_refuse_to_run_without_assertions() -> None:
    done = subprocess.run([sys.executable, "-O", "-c",
                           "import andon.testing.conformance.sinks"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "python -O" in done.stderr
