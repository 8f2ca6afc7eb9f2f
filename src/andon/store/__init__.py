"""Storage: samples, interventions, feedback, models, users and spec versions.

Good means: one small interface (``Store``) that every backend honours identically, proven by
one conformance suite run against SQLite and PostgreSQL; SQLite in WAL mode with a single
writer by default, PostgreSQL when given ``postgresql://...``; nothing above this package sees
SQL or a driver. The schema changes only through numbered revisions (``store.migrations``),
applied when a store opens: a database any release made opens with all its rows.
"""

from andon.store.base import Event, SpecVersion, Store
from andon.store.sql import SqlStore, open_store, refused_data

__all__ = ["Event", "SpecVersion", "SqlStore", "Store", "open_store", "refused_data"]
