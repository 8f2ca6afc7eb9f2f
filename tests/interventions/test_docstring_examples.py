"""The seeded examples in the intervention modules' docstrings run, and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["lifecycle", "escalation", "fatigue", "load", "triage"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"andon.interventions.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0
