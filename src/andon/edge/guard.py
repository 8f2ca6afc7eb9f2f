"""Publish guard: the edge may publish only on an explicit allowlist of topic patterns.

An edge sits next to the machines, on the same broker as the PLC gateways. Whatever a model
or a bug produces, the edge must never write a tag topic (a fake sample), a command topic
(``.../cmd/...``: an actuation) or anything outside its enterprise. Every publish of the edge
goes through ``PublishGuard.check``; the allowlist is, for enterprise ``ent`` and edge ``id``:

- ``andon/v1/ent/+/+/+/+/_andon/intervention/edge``: interventions, one per asset topic
- ``andon/v1/ent/_andon/edge/id/+``: the edge's own state, heartbeat and event topics

A blocked topic is counted (``blocked``) and remembered (``blocked_topics``, the last 100);
the caller records it as a ``blocked_publish`` event.
"""

from __future__ import annotations

from collections import deque

from andon.namespace.topics import edge_intervention_filter, edge_topic

__all__ = ["PublishGuard", "topic_matches"]


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` (no wildcards) matches the MQTT filter ``pattern``.

    >>> topic_matches("a/+/c", "a/b/c"), topic_matches("a/#", "a/b/c"), topic_matches("a/+", "a")
    (True, True, False)
    """
    if not topic or "+" in topic or "#" in topic or "\x00" in topic:
        return False
    want, have = pattern.split("/"), topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or (level not in {"+", have[i]}):
            return False
        if level == "+" and not have[i]:
            return False
    return len(want) == len(have)


class PublishGuard:
    """Allow a publish only if its topic matches one of ``patterns``."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = list(patterns)
        self.blocked = 0
        self.blocked_topics: deque[str] = deque(maxlen=100)

    @classmethod
    def for_edge(cls, enterprise: str, edge_id: str) -> PublishGuard:
        """The allowlist of an edge: its interventions and its own ``_andon/edge`` topics."""
        return cls([edge_intervention_filter(enterprise), edge_topic(enterprise, edge_id, "+")])

    def check(self, topic: str) -> bool:
        """True if ``topic`` may be published; otherwise count and remember it, False."""
        if any(topic_matches(p, topic) for p in self.patterns):
            return True
        self.blocked += 1
        self.blocked_topics.append(topic)
        return False
