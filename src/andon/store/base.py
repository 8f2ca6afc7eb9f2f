"""The store interface: everything Andon keeps, behind one small protocol.

Implementations: ``SqlStore`` (SQLAlchemy Core over SQLite or PostgreSQL). Every
implementation must pass the store conformance checks (``andon.testing.conformance.store``,
run by ``tests/store/test_conformance.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from andon.audit import ChainEntry, Event
from andon.audit.signatures import Signature
from andon.auth.access import User
from andon.auth.throttle import Failures
from andon.contracts.counts import QualityCount, SkewPoint
from andon.contracts.quarantine import Quarantined
from andon.feedback import Feedback, Label, Outcome
from andon.feedback.comments import Comment
from andon.feedback.workorders import WorkOrder
from andon.interventions.gate import GateStore
from andon.interventions.lifecycle import InterventionState, TransitionRecord
from andon.interventions.query import InterventionPage, InterventionQuery
from andon.interventions.record import Intervention
from andon.interventions.triage import TriageItem, TriageLabel, TriageStatus
from andon.namespace.sample import Sample
from andon.registry.record import ModelRecord
from andon.registry.stages import Stage
from andon.rollout.stages import Rollout
from andon.scoring.artifact import ModelMeta

__all__ = ["Delivery", "Event", "SampleBucket", "SpecVersion", "Store", "StoredAnchor",
           "TokenInfo"]


@dataclass(frozen=True, slots=True)
class SampleBucket:
    """One tag's samples in one bucket of a period: how many, when, lowest and highest."""

    tag: str
    first_ms: int  # source time of its oldest sample
    last_ms: int  # ... and of its newest
    count: int
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class SpecVersion:
    """One stored version of the plant spec text."""

    version: int
    text: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One stored token as listed to an administrator (its hash, never the token)."""

    token_hash: str
    username: str
    kind: str  # api / session
    issued_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class StoredAnchor:
    """A signed checkpoint of the audit chain: entry ``seq`` had ``hash`` at ``at``."""

    seq: int
    hash: str
    at: datetime
    key_id: str
    signature: str  # hex Ed25519 signature of ``andon.audit.anchor_message``


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver an intervention to a sink (``andon.sinks``), as recorded."""

    sink: str
    intervention_id: str
    dedup_key: str
    version: int  # 1, 2, ... one per change of the delivered document
    digest: str  # hash of the canonical document: same digest = same content
    attempt: int  # 1, 2, ... within one version
    at: datetime
    ok: bool
    http_status: int | None = None
    error: str = ""  # one line; empty when ok
    external_id: str | None = None  # e.g. the CMMS work-order id


class Store(GateStore, Protocol):
    """What Andon keeps. All datetimes in and out are aware UTC."""

    # -- lifecycle ------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Create or migrate the schema to the newest revision (idempotent)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    def ping(self) -> None:
        """Reach the database with the cheapest query; ``StoreUnavailable`` if it cannot."""
        ...

    # -- samples --------------------------------------------------------------------------
    def add_samples(self, samples: Sequence[Sample], ingest_ms: int) -> int:
        """Append samples in one transaction; duplicates (source, seq, asset, tag, ts) are ignored.

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

    def newest_sample_ms(self, assets: Sequence[str]) -> dict[str, int]:
        """Asset -> source time (epoch ms) of its newest sample; assets with none left out."""
        ...

    def sample_buckets(self, asset: str, *, start_ms: int, end_ms: int,
                       buckets: int) -> list[SampleBucket]:
        """An asset's samples in ``[start_ms, end_ms)`` cut in ``buckets`` equal spans.

        One ``SampleBucket`` per tag and span holding samples, by tag then time.
        """
        ...

    # -- data quality (andon.contracts.counts) --------------------------------------------
    def add_quality_counts(self, at_ms: int, counts: Sequence[QualityCount]) -> None:
        """Add counters observed at ``at_ms`` (epoch ms) to that hour's totals."""
        ...

    def quality_counts(self, *, since_ms: int | None = None, site: str | None = None,
                       asset: str | None = None) -> list[QualityCount]:
        """Counters summed per (site, asset, tag, source, metric) from ``since_ms``'s hour on."""
        ...

    def quality_per_hour(self, *, since_ms: int | None = None, site: str | None = None,
                         asset: str | None = None) -> list[tuple[int, QualityCount]]:
        """Tags' counters summed per (hour, site, asset, metric), oldest hour first.

        The hour is its start (epoch ms); the counts' ``tag`` and ``source`` are "".
        """
        ...

    def add_skew_points(self, points: Sequence[SkewPoint]) -> None:
        """Keep each source's clock-skew estimate, the latest one per minute."""
        ...

    def skew_points(self, *, since_ms: int | None = None,
                    source: str | None = None) -> list[SkewPoint]:
        """Skew estimates per source and minute, oldest first."""
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

    # -- interventions and feedback -----------------------------------------------------
    def save_intervention(self, iv: Intervention) -> None:
        """Insert or replace (by id) an intervention."""
        ...

    def get_intervention(self, intervention_id: str) -> Intervention:
        """One intervention; ``NotFound`` if unknown."""
        ...

    def list_interventions(self, *, open_only: bool = True, limit: int = 200,
                             since: datetime | None = None,
                             until: datetime | None = None) -> list[Intervention]:
        """Newest first (by created_at); open ones only unless told; created in [since, until)."""
        ...

    def find_interventions(self, query: InterventionQuery) -> InterventionPage:
        """One page of what ``query`` admits (scope, filters, text), in its order, and the total."""
        ...

    def add_comment(self, comment: Comment) -> Comment:
        """Keep a comment; return it with its id (``NotFound`` for an unknown intervention)."""
        ...

    def comments(self, intervention_ids: Sequence[str]) -> dict[str, list[Comment]]:
        """Comments of each of ``intervention_ids`` (those with any), oldest first."""
        ...

    def change_marks(self) -> tuple[int, int]:
        """(newest ``change_seq`` of any intervention, newest comment id): what live views poll."""
        ...

    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        """The open (not done, dismissed or expired) intervention of a use case on an asset."""
        ...

    def count_interventions_by_state(self) -> dict[str, int]:
        """Lifecycle state -> number of interventions in it (states with none left out)."""
        ...

    def intervention_changes(self, *, after: int = 0,
                             limit: int = 500) -> list[tuple[int, Intervention]]:
        """The change feed: ``(change_seq, record)`` written after ``after``, oldest first."""
        ...

    def on_intervention_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after each committed intervention write; returns an unsubscribe."""
        ...

    def change_intervention(
        self, intervention_id: str, change: Callable[[Intervention], Intervention],
    ) -> tuple[Intervention, Intervention]:
        """Apply a pure lifecycle ``change`` to the stored record atomically; (before, after)."""
        ...

    def transition_intervention(
        self, intervention_id: str, target: InterventionState | str, *, by: str, at: datetime,
        reason: str = "", shelve_until: datetime | None = None, via: str = "api",
    ) -> tuple[Intervention, TransitionRecord]:
        """Move an intervention (``transition`` rules); store the move (feedback: a label)."""
        ...

    def record_feedback(self, fb: Feedback) -> Intervention:
        """Apply feedback (``apply_feedback`` rules), store it, its moves and label atomically."""
        ...

    def feedback_for(self, intervention_id: str) -> list[Feedback]:
        """Feedback given on an intervention, oldest first."""
        ...

    def record_outcome(self, outcome: Outcome) -> tuple[Intervention, Label]:
        """Record what was found (``apply_outcome`` rules) and its label atomically."""
        ...

    def labels(self, *, intervention_id: str | None = None, since: datetime | None = None,
               limit: int | None = None) -> list[Label]:
        """Labels (feedback and outcomes), oldest first."""
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

    # -- users and tokens (SqlStore: store/sql_accounts.py) -----------------------------
    def save_user(self, user: User) -> None:
        """Insert or replace a user by username."""
        ...

    def get_user(self, username: str) -> User | None:
        """A user, or None."""
        ...

    def list_users(self) -> list[User]:
        """Every login, by username."""
        ...

    def delete_user(self, username: str) -> None:
        """Delete a login and its tokens (``NotFound`` if unknown)."""
        ...

    def add_token(self, token_hash: str, username: str, expires_at: datetime | None, *,
                  kind: str = "api", issued_at: datetime | None = None) -> None:
        """Store a token hash for a user (never the token)."""
        ...

    def user_for_token(self, token_hash: str, now: datetime, *,
                       session_idle: timedelta | None = None) -> User | None:
        """The user a live token belongs to (not revoked, expired, idle or disabled)."""
        ...

    def revoke_token(self, token_hash: str) -> None:
        """Make a token unusable."""
        ...

    def revoke_user_tokens(self, username: str, *, kind: str | None = None) -> int:
        """Revoke every live token of a login; how many."""
        ...

    def tokens_of(self, username: str) -> list[TokenInfo]:
        """Every token stored for a login (hashes only)."""
        ...

    def login_failures(self, keys: Sequence[str]) -> dict[str, Failures]:
        """Failed sign-ins counted on some back-off keys."""
        ...

    def save_login_failures(self, counts: Sequence[Failures]) -> None:
        """Insert or replace the counts of some keys."""
        ...

    def clear_login_failures(self, keys: Sequence[str]) -> None:
        """Forget the failures of some keys."""
        ...

    # -- plant spec -----------------------------------------------------------------------
    def save_spec(self, text: str, by: str, at: datetime) -> SpecVersion:
        """Store a new spec version (caller validated it)."""
        ...

    def current_spec(self) -> SpecVersion | None:
        """The newest spec version, or None."""
        ...

    # -- events and the audit chain (SqlStore: store/sql_audit.py) ------------------------
    def add_event(self, event: Event) -> None:
        """Append an event (the next entry of the audit chain)."""
        ...

    def add_event_once(self, event: Event) -> bool:
        """Append an event unless the same one (kind, subject, detail, time, by) is kept.

        For events another system sends and may send again (an edge's, after the central
        ingest was killed between writing and acknowledging): False if it was kept already.
        """
        ...

    def events(self, *, kind: str | None = None, limit: int = 200, subject: str | None = None,
               by: str | None = None, since: datetime | None = None,
               until: datetime | None = None, offset: int = 0) -> list[Event]:
        """Newest first, filtered."""
        ...

    def chain_entries(self) -> Iterator[ChainEntry]:
        """Every chained entry in ``seq`` order."""
        ...

    def unchained_events(self) -> int:
        """How many events predate the chain."""
        ...

    def chain_head(self) -> tuple[int, str]:
        """The newest entry's seq and hash."""
        ...

    def latest_record_hashes(self, kind: str) -> dict[str, tuple[int, str | None]]:
        """Per subject, the newest entry of ``kind``: seq and record hash."""
        ...

    def add_anchor(self, seq: int, hash_hex: str, at: datetime, key_id: str,
                   signature: str) -> None:
        """Store a signed anchor."""
        ...

    def add_signature(self, signature: Signature) -> None:
        """Store an electronic signature."""
        ...

    def signatures_for(self, record_kind: str, *, record_hash: str | None = None,
                       record_id: str | None = None) -> list[Signature]:
        """Signatures on records of a kind, oldest first."""
        ...

    def anchors(self) -> list[StoredAnchor]:
        """Every anchor, oldest first."""
        ...

    # -- deliveries (andon.sinks; SqlStore: store/sql_deliveries.py) -----------------------
    def record_deliveries(self, rows: Sequence[Delivery]) -> None:
        """Append delivery attempts in one transaction."""
        ...

    def delivery_states(self, sink: str,
                        intervention_ids: Sequence[str] | None = None) -> dict[str, Delivery]:
        """Intervention id -> its newest delivery attempt to ``sink`` (of these ids only)."""
        ...

    def undelivered(self, sink: str, *, limit: int = 500) -> list[str]:
        """Ids of interventions whose newest attempt to ``sink`` failed, oldest failure first."""
        ...

    def deliveries(self, *, sink: str | None = None, intervention_id: str | None = None,
                   limit: int = 200) -> list[Delivery]:
        """Delivery attempts, newest first."""
        ...

    def external_id(self, sink: str, intervention_id: str) -> str | None:
        """The newest external id (e.g. work order) a sink reported for an intervention."""
        ...

    # -- work orders (IT data; SqlStore: store/sql_workorders.py) --------------------------
    def upsert_work_orders(self, orders: Sequence[WorkOrder], at: datetime) -> tuple[int, int]:
        """Insert or replace work orders by external id in one transaction; (new, updated)."""
        ...

    def work_orders(self, *, asset: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, failure_confirmed: bool | None = None,
                    limit: int | None = 1000) -> list[WorkOrder]:
        """Work orders opened in ``[start, end)``, oldest first (by opened_at, external id)."""
        ...

    # -- staged rollouts and shadow interventions (SqlStore: store/sql_rollouts.py) --------
    def save_shadow_intervention(self, iv: Intervention) -> bool:
        """Keep a shadow version's would-be intervention; False if its id was kept already."""
        ...

    def shadow_interventions(self, *, since: datetime | None = None,
                             until: datetime | None = None,
                             limit: int | None = None) -> list[Intervention]:
        """Shadow interventions raised in ``[since, until)``, oldest first."""
        ...

    def save_rollout(self, rollout: Rollout, expected: int) -> None:
        """Write ``rollout`` if its newest stored one has ``expected`` steps (0: a new one)."""
        ...

    def rollout(self, use_case: str) -> Rollout | None:
        """The newest rollout of ``use_case`` (ended or not), or None."""
        ...

    def rollouts(self, *, use_case: str | None = None) -> list[Rollout]:
        """Every rollout (of ``use_case``), oldest first."""
        ...

    # -- intervention gate and triage (SqlStore: sql_triage.py); the rest is ``GateStore`` --
    def gate_counts(self, *, since: datetime | None = None) -> dict[tuple[str, str], int]:
        """(position, verdict) -> number of gate decisions (after ``since``)."""
        ...

    def list_triage(self, *, status: TriageStatus | None = None,
                    limit: int = 200) -> list[TriageItem]:
        """Triage items, newest first, optionally of one status."""
        ...

    def label_triage(self, label: TriageLabel) -> TriageItem:
        """Store a reviewer's label with provenance and mark the item labelled, atomically."""
        ...

    def triage_labels(self, item_id: int) -> list[TriageLabel]:
        """Every label given on a triage item, oldest first."""
        ...
