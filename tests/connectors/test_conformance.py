"""The connector conformance suite (``andon.testing.conformance.connectors``) on every built-in
connector, each against its real source (``harness.HARNESSES``): valid input arrives as
canonical samples, malformed input and an unknown raw name are rejected with a one-line reason
naming where, and ``stop`` ends ``run`` in time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from andon.testing.conformance.connectors import CHECKS, ConnectorHarness

from .harness import HARNESSES


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("kind", sorted(HARNESSES))
def test_connector_conformance(kind: str,
                               check: Callable[[ConnectorHarness, Path], None],
                               tmp_path: Path) -> None:
    check(HARNESSES[kind](), tmp_path)
