"""Why a score is high: one feature's share of it, against the healthy baseline."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Contribution"]


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's share in an anomaly score, with the healthy baseline for comparison."""

    feature: str  # e.g. "vibration.mean"
    value: float  # observed value in the window
    baseline: float  # mean over the healthy training period
    spread: float  # standard deviation over the healthy training period
    share: float  # fraction of the score explained by this feature (0..1)
    unit: str = ""

    def describe(self) -> str:
        """Human text: 'vibration.mean 7.9 mm/s (healthy 2.1 ± 0.3), 61% of score'."""
        u = f" {self.unit}" if self.unit else ""
        return (f"{self.feature} {self.value:.3g}{u} (healthy {self.baseline:.3g} ± "
                f"{self.spread:.2g}), {self.share:.0%} of score")
