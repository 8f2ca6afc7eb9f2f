"""The data-quality report: per tag and per source, what went wrong with the data, by name.

The edge counts where things happen (``andon.contracts.counts``); the store adds the counts up
per hour and keeps each source's clock-skew estimate per minute. ``build_report`` turns the
summed counts into rows sorted worst first, each with its findings spelled out: *stuck
sensor*, *sudden step (calibration step or spike)*, *dropout*, *skewed clock*, ...

Why counters rather than recounting stored samples: duplicates are dropped and malformed
messages never become samples, so only the place that saw them can count them; and a report
over a week of a plant must not scan a week of samples.

>>> counts = [QualityCount("ghent", "cv-202", "drive_temp", "", "received", 600),
...           QualityCount("ghent", "cv-202", "drive_temp", "", "stuck", 171)]
>>> report = build_report(counts, [])
>>> report.tags[0].findings
('stuck sensor: 171 samples flat',)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from andon.contracts.counts import QualityCount, SkewPoint
from andon.contracts.rules import QUARANTINE

__all__ = [
    "FAULT_NAMES",
    "QualityReader",
    "QualityReport",
    "SourceQuality",
    "TagQuality",
    "build_report",
    "report_from",
]

#: |skew| beyond which the report calls a source's clock skewed when no threshold is configured
DEFAULT_SKEW_THRESHOLD_MS: Final = 2_000

#: metric -> how a finding names it (the rule codes of ``andon.contracts.rules`` and counters)
FAULT_NAMES: Final[dict[str, str]] = {
    "stuck": "stuck sensor",
    "rate_of_change": "sudden step (calibration step or spike)",
    "missing": "dropout",
    "out_of_range": "out of range",
    "stale": "stale data",
    "late": "late samples",
    "duplicate": "duplicates",
    "unit_mismatch": "wrong unit",
    "not_in_enum": "not an allowed value",
    "counter_decreased": "counter went down",
    "future": "timestamps in the future",
    "unknown_tag": "unknown tag",
    "malformed": "malformed messages",
    "skew": "skewed clock",
}
#: metrics that say something is wrong with a tag's data, in the order findings list them
_TAG_FAULTS: Final = ("stuck", "rate_of_change", "missing", "out_of_range", "stale", "late",
                      "duplicate", "unit_mismatch", "not_in_enum", "counter_decreased",
                      "future", "unknown_tag", "malformed")
#: rule codes whose breach keeps the sample out of the store (``andon.contracts.rules``)
_QUARANTINE_RULES: Final = frozenset(r.value for r in QUARANTINE)


@dataclass(frozen=True, slots=True)
class TagQuality:
    """One tag's data quality over the report's span."""

    site: str
    asset: str
    tag: str
    received: int
    counts: Mapping[str, int]  # metric -> count (rule codes, missing, gap, filled, ...)
    findings: tuple[str, ...]

    @property
    def missing(self) -> int:
        """Expected samples that never came (found from gaps between samples)."""
        return self.counts.get("missing", 0)

    @property
    def missing_rate(self) -> float:
        """Missing samples over expected samples (received + missing); 0.0 with no data."""
        expected = self.received + self.missing
        return self.missing / expected if expected else 0.0

    @property
    def quarantined(self) -> dict[str, int]:
        """Rule -> samples kept out of the store."""
        return {r: n for r, n in self.counts.items() if r in _QUARANTINE_RULES}

    @property
    def badness(self) -> float:
        """Share of expected samples with a problem (sort key: worst first)."""
        bad = sum(self.counts.get(m, 0) for m in _TAG_FAULTS)
        return bad / max(1, self.received + self.missing)


@dataclass(frozen=True, slots=True)
class SourceQuality:
    """One source's data quality: volume, duplicates, lateness and clock skew."""

    source: str
    site: str
    received: int
    duplicates: int
    late: int
    corrected: int  # samples whose source time was corrected for skew
    skew_ms: int | None  # latest estimate; positive: the source's clock is ahead
    correcting: bool
    findings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Per tag and per source, worst first."""

    tags: list[TagQuality] = field(default_factory=list)
    sources: list[SourceQuality] = field(default_factory=list)


def build_report(counts: Iterable[QualityCount], skews: Sequence[SkewPoint], *,
                 skew_threshold_ms: int = DEFAULT_SKEW_THRESHOLD_MS) -> QualityReport:
    """Sum ``counts`` per tag and per source, name the findings, sort worst first.

    ``skews`` is the skew series (any order); the newest point of each source is its estimate.
    """
    per_tag: dict[tuple[str, str, str], dict[str, int]] = {}
    per_source: dict[tuple[str, str], dict[str, int]] = {}
    for c in counts:
        if c.asset or c.tag or not c.source:
            bucket = per_tag.setdefault((c.site, c.asset, c.tag), {})
        else:
            bucket = per_source.setdefault((c.site, c.source), {})
        bucket[c.metric] = bucket.get(c.metric, 0) + c.count
    latest: dict[str, SkewPoint] = {}
    for p in sorted(skews, key=lambda p: p.at_ms):
        latest[p.source] = p
    tags = [
        TagQuality(site, asset, tag, m.get("received", 0), m, _tag_findings(m))
        for (site, asset, tag), m in per_tag.items()
    ]
    tags.sort(key=lambda t: (-t.badness, -len(t.findings), t.site, t.asset, t.tag))
    sources = []
    seen = set()
    for (site, source), m in per_source.items():
        seen.add(source)
        sources.append(_source(source, site, m, latest.get(source), skew_threshold_ms))
    sources.extend(_source(source, "", {}, p, skew_threshold_ms)
                   for source, p in latest.items() if source not in seen)
    sources.sort(key=lambda s: (-len(s.findings), -abs(s.skew_ms or 0), s.source))
    return QualityReport(tags, sources)


def _tag_findings(m: Mapping[str, int]) -> tuple[str, ...]:
    out = []
    for metric in _TAG_FAULTS:
        n = m.get(metric, 0)
        if not n:
            continue
        name = FAULT_NAMES[metric]
        if metric == "stuck":
            out.append(f"{name}: {n} samples flat")
        elif metric == "missing":
            expected = m.get("received", 0) + n
            gaps = m.get("gap", 0)
            filled = m.get("filled", 0)
            extra = f", {filled} filled" if filled else ""
            out.append(f"{name}: {n} samples missing in {gaps} gap{'s' * (gaps != 1)} "
                       f"({n / max(1, expected):.1%}{extra})")
        elif metric == "rate_of_change":
            out.append(f"{name}: rate of change exceeded {n}x")
        else:
            verb = "quarantined" if metric in _QUARANTINE_RULES else "flagged"
            out.append(f"{name}: {n} {verb}")
    return tuple(out)


def _source(source: str, site: str, m: Mapping[str, int], skew: SkewPoint | None,
            threshold_ms: int) -> SourceQuality:
    findings = []
    skew_ms = None if skew is None else skew.skew_ms
    correcting = skew is not None and skew.correcting
    if skew_ms is not None and (correcting or abs(skew_ms) > threshold_ms):
        ahead = "ahead" if skew_ms >= 0 else "behind"
        done = "corrected" if correcting else "not corrected"
        findings.append(f"{FAULT_NAMES['skew']}: {abs(skew_ms) / 1000:g} s {ahead} ({done})")
    duplicates, late = m.get("duplicate", 0), m.get("late", 0)
    if duplicates:
        findings.append(f"{FAULT_NAMES['duplicate']}: {duplicates} dropped")
    if late:
        findings.append(f"{FAULT_NAMES['late']}: {late} flagged")
    future = m.get("future", 0)
    if future:
        findings.append(f"{FAULT_NAMES['future']}: {future} quarantined")
    return SourceQuality(source, site, m.get("received", 0), duplicates, late,
                         m.get("skew_corrected", 0), skew_ms, correcting, tuple(findings))


class QualityReader(Protocol):
    """What the report reads (``andon.store.Store`` has it)."""

    def quality_counts(self, *, since_ms: int | None = None, site: str | None = None,
                       asset: str | None = None) -> list[QualityCount]:
        """Counters summed per (site, asset, tag, source, metric)."""
        ...

    def skew_points(self, *, since_ms: int | None = None,
                    source: str | None = None) -> list[SkewPoint]:
        """Skew estimates per source and minute, oldest first."""
        ...


def report_from(store: QualityReader, *, since_ms: int | None = None, site: str | None = None,
                asset: str | None = None,
                skew_threshold_ms: int = DEFAULT_SKEW_THRESHOLD_MS) -> QualityReport:
    """The report over what ``store`` kept since ``since_ms`` (all: None), for a site or asset.

    With ``asset``, only that asset's tags (sources are not per asset: none are listed).
    """
    counts = store.quality_counts(since_ms=since_ms, site=site, asset=asset)
    if asset is not None:
        return build_report(counts, [], skew_threshold_ms=skew_threshold_ms)
    sources = {c.source for c in counts if c.source and not c.asset}
    skews = [p for p in store.skew_points(since_ms=since_ms)
             if site is None or p.source in sources]
    return build_report(counts, skews, skew_threshold_ms=skew_threshold_ms)
