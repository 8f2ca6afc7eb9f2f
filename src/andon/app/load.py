"""Reading operator load: ISA-18.2 figures per position over a period, and hour by hour.

``operator_load`` is what ``andon report load`` prints and the ``/load`` page draws: the
figures of ``andon.kpi.load`` (per 10 minutes, floods, top-10 sources, stale ones), the
interventions each position got per hour (against ISA-18.2's ~6 acceptable and 12 manageable
per hour) and the sources that chattered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.kpi.load import chattering, load_figures, load_items, per_step

if TYPE_CHECKING:
    from datetime import datetime

    from andon.app.context import Context
    from andon.kpi.load import LoadReport

__all__ = ["OperatorLoad", "operator_load"]

#: interventions read for one period at most (the CLI's bound too)
_MAX = 100_000


@dataclass(frozen=True, slots=True)
class OperatorLoad:
    """Load figures of every position over a period, per step, and its chattering sources."""

    report: LoadReport
    step: timedelta
    starts: tuple[datetime, ...]  # start of each step, oldest first
    per_step: dict[str, list[int]]  # position -> interventions raised in each step
    chattering: dict[str, tuple[tuple[str, int], ...]]  # position -> (source, most in window)


def operator_load(ctx: Context, *, start: datetime, end: datetime,
                  step: timedelta = timedelta(hours=1)) -> OperatorLoad:
    """ISA-18.2 load of ``[start, end)``; staleness judged at ``end`` (``ValueError``: empty).

    Open interventions raised before ``start`` still count as stale.
    """
    if end <= start:
        raise ValueError(f"the period ends ({end.isoformat()}) before it starts "
                         f"({start.isoformat()})")
    ivs = ctx.store.list_interventions(open_only=False, limit=_MAX, until=end)
    items = load_items(ctx.spec, ivs)
    report = load_figures(items, start=start, end=end, now=end)
    series = per_step(items, start=start, end=end, step=step)
    starts = []
    at = start
    while at < end:
        starts.append(at)
        at += step
    return OperatorLoad(report, step, tuple(starts), series,
                        chattering(items, start=start, end=end))
