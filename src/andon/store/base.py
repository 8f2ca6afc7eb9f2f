"""The store interface: everything Andon keeps, behind one small protocol.

Implementations: ``SqlStore`` (SQLAlchemy Core over SQLite or PostgreSQL). Every
implementation must pass ``tests/store/test_conformance.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from andon.auth.access import User
from andon.contracts.quarantine import Quarantined
from andon.events import Event
from andon.interventions.recommendation import Feedback, Recommendation
from andon.namespace.sample import Sample
from andon.registry.record import ModelRecord
from andon.registry.stages import Stage
from andon.scoring.artifact import ModelMeta

__all__ = ["Event", "SpecVersion", "Store"]


@dataclass(frozen=True, slots=True)
class SpecVersion:
    """One stored version of the plant spec text."""

    version: int
    text: str
    by: str
    at: datetime


class Store(Protocol):
    """What Andon keeps. All datetimes in and out are aware UTC."""

    # -- lifecycle ------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Create tables if missing (idempotent)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    # -- samples --------------------------------------------------------------------------
    def add_samples(self, samples: Sequence[Sample], ingest_ms: int) -> int:
        """Append samples in one transaction; duplicates by (source, seq, asset, tag) are ignored.

        Returns how many rows were new.
        """
        ...

    def samples(self, *, assets: Sequence[str] | None = None, start_ms: int | None = None,
                end_ms: int | None = None, limit: int | None = None) -> list[Sample]:
        """Samples in ``[start_ms, end_ms)`` ordered by (ts_ms, asset, tag)."""
        ...

    def sample_count(self) -> int:
        """Number of stored samples."""
        ...

    # -- quarantine -----------------------------------------------------------------------
    def add_quarantined(self, items: Sequence[Quarantined]) -> int:
        """Append quarantined messages in one transaction (their ``id`` is ignored); count."""
        ...

    def quarantined(self, *, rule: str | None = None, asset: str | None = None,
                    since: datetime | None = None, replayed: bool | None = None,
                    limit: int = 200) -> list[Quarantined]:
        """Quarantined messages, newest first (by received time, then id), with their ids."""
        ...

    def get_quarantined(self, item_id: int) -> Quarantined:
        """One quarantined message; ``NotFound`` if unknown."""
        ...

    def count_quarantined_by_rule(self) -> dict[str, int]:
        """Rule code -> number of quarantined messages (replayed ones included)."""
        ...

    def mark_replayed(self, ids: Sequence[int], at: datetime) -> int:
        """Mark items as stored by a replay (those not marked yet); count."""
        ...

    # -- recommendations and feedback -----------------------------------------------------
    def save_recommendation(self, rec: Recommendation) -> None:
        """Insert or replace (by id) a recommendation."""
        ...

    def get_recommendation(self, rec_id: str) -> Recommendation:
        """One recommendation; ``NotFound`` if unknown."""
        ...

    def list_recommendations(self, *, open_only: bool = True,
                             limit: int = 200) -> list[Recommendation]:
        """Newest first (by created_at)."""
        ...

    def open_recommendation(self, use_case: str, asset: str) -> Recommendation | None:
        """The open or deferred recommendation of a use case on an asset, if any."""
        ...

    def record_feedback(self, fb: Feedback) -> Recommendation:
        """Apply feedback (``apply_feedback`` rules), store both atomically, return the result."""
        ...

    def feedback_for(self, rec_id: str) -> list[Feedback]:
        """Feedback given on a recommendation, oldest first."""
        ...

    # -- models ---------------------------------------------------------------------------
    def register_model(self, meta: ModelMeta) -> None:
        """Record a model version as an unsigned candidate (idempotent by name + version)."""
        ...

    def latest_model(self, name: str) -> ModelMeta | None:
        """Highest version of a model, or None."""
        ...

    def get_model(self, name: str, version: int) -> ModelRecord:
        """One model version with its stage and signer; ``NotFound`` if unknown."""
        ...

    def list_models(self) -> list[ModelRecord]:
        """All model versions with stage and signer, by name then version."""
        ...

    def set_model_stage(self, name: str, version: int, stage: Stage) -> None:
        """Store a version's stage (the registry checks the transition); ``NotFound`` if none."""
        ...

    def set_model_signature(self, name: str, version: int, key_id: str, signer: str) -> None:
        """Store who signed a version and the key's id; ``NotFound`` if unknown."""
        ...

    # -- users and tokens -----------------------------------------------------------------
    def save_user(self, user: User) -> None:
        """Insert or replace a user by username."""
        ...

    def get_user(self, username: str) -> User | None:
        """A user, or None."""
        ...

    def add_token(self, token_hash: str, username: str, expires_at: datetime | None) -> None:
        """Store a token hash for a user (never the token)."""
        ...

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The user a (non-expired, non-revoked) token belongs to."""
        ...

    def revoke_token(self, token_hash: str) -> None:
        """Make a token unusable."""
        ...

    # -- plant spec -----------------------------------------------------------------------
    def save_spec(self, text: str, by: str, at: datetime) -> SpecVersion:
        """Store a new spec version (caller validated it)."""
        ...

    def current_spec(self) -> SpecVersion | None:
        """The newest spec version, or None."""
        ...

    # -- events ---------------------------------------------------------------------------
    def add_event(self, event: Event) -> None:
        """Append an event."""
        ...

    def events(self, *, kind: str | None = None, limit: int = 200) -> list[Event]:
        """Newest first."""
        ...
