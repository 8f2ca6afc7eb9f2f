"""The examples in the sinks' docstrings run, and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["base", "webhook", "dispatch"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"andon.sinks.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0
