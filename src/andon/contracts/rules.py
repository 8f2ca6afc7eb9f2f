"""Contract rules: the stable rule codes, what each breach does, and each tag's contract.

A tag's contract is derived from the plant spec's ``Tag``: its canonical unit, valid range and
expected period, plus the optional contract fields ``max_staleness``, ``max_rate``,
``stuck_after``, ``enum`` and ``monotonic`` (default: true for ``count`` tags).

=====================  ==========  =========================================================
rule                   disposition  when
=====================  ==========  =========================================================
``malformed``          quarantine  the payload or topic cannot be decoded into a sample
``unknown_tag``        quarantine  the topic names no tag of the plant spec
``unit_mismatch``      quarantine  the unit is unknown or measures another quantity (a
                                   compatible unit, e.g. degF for degC, is converted instead)
``out_of_range``       quarantine  the value (after conversion) is outside the tag's range
``not_in_enum``        quarantine  a discrete tag's value is not one of its allowed values
``counter_decreased``  quarantine  a counter (monotonic tag) went down
``future``             quarantine  the source time is further ahead of its source's newest
                                   sample than that source's clock can have moved (a bogus
                                   timestamp, e.g. year 2100, that would stall windows)
``before_floor``       quarantine  the source time is before the plant's time floor (default
                                   2000-01-01): a reset clock, 0 or -1; never adopted
``rate_of_change``     flag        the change since the last value is faster than ``max_rate``
``stuck``              flag        the value has stayed exactly flat for ``stuck_after`` periods
``stale``              flag        the source time lags the ingest time by > ``max_staleness``
``late``               flag        older than its source's newest sample by > the lateness
                                   (recorded, never windowed)
``duplicate``          drop        the same (source, seq, tag, time, value) seen again: counted
``conflicting_duplicate``  quarantine  the same (source, seq, tag, time) seen again with
                                   another value: no exact duplicate; the first one stands
``gap``                record      no sample for > 1.5 periods: counted, a ``data_quality``
                                   event; after a fill, a ``bad`` marker sample
``filled``             insert      an ``uncertain`` sample inserted by the tag's fill policy
``skew_corrected``     annotate    source time corrected by the source's clock-skew estimate
=====================  ==========  =========================================================

``late`` to ``skew_corrected``, ``future`` and ``before_floor`` are applied by
``andon.contracts.timing`` (per source and tag, before and after the contract check) and kept
as the sample's quality reason code.

*Quarantine*: the sample is not recorded; the message is kept in the quarantine with the rule
and the reason, and can be replayed after a spec fix. *Flag*: the sample is recorded with
quality ``uncertain`` (so it is not scored as good data) and the breach becomes a
``data_quality`` event. A sample the source itself reports as ``bad`` is no breach: it is kept
as bad, never scored, and only the tag and unit rules apply to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from andon.units import affine, convert, registry

if TYPE_CHECKING:
    from collections.abc import Callable

    from andon.spec.model import PlantSpec, Tag

__all__ = ["QUARANTINE", "Rule", "TagContract", "contracts_of"]


class Rule(StrEnum):
    """Stable rule codes (stored with quarantined items and data-quality events)."""

    MALFORMED = "malformed"  # payload or topic cannot be decoded
    UNKNOWN_TAG = "unknown_tag"  # the topic is no tag of the spec
    UNIT_MISMATCH = "unit_mismatch"  # unknown or incompatible unit
    OUT_OF_RANGE = "out_of_range"  # outside the tag's valid range
    NOT_IN_ENUM = "not_in_enum"  # not an allowed value of a discrete tag
    COUNTER_DECREASED = "counter_decreased"  # a monotonic counter went down
    FUTURE = "future"  # source time implausibly far ahead of its source's newest sample
    BEFORE_FLOOR = "before_floor"  # source time before the time floor (a reset clock, 0, -1)
    RATE_OF_CHANGE = "rate_of_change"  # faster change than max_rate
    STUCK = "stuck"  # flat for stuck_after periods
    STALE = "stale"  # source time older than max_staleness at ingest
    # -- time (andon.contracts.timing): quality reason codes, counted in the quality report
    LATE = "late"  # older than the source's newest sample by more than the lateness
    DUPLICATE = "duplicate"  # the same (source, seq) sample again: dropped, counted
    #: the same (source, seq, tag, time) again with another value: quarantined, the first stands
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    GAP = "gap"  # no sample for longer than the expected period (bad marker after a fill)
    FILLED = "filled"  # inserted by a fill policy (hold_last), never measured
    SKEW_CORRECTED = "skew_corrected"  # source time shifted by the source's clock-skew estimate


#: rules whose breach keeps the sample out of the store (the rest flag it as uncertain)
QUARANTINE: Final = frozenset({
    Rule.MALFORMED, Rule.UNKNOWN_TAG, Rule.UNIT_MISMATCH, Rule.OUT_OF_RANGE, Rule.NOT_IN_ENUM,
    Rule.COUNTER_DECREASED, Rule.FUTURE, Rule.BEFORE_FLOOR, Rule.CONFLICTING_DUPLICATE,
})

#: distinct foreign units remembered per tag (a flood of garbage units is not cached)
_MAX_UNITS = 16


@dataclass(slots=True)
class TagContract:
    """The contract of one canonical tag (built from the spec's ``Tag``)."""

    path: str  # enterprise/site/area/line/asset/tag
    levels: tuple[str, str, str, str]  # enterprise, site, area, line: checked against the topic
    unit: str
    low: float
    high: float
    period_s: float
    max_staleness_ms: int | None = None
    max_rate: float | None = None
    stuck_after_ms: int | None = None
    enum: frozenset[float] | None = None
    monotonic: bool = False
    # foreign unit -> converter, or the reason it cannot be converted
    _units: dict[str, Callable[[float], float] | str] = field(default_factory=dict)

    @classmethod
    def of(cls, path: str, levels: tuple[str, str, str, str], tag: Tag) -> TagContract:
        """The contract of ``tag``, placed at ``path``."""
        return cls(
            path=path,
            levels=levels,
            unit=tag.unit,
            low=tag.range[0],
            high=tag.range[1],
            period_s=tag.period,
            max_staleness_ms=None if tag.max_staleness is None else round(
                tag.max_staleness * 1000),
            max_rate=tag.max_rate,
            stuck_after_ms=None if tag.stuck_after is None else round(
                tag.stuck_after * tag.period * 1000),
            enum=None if tag.enum is None else frozenset(tag.enum),
            monotonic=tag.is_counter,
        )

    def converter(self, unit: str) -> Callable[[float], float] | str:
        """A function converting ``unit`` to the canonical unit, or why there is none."""
        found = self._units.get(unit)
        if found is None:
            found = _converter(unit, self.unit, self.path)
            if len(self._units) < _MAX_UNITS:
                self._units[unit] = found
        return found


def contracts_of(spec: PlantSpec) -> dict[tuple[str, str], TagContract]:
    """(asset id, tag name) -> contract, for every tag of the plant."""
    out: dict[tuple[str, str], TagContract] = {}
    ent = spec.enterprise.id
    for site, area, line, asset in spec.assets():
        for tag in asset.tags:
            path = f"{ent}/{site.id}/{area.id}/{line.id}/{asset.id}/{tag.name}"
            out[asset.id, tag.name] = TagContract.of(path, (ent, site.id, area.id, line.id), tag)
    return out


def _converter(unit: str, canonical: str, path: str) -> Callable[[float], float] | str:
    """An affine converter ``unit`` -> ``canonical`` (checked on three points), or the reason."""
    reg = registry()
    try:
        parsed = reg.Unit(unit)
    except Exception:  # noqa: BLE001 - pint's parser raises many types (TokenError, ...)
        return f"{path}: unit {unit!r} is not a unit pint knows (expected {canonical})"
    target = reg.Unit(canonical)
    if parsed.dimensionality != target.dimensionality:
        return (f"{path}: unit {unit!r} cannot be converted to the expected unit {canonical} "
                f"({parsed.dimensionality} is not {target.dimensionality})")
    scale, offset = affine(unit, canonical)
    probe = convert(1000.0, unit, canonical)
    if not math.isclose(scale * 1000.0 + offset, probe, rel_tol=1e-9, abs_tol=1e-9):
        # not affine (never for the quantities Andon knows): convert each value with pint
        return lambda v: convert(v, unit, canonical)
    return lambda v: v * scale + offset
