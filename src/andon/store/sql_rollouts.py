"""The rollout part of ``SqlStore``: staged rollouts and shadow versions' interventions.

``SqlStore`` inherits ``RolloutTables``. A rollout is saved whole (its steps as JSON) with
optimistic concurrency: ``save_rollout(r, expected)`` writes only if the stored rollout still
has ``expected`` steps (two people advancing at once: the second is refused, nothing lost).
Shadow interventions are kept apart from ``interventions`` (module doc of the schema).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from andon.errors import StoreError
from andon.interventions.wire import intervention_document, intervention_from_document
from andon.rollout.stages import Rollout, from_doc, to_doc
from andon.store.schema import ROLLOUTS, SHADOW_INTERVENTIONS, as_utc
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    from datetime import datetime

    from andon.interventions.record import Intervention

__all__ = ["RolloutTables"]


class RolloutTables(SqlMixin):
    """Store methods for rollouts and shadow interventions (mixed into ``SqlStore``)."""

    def save_shadow_intervention(self, iv: Intervention) -> bool:
        """Keep a shadow version's would-be intervention; False if its id was kept already."""
        row = {"id": iv.id, "use_case": iv.use_case, "line": iv.line, "asset": iv.asset,
               "model": iv.model, "model_version": iv.model_version,
               "raised_at": as_utc(iv.lifecycle.raised_at, "raised at"),
               "doc": json.dumps(intervention_document(iv))}
        with self._write() as conn:
            kept = conn.execute(self._insert(SHADOW_INTERVENTIONS).values(row)
                                .on_conflict_do_nothing(index_elements=["id"])
                                .returning(SHADOW_INTERVENTIONS.c.id)).first()
            return kept is not None

    def shadow_interventions(self, *, since: datetime | None = None,
                             until: datetime | None = None,
                             limit: int | None = None) -> list[Intervention]:
        """Shadow interventions raised in ``[since, until)``, oldest first."""
        c = SHADOW_INTERVENTIONS.c
        stmt = select(c.doc).order_by(c.raised_at, c.id)
        if since is not None:
            stmt = stmt.where(c.raised_at >= as_utc(since, "since"))
        if until is not None:
            stmt = stmt.where(c.raised_at < as_utc(until, "until"))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as conn:
            return [intervention_from_document(json.loads(doc))
                    for doc in conn.execute(stmt).scalars()]

    def save_rollout(self, rollout: Rollout, expected: int) -> None:
        """Write ``rollout`` if its use case's newest one still has ``expected`` steps.

        ``expected`` 0 starts a new rollout (refused while one that has not ended stands);
        otherwise the newest is replaced. ``StoreError`` when someone moved it meanwhile.
        """
        c = ROLLOUTS.c
        values: dict[str, Any] = {
            "use_case": rollout.use_case, "model": rollout.model, "version": rollout.version,
            "stage": rollout.stage.value, "steps": len(rollout.steps),
            "doc": json.dumps(to_doc(rollout)), "updated_at": as_utc(rollout.current.at)}
        with self._write() as conn:
            newest = conn.execute(select(c.id, c.steps, c.stage).where(
                c.use_case == rollout.use_case).order_by(c.id.desc()).limit(1)).first()
            if expected == 0:
                if newest is not None and newest.stage not in {"complete", "withdrawn"}:
                    raise StoreError(f"{rollout.use_case} already has a rollout in stage "
                                     f"{newest.stage}; withdraw it first")
                conn.execute(ROLLOUTS.insert().values(values))
                return
            if newest is None or newest.steps != expected:
                raise StoreError(f"the rollout of {rollout.use_case} was moved meanwhile; "
                                 "look at its status again")
            conn.execute(ROLLOUTS.update().where(c.id == newest.id).values(values))

    def rollout(self, use_case: str) -> Rollout | None:
        """The newest rollout of ``use_case`` (ended or not), or None."""
        c = ROLLOUTS.c
        with self._read() as conn:
            doc = conn.execute(select(c.doc).where(c.use_case == use_case)
                               .order_by(c.id.desc()).limit(1)).scalar()
        return None if doc is None else from_doc(json.loads(doc))

    def rollouts(self, *, use_case: str | None = None) -> list[Rollout]:
        """Every rollout (of ``use_case``), oldest first: the history coverage reads."""
        c = ROLLOUTS.c
        stmt = select(c.doc).order_by(c.id)
        if use_case is not None:
            stmt = stmt.where(c.use_case == use_case)
        with self._read() as conn:
            return [from_doc(json.loads(doc)) for doc in conn.execute(stmt).scalars()]
