"""Time rules in the stream: duplicates, clock skew, lateness and gaps, per source and tag.

A ``Timekeeper`` is pure (no wall clock, no I/O): the edge hands it each sample with the time
it was received (``ingest_ms``), before the contract check (``admit``) and, once the sample is
recorded, after it (``follow``). Good means: nothing is dropped silently, every rule leaves a
count and a reason code on the sample, and memory stays bounded per source and tag.

* **Duplicates**: the same (source, seq, tag, source time, value) seen again is dropped and
  counted (``duplicate``). Each source keeps a ring of ``dedupe_window`` slots indexed by
  ``seq`` (a power of two): a sample is a duplicate when its slot holds the same seq, time,
  tag and value. No hashing, bounded memory; a slot overwritten by another tag with the same
  seq can only let a duplicate through (the store's unique (source, seq, asset, tag, time) key
  still holds). The same seq, time and tag with **another value** is no exact duplicate: it
  is marked ``conflicting_duplicate`` (the caller quarantines it, ``first_value`` gives what
  was seen first) and changes nothing; the first one stands.
* **Clock skew** per source: each sample gives ``ingest - source`` = network delay - skew;
  network delay is never negative, so the *minimum* over a sliding window (``SKEW_BUCKETS``
  buckets of ``SKEW_BUCKET_MS`` ingest time) estimates -skew and ignores delays, buffering and
  late samples. The estimate is always kept (the quality report shows it); when the plant
  or site declares ``time: {skew_threshold: 2s}`` and ``|skew|`` exceeds it (after
  ``SKEW_MIN_SAMPLES`` samples), source times are corrected by the estimate and the sample
  carries reason ``skew_corrected``; the original time is the corrected one plus the estimate,
  which is kept as a ``clock_skew`` note (stored as an event and in the report's skew series).
  Correction is opt-in because an edge on a wall clock fed an accelerated simulation sees
  every source "skewed".
* **Future** per source: a sample whose source time is ahead of the source's newest time by
  more than ``future`` (1 day) plus ``CLOCK_RATE_MAX`` times the ingest time since that newest
  time was set is marked with reason ``future`` (the contract check quarantines it) and
  changes nothing: no watermark, no skew estimate, no dedupe slot. Without it one sample
  stamped in year 2100 would move the watermark and the asset's windows 74 years ahead and
  every later real sample would be late, never scored again. The rate allowance keeps an
  accelerated simulation (the demo runs 900x) and a source silent for a while acceptable; a
  source's first sample (or the first after correction starts) has nothing to be judged
  against and is accepted, unless it is before the **time floor**.
* **Before the floor**: a source time before ``floor`` (the spec's ``time: {floor: ...}``,
  default 2000-01-01 UTC) is marked ``before_floor`` (quarantined) and changes nothing, like
  ``future``: a PLC whose clock was reset to 1970 (or a 0 / -1 timestamp) never becomes its
  source's reference, so the correct samples after it are not judged "future".
* **Lateness** per source: a sample older than the source's newest (corrected) time by more
  than ``lateness`` is recorded ``uncertain`` with reason ``late`` and is not windowed.
* **Gaps** per tag: a recorded sample more than 1.5 periods after the tag's previous one
  reveals ``round(dt / period) - 1`` missing samples: counted and noted (a ``data_quality``
  event). With the tag's ``fill: {policy: hold_last, max: 120s}`` the last value is repeated at
  each missing period up to ``max`` (``uncertain``, reason ``filled``), then one ``bad`` sample
  with reason ``gap`` marks where the fill stopped. Filled samples carry the negative of their
  time as ``seq`` (producers' sequence numbers are never negative).

>>> from andon.namespace import Quality, Sample, TagAddress
>>> at = TagAddress("acme", "ghent", "utilities", "cw", "p-101", "flow")
>>> keeper = Timekeeper({("p-101", "flow"): TagTiming(60_000)},
...                     default=TimeRules(skew_threshold_ms=2_000, correct=True))
>>> t0 = 1_764_000_000_000  # 2025-11-24 16:00 UTC
>>> s = [Sample(at, 1.0, "m^3/h", Quality.GOOD, t0 + i * 60_000, i, "plc") for i in range(6)]
>>> [keeper.admit(x, x.ts_ms - 90_000 + 40).reason for x in s][-1]  # clock 90 s ahead
'skew_corrected'
>>> keeper.source("plc").skew_ms, keeper.admit(s[5], t0 + 300_000) is None  # a duplicate
(89960, True)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from andon.contracts.counts import QualityCount, QualityTally
from andon.contracts.rules import Rule
from andon.namespace.sample import Quality, Sample

if TYPE_CHECKING:
    from andon.namespace.topics import TagAddress
    from andon.spec.model import PlantSpec, TimePolicy

__all__ = [
    "CLOCK_RATE_MAX",
    "SKEW_BUCKETS",
    "SKEW_BUCKET_MS",
    "SKEW_MIN_SAMPLES",
    "TIME_FLOOR_MS",
    "GapNote",
    "SkewNote",
    "SourceTime",
    "TagTiming",
    "TimeRules",
    "Timekeeper",
]

#: the skew estimate is the minimum of ``ingest - source`` over this many buckets ...
SKEW_BUCKETS: Final = 10
#: ... of this much ingest time each (10 min in all)
SKEW_BUCKET_MS: Final = 60_000
#: a source's times are corrected only once its estimate rests on this many samples
SKEW_MIN_SAMPLES: Final = 5
_LAST_BUT_ONE: Final = SKEW_MIN_SAMPLES - 1  # ``admit`` folds the sample that reaches it
#: a gap is a step of more than this many periods between two samples of a tag
GAP_PERIODS: Final = 1.5
#: most samples one gap is filled with (a bound whatever the fill policy says)
MAX_FILL: Final = 10_000
_LATE = Rule.LATE.value
_CORRECTED = Rule.SKEW_CORRECTED.value
_FUTURE = Rule.FUTURE.value
_BEFORE_FLOOR = Rule.BEFORE_FLOOR.value
_DUPLICATE = Rule.DUPLICATE.value
_CONFLICT = Rule.CONFLICTING_DUPLICATE.value
_GAP = Rule.GAP.value
_FILLED = Rule.FILLED.value
#: enum members as module constants (a class-attribute lookup costs ~140 ns on Python 3.11)
_BAD, _UNCERTAIN = Quality.BAD, Quality.UNCERTAIN
#: most addresses ``follow`` keeps a direct entry for (a plant has far fewer tags)
_MAX_ADDRESSES: Final = 65_536
#: a source's clock may run this many times faster than ingest time (accelerated simulations)
CLOCK_RATE_MAX: Final = 10_000
#: default earliest plausible source time: 2000-01-01 UTC (the spec's ``time: {floor: ...}``)
TIME_FLOOR_MS: Final = 946_684_800_000


@dataclass(frozen=True, slots=True)
class TimeRules:
    """Time rules for the sources of one site (from the spec's ``time:``)."""

    skew_threshold_ms: int = 2_000
    lateness_ms: int = 60_000
    correct: bool = False  # correct skewed source times (only when the spec declares ``time``)
    future_ms: int = 86_400_000  # most a source time may run ahead of its source (see module)
    floor_ms: int = TIME_FLOOR_MS  # earliest plausible source time (see module)

    @classmethod
    def of(cls, policy: TimePolicy | None, lateness_s: float = 60.0) -> TimeRules:
        """Rules from a spec ``time:`` block (None: estimate skew only, ``lateness_s``)."""
        if policy is None:
            return cls(lateness_ms=round(lateness_s * 1000))
        floor = datetime.combine(policy.floor, datetime.min.time(), UTC)
        return cls(round(policy.skew_threshold * 1000), round(policy.lateness * 1000),
                   correct=True, floor_ms=round(floor.timestamp() * 1000))


@dataclass(frozen=True, slots=True)
class TagTiming:
    """A tag's expected period and its fill limit (``fill_max_ms``; None: never fill)."""

    period_ms: int
    fill_max_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SkewNote:
    """A source's clock-skew estimate changed enough to tell (or correction started/stopped)."""

    source: str
    skew_ms: int  # positive: the source's clock is ahead
    correcting: bool
    samples: int  # samples the estimate rests on

    @property
    def reason(self) -> str:
        """One line naming the source, the skew and what is done about it."""
        ahead = "ahead" if self.skew_ms >= 0 else "behind"
        done = "correcting its source times" if self.correcting else "not corrected"
        return (f"source {self.source}: clock {abs(self.skew_ms) / 1000:g} s {ahead} "
                f"(estimate from {self.samples} samples); {done}")


@dataclass(frozen=True, slots=True)
class GapNote:
    """A tag was silent for longer than its period."""

    path: str  # enterprise/site/area/line/asset/tag
    source: str
    after_ms: int  # source time of the last sample before the gap
    until_ms: int  # source time of the sample that ended it
    missing: int  # expected samples that never came
    filled: int  # samples inserted by the fill policy

    @property
    def reason(self) -> str:
        """One line naming the tag, the gap and what was filled."""
        fill = f"; {self.filled} filled (hold_last)" if self.filled else ""
        return (f"{self.path}: no sample for {(self.until_ms - self.after_ms) / 1000:g} s "
                f"({self.missing} expected samples missing){fill}")


class SourceTime:
    """Per-source state: dedupe window, skew estimate, newest time, counters."""

    __slots__ = (
        "before_floor",
        "bucket_end",
        "bucket_min",
        "buckets",
        "conflicts",
        "corrected",
        "correcting",
        "duplicates",
        "floor",
        "floor_ms",
        "future",
        "future_ms",
        "late",
        "lateness_ms",
        "mask",
        "received",
        "reported",
        "reported_at",
        "ring",
        "rules",
        "samples",
        "shift_ms",
        "site",
        "skew_ms",
        "source",
        "watermark",
        "watermark_at",
    )

    def __init__(self, source: str, site: str, rules: TimeRules, window: int) -> None:
        self.source, self.site, self.rules = source, site, rules
        self.future_ms, self.lateness_ms = rules.future_ms, rules.lateness_ms  # read per sample
        self.floor_ms = rules.floor_ms
        self.mask = window - 1  # dedupe ring: slot seq & mask holds (seq, time, tag, value)
        self.ring: list[tuple[int, int, TagAddress, float] | None] = [None] * window
        self.watermark: int | None = None  # newest (corrected) source time ...
        self.watermark_at = 0  # ... set at this ingest time
        self.bucket_end = 0  # ingest time the current bucket ends at
        self.bucket_min = 0  # min(ingest - source) in the current bucket
        self.buckets: deque[int] = deque(maxlen=SKEW_BUCKETS - 1)  # minima of past buckets
        self.floor: int | None = None  # min of ``buckets``
        self.skew_ms = 0
        self.shift_ms = 0  # subtracted from source times: ``skew_ms`` while correcting, else 0
        self.samples = 0
        self.correcting = False
        self.reported: tuple[int, bool] | None = None  # last (skew, correcting) noted ...
        self.reported_at = 0  # ... at this ingest time
        self.received = self.duplicates = self.late = self.corrected = self.future = 0
        self.before_floor = self.conflicts = 0


def _ahead(src: SourceTime, ts: int, ingest_ms: int) -> bool:
    """Source time ``ts`` is further ahead of ``src``'s watermark than its clock can have moved."""
    mark = src.watermark
    return mark is not None and ts - src.shift_ms - mark > (
        src.future_ms + CLOCK_RATE_MAX * max(0, ingest_ms - src.watermark_at))


class _TagState:
    __slots__ = ("fill_max_ms", "gap_ms", "gaps", "last", "missing", "period_ms", "received")

    def __init__(self, timing: TagTiming) -> None:
        self.period_ms = timing.period_ms
        self.gap_ms = GAP_PERIODS * timing.period_ms  # a longer step between samples is a gap
        self.fill_max_ms = timing.fill_max_ms
        self.last: Sample | None = None
        self.received = self.gaps = self.missing = 0


_NO_FILL: Final[tuple[Sample, ...]] = ()


class Timekeeper:
    """Applies the time rules (module doc) to a stream of samples.

    ``admit`` before the contract check (None: a duplicate, dropped), ``follow`` after it for
    each recorded sample (returns filled samples to record too). ``notes`` collects
    ``SkewNote`` and ``GapNote`` for the caller to turn into events; ``take_counts`` hands over
    the counters accumulated since the last call (for the quality report).
    """

    def __init__(self, tags: Mapping[tuple[str, str], TagTiming], *,
                 default: TimeRules = TimeRules(), sites: Mapping[str, TimeRules] | None = None,
                 max_sources: int = 1024, dedupe_window: int = 512) -> None:
        if dedupe_window < 1 or dedupe_window & (dedupe_window - 1):
            raise ValueError(f"dedupe_window {dedupe_window} must be a power of two")
        self._tags = {key: _TagState(t) for key, t in tags.items()}
        self._paths: dict[tuple[str, str], str] = {}
        #: the same tag states by full address, filled as addresses are seen (one hash each)
        self._at: dict[TagAddress, _TagState] = {}
        self._default = default
        self._sites = dict(sites or {})
        self._max_sources = max_sources
        self._window = dedupe_window
        self._sources: dict[str, SourceTime] = {}
        self.tally = QualityTally()
        self.notes: list[SkewNote | GapNote] = []

    @classmethod
    def of_spec(cls, spec: PlantSpec, *, lateness_s: float = 60.0) -> Timekeeper:
        """A timekeeper for every tag of a plant spec, with its plant and site ``time:``."""
        tags: dict[tuple[str, str], TagTiming] = {}
        for _site, _area, _line, asset in spec.assets():
            for t in asset.tags:
                fill = None if t.fill is None else round(t.fill.max * 1000)
                tags[asset.id, t.name] = TagTiming(round(t.period * 1000), fill)
        default = TimeRules.of(spec.time, lateness_s)
        sites = {s.id: TimeRules.of(s.time, lateness_s) for s in spec.sites if s.time is not None}
        return cls(tags, default=default, sites=sites)

    # -- per sample ------------------------------------------------------------------------
    def admit(self, sample: Sample, ingest_ms: int) -> Sample | None:
        """Dedupe, judge future times, estimate skew, correct it, flag lateness; None: duplicate.

        A sample returned with reason ``future`` must not be recorded: ``ContractChecker``
        quarantines it.
        """
        src = self._sources.get(sample.source)
        if src is None:
            src = self._new_source(sample)
        a = sample.address
        seq, ts = sample.seq, sample.ts_ms
        i = seq & src.mask
        key = (seq, ts, a, sample.value)
        ring = src.ring
        slot = ring[i]
        if slot == key:
            src.duplicates += 1
            self.tally.add(a.site, a.asset, a.tag, "", _DUPLICATE)
            return None
        src.received += 1
        if slot is not None and slot[0] == seq and slot[1] == ts and slot[2] == a:
            src.conflicts += 1  # another value for a sample seen: quarantined, changes nothing
            return Sample(a, sample.value, sample.unit, sample.quality, ts, seq,
                          sample.source, _CONFLICT)
        if ts < src.floor_ms:  # a reset clock: quarantined, adopts nothing (like ``future``)
            src.before_floor += 1
            return Sample(a, sample.value, sample.unit, sample.quality, ts, seq,
                          sample.source, _BEFORE_FLOOR)
        mark = src.watermark  # most samples are not ahead by even the allowance's constant part
        if mark is not None and ts - src.shift_ms - mark > src.future_ms and _ahead(
                src, ts, ingest_ms):
            src.future += 1  # judged by the contract check (quarantined): changes nothing here
            return Sample(a, sample.value, sample.unit, sample.quality, ts, seq,
                          sample.source, _FUTURE)
        ring[i] = key
        offset = ingest_ms - ts
        if ingest_ms < src.bucket_end and offset >= src.bucket_min and src.samples != _LAST_BUT_ONE:
            src.samples += 1  # the estimate does not move (the common case)
        else:
            self._estimate(src, offset, ingest_ms)
            mark = src.watermark  # None again when correction started or stopped
        if src.correcting:
            ts -= src.shift_ms
            src.corrected += 1
            sample = Sample(a, sample.value, sample.unit, sample.quality, ts, sample.seq,
                            sample.source, _CORRECTED)
        if mark is None or ts > mark:
            src.watermark, src.watermark_at = ts, ingest_ms
        elif mark - ts > src.lateness_ms:
            src.late += 1
            self.tally.add(a.site, a.asset, a.tag, "", _LATE)
            quality = _BAD if sample.quality is _BAD else _UNCERTAIN
            return Sample(a, sample.value, sample.unit, quality, ts, sample.seq, sample.source,
                          _LATE)
        return sample

    def follow(self, sample: Sample) -> tuple[Sample, ...]:
        """Note a recorded sample of its tag; a gap before it is counted (and maybe filled)."""
        a = sample.address
        state = self._at.get(a)
        if state is None:
            state = self._tags.get((a.asset, a.tag))
            if state is None:
                return _NO_FILL
            if len(self._at) >= _MAX_ADDRESSES:  # bounded: addresses with foreign levels
                self._at.clear()
            self._at[a] = state
        state.received += 1
        if sample.reason == _LATE:
            return _NO_FILL  # recorded, but says nothing about gaps
        last = state.last
        if last is not None and sample.ts_ms <= last.ts_ms:
            return _NO_FILL  # out of order within the lateness: no gap to find
        state.last = sample
        if last is None:
            return _NO_FILL
        dt = sample.ts_ms - last.ts_ms
        if dt <= state.gap_ms:
            return _NO_FILL
        return self._gap(state, last, sample, max(1, round(dt / state.period_ms) - 1))

    def first_value(self, sample: Sample) -> float | None:
        """The value first seen for ``sample``'s (source, seq, tag, time), if still remembered."""
        src = self._sources.get(sample.source)
        if src is None:
            return None
        slot = src.ring[sample.seq & src.mask]
        if slot is None or slot[:3] != (sample.seq, sample.ts_ms, sample.address):
            return None
        return slot[3]

    def is_future(self, sample: Sample, ingest_ms: int) -> bool:
        """Whether ``admit`` would mark ``sample`` ``future`` at ``ingest_ms`` (changes nothing)."""
        src = self._sources.get(sample.source)
        return src is not None and _ahead(src, sample.ts_ms, ingest_ms)

    def _gap(self, state: _TagState, last: Sample, sample: Sample,
             missing: int) -> tuple[Sample, ...]:
        state.gaps += 1
        state.missing += missing
        a = sample.address
        fills: list[Sample] = []
        limit = state.fill_max_ms
        if limit is not None:
            period = state.period_ms
            for k in range(1, min(missing, MAX_FILL) + 1):
                t = last.ts_ms + k * period
                if t - last.ts_ms > limit:
                    fills.append(Sample(a, last.value, last.unit, _BAD, t, -t, last.source,
                                        _GAP))
                    break
                fills.append(Sample(a, last.value, last.unit, _UNCERTAIN, t, -t, last.source,
                                    _FILLED))
        filled = sum(1 for f in fills if f.quality is _UNCERTAIN)
        tally = self.tally
        tally.add(a.site, a.asset, a.tag, "", _GAP)
        tally.add(a.site, a.asset, a.tag, "", "missing", n=missing)
        if filled:
            tally.add(a.site, a.asset, a.tag, "", _FILLED, n=filled)
        self.notes.append(GapNote(self._path(sample), sample.source, last.ts_ms, sample.ts_ms,
                                  missing, filled))
        return tuple(fills)

    # -- skew ------------------------------------------------------------------------------
    def _estimate(self, src: SourceTime, offset: int, ingest_ms: int) -> None:
        """Fold one ``ingest - source`` offset into the source's sliding minimum."""
        src.samples += 1
        if ingest_ms >= src.bucket_end:
            if src.samples > 1:
                src.buckets.append(src.bucket_min)
                src.floor = min(src.buckets)
            src.bucket_end = ingest_ms - ingest_ms % SKEW_BUCKET_MS + SKEW_BUCKET_MS
            src.bucket_min = offset
        elif offset < src.bucket_min:
            src.bucket_min = offset
        low = src.bucket_min if src.floor is None else min(src.floor, src.bucket_min)
        src.skew_ms = -low
        rules = src.rules
        correcting = (rules.correct and src.samples >= SKEW_MIN_SAMPLES
                      and abs(src.skew_ms) > rules.skew_threshold_ms)
        if correcting != src.correcting:
            src.correcting = correcting
            src.watermark = None  # times jump by the skew: lateness starts over from here
        src.shift_ms = src.skew_ms if correcting else 0
        told = src.reported
        # told: the first time, when correction starts or stops, and when the estimate moved
        # by more than the threshold, at most once per bucket (a drifting clock, or an
        # accelerated simulation on a wall-clock edge, would otherwise note every sample)
        if told is None or told[1] != src.correcting or (
                abs(told[0] - src.skew_ms) > rules.skew_threshold_ms
                and abs(src.skew_ms) > rules.skew_threshold_ms
                and ingest_ms - src.reported_at >= SKEW_BUCKET_MS):
            if told is not None or abs(src.skew_ms) > rules.skew_threshold_ms:
                self.notes.append(SkewNote(src.source, src.skew_ms, src.correcting,
                                           src.samples))
            src.reported = (src.skew_ms, src.correcting)
            src.reported_at = ingest_ms

    def _new_source(self, sample: Sample) -> SourceTime:
        if len(self._sources) >= self._max_sources:  # bounded: forget the oldest source
            del self._sources[next(iter(self._sources))]
        site = sample.address.site
        src = SourceTime(sample.source, site, self._sites.get(site, self._default),
                         self._window)
        self._sources[sample.source] = src
        return src

    def _path(self, sample: Sample) -> str:
        a = sample.address
        path = self._paths.get((a.asset, a.tag))
        if path is None:
            path = f"{a.enterprise}/{a.site}/{a.area}/{a.line}/{a.asset}/{a.tag}"
            self._paths[a.asset, a.tag] = path
        return path

    # -- reading ---------------------------------------------------------------------------
    def source(self, source: str) -> SourceTime | None:
        """The state of one source (None if not seen, or forgotten)."""
        return self._sources.get(source)

    def sources(self) -> list[SourceTime]:
        """Every source tracked now."""
        return list(self._sources.values())

    def take_counts(self) -> list[QualityCount]:
        """Counters since the last call: per tag (received) and per source, plus the tally."""
        for (asset, tag), state in self._tags.items():
            if state.received and state.last is not None:
                site = state.last.address.site
                self.tally.add(site, asset, tag, "", "received", n=state.received)
                state.received = 0
        for src in self._sources.values():
            for metric, n in (("received", src.received), (_CORRECTED, src.corrected),
                              (Rule.DUPLICATE.value, src.duplicates), (_LATE, src.late),
                              (_FUTURE, src.future), (_BEFORE_FLOOR, src.before_floor)):
                if n:
                    self.tally.add(src.site, "", "", src.source, metric, n=n)
            src.received = src.corrected = src.duplicates = src.late = src.future = 0
            src.before_floor = 0
        return self.tally.take()

    def take_notes(self) -> list[SkewNote | GapNote]:
        """The notes collected since the last call."""
        notes, self.notes = self.notes, []
        return notes
