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
    "EVENTS",
    "FEEDBACK",
    "METADATA",
    "MODELS",
    "QUARANTINE",
    "RECOMMENDATIONS",
    "SAMPLES",
    "SPEC_VERSIONS",
    "TOKENS",
    "USERS",
    "UtcDateTime",
    "as_utc",
]

#: big integer surrogate key that is still SQLite's auto-incrementing ``INTEGER PRIMARY KEY``
_ID = BigInteger().with_variant(Integer(), "sqlite")
_ID_LEN = 200  # recommendation ids, usernames, model names
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
    UniqueConstraint("source", "seq", "asset", "tag", name="uq_samples_source_seq_asset_tag"),
    Index("ix_samples_asset_ts", "asset", "ts_ms"),
    Index("ix_samples_ts", "ts_ms"),
)

RECOMMENDATIONS = Table(
    "recommendations",
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
    Column("status", String(16), nullable=False),
    Column("detections", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_recommendations_status_created", "status", "created_at"),
    Index("ix_recommendations_use_case_asset", "use_case", "asset", "status"),
)

FEEDBACK = Table(
    "feedback",
    METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column(
        "recommendation_id",
        String(_ID_LEN),
        ForeignKey("recommendations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("by", String(_ID_LEN), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_feedback_recommendation_at", "recommendation_id", "at"),
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
    Index("ix_tokens_username", "username"),
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
    Index("ix_events_at", "at"),
    Index("ix_events_kind_at", "kind", "at"),
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
