"""The console part of ``SqlStore``: one query over interventions, and their comments.

``find_interventions`` answers an ``InterventionQuery`` (``andon.interventions.query``) in
SQL: scope, open or closed, filters, text search (over the record's words and its comments)
and order, with the same tie-breaks as the pure ``ordered``, one page and the count of all
matches. The store conformance suite checks it agrees with ``InterventionQuery.admits`` and
``ordered`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, func, or_, select

from andon.errors import NotFound
from andon.feedback.comments import Comment
from andon.interventions.query import (
    PRIORITY_ORDER,
    STATE_ORDER,
    InterventionPage,
    InterventionQuery,
    Scope,
    SortKey,
    sort_key,
)
from andon.store.schema import COMMENTS, INTERVENTIONS, as_utc
from andon.store.sql_interventions import _iv_from_row
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement

__all__ = ["ConsoleTables"]

_C = INTERVENTIONS.c
#: the record's columns a text search reads (beside the comments)
_SEARCHED = (_C.id, _C.asset, _C.asset_name, _C.action, _C.outcome_detail)


class ConsoleTables(SqlMixin):
    """Store methods for the console: the query, comments, the live marks."""

    def find_interventions(self, query: InterventionQuery) -> InterventionPage:
        """One page of the interventions ``query`` admits, in its order, and the total."""
        where = _conditions(query)
        listed = (select(INTERVENTIONS).where(*where).order_by(*_order(query))
                  .limit(query.limit).offset(query.offset))
        counted = select(func.count()).select_from(INTERVENTIONS).where(*where)
        with self._read() as conn:
            items = tuple(_iv_from_row(row) for row in conn.execute(listed))
            total = int(conn.execute(counted).scalar_one())
        return InterventionPage(items=items, total=total, offset=query.offset,
                                limit=query.limit)

    def add_comment(self, comment: Comment) -> Comment:
        """Store a comment; return it with its id. ``NotFound`` if the intervention is unknown."""
        with self._write() as conn:
            known = conn.execute(select(_C.id).where(_C.id == comment.intervention_id))
            if known.one_or_none() is None:
                raise NotFound("intervention", comment.intervention_id)
            new_id = conn.execute(COMMENTS.insert().values(
                intervention_id=comment.intervention_id, body=comment.body, by=comment.by,
                at=as_utc(comment.at, "comment time"), via=comment.via,
            ).returning(COMMENTS.c.id)).scalar_one()
        return Comment(intervention_id=comment.intervention_id, body=comment.body,
                       by=comment.by, at=as_utc(comment.at), via=comment.via, id=int(new_id))

    def comments(self, intervention_ids: Sequence[str]) -> dict[str, list[Comment]]:
        """Comments of each of ``intervention_ids`` (those with any), oldest first."""
        if not intervention_ids:
            return {}
        c = COMMENTS.c
        stmt = (select(COMMENTS).where(c.intervention_id.in_(list(intervention_ids)))
                .order_by(c.at, c.id))
        out: dict[str, list[Comment]] = {}
        with self._read() as conn:
            for row in conn.execute(stmt):
                out.setdefault(row.intervention_id, []).append(Comment(
                    intervention_id=row.intervention_id, body=row.body, by=row.by,
                    at=as_utc(row.at), via=row.via, id=int(row.id)))
        return out

    def change_marks(self) -> tuple[int, int]:
        """(newest ``change_seq`` of any intervention, newest comment id); 0 for none yet."""
        with self._read() as conn:
            seq = conn.execute(select(func.max(_C.change_seq))).scalar()
            comment = conn.execute(select(func.max(COMMENTS.c.id))).scalar()
        return int(seq or 0), int(comment or 0)


def _conditions(query: InterventionQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``query`` (the SQL twin of ``InterventionQuery.admits``)."""
    where: list[ColumnElement[bool]] = [_C.state.in_(query.state_values),
                                        *_scope_conditions(query.scope)]
    if query.priorities:
        where.append(_C.priority.in_(sorted(p.value for p in query.priorities)))
    if query.assets:
        where.append(_C.asset.in_(sorted(query.assets)))
    if query.lines:
        where.append(_C.line.in_(sorted(query.lines)))
    if query.raised_after is not None:
        where.append(_C.created_at >= as_utc(query.raised_after, "raised after"))
    if query.raised_before is not None:
        where.append(_C.created_at < as_utc(query.raised_before, "raised before"))
    needle = query.needle
    if needle:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        said = exists().where(COMMENTS.c.intervention_id == _C.id,
                              func.lower(COMMENTS.c.body).like(pattern, escape="\\"))
        where.append(or_(*(func.lower(col).like(pattern, escape="\\") for col in _SEARCHED),
                         said))
    return where


def _scope_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a ``Scope`` (the SQL twin of ``Scope.admits``)."""
    where: list[ColumnElement[bool]] = []
    if scope.sites is not None:
        where.append(_C.site.in_(sorted(scope.sites)))
    if scope.lines is not None:
        pairs = [and_(_C.site == s, _C.line == ln) for s, ln in sorted(scope.lines)]
        where.append(or_(*pairs) if pairs else _C.id.is_(None))
    if scope.owner_roles is not None:
        mine: list[ColumnElement[bool]] = [_C.owner_role.in_(sorted(scope.owner_roles))]
        if scope.use_cases:
            mine.append(_C.use_case.in_(sorted(scope.use_cases)))
        if scope.assignee is not None:
            mine.append(_C.assignee == scope.assignee)
        where.append(or_(*mine))
    return where


def _order(query: InterventionQuery) -> list[Any]:
    """ORDER BY of ``query``: its sort keys (flipped if descending), newest, then id."""
    ranks: dict[str, Any] = {
        "priority_rank": case({p.value: n for n, p in enumerate(PRIORITY_ORDER)},
                              value=_C.priority, else_=len(PRIORITY_ORDER)),
        "state_rank": case({s.value: n for n, s in enumerate(STATE_ORDER)},
                           value=_C.state, else_=len(STATE_ORDER)),
        "deadline": _C.deadline, "asset": _C.asset, "created_at": _C.created_at,
    }
    keys = [ranks[k].desc() if query.descending else ranks[k].asc()
            for k in sort_key(SortKey(query.sort))]
    return [*keys, _C.created_at.desc(), _C.id.asc()]
