"""``Registry``: register (sign), promote and archive model versions, with a record of each.

The models directory holds the artifacts and their detached signatures; the store holds each
version's stage and signer. Every change is an ``Event`` with who, when and why:
``model_registered``, ``model_promoted``, ``model_archived`` (subject ``name vN``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from andon.audit import Event, EventKind
from andon.clock import Clock
from andon.errors import ModelError, NotFound, RegistryError
from andon.registry.record import ModelRecord
from andon.registry.signing import sign, verify
from andon.registry.stages import Stage, transition
from andon.scoring.artifact import ModelMeta, load_model

__all__ = ["ModelBook", "Registry", "production_of"]


class ModelBook(Protocol):
    """What the registry needs from a store (``andon.store.Store`` provides it)."""

    def register_model(self, meta: ModelMeta) -> None:
        """Record a model version (idempotent by name + version)."""
        ...

    def get_model(self, name: str, version: int) -> ModelRecord:
        """One version; ``NotFound`` if unknown."""
        ...

    def list_models(self) -> list[ModelRecord]:
        """All versions, by name then version."""
        ...

    def set_model_stage(self, name: str, version: int, stage: Stage) -> None:
        """Store a version's stage."""
        ...

    def set_model_signature(self, name: str, version: int, key_id: str, signer: str) -> None:
        """Store who signed a version, with which key."""
        ...

    def add_event(self, event: Event) -> None:
        """Append an event."""
        ...


class Registry:
    """Signed model versions and their stages, over a models directory and a store."""

    def __init__(self, store: ModelBook, clock: Clock, models_dir: Path | None = None, *,
                 trusted_keys: Path | None = None,
                 record: Callable[[Event], None] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.models_dir = models_dir
        #: the plant's trusted public keys: a version is promoted only once its artifact
        #: verifies against them, as an edge will check it (``promote`` refuses without them)
        self.trusted_keys = trusted_keys
        #: where each change's event goes (default: the store); the application layer passes
        #: one that also collects them, to return the events a use case caused
        self.record = record or store.add_event

    def version_dir(self, name: str, version: int) -> Path:
        """``<models_dir>/<name>/v<version>``."""
        if self.models_dir is None:
            raise RegistryError("this registry has no models directory")
        return self.models_dir / name / f"v{version}"

    def register(self, version_dir: Path, signer_key: Path, by: str) -> ModelRecord:
        """Check an artifact loads, sign it with ``signer_key``, record it as a candidate.

        A version that is already production or archived is not re-signed (``StageError``).
        """
        _model, meta = load_model(version_dir)  # only a usable artifact is worth signing
        try:
            existing: ModelRecord | None = self.store.get_model(meta.name, meta.version)
        except NotFound:
            existing = None
        if existing is not None and existing.stage is not Stage.CANDIDATE:
            raise RegistryError(f"{meta.label} is {existing.stage.value}; only candidates are "
                                "(re)signed")
        signature = sign(version_dir, signer_key, by, at=self.clock.now())
        self.store.register_model(meta)
        self.store.set_model_signature(meta.name, meta.version, signature.key_id, by)
        self.record(Event(EventKind.MODEL_REGISTERED, meta.label,
                                   f"signed with key {signature.key_id}; stage candidate",
                                   signature.signed_at, by))
        return self.store.get_model(meta.name, meta.version)

    def promote(self, name: str, version: int, by: str, reason: str) -> ModelRecord:
        """Make a signed version production; the previous production version is archived.

        The artifact on disk is verified first, against the trusted keys, exactly as an edge
        verifies it before it loads a version: a version that every edge would refuse (altered
        after signing, signed by a key the plant does not trust, missing) is not promoted.
        """
        record = self.store.get_model(name, version)
        reason = _reason(reason, "promote")
        if record.key_id is None:
            raise RegistryError(f"{record.label} is unsigned; register (sign) it first")
        transition(record.stage, Stage.PRODUCTION, record.label)
        self._verify(record)
        current = self.production(name)
        if current is not None:
            self._move(current, Stage.ARCHIVED, by, f"replaced by v{version}: {reason}")
        return self._move(record, Stage.PRODUCTION, by, reason)

    def archive(self, name: str, version: int, by: str, reason: str) -> ModelRecord:
        """Retire a version (candidate or production); edges stop loading it."""
        record = self.store.get_model(name, version)
        return self._move(record, Stage.ARCHIVED, by, _reason(reason, "archive"))

    def requalify(self, name: str, version: int, by: str, reason: str) -> ModelRecord:
        """Bring an archived version back as a candidate (the first step of a rollback)."""
        record = self.store.get_model(name, version)
        return self._move(record, Stage.CANDIDATE, by, _reason(reason, "requalify"))

    def list(self) -> list[ModelRecord]:
        """Every registered version, by name then version."""
        return self.store.list_models()

    def show(self, name: str, version: int) -> ModelRecord:
        """One version; ``NotFound`` if unknown."""
        return self.store.get_model(name, version)

    def production(self, name: str) -> ModelRecord | None:
        """The production version of a model, or None."""
        return production_of(self.store.list_models(), name)

    def _verify(self, record: ModelRecord) -> None:
        """``RegistryError`` unless the version's artifact verifies against the trusted keys."""
        if self.trusted_keys is None or self.models_dir is None:
            raise RegistryError(
                f"{record.label} cannot be verified before promotion: no "
                f"{'trusted keys' if self.trusted_keys is None else 'models directory'} "
                "given (--trusted-keys / ANDON_TRUSTED_KEYS, --models-dir)")
        try:
            verify(self.version_dir(record.name, record.version), self.trusted_keys)
        except ModelError as exc:
            raise RegistryError(f"{record.label} is not promoted: {exc.reason}") from None

    def _move(self, record: ModelRecord, target: Stage, by: str, reason: str) -> ModelRecord:
        stage = transition(record.stage, target, record.label)
        self.store.set_model_stage(record.name, record.version, stage)
        kind = {Stage.PRODUCTION: EventKind.MODEL_PROMOTED,
                Stage.ARCHIVED: EventKind.MODEL_ARCHIVED,
                Stage.CANDIDATE: EventKind.MODEL_REQUALIFIED}[stage]
        self.record(Event(kind, record.label,
                                   f"{record.stage.value} -> {stage.value}: {reason}",
                                   self.clock.now(), by))
        return self.store.get_model(record.name, record.version)


def production_of(records: list[ModelRecord], name: str) -> ModelRecord | None:
    """The newest production version of ``name`` among ``records``, or None."""
    found = [r for r in records if r.name == name and r.stage is Stage.PRODUCTION]
    return max(found, key=lambda r: r.version) if found else None


def _reason(reason: str, verb: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RegistryError(f"say why you {verb} this version (a reason is required)")
    return reason
