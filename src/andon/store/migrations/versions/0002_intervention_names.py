"""One name, intervention: recommendation tables, columns, indexes and keys renamed.

``recommendations`` becomes ``interventions``; ``recommendation_id`` (feedback, labels) and
``rec_id`` (gate_episodes, gate_log, gate_queue) become ``intervention_id``; the indexes named
after them follow, and the foreign keys of feedback and labels reference ``interventions.id``.
No row changes. On SQLite the tables with a renamed column are copied (batch mode), their
foreign keys following the renamed table; on PostgreSQL everything is renamed in place, and
the constraints get the names a fresh database gives them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import String

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_OLD, _NEW = "recommendations", "interventions"
#: the renamed table's indexes: 0.1 name, 0.2 name, columns
_TABLE_INDEXES = (
    ("ix_recommendations_state_created", "ix_interventions_state_created",
     ("state", "created_at")),
    ("ix_recommendations_use_case_asset", "ix_interventions_use_case_asset",
     ("use_case", "asset", "state")),
    ("ix_recommendations_dedup_key", "ix_interventions_dedup_key", ("dedup_key",)),
)
#: table, 0.1 column, nullable, index on (column, at): 0.1 name, 0.2 name (or None)
_COLUMNS = (
    ("feedback", "recommendation_id", False,
     ("ix_feedback_recommendation_at", "ix_feedback_intervention_at")),
    ("labels", "recommendation_id", False,
     ("ix_labels_recommendation_at", "ix_labels_intervention_at")),
    ("gate_episodes", "rec_id", True, None),
    ("gate_log", "rec_id", True, None),
    ("gate_queue", "rec_id", False, None),
)
_COLUMN = "intervention_id"
#: PostgreSQL's names of the constraints that carry a renamed name: 0.1 name, 0.2 name
_PG_CONSTRAINTS = (
    ("interventions", "recommendations_pkey", "interventions_pkey"),
    ("feedback", "feedback_recommendation_id_fkey", "feedback_intervention_id_fkey"),
    ("labels", "labels_recommendation_id_fkey", "labels_intervention_id_fkey"),
)


def upgrade() -> None:
    """Rename from the recommendation names to the intervention names."""
    op.rename_table(_OLD, _NEW)
    for old, new, columns in _TABLE_INDEXES:
        _rename_index(_NEW, old, new, columns)
    for name, old, nullable, index in _COLUMNS:
        _rename_column(name, old, _COLUMN, nullable=nullable)
        if index is not None:
            _rename_index(name, index[0], index[1], (_COLUMN, "at"))
    if _postgresql():
        for name, old, new in _PG_CONSTRAINTS:
            op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT {old} TO {new}")


def downgrade() -> None:
    """Rename back to the recommendation names of 0.1."""
    if _postgresql():
        for name, old, new in _PG_CONSTRAINTS:
            op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT {new} TO {old}")
    for name, old, nullable, index in _COLUMNS:
        _rename_column(name, _COLUMN, old, nullable=nullable)
        if index is not None:
            _rename_index(name, index[1], index[0], (old, "at"))
    for old, new, columns in _TABLE_INDEXES:
        _rename_index(_NEW, new, old, columns)
    op.rename_table(_NEW, _OLD)


def _rename_column(table: str, old: str, new: str, *, nullable: bool) -> None:
    """Rename a column: in place on PostgreSQL, by a copy of the table on SQLite (batch)."""
    with op.batch_alter_table(table) as batch:
        batch.alter_column(old, new_column_name=new, existing_type=String(200),
                           existing_nullable=nullable)


def _rename_index(table: str, old: str, new: str, columns: tuple[str, ...]) -> None:
    """Rename an index: in place on PostgreSQL; SQLite cannot, so it is made again."""
    if _postgresql():
        op.execute(f"ALTER INDEX {old} RENAME TO {new}")
    else:
        op.drop_index(old, table_name=table)
        op.create_index(new, table, list(columns))


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"
