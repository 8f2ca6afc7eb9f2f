"""Comments on interventions: the notes people write on a card (``intervention_comments``).

A comment is no answer and no label: it changes nothing of the intervention, is kept with
who, when and through which surface, and is deleted with its intervention.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, String, Text

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_ID = BigInteger().with_variant(Integer(), "sqlite")


def upgrade() -> None:
    """Create the table and its index (no rows to move)."""
    op.create_table(
        "intervention_comments",
        Column("id", _ID, primary_key=True, autoincrement=True),
        Column("intervention_id", String(200),
               ForeignKey("interventions.id", ondelete="CASCADE"), nullable=False),
        Column("body", Text(), nullable=False),
        Column("by", String(200), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("via", String(16), nullable=False),
    )
    op.create_index("ix_intervention_comments_intervention_at", "intervention_comments",
                    ["intervention_id", "at"])


def downgrade() -> None:
    """Drop the table (its comments are lost)."""
    op.drop_index("ix_intervention_comments_intervention_at",
                  table_name="intervention_comments")
    op.drop_table("intervention_comments")
