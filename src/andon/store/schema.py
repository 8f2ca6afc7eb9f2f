"""Table definitions of the SQL store (SQLAlchemy Core, one ``MetaData``).

Every datetime column uses ``UtcDateTime``: ``DateTime(timezone=True)`` that accepts only aware
datetimes and always hands back aware UTC ones. PostgreSQL keeps ``timestamptz`` natively;
SQLite has no time zone support, so values are written as naive UTC text (fixed width, so text
order is time order) and tagged UTC again when read.

Sample times stay what the UNS carries: integer milliseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

from andon.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

__all__ = [
    "AUDIT_ANCHORS",
    "COMMENTS",
    "DELIVERIES",
    "EVENTS",
    "FEEDBACK",
    "GATE_EPISODES",
    "GATE_LOG",
    "GATE_QUEUE",
    "INTERVENTIONS",
    "LABELS",
    "LOGIN_FAILURES",
    "METADATA",
    "MODELS",
    "QUALITY_COUNTS",
    "QUARANTINE",
    "ROLLOUTS",
    "SAMPLES",
    "SHADOW_INTERVENTIONS",
    "SIGNATURES",
    "SOURCE_SKEW",
    "SPEC_VERSIONS",
    "TOKENS",
    "TRIAGE",
    "TRIAGE_LABELS",
    "USERS",
    "WORK_ORDERS",
    "UtcDateTime",
    "as_utc",
]

#: big integer surrogate key that is still SQLite's auto-incrementing ``INTEGER PRIMARY KEY``
_ID = BigInteger().with_variant(Integer(), "sqlite")
_ID_LEN = 200  # intervention ids, usernames, model names
_NAME_LEN = 100  # ISA-95 levels, tag ids, units, roles, kinds


def as_utc(when: datetime, what: str = "datetime") -> datetime:
    """``when`` in UTC; ``StoreError`` if it is naive (the store never guesses a zone)."""
    if when.tzinfo is None or when.tzinfo.utcoffset(when) is None:
        raise StoreError(f"{what} must be timezone-aware, got naive {when.isoformat()}")
    return when.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime column: aware in, aware UTC out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; drop the (then implied) zone for SQLite, which cannot store it."""
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Naive values (SQLite) are UTC by construction; aware ones are converted to UTC."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


METADATA = MetaData()

SAMPLES = Table(
    "samples",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("enterprise", String(_NAME_LEN), nullable=False),
    Column("site", String(_NAME_LEN), nullable=False),
    Column("area", String(_NAME_LEN), nullable=False),
    Column("line", String(_NAME_LEN), nullable=False),
    Column("asset", String(_NAME_LEN), nullable=False),
    Column("tag", String(_NAME_LEN), nullable=False),
    Column("value", Double(), nullable=False),
    Column("unit", String(_NAME_LEN), nullable=False),
    Column("quality", String(16), nullable=False),
    Column("ts_ms", BigInteger(), nullable=False),
    Column("seq", BigInteger(), nullable=False),
    Column("source", String(_ID_LEN), nullable=False),
    Column("ingest_ms", BigInteger(), nullable=False),
    Column("reason", String(32), nullable=True),  # quality reason code (rule), NULL: none
    # the source time is part of the key: a producer that restarts its sequence is new data
    UniqueConstraint("source", "seq", "asset", "tag", "ts_ms",
                     name="uq_samples_source_seq_asset_tag_ts"),
    Index("ix_samples_asset_ts", "asset", "ts_ms"),
    Index("ix_samples_ts", "ts_ms"),
)

INTERVENTIONS = Table(
    "interventions",
    METADATA,
    Column("id", String(_ID_LEN), primary_key=True),
    Column("use_case", String(_NAME_LEN), nullable=False),
    Column("enterprise", String(_NAME_LEN), nullable=False),
    Column("site", String(_NAME_LEN), nullable=False),
    Column("area", String(_NAME_LEN), nullable=False),
    Column("line", String(_NAME_LEN), nullable=False),
    Column("asset", String(_NAME_LEN), nullable=False),
    Column("asset_name", Text(), nullable=False),
    Column("action", Text(), nullable=False),
    Column("owner_role", String(_NAME_LEN), nullable=False),
    Column("deadline", UtcDateTime(), nullable=False),
    Column("deadline_label", Text(), nullable=False),
    Column("predicted_failure", UtcDateTime(), nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("score", Double(), nullable=False),
    Column("threshold", Double(), nullable=False),
    Column("model", String(_ID_LEN), nullable=False),
    Column("model_version", String(_NAME_LEN), nullable=False),
    Column("why", Text(), nullable=False),  # JSON list of Contribution fields
    Column("state", String(16), nullable=False),  # lifecycle InterventionState
    Column("detections", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("assignee", String(_ID_LEN), nullable=True),
    Column("escalation_level", Integer(), nullable=False),
    Column("shelved_until", UtcDateTime(), nullable=True),
    Column("history", Text(), nullable=False),  # JSON list of TransitionRecord.to_dict()
    Column("dedup_key", String(_ID_LEN * 2), nullable=False),
    Column("window_start", UtcDateTime(), nullable=True),
    Column("window_end", UtcDateTime(), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("outcome_detail", Text(), nullable=False, server_default=""),
    # the change feed: one more per write of the row (evidence or lifecycle), store-wide; sinks
    # follow it instead of re-reading the newest records
    Column("change_seq", BigInteger(), nullable=False, server_default="0"),
    # the predicted failure's early edge (null: predicted_failure) and when the asset was seen
    # stopped while it was open (the action is then corrective); revision 0008
    Column("failure_earliest", UtcDateTime(), nullable=True),
    Column("stopped_at", UtcDateTime(), nullable=True),
    Index("ix_interventions_state_created", "state", "created_at"),
    Index("ix_interventions_change_seq", "change_seq"),
    Index("ix_interventions_use_case_asset", "use_case", "asset", "state"),
    Index("ix_interventions_dedup_key", "dedup_key"),
)

FEEDBACK = Table(
    "feedback",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column(
        "intervention_id",
        String(_ID_LEN),
        ForeignKey("interventions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("by", String(_ID_LEN), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("via", String(16), nullable=False, server_default="api"),  # web/api/mqtt/cmms
    Index("ix_feedback_intervention_at", "intervention_id", "at"),
)
#: notes people write on an intervention (``andon.feedback.comments``); no lifecycle, no label
COMMENTS = Table(
    "intervention_comments",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column(
        "intervention_id",
        String(_ID_LEN),
        ForeignKey("interventions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("body", Text(), nullable=False),
    Column("by", String(_ID_LEN), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("via", String(16), nullable=False),  # web/api/cli
    Index("ix_intervention_comments_intervention_at", "intervention_id", "at"),
)

#: every feedback and outcome, tied to the evidence window: labels for training and the track
#: record (``kind`` feedback: acted / deferred / dismissed; outcome: fault_confirmed / no_fault /
#: unsure); ``via`` says through which surface it came (web / api / mqtt / cmms)
LABELS = Table(
    "labels",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column(
        "intervention_id",
        String(_ID_LEN),
        ForeignKey("interventions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("asset", String(_NAME_LEN), nullable=False),
    Column("use_case", String(_NAME_LEN), nullable=False),
    Column("model", String(_ID_LEN), nullable=False),
    Column("model_version", String(_NAME_LEN), nullable=False),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("window_end", UtcDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("label", String(32), nullable=False),
    Column("detail", Text(), nullable=False),
    Column("by", String(_ID_LEN), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("via", String(16), nullable=False),
    Index("ix_labels_at", "at"),
    Index("ix_labels_intervention_at", "intervention_id", "at"),
)

MODELS = Table(
    "models",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("name", String(_ID_LEN), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("meta", Text(), nullable=False),  # ModelMeta.to_json()
    Column("stage", String(16), nullable=False, server_default="candidate"),  # registry Stage
    Column("key_id", String(64), nullable=True),  # signing key fingerprint; NULL = unsigned
    Column("signer", String(_ID_LEN), nullable=True),  # who signed it
    UniqueConstraint("name", "version", name="uq_models_name_version"),
)

USERS = Table(
    "users",
    METADATA,
    Column("username", String(_ID_LEN), primary_key=True),
    Column("role", String(_NAME_LEN), nullable=False),
    Column("access", String(_NAME_LEN), nullable=False),
    Column("display_name", Text(), nullable=False),
    Column("password_hash", Text(), nullable=False),
    Column("disabled", Boolean(), nullable=False, server_default=false()),  # may not sign in
)

TOKENS = Table(
    "tokens",
    METADATA,
    Column("token_hash", String(128), primary_key=True),
    Column(
        "username",
        String(_ID_LEN),
        ForeignKey("users.username", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("revoked", Boolean(), nullable=False, server_default=false()),
    Column("kind", String(32), nullable=False, server_default="api"),  # api / session
    Column("issued_at", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),  # sessions: the idle timeout's clock
    Index("ix_tokens_username", "username"),
)

#: failed sign-ins per key (``user:<name>`` / ``addr:<address>``): the back-off's memory
LOGIN_FAILURES = Table(
    "login_failures",
    METADATA,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer(), nullable=False),
    Column("last_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
)

#: electronic signatures (``andon.audit.signatures``): who signed which record, meaning what
SIGNATURES = Table(
    "signatures",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("record_kind", String(32), nullable=False),
    Column("record_id", Text(), nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("username", String(_ID_LEN), nullable=False),
    Column("printed_name", Text(), nullable=False),
    Column("meaning", String(16), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_signatures_record", "record_kind", "record_hash"),
)

#: signed checkpoints of the audit chain (``andon.audit.chain``): entry ``seq`` had ``hash``
AUDIT_ANCHORS = Table(
    "audit_anchors",
    METADATA,
    Column("seq", _ID, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", Text(), nullable=False),
)

SPEC_VERSIONS = Table(
    "spec_versions",
    METADATA,
    Column("version", Integer(), primary_key=True, autoincrement=False),
    Column("text", Text(), nullable=False),
    Column("by", String(_ID_LEN), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)

EVENTS = Table(
    "events",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("kind", String(_NAME_LEN), nullable=False),
    Column("subject", Text(), nullable=False),
    Column("detail", Text(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("by", String(_ID_LEN), nullable=False),
    # the audit chain (andon.audit.chain): position, link to the entry before, own hash, and
    # the hash of the record the entry is about (a user row...), where it names one
    Column("seq", _ID, nullable=True),  # NULL: written before the chain began (release 0.1)
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Column("record_hash", String(64), nullable=True),
    Index("ix_events_at", "at"),
    Index("ix_events_kind_at", "kind", "at"),
    Index("ix_events_seq", "seq", unique=True),
)

#: messages kept out of ``samples`` by decoding or a data contract (``andon.contracts``); the
#: address columns are text, not ``String(n)``: a refused topic may carry any level length
QUARANTINE = Table(
    "quarantine",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("topic", Text(), nullable=False),
    Column("payload", LargeBinary(), nullable=False),  # original bytes, capped (64 kB)
    Column("size", Integer(), nullable=False),  # original size; > len(payload) = truncated
    Column("rule", String(32), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("source", Text(), nullable=True),
    Column("enterprise", Text(), nullable=True),
    Column("site", Text(), nullable=True),
    Column("area", Text(), nullable=True),
    Column("line", Text(), nullable=True),
    Column("asset", Text(), nullable=True),
    Column("tag", Text(), nullable=True),
    Column("replayed_at", UtcDateTime(), nullable=True),  # stored as a sample by a replay
    Index("ix_quarantine_received", "received_at"),
    Index("ix_quarantine_rule_received", "rule", "received_at"),
    Index("ix_quarantine_asset_received", "asset", "received_at"),
)

#: one row per delivery attempt of an intervention to a sink (``andon.sinks``): what was sent
#: (dedup key, version, digest of the document), when, and how it went; the newest row per
#: (sink, intervention) is the delivery state that survives a restart
DELIVERIES = Table(
    "deliveries",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("sink", String(_NAME_LEN), nullable=False),
    Column("intervention_id", String(_ID_LEN), nullable=False),
    Column("dedup_key", Text(), nullable=False),
    Column("version", Integer(), nullable=False),  # 1, 2, ... per change of the document
    Column("digest", String(64), nullable=False),  # sha256 of the canonical document (prefix)
    Column("attempt", Integer(), nullable=False),  # 1, 2, ... per version
    Column("at", UtcDateTime(), nullable=False),
    Column("ok", Boolean(), nullable=False),
    Column("http_status", Integer(), nullable=True),
    Column("error", Text(), nullable=False),  # one line; empty when ok
    Column("external_id", Text(), nullable=True),  # e.g. the CMMS work-order id
    Index("ix_deliveries_sink_intervention", "sink", "intervention_id", "id"),
    Index("ix_deliveries_at", "at"),
)

# -- the intervention gate and human triage (andon.interventions.gate / .triage) -------------
#: the gate's episode per use case/asset key: delivered, queued or in triage
GATE_EPISODES = Table(
    "gate_episodes",
    METADATA,
    Column("key", String(2 * _ID_LEN), primary_key=True),  # use_case/asset
    Column("position", String(2 * _ID_LEN), nullable=False),
    Column("state", String(32), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("last_at", UtcDateTime(), nullable=False),
    Column("detections", Integer(), nullable=False),
    Column("intervention_id", String(_ID_LEN), nullable=True),
    Column("triage_id", BigInteger(), nullable=True),
    Column("normal_windows", Integer(), nullable=False),
)

#: every gate decision: rate limits and floods are counted from here, and the counters shown
GATE_LOG = Table(
    "gate_log",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("position", String(2 * _ID_LEN), nullable=False),
    Column("key", String(2 * _ID_LEN), nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("intervention_id", String(_ID_LEN), nullable=True),
    Column("arrival", Boolean(), nullable=False),  # a new intervention (delivered or queued)
    Index("ix_gate_log_position_at", "position", "at"),
    Index("ix_gate_log_key_verdict_at", "key", "verdict", "at"),
    Index("ix_gate_log_at", "at"),
)

#: interventions waiting in their position's overflow queue (the record as JSON)
GATE_QUEUE = Table(
    "gate_queue",
    METADATA,
    Column("intervention_id", String(_ID_LEN), primary_key=True),
    Column("position", String(2 * _ID_LEN), nullable=False),
    Column("queued_at", UtcDateTime(), nullable=False),
    Column("document", Text(), nullable=False),
    Index("ix_gate_queue_position_queued", "position", "queued_at"),
)

#: detections held for a reviewer, with their evidence and latest label
TRIAGE = Table(
    "triage",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("use_case", String(_ID_LEN), nullable=False),
    Column("site", String(_NAME_LEN), nullable=False),
    Column("line", String(_NAME_LEN), nullable=False),
    Column("asset", String(_NAME_LEN), nullable=False),
    Column("reasons", String(200), nullable=False),  # comma-separated TriageReason values
    Column("score", Double(), nullable=False),
    Column("threshold", Double(), nullable=False),
    Column("model", String(_ID_LEN), nullable=False),
    Column("model_version", String(_NAME_LEN), nullable=False),
    Column("window_end", UtcDateTime(), nullable=False),
    Column("why", Text(), nullable=False),  # JSON list of contributions
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("detections", Integer(), nullable=False),
    Column("status", String(32), nullable=False),
    Index("ix_triage_status_created", "status", "created_at"),
)

#: every reviewer label on a triage item, with provenance (the newest one counts)
TRIAGE_LABELS = Table(
    "triage_labels",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("item_id", _ID, ForeignKey("triage.id", ondelete="CASCADE"), nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("by", String(_ID_LEN), nullable=False),
    Column("role", String(_NAME_LEN), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("note", Text(), nullable=False),
    Index("ix_triage_labels_item", "item_id", "id"),
)

#: work orders and maintenance logs imported from IT (``andon.feedback.workorders``); one row per
#: CMMS external id (imports replace it), joined to samples and interventions by asset + time
WORK_ORDERS = Table(
    "work_orders",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("external_id", String(_ID_LEN), nullable=False, unique=True),
    Column("asset", String(_NAME_LEN), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("type", String(16), nullable=False),  # WorkType
    Column("failure_confirmed", Boolean(), nullable=False, server_default=false()),
    Column("failure_mode", Text(), nullable=False, server_default=""),
    Column("failure_code", String(_NAME_LEN), nullable=False, server_default=""),
    Column("description", Text(), nullable=False, server_default=""),
    Column("source", Text(), nullable=False, server_default=""),
    Column("imported_at", UtcDateTime(), nullable=False),
    Index("ix_work_orders_asset_opened", "asset", "opened_at"),
    Index("ix_work_orders_opened", "opened_at"),
)

#: data-quality counters (``andon.kpi.quality``) added up per hour of ingest time: per tag
#: (``source`` "") or per source (``asset`` and ``tag`` ""); ``metric`` is a rule code or
#: received / missing / filled / skew_corrected
QUALITY_COUNTS = Table(
    "quality_counts",
    METADATA,
    Column("bucket_ms", BigInteger(), nullable=False),  # start of the hour (epoch ms)
    Column("site", String(_NAME_LEN), nullable=False),
    Column("asset", String(_NAME_LEN), nullable=False),
    Column("tag", String(_NAME_LEN), nullable=False),
    Column("source", String(_ID_LEN), nullable=False),
    Column("metric", String(32), nullable=False),
    Column("count", BigInteger(), nullable=False),
    PrimaryKeyConstraint("bucket_ms", "site", "asset", "tag", "source", "metric",
                         name="pk_quality_counts"),
    Index("ix_quality_counts_asset", "asset", "bucket_ms"),
)

#: each source's clock-skew estimate, the latest per minute of ingest time
SOURCE_SKEW = Table(
    "source_skew",
    METADATA,
    Column("source", String(_ID_LEN), nullable=False),
    Column("at_ms", BigInteger(), nullable=False),  # start of the minute (epoch ms)
    Column("skew_ms", BigInteger(), nullable=False),  # positive: the source's clock is ahead
    Column("correcting", Boolean(), nullable=False),
    PrimaryKeyConstraint("source", "at_ms", name="pk_source_skew"),
)

#: a shadow version's would-be interventions (``andon.rollout``): kept with full evidence for
#: its track record, apart from ``interventions`` so that nothing that delivers, lists or
#: escalates interventions can ever see one
SHADOW_INTERVENTIONS = Table(
    "shadow_interventions",
    METADATA,
    Column("id", String(_ID_LEN), primary_key=True),
    Column("use_case", String(_NAME_LEN), nullable=False),
    Column("line", String(_NAME_LEN), nullable=False),
    Column("asset", String(_NAME_LEN), nullable=False),
    Column("model", String(_ID_LEN), nullable=False),
    Column("model_version", String(_NAME_LEN), nullable=False),
    Column("raised_at", UtcDateTime(), nullable=False),
    Column("doc", Text(), nullable=False),  # the wire form (andon.interventions.wire)
    Index("ix_shadow_interventions_raised", "raised_at"),
)

#: staged rollouts (``andon.rollout``), one row per rollout of a version on a use case; its
#: steps (append-only history) as JSON; ``steps`` counts them, for optimistic concurrency
ROLLOUTS = Table(
    "rollouts",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("use_case", String(_NAME_LEN), nullable=False),
    Column("model", String(_ID_LEN), nullable=False),
    Column("version", String(_NAME_LEN), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("steps", Integer(), nullable=False),
    Column("doc", Text(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_rollouts_use_case", "use_case", "id"),
)
