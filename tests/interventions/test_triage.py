"""Triage: confidence and out-of-distribution rules, labels kept with provenance (SQLite and
PostgreSQL), the model's training distribution, and the spec settings that drive the gate.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
import pytest

from andon.errors import FeedbackError, NotFound, SpecErrors
from andon.interventions.triage import (
    TriageItem,
    TriageLabel,
    TriageReason,
    TriageStatus,
    TriageVerdict,
    triage_document,
    triage_reasons,
)
from andon.scoring import load_model
from andon.testing.factories import save_version, small_model
from interventions.gate_plant import T0, WHY, plant

if TYPE_CHECKING:
    from pathlib import Path

    from andon.store import SqlStore



def item(**changes: object) -> TriageItem:
    base: dict[str, object] = {
        "id": 0, "use_case": "pump-bearing", "site": "ghent", "line": "cooling",
        "asset": "p-01", "reasons": (TriageReason.LOW_CONFIDENCE,), "score": 1.1,
        "threshold": 1.0, "model": "pump-bearing", "model_version": "3", "window_end": T0,
        "why": WHY, "created_at": T0, "updated_at": T0,
    }
    return TriageItem(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(("ratio", "floor", "known", "expected"), [
    (1.1, 1.25, True, ("low_confidence",)),
    (1.25, 1.25, True, ()),  # at the floor: confident
    (3.0, 1.25, False, ("out_of_distribution",)),
    (1.1, 1.25, False, ("low_confidence", "out_of_distribution")),
    (1.1, 1.0, None, ()),  # floor off, distribution unknown: never triaged
])
def test_triage_reasons(ratio: float, floor: float, known: bool | None,
                        expected: tuple[str, ...]) -> None:
    got = triage_reasons(ratio, floor=floor, in_distribution=known)
    assert tuple(r.value for r in got) == expected


def test_a_label_is_stored_with_provenance_and_history(any_store: SqlStore) -> None:
    stored = any_store.add_triage(item())
    assert stored.id > 0
    assert any_store.get_triage(stored.id).status is TriageStatus.OPEN
    first = TriageLabel(stored.id, TriageVerdict.UNSURE, "dana", "reliability_engineer",
                        T0 + timedelta(hours=1), "vibration spiky, temperature flat")
    second = TriageLabel(stored.id, TriageVerdict.REAL_PROBLEM, "fay", "data_scientist",
                         T0 + timedelta(hours=2), "inspection found grease loss")
    any_store.label_triage(first)
    labelled = any_store.label_triage(second)
    assert labelled.status is TriageStatus.LABELLED
    again = any_store.get_triage(stored.id)
    assert again.label == second  # the newest counts
    assert again.updated_at == second.at
    assert any_store.triage_labels(stored.id) == [first, second]  # nothing erased
    assert [i.id for i in any_store.list_triage(status=TriageStatus.LABELLED)] == [stored.id]
    assert any_store.list_triage(status=TriageStatus.OPEN) == []
    doc = triage_document(again)
    assert doc["label"] == {"verdict": "real_problem", "by": "fay", "role": "data_scientist",
                            "at": second.at.isoformat(), "note": "inspection found grease loss"}
    assert doc["why"][0]["feature"] == "vibration.mean"  # type: ignore[index]
    assert json.dumps(doc)


def test_an_evidence_update_read_before_a_label_does_not_undo_it(any_store: SqlStore) -> None:
    """The gate reads an open item, a reviewer labels it, then the gate writes its update."""
    stored = any_store.add_triage(item())
    read_by_gate = any_store.get_triage(stored.id)
    any_store.label_triage(TriageLabel(stored.id, TriageVerdict.NORMAL, "dana",
                                       "reliability_engineer", T0 + timedelta(minutes=1)))
    any_store.update_triage(replace(read_by_gate, score=1.2, detections=2,
                                    updated_at=T0 + timedelta(minutes=2)))
    after = any_store.get_triage(stored.id)
    assert (after.status, after.score, after.detections) == (TriageStatus.LABELLED, 1.2, 2)
    assert after.created_at == T0
    assert [i.id for i in any_store.list_triage(status=TriageStatus.OPEN)] == []


def test_labels_are_refused_for_unknown_items_and_without_a_reviewer(
        any_store: SqlStore) -> None:
    stored = any_store.add_triage(item())
    with pytest.raises(NotFound, match="triage item 999"):
        any_store.label_triage(TriageLabel(999, TriageVerdict.NORMAL, "dana", "x", T0))
    with pytest.raises(FeedbackError, match="needs the reviewer"):
        any_store.label_triage(TriageLabel(stored.id, TriageVerdict.NORMAL, " ", "x", T0))
    assert any_store.triage_labels(stored.id) == []


def test_the_model_knows_its_training_distribution() -> None:
    model = small_model()
    assert model.t2_limit is not None
    rng = np.random.default_rng(3)
    load = rng.uniform(0.5, 1.0, 50)
    healthy = np.column_stack([2 * load, 40 + 10 * load, 100 * load])
    assert all(model.in_distribution(row) for row in healthy)
    # a load five times anything seen in training: on the healthy directions, far outside
    assert model.in_distribution(np.array([10.0, 90.0, 500.0])) is False


def test_an_artifact_without_a_distribution_loads_as_unknown(tmp_path: Path) -> None:
    vdir = save_version(small_model(), tmp_path)
    meta_path = vdir / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["t2_limit"] == pytest.approx(small_model().t2_limit)
    del meta["t2_limit"]  # as written before the limit was recorded
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    model, loaded = load_model(vdir)
    assert loaded.t2_limit is None
    assert model.in_distribution(np.array([10.0, 90.0, 500.0])) is None


def test_spec_settings_have_defaults_and_one_line_errors() -> None:
    spec = plant()
    uc = spec.use_case("pump-bearing")
    assert (uc.confidence_floor, uc.rearm_after) == (1.25, 3)
    assert (spec.fatigue.rate_limit, spec.fatigue.rate_window, spec.fatigue.position) == (
        10, 600.0, "site")
    with pytest.raises(SpecErrors) as err:
        plant(fatigue="fatigue: {rate_limit: 0, flood_window: soon, position: desk}")
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert any("fatigue.rate_limit" in line for line in lines)
    assert any("fatigue.flood_window" in line for line in lines)
    assert any("fatigue.position" in line for line in lines)
    with pytest.raises(SpecErrors, match=r"use_cases\[0\]\.confidence_floor"):
        plant(floor=0.5)
