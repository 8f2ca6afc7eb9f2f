"""What a model is to the edge: ``AnomalyModel``, and the ``Score`` it gives a window.

Every model kind (the built-in PCA-SPE, ``andon.scoring.pca_spe``, or one a plug-in adds, see
``andon.scoring.kinds``) turns a window's feature vector into a score, a threshold and the
features that drive it, and says whether the window lies inside the data it was trained on.
The edge, the decider and the gate only ever use this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from andon.scoring.contribution import Contribution

__all__ = ["AnomalyModel", "Matrix", "Score"]

Matrix = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Score:
    """A scored window: the score, the threshold and the top contributing features."""

    value: float
    threshold: float
    why: tuple[Contribution, ...]


class AnomalyModel(Protocol):
    """A trained anomaly model over a fixed, named feature vector.

    ``score(x).value > threshold`` is an anomalous window. **Confidence** of a detection is
    ``score / threshold``. ``in_distribution(x)`` is False for an operating point the model
    never saw in training (a person should look before anyone acts on its score), None when
    the model cannot tell.
    """

    @property
    def kind(self) -> str:
        """The model kind: the name of the ``andon.models`` plug-in that trains and loads it."""
        ...

    @property
    def features(self) -> list[str]:
        """Feature names, in the order of the vector ``score`` takes."""
        ...

    @property
    def units(self) -> list[str]:
        """The unit of each feature."""
        ...

    @property
    def threshold(self) -> float:
        """Scores above it are anomalous."""
        ...

    def score(self, x: Matrix) -> Score:
        """Score one feature vector and explain it."""
        ...

    def in_distribution(self, x: Matrix) -> bool | None:
        """Whether ``x`` lies within the training distribution (None: unknown)."""
        ...
