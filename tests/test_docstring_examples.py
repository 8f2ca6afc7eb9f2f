"""Every example in every docstring of ``andon`` runs in the suite, and stays true.

The examples are documentation (seeded, so they print the same every time); a module whose
example drifts from the code fails here, whichever package it is in. The modules that must
carry an example (detectors, OEE, escalation timing... the style guide's habit 10) are
pinned below, so an example cannot silently disappear either.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import andon

#: every module of the package, by dotted name (not generated protobuf code, and not the
#: scripts that run when imported: ``andon.__main__`` (the CLI) and Alembic's ``env``)
MODULES = sorted(m.name for m in pkgutil.walk_packages(andon.__path__, "andon.")
                 if not m.name.endswith(("_pb2", ".__main__", ".migrations.env")))

#: modules whose docstrings must keep at least one example
MUST_HAVE_EXAMPLES = [
    "andon.audit.events", "andon.clock", "andon.connectors.reconnect", "andon.drift.adwin",
    "andon.drift.exact", "andon.drift.ks", "andon.drift.page_hinkley", "andon.drift.psi",
    "andon.drift.sketch", "andon.drift.wasserstein", "andon.interventions.escalation",
    "andon.interventions.lifecycle", "andon.interventions.triage", "andon.kpi.load",
    "andon.kpi.trackrecord",
    "andon.sinks.dispatch", "andon.sinks.webhook", "andon.text",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} docstring example(s) failed"


@pytest.mark.parametrize("name", MUST_HAVE_EXAMPLES)
def test_modules_that_document_by_example_keep_an_example(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    assert any(t.examples for t in finder.find(module)), f"{name} lost its docstring example"
