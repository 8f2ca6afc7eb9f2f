"""Staged rollouts and shadow interventions: tables ``rollouts`` and ``shadow_interventions``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Text

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_ID = BigInteger().with_variant(Integer(), "sqlite")


def upgrade() -> None:
    """Create both tables (empty: nothing was rolled out or shadowed before)."""
    op.create_table(
        "shadow_interventions",
        Column("id", String(200), primary_key=True),
        Column("use_case", String(100), nullable=False),
        Column("line", String(100), nullable=False),
        Column("asset", String(100), nullable=False),
        Column("model", String(200), nullable=False),
        Column("model_version", String(100), nullable=False),
        Column("raised_at", DateTime(timezone=True), nullable=False),
        Column("doc", Text(), nullable=False),
    )
    op.create_index("ix_shadow_interventions_raised", "shadow_interventions", ["raised_at"])
    op.create_table(
        "rollouts",
        Column("id", _ID, primary_key=True, autoincrement=True),
        Column("use_case", String(100), nullable=False),
        Column("model", String(200), nullable=False),
        Column("version", String(100), nullable=False),
        Column("stage", String(32), nullable=False),
        Column("steps", Integer(), nullable=False),
        Column("doc", Text(), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rollouts_use_case", "rollouts", ["use_case", "id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_rollouts_use_case", table_name="rollouts")
    op.drop_table("rollouts")
    op.drop_index("ix_shadow_interventions_raised", table_name="shadow_interventions")
    op.drop_table("shadow_interventions")
