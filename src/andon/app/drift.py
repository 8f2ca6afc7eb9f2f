"""Covariate drift of the production models: each asset's windows now against the training.

``drift_status`` is the one way the surfaces read it (``andon drift status``, ``GET
/api/drift``): per use case and watched asset, the period's windows (cut from the stored
samples exactly as live scoring cuts them) against the production version's reference sketches
(``reference.json`` beside its artifact, written when it was trained), with PSI, KS and
Wasserstein per feature and the features that moved (``andon.drift.status``).
``record_drift`` keeps one ``drift`` event per drifted asset, naming the features that moved:
a drift event, not an operator intervention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from andon.audit import Event, EventKind
from andon.auth.access import Permission
from andon.clock import to_ms
from andon.drift.status import (
    PSI_LIMIT,
    FeatureDrift,
    feature_drift,
    reference_document,
    reference_from_document,
    reference_of,
)
from andon.errors import NotFound
from andon.features import feature_names, feature_rows, use_case_tags
from andon.registry import production_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from andon.app.context import Actor, Context
    from andon.drift.sketch import BinnedSketch
    from andon.registry import ModelRecord
    from andon.spec.model import PlantSpec, UseCase

__all__ = ["REFERENCE_FILE", "AssetDrift", "drift_status", "load_reference", "record_drift",
           "save_reference"]

#: the reference sketches of a model version, beside its artifact
REFERENCE_FILE = "reference.json"


@dataclass(frozen=True, slots=True)
class AssetDrift:
    """One watched asset of a use case over a period, against its production version."""

    use_case: str
    model: str
    version: int | None  # None: no production version
    asset: str
    start: datetime
    end: datetime
    windows: int
    features: list[FeatureDrift]
    note: str = ""  # why there are no figures (no production version, no reference, no data)

    @property
    def moved(self) -> list[FeatureDrift]:
        """The features that moved, largest PSI first."""
        return sorted((f for f in self.features if f.moved), key=lambda f: -f.psi)

    @property
    def drifted(self) -> bool:
        """Whether any feature moved."""
        return any(f.moved for f in self.features)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form."""
        return {"use_case": self.use_case, "model": self.model, "version": self.version,
                "asset": self.asset, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "windows": self.windows,
                "drifted": self.drifted, "moved": [f.feature for f in self.moved],
                "note": self.note, "features": [f.to_dict() for f in self.features]}


def save_reference(version_dir: Path, x: Any, names: Sequence[str]) -> Path:
    """Write the reference sketches of a version's training matrix ``x`` beside its artifact."""
    path = version_dir / REFERENCE_FILE
    path.write_text(json.dumps(reference_document(reference_of(x, names))), encoding="utf-8")
    return path


def load_reference(version_dir: Path) -> dict[str, BinnedSketch] | None:
    """A version's reference sketches; None if it has none; ``ValueError`` naming the file."""
    path = version_dir / REFERENCE_FILE
    if not path.is_file():
        return None
    try:
        return reference_from_document(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def drift_status(ctx: Context, *, start: datetime, end: datetime,
                 use_case: str | None = None, psi_limit: float = PSI_LIMIT,
                 ) -> list[AssetDrift]:
    """Per use case and watched asset: the period's features against the production reference.

    ``NotFound`` for an unknown use case; ``ValueError`` without a plant spec. Without a
    models directory every asset says so (no reference can be read).
    """
    if ctx.plant is None:
        raise ValueError("drift needs the plant spec")
    spec = ctx.plant.get()
    cases = list(spec.use_cases)
    if use_case is not None:
        cases = [u for u in cases if u.id == use_case]
        if not cases:
            raise NotFound("use case", use_case)
    records = ctx.store.list_models()
    rows: list[AssetDrift] = []
    for uc in cases:
        rows += _use_case_drift(ctx, spec, uc, production_of(records, uc.model), start=start,
                                end=end, psi_limit=psi_limit)
    return rows


def _use_case_drift(ctx: Context, spec: PlantSpec, uc: UseCase, record: ModelRecord | None, *,
                    start: datetime, end: datetime, psi_limit: float) -> list[AssetDrift]:
    """``drift_status`` of one use case."""
    assets = [a.id for *_, a in spec.use_case_assets(uc)]
    version = None if record is None else record.version

    def empty(note: str) -> list[AssetDrift]:
        return [AssetDrift(uc.id, uc.model, version, a, start, end, 0, [], note)
                for a in assets]

    if record is None:
        return empty("no production version")
    if ctx.models_dir is None:
        return empty("no models directory to read the version's reference from")
    try:
        reference = load_reference(ctx.models_dir / uc.model / f"v{record.version}")
    except ValueError as exc:
        return empty(f"unreadable reference: {exc}")
    if reference is None:
        return empty(f"{record.label} has no drift reference (trained before references were "
                     "kept: train it again)")
    tags = use_case_tags(spec, uc)
    names, units = feature_names(tags)
    samples = ctx.store.samples(assets=assets, start_ms=to_ms(start), end_ms=to_ms(end))
    x, keys = feature_rows(samples, dict.fromkeys(assets, tags), window_s=uc.window,
                           hop_s=uc.hop)
    of_asset = np.array([a for a, _ in keys], dtype=object)
    rows = []
    for asset in assets:
        mine = x[of_asset == asset] if keys else x[:0]
        if len(mine) == 0:
            rows.append(AssetDrift(uc.id, uc.model, version, asset, start, end, 0, [],
                                   "no complete window in the period"))
            continue
        rows.append(AssetDrift(uc.id, uc.model, version, asset, start, end, len(mine),
                               feature_drift(reference, mine, names, units,
                                             psi_limit=psi_limit)))
    return rows


def record_drift(ctx: Context, actor: Actor, rows: Sequence[AssetDrift]) -> list[Event]:
    """Keep a ``drift`` event for each drifted asset, naming what moved; the events kept.

    Needs ``manage_models`` (an engineer's, the system's): the event is part of the models'
    record.
    """
    actor.require(Permission.MANAGE_MODELS)
    events = []
    for row in rows:
        if not row.drifted:
            continue
        moved = "; ".join(
            f"{f.feature} PSI {f.psi:.2f}, mean {f.reference_mean:.4g} -> {f.current_mean:.4g}"
            f"{' ' + f.unit if f.unit else ''}" for f in row.moved)
        event = Event(EventKind.DRIFT, f"{row.use_case}/{row.asset}",
                      f"{row.model} v{row.version} {row.start.isoformat()}.."
                      f"{row.end.isoformat()} ({row.windows} windows): {moved}",
                      ctx.clock.now(), actor.name)
        ctx.store.add_event(event)
        events.append(event)
    return events
