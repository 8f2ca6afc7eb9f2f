"""What an engineer reads about an asset: the plant's assets at a glance, and one asset's history.

``asset_tree`` lists every asset of the spec with its open interventions and the source time
of its newest sample. ``asset_history`` gathers, for one asset and a period, what its page
draws: each tag's samples (with the tag's unit and healthy range from the spec), the
interventions whose evidence window or detection falls in the period, the messages of the
asset quarantined then and the contract breaches (``data_quality`` events) of its tags. Both
only read; the surfaces check the caller may (``READ``).

The default period is the 24 h around the asset's newest intervention (12 h either side of
its evidence window), else the last 24 h of the plant's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.audit import EventKind
from andon.clock import from_ms, to_ms
from andon.contracts.check import tag_path
from andon.errors import NotFound, ReportError
from andon.namespace.topics import TagAddress

if TYPE_CHECKING:
    from datetime import datetime

    from andon.app.context import Context
    from andon.audit import Event
    from andon.contracts.quarantine import Quarantined
    from andon.interventions.record import Intervention
    from andon.spec.model import Area, Asset, Line, Site, Tag
    from andon.store.base import SampleBucket

__all__ = ["AssetHistory", "AssetSummary", "TagSeries", "asset_history", "asset_tree"]

#: the default period's length, and how far it reaches either side of an evidence window
DEFAULT_SPAN = timedelta(hours=24)
_AROUND = timedelta(hours=12)
#: the longest period a page may ask for
MAX_SPAN = timedelta(days=31)
#: spans each tag's samples are cut in by default (about a chart's width in pixel pairs)
RESOLUTION = 400
#: interventions, quarantined messages and breach events read per period at most
_MAX_ROWS = 1000
#: an intervention is raised after its evidence: look this far past the period for them
_RAISED_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AssetSummary:
    """One asset in the plant's tree, with what needs attention."""

    site: Site
    area: Area
    line: Line
    asset: Asset
    open_interventions: int
    newest_sample: datetime | None  # source time of its newest stored sample


@dataclass(frozen=True, slots=True)
class TagSeries:
    """One tag in the period: its samples cut to a chart's resolution, and its breaches.

    ``points`` (epoch ms, value), oldest first: per span of the period, its one sample, or
    its lowest value at the span's first sample time and its highest at its last (so a spike
    stays); ``count``, ``low`` and ``high`` are of every sample of the period.
    """

    tag: Tag
    points: tuple[tuple[int, float], ...]
    count: int
    low: float | None
    high: float | None
    breaches: tuple[Event, ...]  # ``data_quality`` events of the tag, newest first


@dataclass(frozen=True, slots=True)
class AssetHistory:
    """What the asset page shows over ``[start, end)``."""

    site: Site
    area: Area
    line: Line
    asset: Asset
    start: datetime
    end: datetime
    series: tuple[TagSeries, ...]  # in the spec's tag order
    interventions: tuple[Intervention, ...]  # newest first
    quarantined: tuple[Quarantined, ...]  # newest first
    defaulted: bool  # the period was chosen by Andon (no from / to given)


def asset_tree(ctx: Context) -> list[AssetSummary]:
    """Every asset of the spec, in its order, with open interventions and newest sample."""
    spec = ctx.spec
    assets = spec.assets()
    open_counts: dict[str, int] = {}
    for iv in ctx.store.list_interventions(open_only=True, limit=10 * _MAX_ROWS):
        open_counts[iv.asset] = open_counts.get(iv.asset, 0) + 1
    newest = ctx.store.newest_sample_ms([a.id for *_, a in assets])
    return [AssetSummary(site, area, line, asset, open_counts.get(asset.id, 0),
                         from_ms(newest[asset.id]) if asset.id in newest else None)
            for site, area, line, asset in assets]


def asset_history(ctx: Context, asset_id: str, *, start: datetime | None = None,
                  end: datetime | None = None, resolution: int = RESOLUTION) -> AssetHistory:
    """One asset's samples, interventions, quarantined messages and breaches in a period.

    ``NotFound`` for an asset the spec does not know; ``ReportError`` for a period that ends
    before it starts or is longer than ``MAX_SPAN``. Without ``start`` and ``end`` the period
    is the default (module docstring); with one of them, it is ``DEFAULT_SPAN`` long. Each
    tag's samples are cut in ``resolution`` spans by the store (``TagSeries``).
    """
    try:
        site, area, line, asset = ctx.spec.asset(asset_id)
    except KeyError:
        raise NotFound("asset", asset_id) from None
    defaulted = start is None and end is None
    if start is None and end is None:
        start, end = _default_period(ctx, asset_id)
    elif start is None:
        assert end is not None  # noqa: S101 - narrowed above
        start = end - DEFAULT_SPAN
    elif end is None:
        end = start + DEFAULT_SPAN
    if end <= start:
        raise ReportError(f"the period of {asset_id} ends ({end.isoformat()}) before it "
                          f"starts ({start.isoformat()})")
    if end - start > MAX_SPAN:
        raise ReportError(f"the period of {asset_id} is {(end - start).days} days long; "
                          f"ask for at most {MAX_SPAN.days} days")
    store = ctx.store
    by_tag: dict[str, list[SampleBucket]] = {t.name: [] for t in asset.tags}
    for b in store.sample_buckets(asset_id, start_ms=to_ms(start), end_ms=to_ms(end),
                                  buckets=resolution):
        if b.tag in by_tag:
            by_tag[b.tag].append(b)
    series = []
    for tag in asset.tags:
        path = tag_path(TagAddress(ctx.spec.enterprise.id, site.id, area.id, line.id,
                                   asset_id, tag.name))
        breaches = store.events(kind=EventKind.DATA_QUALITY, subject=path, since=start,
                                until=end, limit=_MAX_ROWS)
        series.append(_series(tag, by_tag[tag.name], tuple(breaches)))
    ivs = tuple(iv for iv in store.list_interventions(
                    open_only=False, since=start - _RAISED_AFTER, until=end + _RAISED_AFTER,
                    limit=10 * _MAX_ROWS)
                if iv.asset == asset_id and _touches(iv, start, end))
    quarantined = tuple(q for q in store.quarantined(asset=asset_id, since=start,
                                                     limit=_MAX_ROWS)
                        if q.received_at < end)
    return AssetHistory(site, area, line, asset, start, end, tuple(series), ivs[:_MAX_ROWS],
                        quarantined, defaulted)


def _series(tag: Tag, buckets: list[SampleBucket], breaches: tuple[Event, ...]) -> TagSeries:
    points: list[tuple[int, float]] = []
    for b in buckets:
        points += [(b.first_ms, b.low)] if b.count == 1 else [(b.first_ms, b.low),
                                                              (b.last_ms, b.high)]
    return TagSeries(tag, tuple(points), sum(b.count for b in buckets),
                     min((b.low for b in buckets), default=None),
                     max((b.high for b in buckets), default=None), breaches)


def _touches(iv: Intervention, start: datetime, end: datetime) -> bool:
    """Whether the evidence window, or the detection, of ``iv`` falls in ``[start, end)``."""
    first, last = iv.evidence_window
    return (first < end and last >= start) or start <= iv.detected_at < end


def _default_period(ctx: Context, asset_id: str) -> tuple[datetime, datetime]:
    """Around the asset's newest intervention (among the plant's newest), else the last day."""
    now = ctx.clock.now()
    newest = next((iv for iv in ctx.store.list_interventions(open_only=False,
                                                             limit=_MAX_ROWS)
                   if iv.asset == asset_id), None)
    if newest is None:
        return now - DEFAULT_SPAN, now
    first, last = newest.evidence_window
    return first - _AROUND, max(last, newest.detected_at) + _AROUND
