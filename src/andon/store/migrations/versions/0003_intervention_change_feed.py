"""Change feed: interventions.change_seq, stamped on every write, indexed.

Sinks follow ``intervention_changes(after=...)`` instead of re-reading the newest records. The
existing rows get 1, 2, ... in the order they last changed (``updated_at``, then ``id``), so a
sink that starts from 0 after the upgrade sees each once.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, String, column, select, table

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_INDEX = "ix_interventions_change_seq"


def upgrade() -> None:
    """Add the column (0 for now), number the rows by their last change, index it."""
    op.add_column("interventions",
                  Column("change_seq", BigInteger(), nullable=False, server_default="0"))
    ivs = table("interventions", column("id", String()), column("updated_at"),
                column("change_seq", BigInteger()))
    bind = op.get_bind()
    ids = bind.execute(select(ivs.c.id).order_by(ivs.c.updated_at, ivs.c.id)).scalars().all()
    for seq, iid in enumerate(ids, start=1):
        bind.execute(ivs.update().where(ivs.c.id == iid).values(change_seq=seq))
    op.create_index(_INDEX, "interventions", ["change_seq"])


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index(_INDEX, table_name="interventions")
    # in place (SQLite >= 3.35 drops a column without copying the table, so the feedback and
    # labels that reference it are never touched)
    op.drop_column("interventions", "change_seq")
