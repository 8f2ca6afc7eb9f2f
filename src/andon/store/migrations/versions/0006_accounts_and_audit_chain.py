"""Accounts and the audit chain: disabled logins, token use, sign-in back-off, chained events.

Adds ``users.disabled``, the token's kind and times, ``login_failures``, the hash chain's
columns on ``events``, the table of its signed anchors (``audit_anchors``) and electronic
signatures (``signatures``).
Events written before this revision keep ``seq`` NULL: they stay readable, and ``andon audit
verify`` counts them as written before the chain began.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, String, Text, false

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_ID = BigInteger().with_variant(Integer(), "sqlite")


def upgrade() -> None:
    """Add the columns (existing rows: enabled users, API tokens, unchained events) and tables."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(Column("disabled", Boolean(), nullable=False, server_default=false()))
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(Column("kind", String(32), nullable=False, server_default="api"))
        batch.add_column(Column("issued_at", DateTime(timezone=True), nullable=True))
        batch.add_column(Column("last_used_at", DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(Column("seq", _ID, nullable=True))
        batch.add_column(Column("prev_hash", String(64), nullable=True))
        batch.add_column(Column("hash", String(64), nullable=True))
        batch.add_column(Column("record_hash", String(64), nullable=True))
    op.create_index("ix_events_seq", "events", ["seq"], unique=True)
    op.create_table(
        "login_failures",
        Column("key", String(300), primary_key=True),
        Column("failures", Integer(), nullable=False),
        Column("last_at", DateTime(timezone=True), nullable=False),
        Column("locked_until", DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "signatures",
        Column("id", _ID, primary_key=True, autoincrement=True),
        Column("record_kind", String(32), nullable=False),
        Column("record_id", Text(), nullable=False),
        Column("record_hash", String(64), nullable=False),
        Column("username", String(200), nullable=False),
        Column("printed_name", Text(), nullable=False),
        Column("meaning", String(16), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("reason", Text(), nullable=False),
        Column("hash", String(64), nullable=False),
    )
    op.create_index("ix_signatures_record", "signatures", ["record_kind", "record_hash"])
    op.create_table(
        "audit_anchors",
        Column("seq", _ID, primary_key=True, autoincrement=False),
        Column("hash", String(64), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("key_id", String(64), nullable=False),
        Column("signature", Text(), nullable=False),
    )


def downgrade() -> None:
    """Drop what ``upgrade`` added (the chain's hashes and anchors are lost)."""
    op.drop_table("audit_anchors")
    op.drop_index("ix_signatures_record", table_name="signatures")
    op.drop_table("signatures")
    op.drop_table("login_failures")
    op.drop_index("ix_events_seq", table_name="events")
    with op.batch_alter_table("events") as batch:
        for name in ("record_hash", "hash", "prev_hash", "seq"):
            batch.drop_column(name)
    with op.batch_alter_table("tokens") as batch:
        for name in ("last_used_at", "issued_at", "kind"):
            batch.drop_column(name)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled")
