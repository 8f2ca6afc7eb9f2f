"""Schema migrations: every change of the store's tables as one Alembic revision.

Good means: any database an Andon release ever made opens with the current code and keeps all
its rows; a fresh database gets exactly ``andon.store.schema.METADATA`` whether it is created at
once or walked through every revision (a test compares both); start-ups racing on one database
do the work once. ``runner`` decides what a database needs (``andon.store.open_store`` calls
it); ``andon db upgrade | current | history`` shows it.

Layout: ``env.py`` (Alembic's environment; no ``alembic.ini``: the store passes its connection
in ``config.attributes``), ``release_0_1.py`` (the frozen 0.1.0 schema: the baseline), and
``versions/NNNN_what_changed.py``, one file per schema change, in a straight line.

How to add a migration (one per schema change, in the same commit as the change):

1. Change ``andon/store/schema.py`` as the code needs it.
2. Copy the newest ``versions/NNNN_*.py`` to the next number with a short snake-case subject,
   e.g. ``0003_work_order_priority.py``. Set ``revision = "0003"`` and ``down_revision`` to
   the previous number; the docstring's first line is the title ``andon db history`` shows.
3. Write ``upgrade()`` and ``downgrade()`` with ``alembic.op``. Where SQLite cannot alter in
   place (changing or dropping a column, a constraint) use ``op.batch_alter_table``: it
   copies the table, which is safe because revisions run on SQLite with foreign keys off
   (checked before the commit). Name every new constraint. Never import
   ``andon.store.schema`` nor reuse its tables in a revision: write the names and types out,
   as they are at that revision, so the file still means the same once the live schema has
   moved on. Data steps use ``op.execute`` or a table stated in the revision itself.
4. Run ``tests/store/test_migrations.py`` (SQLite and PostgreSQL): it fails until walking the
   revisions gives the live ``METADATA``; add a test with rows when data moves.
"""

from andon.store.migrations.runner import (
    BASELINE,
    Revision,
    Status,
    Upgrade,
    head,
    history,
    status,
    upgrade,
)

__all__ = ["BASELINE", "Revision", "Status", "Upgrade", "head", "history", "status", "upgrade"]
