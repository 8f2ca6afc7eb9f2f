"""The predicted failure's band and a stopped asset: two nullable interventions columns.

``failure_earliest`` is the early edge of the predicted failure (detection + the use case's
``horizon_min``; null on older rows: the predicted failure itself). ``stopped_at`` is the event
time the asset was seen stopped outside a planned stop while the intervention was open: its
action is then a corrective one (``andon.interventions.decide``). Both nullable: every row is
kept as it is.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = ("failure_earliest", "stopped_at")


def _present() -> set[str]:
    return {str(c["name"]) for c in sa.inspect(op.get_bind()).get_columns("interventions")}


def upgrade() -> None:
    """Add the two nullable columns (absent ones only)."""
    have = _present()
    with op.batch_alter_table("interventions") as batch:
        for name in _COLUMNS:
            if name not in have:
                batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop them (the band's early edge and the stops are lost)."""
    have = _present()
    with op.batch_alter_table("interventions") as batch:
        for name in _COLUMNS:
            if name in have:
                batch.drop_column(name)
