"""A leap in source time (a reset PLC clock, a bogus 1970 timestamp) never hangs the windows."""

from __future__ import annotations

from andon.features import AssetWindows, Window
from andon.namespace import Quality, Sample, TagAddress

AT = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "flow")
Y2026 = 1_764_000_000_000


def sample(ts_ms: int) -> Sample:
    return Sample(AT, 1.0, "m^3/h", Quality.GOOD, ts_ms, ts_ms, "plc")


class CountingWindows(AssetWindows):
    """Counts the windows cut: the work a sample costs, measured without a clock."""

    cuts = 0

    def _cut(self, end: int) -> Window:
        self.cuts += 1
        return super()._cut(end)


def test_a_leap_from_1970_to_2026_skips_the_empty_windows_at_once() -> None:
    w = CountingWindows("p-101", ["flow"], window_s=1800, hop_s=600, lateness_s=60)
    assert not w.add(sample(0))
    closed = w.add(sample(Y2026))
    assert w.cuts == 2  # was ~3 million windows, cut one by one
    # the two windows that still hold the 1970 sample are handed out; the rest are skipped
    assert [x.end_ms for x in closed] == [600_000, 1_200_000]
    assert w.skipped == (Y2026 - 1_800_000) // 600_000
    # after the leap, windows close as usual and hold the new samples
    closed = w.add(sample(Y2026 + 3_600_000))
    assert closed[0].end_ms == Y2026
    assert closed[0].values["flow"] == [1.0]


def test_a_short_gap_still_hands_out_every_window() -> None:
    w = AssetWindows("p-101", ["flow"], window_s=1800, hop_s=600, lateness_s=0)
    w.add(sample(Y2026))
    closed = w.add(sample(Y2026 + 2 * 86_400_000))  # two days offline: 287 windows close
    assert len(closed) == 287
    assert w.skipped == 0
