"""The plant simulator: steps simulated time and turns asset physics into UNS samples.

One step advances ``now`` by ``step_s`` (the smallest tag period simulated) and returns the
samples of that step, stamped with the time at the end of the step, ordered by (asset, tag).
A tag emits when its own period comes due: every step for the demo plant (all 60 s). The
scenario's reporting faults are applied here, after the physics; physical faults (bearing
wear, failure) are passed to the asset models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from andon.clock import to_ms
from andon.errors import SpecError
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.simulator.effects import TagEffects, effects_of
from andon.simulator.faults import Fault, Interval, wear_severity
from andon.simulator.plant import AssetModel, LineLoad
from andon.simulator.production import LineProduction
from andon.simulator.scenario import Scenario

if TYPE_CHECKING:
    from collections.abc import Iterator

    from andon.spec.model import Area, Asset, Line, PlantSpec, Site, Tag

__all__ = ["PlantSimulator"]

_EPS = 1e-9  # seconds; tolerance when comparing float times
_DECIMALS = 4


@dataclass(slots=True)
class _TagRun:
    """Reporting state of one simulated tag."""

    address: TagAddress
    unit: str
    period: float
    next_due: float
    emitted: int = 0
    effects: TagEffects | None = None  # steps, drifts, spikes, noise (andon.simulator.effects)
    stuck: tuple[Interval, ...] = ()
    dropouts: tuple[Interval, ...] = ()
    last: float | None = None  # last reported value outside a stuck interval
    frozen: float | None = None  # value held while stuck
    faulty: bool = False  # any reporting fault at all (fast path when False)


@dataclass(slots=True)
class _LineRun:
    """One simulated line: its load, its source and the source's sequence counter."""

    load: LineLoad
    source: str
    skews: tuple[Interval, ...]
    seq: int = 0
    ts_ms: int = 0
    production: LineProduction | None = None  # the line's state and counters, if declared
    wear: list[tuple[float, float]] = field(default_factory=list)  # every asset's on the line


@dataclass(slots=True)
class _AssetRun:
    """One simulated asset: its model, line and tags (sorted by name)."""

    model: AssetModel
    line: _LineRun
    tags: list[_TagRun]
    wear: tuple[tuple[float, float], ...] = field(default_factory=tuple)


class PlantSimulator:
    """A pure, seeded simulation of a plant spec: no sockets, threads or wall clock.

    The same spec, seed, start and scenario give exactly the same samples. Random parts are
    drawn per asset and per line from generators seeded with ``seed`` and the asset (or line)
    id, so restricting ``lines`` leaves the remaining assets' values unchanged as long as the
    step (the smallest period simulated) is unchanged. Faults on assets or lines that are not
    simulated are ignored; faults naming ids the spec does not have raise ``SpecError``.
    ``first_seq``: where each line's source (one gateway per line) starts counting, e.g. for
    an earlier stretch that must not collide with a later run's sequence numbers.
    """

    def __init__(
        self,
        spec: PlantSpec,
        *,
        seed: int,
        start: datetime,
        scenario: Scenario = Scenario(),
        lines: set[str] | None = None,
        first_seq: int = 0,
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start {start.isoformat()} must be timezone-aware")
        if seed < 0:
            raise ValueError(f"seed {seed} must be >= 0")
        _check_scenario(spec, scenario)
        chosen = _choose(spec, lines)
        self._spec = spec
        self._scenario = scenario
        self._start = start.astimezone(UTC)
        self._step_s = min(t.period for *_, x in chosen for t in x.tags)
        self._k = 0
        self._first_seq = first_seq  # each line's source counts from here
        self._lines: list[_LineRun] = []
        self._runs = self._build(chosen, seed)

    def _build(self, chosen: list[tuple[Site, Area, Line, Asset]], seed: int) -> list[_AssetRun]:
        enterprise = self._spec.enterprise.id
        faults = self._scenario.faults
        line_runs: dict[tuple[str, str], _LineRun] = {}
        runs: list[_AssetRun] = []
        for site, area, line, asset in sorted(chosen, key=lambda x: x[3].id):
            key = (site.id, line.id)
            if key not in line_runs:
                load = LineLoad(seed, site.id, line.id, site.timezone, self._step_s)
                load.at(self._start)
                skews = tuple(Interval.of(f, round(f.offset * 1000)) for f in faults
                              if f.kind == "clock_skew" and f.line == line.id)
                line_runs[key] = _LineRun(load, f"plc-{site.id}-{line.id}", skews,
                                         seq=self._first_seq,
                                         production=None if line.production is None
                                         else LineProduction(line, site.timezone, seed))
                self._lines.append(line_runs[key])
            line_run = line_runs[key]
            model = AssetModel(asset, seed, self._step_s, line_run.load.load,
                               line_run.load.ambient)
            mine = [f for f in faults if f.asset == asset.id]
            tags = [
                _tag_run(TagAddress(enterprise, site.id, area.id, line.id, asset.id, tag.name),
                         tag, mine, seed)
                for tag in model.tags
            ]
            wear = tuple((f.start_s, f.end_s) for f in mine
                         if f.kind == "bearing_wear" and f.end_s is not None)
            runs.append(_AssetRun(model, line_run, tags, wear))
            line_run.wear.extend(wear)
        return runs

    @property
    def spec(self) -> PlantSpec:
        """The plant spec simulated."""
        return self._spec

    @property
    def now(self) -> datetime:
        """Current simulation time (aware UTC); starts at ``start``."""
        return self._start + timedelta(seconds=self._k * self._step_s)

    @property
    def step_s(self) -> float:
        """The step in seconds: the smallest tag period among the simulated tags."""
        return self._step_s

    def failure_time(self, asset: str) -> datetime | None:
        """When a bearing_wear fault makes ``asset`` fail (the earliest), or None."""
        ends = [f.end_s for f in self._scenario.faults
                if f.kind == "bearing_wear" and f.asset == asset and f.end_s is not None]
        return self._start + timedelta(seconds=min(ends)) if ends else None

    def run_until(self, when: datetime) -> Iterator[list[Sample]]:
        """Step until ``now >= when``, yielding each step's samples."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"{when.isoformat()} must be timezone-aware")
        while self.now < when:
            yield self.step()

    def step(self) -> list[Sample]:
        """Advance by ``step_s``; the samples of that step, ordered by (asset, tag)."""
        self._k += 1
        t = self._k * self._step_s
        now = self.now
        ts_ms = to_ms(now)
        for line in self._lines:
            line.load.advance(now)
            skew = next((int(s.value) for s in line.skews if s.covers(t)), 0)
            line.ts_ms = ts_ms + skew
        out: list[Sample] = []
        append = out.append
        good = Quality.GOOD
        due_by = t + _EPS
        for run in self._runs:
            severity, failed = 0.0, False
            for begin, failure in run.wear:
                severity = max(severity, wear_severity(t, begin, failure))
                failed = failed or t >= failure
            line = run.line
            values = run.model.advance(line.load.load, line.load.ambient, severity, failed)
            if line.production is not None and line.production.asset == run.model.asset.id:
                values = _produce(line, run, now, t, self._step_s)
            ts, seq, source = line.ts_ms, line.seq, line.source
            for tag, value in zip(run.tags, values, strict=True):
                if tag.next_due > due_by:
                    continue
                tag.emitted += 1
                tag.next_due = (tag.emitted + 1) * tag.period
                reported = value
                if tag.faulty:
                    reported = _reported(tag, value, t)
                    if any(d.covers(t) for d in tag.dropouts):
                        continue
                append(Sample(tag.address, round(reported, _DECIMALS), tag.unit, good, ts, seq,
                              source))
                seq += 1
            line.seq = seq
        return out


def _produce(line: _LineRun, run: _AssetRun, now: datetime, t: float,
             step_s: float) -> list[float]:
    """The production asset's values: the line's state and counters (``production``)."""
    assert line.production is not None  # noqa: S101 - checked by the caller
    severity = max((wear_severity(t, b, f) for b, f in line.wear), default=0.0)
    failed = any(t >= f for _b, f in line.wear)
    made = line.production.advance(now, step_s, line.load.load, failed=failed,
                                   severity=severity)
    return [made.get(tag.name, 0.0) for tag in run.model.tags]


def _reported(tag: _TagRun, value: float, t: float) -> float:
    """Apply additive faults (``andon.simulator.effects``) and stuck intervals to a value."""
    if tag.effects is not None:
        value = tag.effects.apply(value, t)
    if any(s.covers(t) for s in tag.stuck):
        if tag.frozen is None:
            tag.frozen = value if tag.last is None else tag.last
        return tag.frozen
    tag.frozen = None
    tag.last = value
    return value


def _tag_run(address: TagAddress, spec_tag: Tag, faults: list[Fault], seed: int) -> _TagRun:
    # calibration_step and stuck always name a tag; dropout without one hits every tag
    mine = [f for f in faults if f.tag in {None, address.tag}]
    effects = effects_of(mine, spec_tag, seed=seed, asset=address.asset)
    stuck = tuple(Interval.of(f) for f in mine if f.kind == "stuck")
    dropouts = tuple(Interval.of(f) for f in mine if f.kind == "dropout")
    period = spec_tag.period
    return _TagRun(address, spec_tag.unit, period, next_due=period, effects=effects, stuck=stuck,
                   dropouts=dropouts, faulty=bool(effects or stuck or dropouts))


def _choose(spec: PlantSpec, lines: set[str] | None) -> list[tuple[Site, Area, Line, Asset]]:
    if lines is None:
        return spec.assets()
    known = {ln.id for _, _, ln in spec.lines()}
    unknown = sorted(set(lines) - known)
    if unknown:
        raise ValueError(
            f"unknown line id(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})",
        )
    chosen = [x for x in spec.assets() if x[2].id in lines]
    if not chosen:
        raise ValueError("no line chosen: lines is empty")
    return chosen


def _check_scenario(spec: PlantSpec, scenario: Scenario) -> None:
    """Every id a fault names must exist in the spec (SpecError naming the fault field)."""
    assets = {x.id: x for *_, x in spec.assets()}
    line_ids = {ln.id for _, _, ln in spec.lines()}
    name = scenario.source
    for i, f in enumerate(scenario.faults):
        where, at = f"faults[{i}]", scenario.line_of(i)
        if f.asset is not None and f.asset not in assets:
            raise SpecError(name, at, f"{where}.asset",
                            f"unknown asset {f.asset!r} in the plant spec")
        if f.asset is not None and f.tag is not None:
            names = sorted(t.name for t in assets[f.asset].tags)
            if f.tag not in names:
                reason = f"asset {f.asset!r} has no tag {f.tag!r} (tags: {', '.join(names)})"
                raise SpecError(name, at, f"{where}.tag", reason)
        if f.line is not None and f.line not in line_ids:
            raise SpecError(name, at, f"{where}.line",
                            f"unknown line {f.line!r} in the plant spec")
