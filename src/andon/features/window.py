"""Tumbling/hopping windows over one asset's samples, cut on source (event) time.

A window ``(end - length, end]`` closes once a sample of the asset arrives with a source time
beyond ``end + lateness``; window ends are aligned to multiples of ``hop`` since the epoch, so
that live scoring and training on stored data cut identical windows.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from andon.namespace.sample import Quality, Sample

__all__ = ["AssetWindows", "Window"]

_GOOD = Quality.GOOD  # a module constant: ``Quality.GOOD`` is a ~140 ns lookup on Python 3.11
#: what ``add`` returns when it closes no window (most samples): one shared empty tuple
_NONE: tuple[Window, ...] = ()
#: a leap in source time over more empty windows than this skips them (see ``_leap``)
_MAX_EMPTY_WINDOWS = 1000


@dataclass(frozen=True, slots=True)
class Window:
    """Good-quality values per tag in ``(end_ms - length_ms, end_ms]``."""

    asset: str
    end_ms: int
    length_ms: int
    values: dict[str, list[float]]
    times: dict[str, list[int]]


class AssetWindows:
    """Collects one asset's samples and hands out closed windows.

    >>> from andon.namespace.topics import TagAddress
    >>> w = AssetWindows("p-1", ["t"], window_s=120, hop_s=60, lateness_s=0)
    >>> def s(ts): return Sample(TagAddress("e","s","a","l","p-1","t"), 1.0, "A", Quality.GOOD,
    ...                          ts * 1000, ts, "src")
    >>> [x.end_ms // 1000 for x in w.add(s(30))], [x.end_ms // 1000 for x in w.add(s(130))]
    ([], [60, 120])
    """

    def __init__(self, asset: str, tags: list[str], *, window_s: float, hop_s: float,
                 lateness_s: float = 60.0) -> None:
        self.asset = asset
        self.tags = list(tags)
        self.length_ms = int(window_s * 1000)
        self.hop_ms = int(hop_s * 1000)
        self.lateness_ms = int(lateness_s * 1000)
        #: per tag, source times and values of good samples, as two lists kept sorted by
        #: (time, value): a window is two bisects and two slices
        self._buf: dict[str, tuple[list[int], list[float]]] = {t: ([], []) for t in self.tags}
        self._next_end: int | None = None
        self.late_dropped = 0  # samples older than an already-closed window (counted, not used)
        self.skipped = 0  # empty windows skipped after a leap in source time (never handed out)

    def add(self, sample: Sample) -> Sequence[Window]:
        """Take one sample; return the windows it closes (oldest first)."""
        tag = sample.address.tag
        buf = self._buf.get(tag)
        if buf is None:
            return _NONE
        ts = sample.ts_ms
        next_end = self._next_end
        if next_end is None:
            next_end = self._next_end = (ts // self.hop_ms + 1) * self.hop_ms
        elif ts <= next_end - self.hop_ms - self.lateness_ms:
            self.late_dropped += 1
            return _NONE
        if sample.quality is _GOOD:
            times, values = buf
            value = sample.value
            if not times or ts > times[-1] or (ts == times[-1] and value >= values[-1]):
                times.append(ts)  # in order: the common case
                values.append(value)
            else:  # after the points it equals, as ``insort`` of (time, value) would
                at = bisect_right(values, value, bisect_left(times, ts), bisect_right(times, ts))
                times.insert(at, ts)
                values.insert(at, value)
        if ts <= next_end + self.lateness_ms:
            return _NONE  # closes nothing (the common case)
        return self._close(ts)

    def _close(self, ts: int) -> list[Window]:
        """The windows a sample at source time ``ts`` closes (none if a leap skipped them all)."""
        assert self._next_end is not None  # noqa: S101 - set by the first sample
        closed: list[Window] = []
        leap = (self._leap(ts) if (ts - self._next_end) // self.hop_ms > _MAX_EMPTY_WINDOWS
                else None)
        while ts > self._next_end + self.lateness_ms:
            if leap is not None and self._next_end == leap[0]:
                self.skipped += (leap[1] - leap[0]) // self.hop_ms
                self._next_end, leap = leap[1], None
                continue
            closed.append(self._cut(self._next_end))
            self._next_end += self.hop_ms
        if closed:
            self._trim(self._next_end - self.length_ms - self.lateness_ms)
        return closed

    def _leap(self, ts: int) -> tuple[int, int] | None:
        """Source time leapt ahead (a reset clock, a bogus timestamp): the empty windows' ends.

        Windows that start at or after the newest earlier sample and end before ``ts`` hold
        no data; cutting them one by one would take as long as the leap is wide (1970 -> 2026
        is ~3 million 10-minute windows). Returns ``(first, resume)``: ends in that range are
        skipped (counted in ``skipped``), or None when there are none.
        """
        assert self._next_end is not None  # noqa: S101 - set by the first sample
        hop = self.hop_ms
        before = [times[i - 1] for times, _ in self._buf.values()
                  if (i := bisect_left(times, ts))]
        newest = max(before, default=self._next_end - self.length_ms)
        first = max(self._next_end, -(-(newest + self.length_ms) // hop) * hop)
        resume = -(-ts // hop) * hop  # the first window end that holds ``ts``
        return (first, resume) if first < resume else None

    def _cut(self, end: int) -> Window:
        start = end - self.length_ms
        values: dict[str, list[float]] = {}
        times: dict[str, list[int]] = {}
        for tag, (tag_times, tag_values) in self._buf.items():
            lo, hi = bisect_right(tag_times, start), bisect_right(tag_times, end)
            values[tag] = tag_values[lo:hi]
            times[tag] = tag_times[lo:hi]
        return Window(self.asset, end, self.length_ms, values, times)

    def _trim(self, horizon: int) -> None:
        for tag_times, tag_values in self._buf.values():
            k = bisect_right(tag_times, horizon)
            del tag_times[:k]
            del tag_values[:k]
