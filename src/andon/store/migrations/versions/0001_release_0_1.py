"""Release 0.1.0: the whole schema as 0.1 created it.

The baseline: ``create_all`` of the frozen snapshot ``andon.store.migrations.release_0_1``
(tables, indexes, constraints exactly as 0.1.0 shipped them). An unversioned 0.1 database is
stamped at this revision instead of running it.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from alembic import op

from andon.store.migrations.release_0_1 import METADATA

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create every table of release 0.1.0."""
    METADATA.create_all(op.get_bind())


def downgrade() -> None:
    """Drop every table of release 0.1.0 (and so all data)."""
    METADATA.drop_all(op.get_bind())
