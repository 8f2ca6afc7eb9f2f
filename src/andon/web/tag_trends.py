"""Trends and sparklines drawn on the server as inline SVG, and numbers in engineering format.

A tag's trend over a period: its samples as a line (cut where data is missing), the tag's
healthy range as a band, evidence windows shaded, interventions and contract breaches marked
on the time axis; times in the site's zone. A long series is cut to the chart's pixels
first (``downsample``: the lowest and the highest value of each bucket, in time order), so a
month of minute data is a few hundred points and a spike still shows. Like
``andon.web.charts``: text built from numbers and escaped labels only, colours as
presentation attributes (the pages' CSP forbids inline ``style``), a ``<title>`` per mark.

>>> downsample([(0, 1.0), (1, 5.0), (2, 3.0), (10, 2.0)], 0, 20, buckets=2)
[(0, 1.0), (1, 5.0), (10, 2.0)]
>>> eng(41.234, "degC"), eng(0.05123, "bar"), eng(123456.0, "m^3/h"), eng(-0.0000042, "A")
('41.2 °C', '0.0512 bar', '123e3 m³/h', '-4.20e-6 A')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from html import escape
from zoneinfo import ZoneInfo

from andon.clock import to_ms
from andon.units import registry

__all__ = ["BUCKETS", "Marker", "Window", "downsample", "eng", "sparkline", "trend", "unit_text"]

_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 900, 190, 74, 16, 14, 34
_PX_PER_BUCKET = 2  # one min/max pair per two pixels of the plot
#: the spans a trend's period is cut in: what to ask the store for
BUCKETS = (_W - _LEFT - _RIGHT) // _PX_PER_BUCKET
#: marker kind -> (colour, what the legend calls it)
MARKERS = {"intervention": "#b91c1c", "quarantine": "#6d28d9", "breach": "#c2410c"}
_STEPS = [timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30)] + [
    timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [timedelta(days=d) for d in (1, 2, 7, 14)]
_MAX_TICKS = 8
#: epoch ms -> x pixel; value -> y pixel
_XScale = Callable[[int], float]
_YScale = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class Window:
    """A shaded span of the time axis: an intervention's evidence window."""

    start: datetime
    end: datetime
    title: str


@dataclass(frozen=True, slots=True)
class Marker:
    """A mark on the time axis: an intervention, a quarantined message or a contract breach."""

    at: datetime
    kind: str  # a MARKERS key
    title: str


@cache
def unit_text(unit: str) -> str:
    """A unit as people write it (``degC`` -> ``°C``, ``m^3/h`` -> ``m³/h``), else as given."""
    try:
        return f"{registry().Unit(unit):~P}"
    except Exception:  # noqa: BLE001 - pint raises several kinds; show the spec's spelling
        return unit


def eng(value: float, unit: str = "") -> str:
    """``value`` with three significant digits, engineering notation outside 0.01 .. 10^5."""
    suffix = f" {unit_text(unit)}" if unit and unit_text(unit) else ""
    if not math.isfinite(value):
        return f"{value}{suffix}"
    if value == 0 or 0.01 <= abs(value) < 1e5:  # noqa: PLR2004 - the plain range
        digits = 0 if value == 0 else max(0, 2 - math.floor(math.log10(abs(value))))
        return f"{value:.{digits}f}{suffix}"
    exp = 3 * math.floor(math.log10(abs(value)) / 3)
    mantissa = value / 10 ** exp
    digits = max(0, 2 - math.floor(math.log10(abs(mantissa))))
    return f"{mantissa:.{digits}f}e{exp}{suffix}"


def downsample(points: Sequence[tuple[int, float]], start_ms: int, end_ms: int, *,
               buckets: int) -> list[tuple[int, float]]:
    """Keep the lowest and highest point of each of ``buckets`` equal spans, in time order.

    ``points`` are (ms, value), oldest first; a bucket with one point keeps it once. Points
    outside ``[start_ms, end_ms)`` are dropped.
    """
    span = max(end_ms - start_ms, 1)
    kept: list[tuple[int, float]] = []
    current = -1
    low: tuple[int, float] | None = None
    high: tuple[int, float] | None = None

    def flush() -> None:
        if low is not None and high is not None:
            kept.extend(sorted({low, high}))

    for ms, v in points:
        if not start_ms <= ms < end_ms or math.isnan(v):
            continue
        b = (ms - start_ms) * buckets // span
        if b != current:
            flush()
            current, low, high = b, (ms, v), (ms, v)
            continue
        if low is not None and v < low[1]:
            low = (ms, v)
        if high is not None and v > high[1]:
            high = (ms, v)
    flush()
    return kept


def trend(points: Sequence[tuple[int, float]], *, start: datetime, end: datetime, tz: str,
          label: str, unit: str, healthy: tuple[float, float] | None = None,
          windows: Sequence[Window] = (), markers: Sequence[Marker] = (),
          gap_ms: int = 0) -> str:
    """One tag over ``[start, end)`` (module docstring); a silence over ``gap_ms`` cuts the line."""
    start_ms, end_ms = to_ms(start), to_ms(end)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    buckets = BUCKETS
    kept = downsample(points, start_ms, end_ms, buckets=buckets)
    lo, hi = _y_range([v for _, v in kept], healthy)
    span = max(end_ms - start_ms, 1)

    def x(ms: int) -> float:
        return _LEFT + plot_w * min(max((ms - start_ms) / span, 0.0), 1.0)

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - (v - lo) / (hi - lo))

    out = [_open(_W, _H, label), (f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" '
                                  f'height="{plot_h}" fill="#ffffff" stroke="#d1d5db"/>')]
    if healthy is not None and healthy[1] > lo and healthy[0] < hi:
        top, bottom = y(min(healthy[1], hi)), y(max(healthy[0], lo))
        out.append(f'<rect class="band-healthy" x="{_LEFT}" y="{top:.1f}" width="{plot_w}" '
                   f'height="{bottom - top:.1f}" fill="#dcfce7"><title>healthy range '
                   f'{escape(eng(healthy[0], unit))} to {escape(eng(healthy[1], unit))}'
                   "</title></rect>")
    for w in windows:
        if w.end < start or w.start >= end:
            continue
        x0, x1 = x(to_ms(w.start)), x(to_ms(w.end))
        out.append(f'<rect class="evidence" x="{x0:.1f}" y="{_TOP}" '
                   f'width="{max(x1 - x0, 2.0):.1f}" height="{plot_h}" fill="#fbbf24" '
                   f'fill-opacity="0.35"><title>{escape(w.title)}</title></rect>')
    out += _axes(start, end, tz, lo=lo, hi=hi, unit=unit, x=x, y=y)
    out += _line(kept, x, y, max(gap_ms, 2 * span // buckets))
    if not kept:
        out.append(f'<text x="{_LEFT + 8}" y="{_TOP + 18}" font-size="12" fill="#4b5563">'
                   "no samples in this period</text>")
    out += _markers(markers, start, end, x)
    out.append("</svg>")
    return "".join(out)


def sparkline(points: Sequence[tuple[datetime, float]], *, start: datetime, end: datetime,
              label: str, width: int = 180, height: int = 36) -> str:
    """A small line of ``points`` over ``[start, end)``, a dot per point, the last one darker."""
    if not points:
        return (f'{_open(width, height, label)}<text x="2" y="{height // 2 + 4}" '
                'font-size="10" fill="#4b5563">no history</text></svg>')
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    hi = hi if hi > lo else lo + 1.0
    span = max((end - start).total_seconds(), 1.0)

    def xy(at: datetime, v: float) -> tuple[float, float]:
        fx = min(max((at - start).total_seconds() / span, 0.0), 1.0)
        return 2 + (width - 4) * fx, height - 3 - (height - 6) * (v - lo) / (hi - lo)

    coords = [xy(at, v) for at, v in points]
    out = [_open(width, height, label),
           '<polyline class="spark" fill="none" stroke="#1d4ed8" stroke-width="1.2" points="'
           + " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords) + '"/>']
    for (at, v), (cx, cy) in zip(points, coords, strict=True):
        out.append(f'<circle class="spark-point" cx="{cx:.1f}" cy="{cy:.1f}" r="1.5" '
                   f'fill="#1d4ed8"><title>{escape(at.isoformat())}: {v:g}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def _y_range(values: Sequence[float], healthy: tuple[float, float] | None,
             ) -> tuple[float, float]:
    """The value axis: the data's range, padded by 8 %; the healthy range when no data."""
    if values:
        lo, hi = min(values), max(values)
    elif healthy is not None:
        lo, hi = healthy
    else:
        lo, hi = 0.0, 1.0
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 1.0)
    return lo - pad, hi + pad


def _axes(start: datetime, end: datetime, tz: str, *, lo: float, hi: float, unit: str,
          x: _XScale, y: _YScale) -> list[str]:
    """Time ticks in the site's zone and three value ticks in engineering format."""
    out = []
    zone = ZoneInfo(tz)
    span = end - start
    step = next((s for s in _STEPS if span / s <= _MAX_TICKS), _STEPS[-1])
    offset = start.astimezone(zone).utcoffset() or timedelta(0)
    step_ms = int(step.total_seconds() * 1000)
    offset_ms = int(offset.total_seconds() * 1000)
    tick = -(-(to_ms(start) + offset_ms) // step_ms) * step_ms - offset_ms
    base = _TOP + (_H - _TOP - _BOTTOM)
    first = True
    while tick < to_ms(end):
        at = datetime.fromtimestamp(tick / 1000, tz=zone)
        fmt = "%d %b" if step >= timedelta(days=1) else (
            "%a %d %b %H:%M" if first or (at.hour, at.minute) == (0, 0) else "%H:%M")
        gx = x(tick)
        out.append(f'<line x1="{gx:.1f}" y1="{_TOP}" x2="{gx:.1f}" y2="{base}" '
                   'stroke="#f3f4f6"/>')
        out.append(f'<text x="{gx:.1f}" y="{base + 14}" font-size="10" text-anchor="middle" '
                   f'fill="#4b5563">{escape(at.strftime(fmt))}</text>')
        tick += step_ms
        first = False
    ticks = (lo, (lo + hi) / 2, hi)
    texts = [eng(v, unit) for v in ticks]
    if len(set(texts)) < len(texts):  # a narrow range: as many decimals as tell them apart
        digits = min(max(0, 1 - math.floor(math.log10(hi - lo))), 9)
        suffix = f" {unit_text(unit)}" if unit and unit_text(unit) else ""
        texts = [f"{v:.{digits}f}{suffix}" for v in ticks]
    for v, text in zip(ticks, texts, strict=True):
        out.append(f'<text x="{_LEFT - 4}" y="{y(v) + 3:.1f}" font-size="10" '
                   f'text-anchor="end" fill="#4b5563">{escape(text)}</text>')
    return out


def _line(kept: Sequence[tuple[int, float]], x: _XScale, y: _YScale, gap_ms: int) -> list[str]:
    """The series as polylines, cut where two points are more than ``gap_ms`` apart."""
    runs: list[list[tuple[int, float]]] = []
    for p in kept:
        if not runs or p[0] - runs[-1][-1][0] > gap_ms:
            runs.append([])
        runs[-1].append(p)
    out = []
    for run in runs:
        coords = " ".join(f"{x(ms):.1f},{y(v):.1f}" for ms, v in run)
        if len(run) == 1:
            ms, v = run[0]
            out.append(f'<circle class="series" cx="{x(ms):.1f}" cy="{y(v):.1f}" r="1.5" '
                       'fill="#1d4ed8"/>')
        else:
            out.append(f'<polyline class="series" fill="none" stroke="#1d4ed8" '
                       f'stroke-width="1.3" points="{coords}"/>')
    return out


def _markers(markers: Sequence[Marker], start: datetime, end: datetime,
             x: _XScale) -> list[str]:
    """Interventions as a line with a flag on top; breaches and quarantine on the time axis."""
    out = []
    base = _H - _BOTTOM
    for m in markers:
        if not start <= m.at < end:
            continue
        mx = x(to_ms(m.at))
        colour = MARKERS.get(m.kind, "#111827")
        title = f"<title>{escape(m.title)}</title>"
        if m.kind == "intervention":
            out.append(f'<g class="mark-intervention"><line x1="{mx:.1f}" y1="{_TOP}" '
                       f'x2="{mx:.1f}" y2="{base}" stroke="{colour}" stroke-dasharray="4 3"/>'
                       f'<polygon points="{mx - 6:.1f},{_TOP} {mx + 6:.1f},{_TOP} '
                       f'{mx:.1f},{_TOP + 9}" fill="{colour}"/>{title}</g>')
        elif m.kind == "quarantine":
            out.append(f'<rect class="mark-quarantine" x="{mx - 4:.1f}" y="{base - 4}" '
                       f'width="8" height="8" fill="{colour}">{title}</rect>')
        else:
            out.append(f'<polygon class="mark-{escape(m.kind)}" points="{mx:.1f},{base - 6} '
                       f'{mx + 5:.1f},{base} {mx:.1f},{base + 6} {mx - 5:.1f},{base}" '
                       f'fill="{colour}">{title}</polygon>')
    return out


def _open(width: int, height: int, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-label="{escape(label)}" class="chart">')

