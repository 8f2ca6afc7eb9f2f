"""``ContractChecker``: a stateful, pure judge of canonical samples against their contracts.

It keeps, per tag, the last accepted value and source time (for counters, rates and stuck
values) and takes the ingest time explicitly: no wall clock, no I/O. Each ``check`` returns a
``Verdict``: the sample to record (converted to the canonical unit, quality ``uncertain`` when
flagged) or ``None`` when the sample is quarantined, and the ``Violation`` s found.

>>> from andon.namespace import Quality, Sample, TagAddress
>>> from andon.spec.model import Asset
>>> tag = {"name": "bearing_temp", "quantity": "temperature", "unit": "degC",
...        "range": [-10, 150], "period": "60s", "max_rate": 0.05}
>>> checker = ContractChecker.of_tags(("acme", "ghent", "utilities", "cooling-water"),
...                                   [Asset(id="p-101", name="P-101", kind="pump", tags=[tag])])
>>> at = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "bearing_temp")
>>> round(checker.check(Sample(at, 104.0, "degF", Quality.GOOD, 60_000, 1, "plc"), 60_000)
...       .sample.value, 6)
40.0
>>> v = checker.check(Sample(at, 48.0, "degC", Quality.GOOD, 120_000, 2, "plc"), 120_000)
>>> v.sample.quality.value, v.violations[0].rule.value
('uncertain', 'rate_of_change')
>>> v = checker.check(Sample(at, 48.0, "bar", Quality.GOOD, 180_000, 3, "plc"), 180_000)
>>> v.sample is None, v.violations[0].rule.value
(True, 'unit_mismatch')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from andon.contracts.rules import QUARANTINE, Rule, TagContract, contracts_of
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress

if TYPE_CHECKING:
    from collections.abc import Sequence

    from andon.spec.model import Asset, PlantSpec

__all__ = ["ContractChecker", "Verdict", "Violation", "tag_path"]

#: enum members as module constants: ``Quality.BAD`` is a ~140 ns class-attribute lookup on
#: Python 3.11, several of them per sample on the ingest path
_BAD = Quality.BAD
_FUTURE = Rule.FUTURE.value
_BEFORE_FLOOR = Rule.BEFORE_FLOOR.value
_tuple_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class Violation:
    """One breached rule: which tag, which rule, the value judged, the producer and why."""

    tag: str  # enterprise/site/area/line/asset/tag
    rule: Rule
    value: float | None
    source: str | None
    reason: str  # one line, names the tag

    @property
    def quarantines(self) -> bool:
        """Whether this breach keeps the sample out of the store."""
        return self.rule in QUARANTINE


class Verdict(NamedTuple):
    """What to do with one sample: record ``sample`` (None: quarantined), and what was found."""

    sample: Sample | None
    violations: tuple[Violation, ...] = ()

    @property
    def quarantined(self) -> bool:
        """True when the sample must not be recorded."""
        return self.sample is None


class _Last:
    """Per-tag state: the last accepted value, its source time and when it last changed."""

    __slots__ = ("flat_since_ms", "ts_ms", "value")

    def __init__(self) -> None:
        self.value: float | None = None
        self.ts_ms = 0
        self.flat_since_ms = 0


def tag_path(address: TagAddress) -> str:
    """``enterprise/site/area/line/asset/tag`` of an address."""
    a = address
    return f"{a.enterprise}/{a.site}/{a.area}/{a.line}/{a.asset}/{a.tag}"


class ContractChecker:
    """Checks samples against the contracts of a plant spec's tags (see ``andon.contracts``)."""

    def __init__(self, spec: PlantSpec | Mapping[tuple[str, str], TagContract]) -> None:
        contracts = spec if isinstance(spec, Mapping) else contracts_of(spec)
        #: (contract, state); the state is None for a tag without a rule that needs the last
        #: value (counter, max_rate, stuck_after): most tags, which then skip keeping it
        self._tags = {key: (c, _Last() if _stateful(c) else None)
                      for key, c in contracts.items()}
        #: the same entries by full address: one lookup finds the tag and checks its levels
        self._at = {TagAddress(*entry[0].levels, *key): entry for key, entry in self._tags.items()}
        #: whether any tag has a staleness limit (otherwise the ingest time is never read)
        self.uses_ingest_time = any(c.max_staleness_ms is not None for c in contracts.values())

    @classmethod
    def of_tags(cls, levels: tuple[str, str, str, str], assets: Sequence[Asset]) -> ContractChecker:
        """A checker for a few assets placed at ``levels`` (enterprise, site, area, line)."""
        return cls({
            (x.id, t.name): TagContract.of("/".join((*levels, x.id, t.name)), levels, t)
            for x in assets for t in x.tags
        })

    def contract(self, asset: str, tag: str) -> TagContract | None:
        """The contract of a tag, or None if the spec has no such tag."""
        entry = self._tags.get((asset, tag))
        return None if entry is None else entry[0]

    def prime(self, sample: Sample) -> None:
        """Remember ``sample`` (canonical unit) as its tag's last value, without judging it."""
        entry = self._tags.get((sample.address.asset, sample.address.tag))
        if entry is not None:
            last = entry[1]
            if last is None:
                return
            if last.value != sample.value:
                last.flat_since_ms = sample.ts_ms
            last.value, last.ts_ms = sample.value, sample.ts_ms

    def check(self, sample: Sample, ingest_ms: int) -> Verdict:  # noqa: C901, PLR0911, PLR0912
        """Judge one sample received at ``ingest_ms`` (epoch ms); update the tag's state.

        A sample older than its tag's last accepted one (late or out of order) is judged by the
        stateless rules only (tag, unit, range, enum, staleness) and does not change the state.
        """
        entry = self._at.get(sample.address)
        if entry is None:
            path = tag_path(sample.address)
            return _out(sample, path, Rule.UNKNOWN_TAG, sample.value,
                        f"{path}: no such tag in the plant spec")
        c, last = entry
        if sample.reason == _FUTURE:  # marked by the timekeeper (andon.contracts.timing)
            return _out(sample, c.path, Rule.FUTURE, sample.value,
                        f"{c.path}: source time {_iso(sample.ts_ms)} from {sample.source} is "
                        "implausibly far ahead of that source's recent samples")
        if sample.reason == _BEFORE_FLOOR:  # marked by the timekeeper
            return _out(sample, c.path, Rule.BEFORE_FLOOR, sample.value,
                        f"{c.path}: source time {_iso(sample.ts_ms)} from {sample.source} is "
                        "before the time floor (a reset or unset clock); not adopted")
        value = sample.value
        converted = sample.unit != c.unit
        if converted:
            conv = c.converter(sample.unit)
            if isinstance(conv, str):
                return _out(sample, c.path, Rule.UNIT_MISMATCH, value, conv)
            value = conv(value)
        if sample.quality is _BAD:
            return Verdict(_canonical(sample, value, c.unit, sample.quality) if converted
                           else sample)
        if not c.low <= value <= c.high:
            shown = f" (sent {sample.value:g} {sample.unit})" if converted else ""
            return _out(sample, c.path, Rule.OUT_OF_RANGE, value,
                        f"{c.path}: value {value:g} {c.unit}{shown} is outside the valid range "
                        f"[{c.low:g}, {c.high:g}]")
        if c.enum is not None and value not in c.enum:
            allowed = ", ".join(f"{v:g}" for v in sorted(c.enum))
            return _out(sample, c.path, Rule.NOT_IN_ENUM, value,
                        f"{c.path}: value {value:g} is not one of the allowed values {allowed}")
        flags: list[Violation] | None = None
        ts = sample.ts_ms
        if last is not None:  # a rule of this tag looks at the previous value
            previous = last.value
            if previous is not None and ts >= last.ts_ms:
                if c.monotonic and value < previous:
                    last.value, last.ts_ms, last.flat_since_ms = value, ts, ts  # a reset: go on
                    return _out(sample, c.path, Rule.COUNTER_DECREASED, value,
                                f"{c.path}: counter went down from {previous:g} to {value:g}")
                if c.max_rate is not None and ts > last.ts_ms:
                    dt_s = (ts - last.ts_ms) / 1000.0
                    rate = abs(value - previous) / dt_s
                    if rate > c.max_rate:
                        flags = [Violation(
                            c.path, Rule.RATE_OF_CHANGE, value, sample.source,
                            f"{c.path}: changed {value - previous:+g} {c.unit} in {dt_s:g} s "
                            f"({rate:.3g}/s, limit {c.max_rate:g}/s)")]
                if value != previous:
                    last.flat_since_ms = ts
                elif (c.stuck_after_ms is not None
                      and ts - last.flat_since_ms >= c.stuck_after_ms):
                    flat_s = (ts - last.flat_since_ms) / 1000.0
                    flags = [*(flags or ()), Violation(
                        c.path, Rule.STUCK, value, sample.source,
                        f"{c.path}: value {value:g} {c.unit} unchanged for {flat_s:g} s "
                        f"(stuck after {c.stuck_after_ms / 1000.0:g} s)")]
                last.value, last.ts_ms = value, ts
            elif previous is None:
                last.value, last.ts_ms, last.flat_since_ms = value, ts, ts
        if c.max_staleness_ms is not None and ingest_ms - ts > c.max_staleness_ms:
            flags = [*(flags or ()), Violation(
                c.path, Rule.STALE, value, sample.source,
                f"{c.path}: source time is {(ingest_ms - ts) / 1000.0:g} s old at ingest "
                f"(limit {c.max_staleness_ms / 1000.0:g} s)")]
        if flags is not None:
            quality = Quality.UNCERTAIN
            return Verdict(_canonical(sample, value, c.unit, quality, flags[0].rule.value),
                           tuple(flags))
        if converted:
            sample = _canonical(sample, value, c.unit, sample.quality)
        return _tuple_new(Verdict, (sample, ()))  # Verdict(sample), without its slow __new__


def _stateful(c: TagContract) -> bool:
    """Whether a rule of ``c`` compares a sample with the tag's previous one."""
    return c.monotonic or c.max_rate is not None or c.stuck_after_ms is not None


def _iso(ts_ms: int) -> str:
    """``ts_ms`` as an ISO UTC time, or the number when it is outside datetime's range."""
    try:
        return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return f"{ts_ms} ms since the epoch"


def _out(sample: Sample, path: str, rule: Rule, value: float, reason: str) -> Verdict:
    return Verdict(None, (Violation(path, rule, value, sample.source, reason),))


def _canonical(sample: Sample, value: float, unit: str, quality: Quality,
               reason: str | None = None) -> Sample:
    """The sample in the canonical unit; ``reason`` (a flag) replaces the sample's own code."""
    return Sample(sample.address, value, unit, quality, sample.ts_ms, sample.seq, sample.source,
                  reason or sample.reason)
