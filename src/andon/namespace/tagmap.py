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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from andon.namespace.topics import TagAddress

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

__all__ = ["TagBinding", "TagMap", "site_maps"]


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

    def raw_value(self, value: float) -> float:
        """The inverse of ``value``: the raw value a source sends for ``value`` in ``unit``."""
        return (value - self.offset) / self.scale


@dataclass(frozen=True, slots=True)
class TagMap:
    """Raw name → binding, for one site (or one connector)."""

    bindings: Mapping[str, TagBinding]
    #: canonical address -> binding (the first raw name bound to it), for publishing in reverse
    by_address: Mapping[TagAddress, TagBinding] = field(default_factory=dict)

    @classmethod
    def of(cls, bindings: Iterable[TagBinding]) -> TagMap:
        """A map from bindings (a raw name given twice is a ``ValueError`` naming it)."""
        out: dict[str, TagBinding] = {}
        back: dict[TagAddress, TagBinding] = {}
        for b in bindings:
            if b.raw in out:
                raise ValueError(f"raw tag {b.raw!r} is mapped twice")
            out[b.raw] = b
            back.setdefault(b.address, b)
        return cls(out, back)

    @classmethod
    def of_site(cls, spec: PlantSpec, site_id: str) -> TagMap:
        """The map a site of the spec declares (empty when it has none; KeyError: no site)."""
        site = next((s for s in spec.sites if s.id == site_id), None)
        if site is None:
            raise KeyError(site_id)
        where = {x.id: (a.id, ln.id) for a in site.areas for ln in a.lines for x in ln.assets}
        ent = spec.enterprise.id
        return cls.of(
            TagBinding(e.raw, TagAddress(ent, site.id, *where[e.asset], e.asset, e.tag), e.unit,
                       e.scale, e.offset)
            for e in site.tag_map
        )

    def resolve(self, raw: str) -> TagBinding | None:
        """The binding of a raw name, or None if the map does not know it."""
        return self.bindings.get(raw)

    def binding_of(self, address: TagAddress) -> TagBinding | None:
        """The binding a canonical tag is sent under, or None if the map does not cover it."""
        return self.by_address.get(address)

    def __len__(self) -> int:
        return len(self.bindings)


def site_maps(spec: PlantSpec) -> dict[str, TagMap]:
    """The tag map of every site that declares one, by site id."""
    return {s.id: TagMap.of_site(spec, s.id) for s in spec.sites if s.tag_map}
