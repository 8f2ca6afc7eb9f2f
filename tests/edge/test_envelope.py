"""An intervention outside its use case's action envelope is blocked: not stored, not sent.

The demo spec's pump-bearing use case gets an envelope (inspect / lubricate; speed set-points
in [1200, 2900] rpm). A decider output with another verb, or proposing a set-point outside the
range or for an undeclared tag, never reaches the store or the outbound path; it is logged and
kept as one ``envelope_blocked`` event. Inside the envelope, everything goes through.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from andon.clock import ManualClock
from andon.edge import Edge, build_edge
from andon.edge.envelope import proposed_setpoints, violation
from andon.errors import NotFound
from andon.interventions.record import Intervention
from andon.spec import PlantSpec
from andon.spec.model import ActionEnvelope
from andon.store import SqlStore, open_store
from andon.testing.factories import T0, make_intervention

ENVELOPE = ActionEnvelope(verbs=["inspect", "lubricate"], setpoints={"speed": (1200.0, 2900.0)})


@dataclass(frozen=True, slots=True)
class Proposing(Intervention):
    """An intervention that proposes set-points (as a model-driven decider could)."""

    setpoints: dict[str, float] = field(default_factory=dict)


class Sent:
    """The outbound path: records what the edge tries to send."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def send(self, kind: str, key: str, source: str, topic: str, document: dict[str, Any], *,
             retain: bool = False) -> bool:
        del source, topic, document, retain
        self.items.append((kind, key.split(":", 1)[0]))
        return True


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    yield s
    s.close()


def _edge(spec: PlantSpec, store: SqlStore, tmp: Path) -> tuple[Edge, Sent]:
    ucs = [uc.model_copy(update={"envelope": ENVELOPE}) if uc.id == "pump-bearing" else uc
           for uc in spec.use_cases]
    edge = build_edge(spec.model_copy(update={"use_cases": ucs}), store, tmp / "models",
                clock=ManualClock(T0), lines={"cooling-water"})
    sent = Sent()
    edge.outbound = sent
    return edge, sent


def _stored(store: SqlStore, intervention_id: str) -> bool:
    try:
        store.get_intervention(intervention_id)
    except NotFound:
        return False
    return True


def test_outside_the_envelope_is_blocked_logged_and_kept(demo_spec: PlantSpec, store: SqlStore,
                                                        tmp_path: Path) -> None:
    edge, sent = _edge(demo_spec, store, tmp_path)
    inside = make_intervention("rec-ok")
    verb = make_intervention("rec-verb", action="Open the bypass valve of Pump P-101 now")
    high = Proposing(**{**_fields(make_intervention("rec-high")), "setpoints": {"speed": 3400.0}})
    other = Proposing(**{**_fields(make_intervention("rec-tag")), "setpoints": {"flow": 100.0}})
    fine = Proposing(**{**_fields(make_intervention("rec-fine")), "setpoints": {"speed": 2400.0}})
    for iv in (inside, verb, high, other, fine, verb):
        edge.emit(iv)
    assert [k for _, k in sent.items] == ["rec-ok", "rec-fine"], "only those inside go out"
    assert _stored(store, "rec-ok")
    assert _stored(store, "rec-fine")
    for blocked in ("rec-verb", "rec-high", "rec-tag"):
        assert not _stored(store, blocked), f"{blocked} must not be stored (delivered)"
    assert edge.envelope.blocked == 4
    _samples, events, _q = edge.take_pending()
    details = [e.detail for e in events if e.kind == "envelope_blocked"]
    assert len(details) == 3, "one event per use case, asset and reason an hour"
    assert "action verb 'open' is not allowed" in details[0]
    assert "speed = 3400 is outside [1200, 2900]" in details[1]
    assert "set-point for flow has no declared range" in details[2]
    assert all("\n" not in d for d in details)


def test_use_cases_without_an_envelope_are_unchanged(demo_spec: PlantSpec, store: SqlStore,
                                                     tmp_path: Path) -> None:
    edge = build_edge(demo_spec, store, tmp_path / "models", clock=ManualClock(T0))
    sent = Sent()
    edge.outbound = sent
    edge.emit(make_intervention("rec-any", action="Open the bypass valve"))
    assert sent.items == [("intervention", "rec-any")]


def test_violation_and_setpoints_reading() -> None:
    assert violation(ENVELOPE, "lubricate P-101", {}) is None
    assert violation(ENVELOPE, "", {}) == \
        "action verb '' is not allowed (allowed: inspect, lubricate)"
    assert violation(ENVELOPE, "inspect", {"speed": float("nan")}) is not None
    assert proposed_setpoints(make_intervention()) == {}
    assert proposed_setpoints(replace(Proposing(**_fields(make_intervention())),
                                      setpoints={"speed": 1.0})) == {"speed": 1.0}


def test_envelope_spec_is_validated() -> None:
    with pytest.raises(ValidationError, match="min > max"):
        ActionEnvelope(setpoints={"speed": (10.0, 1.0)})
    with pytest.raises(ValidationError, match="single words"):
        ActionEnvelope(verbs=["shut down"])
    assert ActionEnvelope(verbs=[" Inspect "]).verbs == ["inspect"]


def _fields(iv: Intervention) -> dict[str, Any]:
    return {name: getattr(iv, name) for name in Intervention.__dataclass_fields__}
