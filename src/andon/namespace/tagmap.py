"""Per-site tag maps: a site's raw tag names onto canonical UNS tags.

Plants name their points after the PLC address or a historian convention (``PLC2.DB10.W4``,
``Pump_01_Temp_F``, ``ns=2;s=Line1.P101.Vib``, a Sparkplug metric name). A ``TagMap`` says which
canonical tag each raw name is, in which unit the raw value comes, and how to scale a raw
count into that unit (``value * scale + offset``). Unit conversion to the canonical unit is the
data contract's job (``andon.contracts``), so a map only has to say what the raw unit is.

Every connector resolves raw names through ``TagMap.resolve``; a raw name the map does not
know is rejected by the connector with a reason (kept in quarantine), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from andon.namespace.topics import TagAddress

__all__ = ["TagBinding", "TagMap"]


@dataclass(frozen=True, slots=True)
class TagBinding:
    """What one raw name is: the canonical tag, the raw unit, and the scaling of raw values."""

    raw: str
    address: TagAddress
    unit: str  # unit of the value after scaling (checked against the canonical tag's quantity)
    scale: float = 1.0
    offset: float = 0.0

    def value(self, raw_value: float) -> float:
        """The raw value scaled into ``unit``."""
        return raw_value * self.scale + self.offset


@dataclass(frozen=True, slots=True)
class TagMap:
    """Raw name → binding, for one site (or one connector)."""

    bindings: Mapping[str, TagBinding]

    @classmethod
    def of(cls, bindings: Iterable[TagBinding]) -> TagMap:
        """A map from bindings (a raw name given twice is a ``ValueError`` naming it)."""
        out: dict[str, TagBinding] = {}
        for b in bindings:
            if b.raw in out:
                raise ValueError(f"raw tag {b.raw!r} is mapped twice")
            out[b.raw] = b
        return cls(out)

    def resolve(self, raw: str) -> TagBinding | None:
        """The binding of a raw name, or None if the map does not know it."""
        return self.bindings.get(raw)

    def __len__(self) -> int:
        return len(self.bindings)
