"""Data-quality counters: where things go wrong with the data, counted where they happen.

The edge counts (``QualityTally``: contract breaches by rule, duplicates, late and filled
samples, gaps and missing samples, received samples) and hands the counts over with each
write; the store adds them up per hour (``quality_counts``) and keeps each source's clock-skew
estimate per minute (``SkewPoint``). The report people read is ``andon.kpi.quality``.

Why counters rather than recounting stored samples: duplicates are dropped and malformed
messages never become samples, so only the place that saw them can count them; and a report
over a week of a plant must not scan a week of samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["MAX_KEYS", "QualityCount", "QualityTally", "SkewPoint"]

#: keys the tally keeps between two hand-overs (beyond it, counts fold into one catch-all row)
MAX_KEYS: Final = 50_000

@dataclass(frozen=True, slots=True)
class QualityCount:
    """How many times ``metric`` happened to a tag (``source`` "") or a source (asset "")."""

    site: str
    asset: str
    tag: str
    source: str
    metric: str  # a rule code, or received / missing / filled / skew_corrected
    count: int


@dataclass(frozen=True, slots=True)
class SkewPoint:
    """A source's clock-skew estimate at one (ingest) time; positive: the source is ahead."""

    source: str
    at_ms: int
    skew_ms: int
    correcting: bool


class QualityTally:
    """Counts per (site, asset, tag, source, metric) between two hand-overs; bounded."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, str, str], int] = {}

    def add(self, site: str, asset: str, tag: str, source: str, metric: str, *,
            n: int = 1) -> None:  # the five parts of the key, spelled out: no tuple to build
        """Count ``n`` more of ``metric``; past ``MAX_KEYS`` keys the ids fold into ``*``."""
        counts = self._counts
        key = (site, asset, tag, source, metric)
        if key not in counts and len(counts) >= MAX_KEYS:
            key = ("*", "*", "*", "*", metric)
        counts[key] = counts.get(key, 0) + n

    def take(self) -> list[QualityCount]:
        """The counts since the last call (and start over)."""
        counts, self._counts = self._counts, {}
        return [QualityCount(*key, n) for key, n in counts.items()]
