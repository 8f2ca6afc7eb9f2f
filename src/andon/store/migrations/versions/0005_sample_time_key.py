"""A sample is the same sample only at the same source time: ``ts_ms`` joins its unique key.

A producer that restarts its sequence (a PLC reboot, a gateway's new session, a second
simulator run) sends seq 0, 1, ... again at new times. With (source, seq, asset, tag) as the
key those samples were ignored as duplicates and silently lost; with the source time in the
key they are stored, while a sample sent twice (same seq, same time) is still stored once.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_OLD = "uq_samples_source_seq_asset_tag"
_NEW = "uq_samples_source_seq_asset_tag_ts"


def _unique_names() -> set[str]:
    return {str(u["name"]) for u in sa.inspect(op.get_bind()).get_unique_constraints("samples")}


def upgrade() -> None:
    """Replace the key (a table copy on SQLite); every row is kept."""
    if _OLD not in _unique_names():
        return  # created with today's key already
    with op.batch_alter_table("samples") as batch:
        batch.drop_constraint(_OLD, type_="unique")
        batch.create_unique_constraint(_NEW, ["source", "seq", "asset", "tag", "ts_ms"])


def downgrade() -> None:
    """Back to the sequence-only key (fails if a restarted sequence left two rows)."""
    if _NEW not in _unique_names():
        return
    with op.batch_alter_table("samples") as batch:
        batch.drop_constraint(_NEW, type_="unique")
        batch.create_unique_constraint(_OLD, ["source", "seq", "asset", "tag"])
