"""Quarantined messages: what arrived, when, on which topic, and which rule kept it out.

A quarantined item keeps the original payload (capped at ``MAX_PAYLOAD_BYTES``; ``truncated``
says when the cap cut it), so that ``andon quarantine replay`` can run it through the current
decoder and contracts again after the spec (or the producer) is fixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from andon.contracts.check import tag_path
from andon.contracts.rules import Rule
from andon.namespace.topics import TagAddress, parse_tag_topic

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["MAX_PAYLOAD_BYTES", "Quarantined", "quarantined_message", "storable_text"]

#: largest original payload kept per item; longer ones are cut and flagged ``truncated``
MAX_PAYLOAD_BYTES = 64 * 1024
_MAX_TOPIC = 1024
_MAX_REASON = 1000


@dataclass(frozen=True, slots=True)
class Quarantined:
    """One message kept out of the samples, with the rule it broke and the one-line reason."""

    received_at: datetime
    topic: str
    payload: bytes  # the original bytes, at most MAX_PAYLOAD_BYTES
    size: int  # the original payload's size in bytes
    rule: Rule
    reason: str
    source: str | None = None  # producer id, when the payload could be read that far
    address: TagAddress | None = None  # when the topic is a tag topic
    id: int | None = None  # set by the store
    replayed_at: datetime | None = None  # when a replay stored it as a sample

    @property
    def truncated(self) -> bool:
        """Whether the payload kept is shorter than the one received."""
        return self.size > len(self.payload)

    @property
    def tag(self) -> str | None:
        """``enterprise/site/area/line/asset/tag``, when known."""
        return None if self.address is None else tag_path(self.address)

    def text(self) -> str:
        """The payload as text (undecodable bytes shown as U+FFFD)."""
        return self.payload.decode("utf-8", "replace")


def storable_text(text: str) -> str:
    r"""``text`` as any store can keep it: lone surrogates and NUL shown as escapes.

    A payload can spell either in JSON (``"\ud800"``, ``"\u0000"``); UTF-8 cannot encode the
    first and PostgreSQL's text refuses the second.

    >>> storable_text("plc-\ud800")
    'plc-\\ud800'
    """
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def quarantined_message(topic: str, payload: bytes, rule: Rule, reason: str,
                        received_at: datetime, *, source: str | None = None) -> Quarantined:
    """Build a quarantined item; the address comes from the topic, the source from the payload.

    The source is read from the payload only when not given, and only when the payload is a
    JSON object with a string ``src`` (malformed payloads often are not).
    """
    if source is None and len(payload) <= MAX_PAYLOAD_BYTES:
        source = _source_of(payload)
    return Quarantined(
        received_at=received_at,
        topic=storable_text(topic[:_MAX_TOPIC]),
        payload=bytes(payload[:MAX_PAYLOAD_BYTES]),
        size=len(payload),
        rule=Rule(rule),
        reason=storable_text(reason[:_MAX_REASON]),
        source=None if source is None else storable_text(source[:200]),
        address=parse_tag_topic(topic, keep=False),  # a refused topic: not cached
    )


def _source_of(payload: bytes) -> str | None:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    src = data.get("src") if isinstance(data, dict) else None
    return src if isinstance(src, str) and src else None
