"""Legacy raw topics: a site's sources publish raw names; its tag map makes them canonical.

Layout (one message per value)::

    legacy/{enterprise}/{site}/{raw_name}
    {"value": 1432, "ts": 1764000000000, "seq": 17, "src": "plc2", "q": "good"}

``raw_name`` is everything after the site level (so it may itself contain ``/``, as OPC UA
browse paths do; it cannot contain ``+`` or ``#``, which MQTT forbids in a published topic).
``value`` is the raw number (the map's ``scale``/``offset`` turn it into the map's unit),
``ts`` the source time in epoch milliseconds. ``seq`` (producer sequence, default: ``ts``),
``src`` (producer id, default ``{site}:{raw_name}``: without a sequence of its own, each raw
point is its own producer, so that duplicates, dropped by (source, seq), are only ever the same
point at the same time) and ``q`` (good / uncertain / bad, default good) are optional, since
gateways of old PLCs rarely send them.

``LegacyDecoder.decode`` resolves the raw name through the site's ``TagMap`` and returns a
canonical ``Sample`` in the map's unit; the data contracts convert it to the tag's canonical
unit, exactly as for a UNS sample in a non-canonical unit. A raw name the map does not know,
a site without a map, or a malformed payload is a ``PayloadError`` naming the raw name and
the site; the edge quarantines it. ``encode_legacy`` is the reverse (the simulator publishes
a legacy site through it).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated

import msgspec
from msgspec import UNSET, UnsetType

from andon.errors import PayloadError
from andon.namespace.sample import (
    ESCAPE,
    FAST_MAX_BYTES,
    FAST_PATH_ERRORS,
    MAX_TS_MS,
    MIN_TS_MS,
    Quality,
    Sample,
    json_object,
    strict_utf8,
    valid_text,
)
from andon.namespace.tagmap import TagBinding, TagMap, site_maps
from andon.units import affine

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

__all__ = ["LEGACY_PREFIX", "LegacyDecoder", "decode_routed", "encode_legacy", "legacy_filter",
           "legacy_topic"]

#: first level of every legacy raw topic (the edge dispatches on it with one prefix check)
LEGACY_PREFIX = "legacy/"
_MAX_SOURCE = 200
_INT64_MAX = 2**63 - 1  # the store keeps seq as a signed 64-bit integer
_QUALITIES = {q.value: q for q in Quality}
_affine = lru_cache(maxsize=1024)(affine)  # pint is slow; a plant has few unit pairs


def legacy_topic(enterprise: str, site: str, raw: str) -> str:
    """Topic a legacy source publishes ``raw`` on."""
    return f"{LEGACY_PREFIX}{enterprise}/{site}/{raw}"


def legacy_filter(enterprise: str, site: str) -> str:
    """Subscription filter for every raw name of a site."""
    return f"{LEGACY_PREFIX}{enterprise}/{site}/#"


class LegacyDecoder:
    """Turns legacy raw messages of one enterprise's mapped sites into canonical samples."""

    def __init__(self, spec: PlantSpec, maps: dict[str, TagMap] | None = None) -> None:
        self.enterprise = spec.enterprise.id
        #: site id -> its tag map (sites without a map are absent)
        self.maps = site_maps(spec) if maps is None else maps
        self._prefix = f"{LEGACY_PREFIX}{self.enterprise}/"

    def decode(self, topic: str, payload: bytes) -> Sample:
        """The canonical sample of one raw message; ``PayloadError`` with the reason if not.

        Resolves the topic every time; the edge keeps each topic's ``route`` itself.
        """
        return decode_routed(topic, payload, *self.route(topic))

    def route(self, topic: str) -> tuple[TagBinding, str]:
        """The binding and site of a raw topic; ``PayloadError`` if the maps do not know it.

        A caller that keeps it per topic decodes with ``decode_routed``.
        """
        if not topic.startswith(self._prefix):
            raise PayloadError(topic, f"not a legacy topic of enterprise {self.enterprise!r} "
                                      f"({self._prefix}{{site}}/{{raw name}})")
        site, sep, raw = topic[len(self._prefix):].partition("/")
        if not sep or not raw:
            raise PayloadError(topic, "legacy topic has no raw name "
                                      f"({self._prefix}{{site}}/{{raw name}})")
        tag_map = self.maps.get(site)
        if tag_map is None:
            raise PayloadError(topic, f"site {site[:80]!r} has no tag map for raw name "
                                      f"{raw[:200]!r}")
        binding = tag_map.resolve(raw)
        if binding is None:
            raise PayloadError(topic, f"raw name {raw[:200]!r} is not in the tag map of site "
                                      f"{site!r}")
        return binding, site


class _Raw(msgspec.Struct, gc=False):
    """A legacy payload as msgspec decodes and type-checks it in one pass (fast path)."""

    value: float
    ts: Annotated[int, msgspec.Meta(ge=MIN_TS_MS, le=MAX_TS_MS)]
    seq: Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX)] | UnsetType = UNSET
    src: Annotated[str, msgspec.Meta(min_length=1, max_length=_MAX_SOURCE)] | UnsetType = UNSET
    q: Quality = Quality.GOOD


_decode_raw = msgspec.json.Decoder(_Raw).decode


def decode_routed(topic: str, payload: bytes, binding: TagBinding, site: str) -> Sample:
    """The sample of a raw message whose topic ``LegacyDecoder.route`` resolved.

    Fast path as in ``decode_sample``: what msgspec refuses, ``_fields`` decides and names.
    """
    if len(payload) > FAST_MAX_BYTES or not (payload.isascii() or strict_utf8(payload)) or (
            ESCAPE in payload):  # an escape may spell a lone surrogate: ``_fields`` checks
        return _fields(topic, payload, binding, site)
    try:
        p = _decode_raw(payload)
    except FAST_PATH_ERRORS:
        return _fields(topic, payload, binding, site)
    value = p.value * binding.scale + binding.offset  # ``binding.value``, without its call
    seq = p.ts if p.seq is UNSET else p.seq  # a time before 1970 is no sequence number
    if seq < 0 or not -math.inf < value < math.inf:
        return _fields(topic, payload, binding, site)
    source = f"{site}:{binding.raw}"[:_MAX_SOURCE] if p.src is UNSET else p.src
    return Sample(binding.address, value, binding.unit, p.q, p.ts, seq, source)


def _fields(topic: str, payload: bytes, binding: TagBinding, site: str) -> Sample:
    """The field-by-field decoder of a legacy payload: the reference, with the reasons."""
    data = json_object(topic, payload, binding.raw)
    raw_value = data.get("value")
    if isinstance(raw_value, bool) or not isinstance(raw_value, int | float):
        raise PayloadError(topic, f"{binding.raw}: 'value' must be a finite number, "
                                  f"got {raw_value!r}"[:300])
    try:
        value = binding.value(float(raw_value))
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise PayloadError(topic, f"{binding.raw}: 'value' {raw_value!r} is not finite "
                                  f"(after scaling)"[:300])
    ts = data.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int) or not MIN_TS_MS <= ts <= MAX_TS_MS:
        raise PayloadError(topic, f"{binding.raw}: 'ts' must be epoch milliseconds (integer), "
                                  f"got {ts!r}"[:300])
    seq = data.get("seq", ts)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= _INT64_MAX:
        raise PayloadError(topic, f"{binding.raw}: 'seq' must be a non-negative 64-bit integer, "
                                  f"got {seq!r}"[:300])
    source = data.get("src") if "src" in data else f"{site}:{binding.raw}"[:_MAX_SOURCE]
    if not isinstance(source, str) or not source or len(source) > _MAX_SOURCE:
        raise PayloadError(topic, f"{binding.raw}: 'src' must be a producer id of 1 to "
                                  f"{_MAX_SOURCE} characters, got {source!r}"[:300])
    valid_text(topic, f"{binding.raw}: 'src'", source)
    q = data.get("q", "good")
    quality = _QUALITIES.get(q) if isinstance(q, str) else None
    if quality is None:
        raise PayloadError(topic, f"{binding.raw}: 'q' must be good, uncertain or bad, "
                                  f"got {q!r}"[:300])
    return Sample(binding.address, value, binding.unit, quality, ts, seq, source)


def encode_legacy(sample: Sample, binding: TagBinding) -> tuple[str, bytes]:
    """The raw topic and payload a legacy source sends for a canonical ``sample``.

    The value goes from the sample's unit to the binding's unit, then through the inverse
    scaling; ``decode`` of the result gives the sample back (in the binding's unit).
    """
    scale, offset = _affine(sample.unit, binding.unit)
    raw = binding.raw_value(sample.value * scale + offset)
    doc: dict[str, object] = {"value": raw, "ts": sample.ts_ms, "seq": sample.seq,
                              "src": sample.source}
    if sample.quality is not Quality.GOOD:
        doc["q"] = sample.quality.value
    a = sample.address
    return (legacy_topic(a.enterprise, a.site, binding.raw),
            json.dumps(doc, separators=(",", ":"), allow_nan=False).encode())
