"""What an engineer reads about model versions: lineage, metrics, stages, history, signatures.

``model_overview`` lists each model the spec or the registry names, with its versions and its
production version. ``model_versions`` gives every registered version of one model, newest
first: its lineage (training data range and hash, assets, code version, parameters), its
metrics, its parent (the version registered before it), its stage and any rollout of it
(shadow or live where), its history (trained, registered, signed, promoted, archived,
requalified, rolled out: who, when, why) and its signature status, checked with
``andon.registry.verify`` against the plant's trusted keys exactly as an edge checks it before
it loads a version: verified (by which key) or refused (the edge's one-line reason). Both only
read; the surfaces check the caller may (``READ``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from andon.audit import EventKind
from andon.errors import ModelError, NotFound
from andon.registry import Registry, production_of, read_signature, verify

if TYPE_CHECKING:
    from datetime import datetime

    from andon.app.context import Context
    from andon.registry import ModelRecord
    from andon.rollout import Rollout

__all__ = ["HistoryEntry", "ModelSummary", "ModelVersion", "SignatureStatus",
           "model_overview", "model_versions", "signature_status"]

#: the registry's events about a version (subject: its label, ``name vN``)
_VERSION_EVENTS = (EventKind.MODEL_TRAINED, EventKind.MODEL_REGISTERED,
                   EventKind.MODEL_PROMOTED, EventKind.MODEL_ARCHIVED,
                   EventKind.MODEL_REQUALIFIED)
_MAX_EVENTS = 200  # per kind and version


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    """Whether a version's artifact verifies against the trusted keys, as an edge checks it."""

    verified: bool | None  # None: not checked (no models directory or trusted keys here)
    key_id: str | None  # the key that signed it (the trusted key, when verified)
    signer: str | None
    signed_at: datetime | None
    reason: str = ""  # why it is refused, or why it was not checked; "" when verified

    @property
    def text(self) -> str:
        """One line: ``verified: key 3f1c... (signed by dana)`` / ``refused: <reason>``."""
        if self.verified:
            return f"verified: trusted key {self.key_id} (signed by {self.signer})"
        return f"{'refused' if self.verified is False else 'not checked'}: {self.reason}"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One thing that happened to a version: what, when, who, and the recorded detail."""

    at: datetime
    by: str
    what: str  # "model_promoted", "signature", "rollout shadow_pilot", ...
    detail: str


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One registered version, with what the models page shows of it."""

    record: ModelRecord
    parent: int | None  # the version of the same name registered before it
    rollout: Rollout | None  # the newest rollout of this version, if any
    signature: SignatureStatus
    history: tuple[HistoryEntry, ...]  # oldest first


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """A model name: its use cases, versions and production version."""

    name: str
    use_cases: tuple[str, ...]  # those of the spec scored with it
    versions: tuple[int, ...]  # registered, ascending
    production: int | None
    rolling_out: tuple[str, ...]  # "v4 shadow_pilot" per running rollout of it


def model_overview(ctx: Context) -> list[ModelSummary]:
    """Each model the spec's use cases or the registry name, in the spec's order first."""
    records = ctx.store.list_models()
    use_cases: dict[str, list[str]] = {}
    for uc in ctx.spec.use_cases:
        use_cases.setdefault(uc.model, []).append(uc.id)
    names = list(dict.fromkeys([*use_cases, *(r.name for r in records)]))
    rollouts = ctx.store.rollouts()
    out = []
    for name in names:
        production = production_of(records, name)
        running = {r.use_case: r for r in rollouts if r.model == name}  # newest per use case
        out.append(ModelSummary(
            name, tuple(use_cases.get(name, ())),
            tuple(sorted(r.version for r in records if r.name == name)),
            None if production is None else production.version,
            tuple(f"v{r.version} {r.stage.value}" for r in running.values()
                  if not r.stage.ended)))
    return out


def model_versions(ctx: Context, name: str) -> list[ModelVersion]:
    """Every registered version of ``name``, newest first (module docstring).

    ``NotFound`` when neither the spec's use cases nor the registry know the model.
    """
    records = sorted((r for r in ctx.store.list_models() if r.name == name),
                     key=lambda r: r.version)
    if not records and all(uc.model != name for uc in ctx.spec.use_cases):
        raise NotFound("model", name)
    rollouts = [r for r in ctx.store.rollouts() if r.model == name]
    out = []
    for i, record in enumerate(records):
        mine = [r for r in rollouts if r.version == str(record.version)]
        out.append(ModelVersion(
            record, records[i - 1].version if i else None, mine[-1] if mine else None,
            signature_status(ctx, record), _history(ctx, record, mine)))
    return out[::-1]


def signature_status(ctx: Context, record: ModelRecord) -> SignatureStatus:
    """Verify a version's artifact against the context's trusted keys, as an edge does."""
    if record.key_id is None:
        return SignatureStatus(verified=False, key_id=None, signer=None, signed_at=None,
                               reason="unsigned: register (sign) it first")
    if ctx.models_dir is None or ctx.trusted_keys is None:
        missing = "models directory" if ctx.models_dir is None else "trusted keys"
        return SignatureStatus(verified=None, key_id=record.key_id, signer=record.signer,
                               signed_at=None, reason=f"this server has no {missing} "
                               "(--models-dir, --trusted-keys)")
    vdir = Registry(ctx.store, ctx.clock, ctx.models_dir).version_dir(record.name,
                                                                      record.version)
    try:
        key_id = verify(vdir, ctx.trusted_keys)
    except ModelError as exc:
        try:
            sig = read_signature(vdir)
        except ModelError:
            return SignatureStatus(verified=False, key_id=record.key_id, signer=record.signer,
                                   signed_at=None, reason=exc.reason)
        return SignatureStatus(verified=False, key_id=sig.key_id, signer=sig.signer,
                               signed_at=sig.signed_at, reason=exc.reason)
    sig = read_signature(vdir)
    return SignatureStatus(verified=True, key_id=key_id, signer=sig.signer,
                           signed_at=sig.signed_at)


def _history(ctx: Context, record: ModelRecord, rollouts: list[Rollout]) -> tuple[
        HistoryEntry, ...]:
    """The version's registry events, electronic signatures and rollout steps, oldest first."""
    store = ctx.store
    found = [HistoryEntry(e.at, e.by, str(e.kind), e.detail)
             for kind in _VERSION_EVENTS
             for e in store.events(kind=kind, subject=record.label, limit=_MAX_EVENTS)]
    found += [HistoryEntry(e.at, e.by, "signature", _signature_line(e.detail))
              for e in store.events(kind=EventKind.SIGNATURE, subject=f"model {record.label}",
                                    limit=_MAX_EVENTS)]
    found += [HistoryEntry(step.at, step.by, f"rollout {step.stage.value}",
                           f"{r.use_case}: {step.reason}")
              for r in rollouts for step in r.steps]
    return tuple(sorted(found, key=lambda h: h.at))


def _signature_line(manifest: str) -> str:
    """The first line of an electronic signature's manifest (who signed, meaning, reason)."""
    return manifest.strip().splitlines()[0] if manifest.strip() else "signed"

