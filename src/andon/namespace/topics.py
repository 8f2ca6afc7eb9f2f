"""ISA-95 topic layout.

``andon/v1/{enterprise}/{site}/{area}/{line}/{asset}/{tag}`` carries one tag's samples. Andon's
own outputs live under a reserved ``_andon`` level so that they can never be confused with (or
written to) a tag topic: the edge's stream of an asset's interventions on
``andon/v1/{enterprise}/{site}/{area}/{line}/{asset}/_andon/intervention/edge`` and the
intervention as it stands (lifecycle included, retained) on ``.../{asset}/_andon/intervention``.
Releases before 0.2 published the edge's stream on ``.../{asset}/_andon/recommendation``; the
central ingest still accepts that topic for one release (``LEGACY_EDGE_LEAF``).
Ids are lowercase ``[a-z0-9_-]`` (checked by the spec), so no level can contain ``/``, ``+``
or ``#``.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "EDGE_LEAF",
    "LEGACY_EDGE_LEAF",
    "PREFIX",
    "TagAddress",
    "ack_topic",
    "edge_filter",
    "edge_intervention_filter",
    "edge_intervention_topic",
    "edge_topic",
    "intervention_topic",
    "line_filter",
    "parse_tag_topic",
    "tag_topic",
]

PREFIX = "andon/v1"
_TAG_LEVELS = 8  # andon, v1, enterprise, site, area, line, asset, tag


class TagAddress(NamedTuple):
    """Where a tag sits in the plant hierarchy (a named tuple: hashed on every sample)."""

    enterprise: str
    site: str
    area: str
    line: str
    asset: str
    tag: str

    @property
    def topic(self) -> str:
        """The UNS topic of this tag."""
        return tag_topic(self.enterprise, self.site, self.area, self.line, self.asset, self.tag)


def tag_topic(enterprise: str, site: str, area: str, line: str, asset: str,  # noqa: PLR0917
              tag: str) -> str:
    """Topic of one tag's samples."""
    return f"{PREFIX}/{enterprise}/{site}/{area}/{line}/{asset}/{tag}"


def line_filter(enterprise: str, site: str = "+", area: str = "+", line: str = "+") -> str:
    """Subscription filter for every tag of a line (or of all lines with the defaults).

    It matches exactly the tag level, never ``_andon`` outputs (they are one level deeper).
    """
    return f"{PREFIX}/{enterprise}/{site}/{area}/{line}/+/+"


#: the leaf under ``{asset}/_andon/`` of the edge's intervention stream
EDGE_LEAF = "intervention/edge"
#: the same stream's leaf before release 0.2 (accepted by the central ingest for one release)
LEGACY_EDGE_LEAF = "recommendation"


def edge_intervention_topic(enterprise: str, site: str, area: str, line: str, asset: str) -> str:
    """Topic on which the edge publishes its interventions of an asset (raise and updates)."""
    return f"{PREFIX}/{enterprise}/{site}/{area}/{line}/{asset}/_andon/{EDGE_LEAF}"


def edge_intervention_filter(enterprise: str, *, legacy: bool = False) -> str:
    """Subscription filter for every edge's interventions of an enterprise.

    ``legacy``: the pre-0.2 topic (``.../_andon/recommendation``), an alias for one release.
    """
    leaf = LEGACY_EDGE_LEAF if legacy else EDGE_LEAF
    return f"{PREFIX}/{enterprise}/+/+/+/+/_andon/{leaf}"


def intervention_topic(enterprise: str, site: str, area: str, line: str, asset: str) -> str:
    """Topic of an asset's intervention as it stands (the UNS sink, retained)."""
    return f"{PREFIX}/{enterprise}/{site}/{area}/{line}/{asset}/_andon/intervention"


def edge_topic(enterprise: str, edge_id: str, leaf: str) -> str:
    """An edge's own topic, ``andon/v1/{enterprise}/_andon/edge/{edge_id}/{leaf}``.

    ``leaf`` is ``state`` (retained birth / death), ``heartbeat`` (retained, periodic) or
    ``event`` (edge events such as ``blocked_publish``). 7 levels, so a line filter (8
    levels) never matches it.
    """
    return f"{PREFIX}/{enterprise}/_andon/edge/{edge_id}/{leaf}"


def ack_topic(enterprise: str, epoch: str) -> str:
    """Where a consumer acknowledges an outbox's items: ``andon/v1/{ent}/_andon/ack/{epoch}``.

    Not under ``_andon/edge/``: the central ingest, which subscribes there, never reads its
    own acknowledgements.
    """
    return f"{PREFIX}/{enterprise}/_andon/ack/{epoch}"


def edge_filter(enterprise: str = "+", leaf: str = "+") -> str:
    """Subscription filter for a ``leaf`` topic of every edge (of an enterprise)."""
    return f"{PREFIX}/{enterprise}/_andon/edge/+/{leaf}"


#: parsed tag topics: a plant has a bounded set of them, so the hot path splits each topic once.
#: Bounded: cleared when full, so a flood of distinct (hostile) topics cannot grow memory.
_PARSED: dict[str, TagAddress | None] = {}
_PARSED_MAX = 50_000


def parse_tag_topic(topic: str, *, keep: bool = True) -> TagAddress | None:
    """Split a tag topic into its levels; None if it is not a tag topic (cached, bounded).

    ``keep=False``: not cached (a caller that keeps what it resolved itself, or one that
    parses topics that were refused, which a flood of garbage would otherwise fill it with).
    """
    if not keep:
        return _PARSED.get(topic) or _parse_tag_topic(topic)
    try:
        return _PARSED[topic]
    except KeyError:
        pass
    address = _parse_tag_topic(topic)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[topic] = address
    return address


def _parse_tag_topic(topic: str) -> TagAddress | None:
    parts = topic.split("/")
    if len(parts) != _TAG_LEVELS or f"{parts[0]}/{parts[1]}" != PREFIX:
        return None
    if any(not p or p.startswith("_") for p in parts[2:]):
        return None
    return TagAddress(*parts[2:])
