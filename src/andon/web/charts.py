"""Charts drawn on the server as inline SVG: no script, no CDN, no library to vendor.

Each function returns an ``<svg>`` element as text, built from numbers and escaped labels
only; colours are presentation attributes (the pages' CSP forbids inline ``style``). Each
mark carries a ``<title>`` (the browser's tooltip) and the chart a ``role="img"`` with an
``aria-label`` saying what it shows.

>>> from datetime import UTC, datetime
>>> svg = bars([("W10", 2.0), ("W11", 0.0)], label="false alarms per week")
>>> svg.startswith("<svg") and svg.count("<rect") == 3 and "W11: 0" in svg
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

__all__ = ["COLOURS", "Mark", "bars", "histogram", "timeline"]

#: verdict / kind -> colour (dark enough on white for the marks to be told apart)
COLOURS = {"confirmed": "#166534", "false_alarm": "#b91c1c", "unresolved": "#6b7280",
           "failure": "#111827", "stop": "#92400e"}
_W, _LEFT, _RIGHT, _ROW, _TOP = 900, 110, 20, 34, 28
_MAX_BINS = 12  # bars of a lead-time histogram at most


@dataclass(frozen=True, slots=True)
class Mark:
    """One thing on the timeline: an intervention (live or shadow) or a failure."""

    row: str  # the asset
    at: datetime
    kind: str  # "live", "shadow" or "failure"
    colour: str  # a COLOURS key
    title: str  # the tooltip


def timeline(marks: Sequence[Mark], rows: Sequence[str], *, start: datetime, end: datetime,
             tz: str) -> str:
    """One row per asset over ``[start, end)``, a gridline a day (a week when long).

    Delivered interventions are dots, shadow ones hollow diamonds, failures triangles.
    """
    span = (end - start).total_seconds() or 1.0
    height = _TOP + _ROW * max(len(rows), 1) + 10
    plot = _W - _LEFT - _RIGHT

    def x(at: datetime) -> float:
        return _LEFT + plot * min(max((at - start).total_seconds() / span, 0.0), 1.0)

    out = [_open(_W, height, "timeline of interventions and failures per asset")]
    step = timedelta(days=1 if span <= 21 * 86400 else 7)
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        if day >= start:
            gx = x(day)
            out.append(f'<line x1="{gx:.1f}" y1="{_TOP - 6}" x2="{gx:.1f}" y2="{height - 8}" '
                       'stroke="#e5e7eb"/>')
            out.append(f'<text x="{gx + 2:.1f}" y="{_TOP - 10}" font-size="10" '
                       f'fill="#4b5563">{escape(day.strftime("%d %b"))}</text>')
        day = (day + step).astimezone(zone).replace(hour=0, minute=0)
    for i, row in enumerate(rows):
        y = _TOP + _ROW * i + _ROW / 2
        out.append(f'<text x="4" y="{y + 4:.1f}" font-size="12" fill="#111827">'
                   f'{escape(row)}</text>')
        out.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_W - _RIGHT}" y2="{y:.1f}" '
                   'stroke="#d1d5db"/>')
    index = {r: i for i, r in enumerate(rows)}
    for m in marks:
        if m.row not in index or not start <= m.at < end:
            continue
        cx, cy = x(m.at), _TOP + _ROW * index[m.row] + _ROW / 2
        colour = COLOURS.get(m.colour, "#6b7280")
        title = f"<title>{escape(m.title)}</title>"
        if m.kind == "failure":
            out.append(f'<polygon class="mark-failure" points="{cx:.1f},{cy - 9:.1f} '
                       f'{cx - 7:.1f},{cy + 6:.1f} {cx + 7:.1f},{cy + 6:.1f}" fill="{colour}">'
                       f"{title}</polygon>")
        elif m.kind == "shadow":
            out.append(f'<polygon class="mark-shadow" points="{cx:.1f},{cy - 7:.1f} '
                       f'{cx + 7:.1f},{cy:.1f} {cx:.1f},{cy + 7:.1f} {cx - 7:.1f},{cy:.1f}" '
                       f'fill="#ffffff" stroke="{colour}" stroke-width="2">{title}</polygon>')
        else:
            out.append(f'<circle class="mark-live" cx="{cx:.1f}" cy="{cy:.1f}" r="6" '
                       f'fill="{colour}">{title}</circle>')
    out.append("</svg>")
    return "".join(out)


def bars(values: Sequence[tuple[str, float]], *, label: str, colour: str = "#b91c1c") -> str:
    """A bar per (label, value), labelled, on a zero baseline."""
    height, base, width = 180, 150, 640
    top = max((v for _, v in values), default=0.0) or 1.0
    slot = (width - 50) / max(len(values), 1)
    out = [_open(width, height, label),
           f'<rect x="40" y="10" width="{width - 50}" height="{base - 10}" fill="#f9fafb"/>']
    for i, (name, v) in enumerate(values):
        h = (base - 20) * v / top
        bx = 40 + slot * i + slot * 0.15
        out.append(f'<rect class="bar" x="{bx:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" '
                   f'height="{h:.1f}" fill="{colour}"><title>{escape(name)}: {v:g}</title>'
                   "</rect>")
        out.append(f'<text x="{bx + slot * 0.35:.1f}" y="{base + 14}" font-size="10" '
                   f'text-anchor="middle" fill="#4b5563">{escape(name)}</text>')
        out.append(f'<text x="{bx + slot * 0.35:.1f}" y="{base - h - 3:.1f}" font-size="10" '
                   f'text-anchor="middle" fill="#111827">{v:g}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram(hours: Sequence[float], *, label: str, colour: str = "#166534") -> str:
    """Lead times (hours) in bins of a round width; an empty chart says so."""
    if not hours:
        return (f'{_open(640, 40, label)}<text x="8" y="24" font-size="12" fill="#4b5563">'
                "no confirmed intervention yet</text></svg>")
    top = max(hours)
    width = next((w for w in (1, 2, 4, 6, 12, 24, 48, 96, 168, 336, 720, 8760)
                  if top / w <= _MAX_BINS), top / _MAX_BINS)
    counts = [0] * (int(top // width) + 1)
    for h in hours:
        counts[int(h // width)] += 1
    return bars([(f"{i * width:g}-{(i + 1) * width:g} h", float(n))
                 for i, n in enumerate(counts)], label=label, colour=colour)


def _open(width: int, height: int, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-label="{escape(label)}" class="chart">')
