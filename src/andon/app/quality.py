"""Reading the data's quality: the report of ``andon dq report`` and its trend over hours.

``data_quality`` is what ``andon dq report``, ``GET /api/data-quality``'s figures and the
``/quality`` page read: the report per tag and per source (``andon.kpi.quality``) since a
time, for a site, a line or an asset, plus the totals the page heads with (samples recorded,
flagged and quarantined by rule) and, hour by hour, the share of samples kept out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from andon.clock import from_ms, to_ms
from andon.contracts.rules import QUARANTINE
from andon.kpi.quality import QualityReport, report_from

if TYPE_CHECKING:
    from andon.app.context import Context
    from andon.contracts.counts import QualityCount, SkewPoint

__all__ = ["DataQuality", "QualityHour", "data_quality"]

#: rule codes whose breach keeps a sample out of the store
_QUARANTINING = frozenset(r.value for r in QUARANTINE)
#: counters that say a recorded sample was flagged (kept, marked)
_FLAGS = ("stuck", "rate_of_change", "stale", "late")
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class QualityHour:
    """One hour of the trend: samples recorded and kept out."""

    start: datetime
    recorded: int
    quarantined: int

    @property
    def rate(self) -> float | None:
        """Quarantined over all samples seen that hour (None: none seen)."""
        seen = self.recorded + self.quarantined
        return self.quarantined / seen if seen else None


@dataclass(frozen=True, slots=True)
class DataQuality:
    """The data-quality report of a period, its totals and its hourly trend."""

    report: QualityReport
    since: datetime | None
    until: datetime
    recorded: int  # samples recorded (good or flagged)
    flagged: dict[str, int]  # flag -> samples recorded but marked
    quarantined: dict[str, int]  # rule -> samples kept out, most first
    hours: tuple[QualityHour, ...]  # oldest first; empty without ``trend``

    @property
    def quarantine_rate(self) -> float | None:
        """Quarantined over all samples seen (None: none seen)."""
        kept_out = sum(self.quarantined.values())
        seen = self.recorded + kept_out
        return kept_out / seen if seen else None


class _OfAssets:
    """A ``QualityReader`` over the store keeping only the tags of some assets (a line)."""

    def __init__(self, ctx: Context, assets: frozenset[str]) -> None:
        self._store = ctx.store
        self._assets = assets

    def quality_counts(self, *, since_ms: int | None = None, site: str | None = None,
                       asset: str | None = None) -> list[QualityCount]:
        return [c for c in self._store.quality_counts(since_ms=since_ms, site=site, asset=asset)
                if c.asset in self._assets]

    def skew_points(self, *, since_ms: int | None = None,
                    source: str | None = None) -> list[SkewPoint]:
        return self._store.skew_points(since_ms=since_ms, source=source)


def data_quality(ctx: Context, *, since: datetime | None = None, site: str | None = None,
                 line: str | None = None, asset: str | None = None,
                 trend: bool = True) -> DataQuality:
    """The data-quality report since ``since`` (everything kept: None) up to now.

    ``site``, ``line`` (a line id of the spec; its assets) and ``asset`` narrow it; with a
    line or an asset, no source is listed (sources are not per asset). ``trend``: also the
    hourly quarantine rate (one more read).
    """
    since_ms = None if since is None else to_ms(since)
    assets = None if line is None else frozenset(
        x.id for s, _a, ln, x in ctx.spec.assets()
        if ln.id == line and (site is None or s.id == site))
    if assets is None:
        report = report_from(ctx.store, since_ms=since_ms, site=site, asset=asset)
    else:
        report = report_from(_OfAssets(ctx, assets), since_ms=since_ms, site=site, asset=asset)
        report = QualityReport(report.tags, [])
    counts: Counter[str] = Counter()
    for t in report.tags:
        counts.update(t.counts)
    quarantined = {r: n for r, n in counts.most_common() if r in _QUARANTINING and n}
    flagged = {f: counts[f] for f in _FLAGS if counts[f]}
    hours: tuple[QualityHour, ...] = ()
    now = ctx.clock.now()
    if trend:
        per_hour: dict[int, list[int]] = {}
        for at_ms, c in ctx.store.quality_per_hour(since_ms=since_ms, site=site, asset=asset):
            if assets is not None and c.asset not in assets:
                continue
            row = per_hour.setdefault(at_ms, [0, 0])
            if c.metric == "received":
                row[0] += c.count
            elif c.metric in _QUARANTINING:
                row[1] += c.count
        hours = _every_hour(per_hour, since, now)
    return DataQuality(report, since, now, counts["received"], flagged, quarantined, hours)


def _every_hour(per_hour: dict[int, list[int]], since: datetime | None,
                now: datetime) -> tuple[QualityHour, ...]:
    """One row per hour from the first (``since``'s hour, else the first counted) to now's."""
    if not per_hour and since is None:
        return ()
    first_ms = min(per_hour) if since is None else to_ms(since) - to_ms(since) % 3_600_000
    last_ms = max([to_ms(now) - to_ms(now) % 3_600_000, *per_hour])
    out = []
    at = from_ms(first_ms)
    while to_ms(at) <= last_ms:
        recorded, kept_out = per_hour.get(to_ms(at), (0, 0))
        out.append(QualityHour(at, recorded, kept_out))
        at += _HOUR
    return tuple(out)
