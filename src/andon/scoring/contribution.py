"""Why a score is high: one feature's share of it, explained by what actually moved.

A model's score is built from standardised numbers, not from raw values: PCA-SPE squares each
feature's *residual* (how far it lies from what the other features predict), so a feature can
carry half the score while its value sits inside its healthy band, because the relation
between the features moved (flow normal, but current and vibration up). ``describe`` says
that honestly:

- a value outside its healthy band (``|deviation| >= 2``) is named with the standard
  deviations that drive it: "vibration noise 7.9 mm/s, 19 σ above healthy (2.1 ± 0.3 mm/s)";
- a value inside its band is said to be inside it, and the share is put on what moved: the
  feature no longer matching the others ("does not match the other features: 3.4 σ off what
  they predict");
- the feature's aspect is named: ``.mean`` is the level, ``.noise`` the sample-to-sample
  spread (noise level), ``.rate`` a counter's rate.

Every number goes through ``andon.text.eng`` (units as people write them, no exponent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from andon.text import eng, sigma

__all__ = ["IN_BAND", "Contribution"]

#: a value within this many standard deviations of its healthy mean is inside its healthy band
IN_BAND = 2.0
#: what each feature suffix measures, as said to a person
_ASPECTS = {"mean": "", "noise": " noise", "rate": " rate"}


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's share in an anomaly score, with the healthy baseline for comparison.

    ``deviation`` is ``(value - baseline) / spread`` (computed when not given); ``residual``
    is the standardised residual the share came from (PCA-SPE: the part the other features
    do not explain; None when the model's share is not a residual).
    """

    feature: str  # e.g. "vibration.mean"
    value: float  # observed value in the window
    baseline: float  # mean over the healthy training period
    spread: float  # standard deviation over the healthy training period
    share: float  # fraction of the score explained by this feature (0..1)
    unit: str = ""
    deviation: float | None = None  # standardised deviation from the healthy mean (σ)
    residual: float | None = None  # standardised residual behind the share (σ)

    def __post_init__(self) -> None:
        if self.deviation is None and self.spread > 0 and math.isfinite(self.value) \
                and math.isfinite(self.baseline):
            # a reason from a model (or a record) that did not give it: computed once, so the
            # record, its wire form and the text all carry the same number
            object.__setattr__(self, "deviation", (self.value - self.baseline) / self.spread)

    @property
    def z(self) -> float | None:
        """The standardised deviation from the healthy mean, or None without a spread."""
        if self.deviation is not None and math.isfinite(self.deviation):
            return self.deviation
        return None

    @property
    def in_band(self) -> bool:
        """The value lies within ``IN_BAND`` standard deviations of its healthy mean."""
        z = self.z
        return z is not None and abs(z) < IN_BAND

    @property
    def label(self) -> str:
        """The feature as said to a person: ``flow noise``, ``bearing_temp``, ``parts rate``.

        >>> Contribution("flow.noise", 4.0, 2.0, 0.5, 0.5).label
        'flow noise'
        """
        tag, dot, aspect = self.feature.rpartition(".")
        if not dot:
            return self.feature
        return tag + _ASPECTS.get(aspect, f" {aspect}")

    def describe(self) -> str:
        """One sentence, consistent with its numbers (module docstring).

        >>> Contribution("vibration.mean", 7.9, 2.1, 0.3, 0.61, "mm/s").describe()
        'vibration 7.9 mm/s, 19 σ above healthy (2.1 ± 0.3 mm/s): 61 % of the score'
        >>> Contribution("flow.mean", 203.0, 200.0, 40.0, 0.5, "m^3/h", residual=-3.4).describe()
        'flow 203 m³/h is within its healthy band (200 ± 40 m³/h) but does not match the other \
features (3.4 σ below what they predict): 50 % of the score'
        """
        share = f"{self.share:.0%}".replace("%", " %")
        healthy = f"{eng(self.baseline)} ± {eng(self.spread, self.unit, digits=2)}"
        value = eng(self.value, self.unit)
        z = self.z
        if z is None:
            return f"{self.label} {value} (healthy {healthy}): {share} of the score"
        if abs(z) >= IN_BAND:
            side = "above" if z > 0 else "below"
            return (f"{self.label} {value}, {sigma(z)} {side} healthy ({healthy}): "
                    f"{share} of the score")
        moved = "does not match the other features"
        r = self.residual
        if r is not None and math.isfinite(r) and r:
            side = "above" if r > 0 else "below"
            moved += f" ({sigma(r)} {side} what they predict)"
        return (f"{self.label} {value} is within its healthy band ({healthy}) but {moved}: "
                f"{share} of the score")
