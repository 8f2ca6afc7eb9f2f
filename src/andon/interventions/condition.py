"""Is the asset running? A window's verdict from the tags a running machine moves.

A running pump delivers flow, turns and draws current; a tripped one does not. ``Running``
picks, once per use case, the level (``.mean``) features of the asset's *motion* tags: those of
quantity speed, flow, current or power. A window is **stopped** when the asset has at least
one such tag and every one of them lies within ``STOPPED_FRACTION`` of its range above the
range's low end (e.g. flow under 8 m³/h of [0, 400], speed under 72 rpm of [0, 3600]).

The decider (``andon.interventions.decide``) turns an open intervention into a corrective
action when its asset stops outside a planned stop, and never takes a stopped window as new
evidence. An asset without motion tags is never judged stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from andon.features.extract import feature_names
from andon.spec.model import Tag

__all__ = ["MOTION_QUANTITIES", "STOPPED_FRACTION", "Running"]

#: quantities that fall to (near) zero when a machine stops
MOTION_QUANTITIES = frozenset({"speed", "flow", "current", "power"})
#: a motion tag below this share of its range (above its low end) is at rest
STOPPED_FRACTION = 0.02


@dataclass(frozen=True, slots=True)
class Running:
    """Where a use case's feature vector holds its motion tags' levels, and their rest levels.

    >>> from andon.spec.model import Tag
    >>> tags = [Tag(name="flow", quantity="flow", unit="m^3/h", range=(0, 400), period=60),
    ...         Tag(name="temp", quantity="temperature", unit="degC", range=(0, 150), period=60)]
    >>> r = Running.of(tags)
    >>> r.stopped([212.0, 3.1, 61.0, 0.2]), r.stopped([0.4, 0.1, 35.0, 0.2])
    (False, True)
    """

    indexes: tuple[int, ...]  # positions of the motion tags' ``.mean`` features
    rest: tuple[float, ...]  # at or below it, that tag is at rest

    @classmethod
    def of(cls, tags: Sequence[Tag]) -> Running:
        """Read the motion tags of ``tags`` (in the feature order of ``feature_names``)."""
        names, _units = feature_names(tags)
        indexes: list[int] = []
        rest: list[float] = []
        for t in tags:
            if t.quantity in MOTION_QUANTITIES and f"{t.name}.mean" in names:
                low, high = t.range
                indexes.append(names.index(f"{t.name}.mean"))
                rest.append(low + STOPPED_FRACTION * (high - low))
        return cls(tuple(indexes), tuple(rest))

    def stopped(self, vec: Sequence[float]) -> bool:
        """Every motion tag of the window at rest (False when the asset has none)."""
        if not self.indexes or len(vec) <= max(self.indexes):
            return False
        return all(vec[i] <= level for i, level in zip(self.indexes, self.rest, strict=True))
