"""Rates over time drawn on the server as inline SVG: one line per series, targets dashed.

For the data-quality and operator-load pages (``andon.web.quality_pages``). Like
``andon.web.charts``: text built from numbers and escaped labels only, colours as presentation
attributes (the pages' CSP forbids inline ``style``), a ``<title>`` per point (the browser's
tooltip) and ``role="img"`` with an ``aria-label``. A missing value (None) breaks its line; a
target (ISA-18.2's 6 and 12 per hour) is a dashed horizontal line with its label.

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 3, 2, 7, tzinfo=UTC)
>>> svg = lines([t0, t0 + timedelta(hours=1)], [Series("cr1", (3.0, None))],
...             label="per hour", tz="UTC", targets=[Target(6, "acceptable")])
>>> svg.count("<circle") == 1 and svg.count('class="target"') == 1 and "cr1" in svg
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

__all__ = ["PALETTE", "Series", "Target", "lines"]

#: line colours, in order (told apart on white and by the colour-blind: Okabe-Ito)
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 900, 260, 56, 150, 14, 34
_MAX_DOTS = 400  # points drawn as dots (with a tooltip) at most; beyond, the line alone
_X_LABELS = 8
_WHOLE_FROM = 1000  # numbers from here on are shown whole (1 234), below with 3 digits


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name and a value per time (None: no value there)."""

    name: str
    values: Sequence[float | None]
    colour: str = ""  # default: the palette's next colour


@dataclass(frozen=True, slots=True)
class Target:
    """A horizontal reference line, e.g. ISA-18.2's 12 per hour (most manageable)."""

    value: float
    label: str
    colour: str = "#b91c1c"


def lines(starts: Sequence[datetime], series: Sequence[Series], *, label: str, tz: str,
          targets: Sequence[Target] = (), unit: str = "", percent: bool = False) -> str:
    """A line per series over ``starts`` (one value each), with dashed ``targets``.

    ``percent``: values are fractions shown as percentages. An empty chart says so.
    """
    if not starts or not series:
        return (f'{_open(_W, 40, label)}<text x="8" y="24" font-size="12" fill="#4b5563">'
                "nothing in this period</text></svg>")
    scale = 100.0 if percent else 1.0
    shown = [v * scale for s in series for v in s.values if v is not None]
    top = max([*shown, *(t.value * scale for t in targets), 0.0]) * 1.1 or 1.0
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    n = len(starts)

    def x(i: int) -> float:
        return _LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - v / top)

    suffix = " %" if percent else (f" {unit}" if unit else "")
    out = [_open(_W, _H, label),
           f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="#f9fafb"/>']
    for k in range(5):  # gridlines and the y scale
        v = top * k / 4
        out.append(f'<line x1="{_LEFT}" y1="{y(v):.1f}" x2="{_LEFT + plot_w}" y2="{y(v):.1f}" '
                   'stroke="#e5e7eb"/>')
        out.append(f'<text x="{_LEFT - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end" '
                   f'fill="#4b5563">{_number(v)}</text>')
    out.extend(_x_axis(starts, x, ZoneInfo(tz)))
    for t in targets:
        ty = y(t.value * scale)
        out.append(f'<line class="target" x1="{_LEFT}" y1="{ty:.1f}" x2="{_LEFT + plot_w}" '
                   f'y2="{ty:.1f}" stroke="{t.colour}" stroke-dasharray="6 4" '
                   f'stroke-width="1.5"><title>{escape(t.label)}: {_number(t.value * scale)}'
                   f"{escape(suffix)}</title></line>")
        out.append(f'<text x="{_LEFT + plot_w + 6}" y="{ty + 4:.1f}" font-size="10" '
                   f'fill="{t.colour}">{escape(t.label)} ({_number(t.value * scale)})</text>')
    dots = n * len(series) <= _MAX_DOTS
    for k, s in enumerate(series):
        colour = s.colour or PALETTE[k % len(PALETTE)]
        points = [None if v is None else (x(i), y(v * scale)) for i, v in enumerate(s.values[:n])]
        out.extend(_line(points, colour))
        if dots:
            out.extend(_dots(starts, s, points, colour, scale=scale, suffix=suffix,
                             zone=ZoneInfo(tz)))
        ly = _TOP + 14 * (k + len(targets) + 1) + 20
        out.append(f'<rect x="{_LEFT + plot_w + 6}" y="{ly - 8}" width="10" height="3" '
                   f'fill="{colour}"/><text x="{_LEFT + plot_w + 20}" y="{ly - 4}" '
                   f'font-size="10" fill="#111827">{escape(s.name[:24])}</text>')
    out.append("</svg>")
    return "".join(out)


def _line(points: list[tuple[float, float] | None], colour: str) -> list[str]:
    """A polyline per run of points without a gap."""
    out, run = [], []
    for p in [*points, None]:
        if p is not None:
            run.append(f"{p[0]:.1f},{p[1]:.1f}")
            continue
        if len(run) > 1:
            out.append(f'<polyline class="series" points="{" ".join(run)}" fill="none" '
                       f'stroke="{colour}" stroke-width="2"/>')
        run = []
    return out


def _dots(starts: Sequence[datetime], s: Series, points: list[tuple[float, float] | None],
          colour: str, *, scale: float, suffix: str, zone: ZoneInfo) -> list[str]:
    """A dot per value, its tooltip saying the series, the time and the value."""
    out = []
    for i, p in enumerate(points):
        v = s.values[i]
        if p is None or v is None:
            continue
        when = starts[i].astimezone(zone).strftime("%a %d %b %H:%M %Z")
        out.append(f'<circle class="point" cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="3" '
                   f'fill="{colour}"><title>{escape(s.name)} · {escape(when)}: '
                   f"{_number(v * scale)}{escape(suffix)}</title></circle>")
    return out


def _x_axis(starts: Sequence[datetime], x: Callable[[int], float], zone: ZoneInfo) -> list[str]:
    """At most ``_X_LABELS`` time labels in the site's zone, and the zone's name."""
    n = len(starts)
    every = max(1, -(-n // _X_LABELS))
    same_day = starts[0].astimezone(zone).date() == starts[-1].astimezone(zone).date()
    out = []
    for i in range(0, n, every):
        text = starts[i].astimezone(zone).strftime("%H:%M" if same_day else "%d %b %H:%M")
        out.append(f'<text x="{x(i):.1f}" y="{_H - _BOTTOM + 14}" font-size="10" '
                   f'text-anchor="middle" fill="#4b5563">{escape(text)}</text>')
    out.append(f'<text x="{_LEFT}" y="{_H - 4}" font-size="10" fill="#4b5563">'
               f"{escape(starts[0].astimezone(zone).strftime('%Z'))}</text>")
    return out


def _number(v: float) -> str:
    """A short axis or tooltip number: 3 significant digits, whole from 1000 on, no exponent."""
    return f"{v:.3g}" if abs(v) < _WHOLE_FROM else f"{v:,.0f}".replace(",", "\u2009")


def _open(width: int, height: int, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-label="{escape(label)}" class="chart">')
