"""``TagMap``: raw names to canonical tags, scaling both ways, and the spec's maps per site."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.namespace import TagAddress
from andon.namespace.tagmap import TagBinding, TagMap, site_maps
from andon.spec import PlantSpec

AT = TagAddress("acme", "porto", "utilities", "process-water", "p-301", "discharge_pressure")
finite = st.floats(-1e9, 1e9, allow_nan=False)
scales = st.floats(1e-6, 1e6).flatmap(lambda v: st.sampled_from([v, -v]))


@given(finite, scales, st.floats(-1e6, 1e6))
def test_raw_value_inverts_value(raw: float, scale: float, offset: float) -> None:
    b = TagBinding("PLC2.DB10.W4", AT, "psi", scale, offset)
    assert math.isclose(b.raw_value(b.value(raw)), raw, rel_tol=1e-6, abs_tol=1e-6 * (
        abs(offset / scale) + 1))


def test_a_raw_name_given_twice_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="raw tag 'X' is mapped twice"):
        TagMap.of([TagBinding("X", AT, "psi"), TagBinding("X", AT, "bar")])


def test_reverse_lookup_gives_the_first_raw_name_of_a_tag() -> None:
    m = TagMap.of([TagBinding("A", AT, "psi"), TagBinding("B", AT, "bar")])
    first = m.binding_of(AT)
    assert first is not None
    assert first.raw == "A"
    assert m.resolve("B") is not None
    assert m.binding_of(TagAddress("acme", "porto", "u", "l", "p-302", "flow")) is None


def test_site_maps_of_the_demo_cover_porto_only(demo_spec: PlantSpec) -> None:
    maps = site_maps(demo_spec)
    assert set(maps) == {"porto"}
    binding = maps["porto"].resolve("PLC2.DB10.W4")
    assert binding is not None
    assert binding.address == AT
    assert binding.value(1000) == pytest.approx(100.0)  # tenths of psi
    with pytest.raises(KeyError):
        TagMap.of_site(demo_spec, "lisbon")
    assert len(TagMap.of_site(demo_spec, "ghent")) == 0
