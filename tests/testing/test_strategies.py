"""The shared strategies produce what they promise: valid places and payloads, hostile text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from andon.namespace import decode_sample, parse_tag_topic
from andon.namespace.sample import Sample
from andon.testing.strategies import (
    addresses,
    canonical_payloads,
    hostile_text,
    raw_field_bytes,
    tag_topics,
    utc_datetimes,
)

SPEC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@settings(deadline=None, max_examples=50)
@given(addresses, tag_topics)
def test_places_are_spec_ids_and_topics_parse_back(address, topic: str) -> None:
    assert all(SPEC_ID.match(level) for level in address[:5])
    assert parse_tag_topic(topic).topic == topic


@settings(deadline=None, max_examples=50)
@given(canonical_payloads)
def test_canonical_payloads_decode(message: tuple[str, bytes]) -> None:
    topic, payload = message
    assert isinstance(decode_sample(topic, payload), Sample)


@settings(deadline=None, max_examples=50)
@given(utc_datetimes)
def test_datetimes_are_aware_utc(when) -> None:
    assert when.utcoffset().total_seconds() == 0


def test_hostile_text_reaches_lone_surrogates_and_raw_bytes_invalid_utf8() -> None:
    found: set[str] = set()

    @settings(deadline=None, max_examples=300, derandomize=True)
    @given(hostile_text(), raw_field_bytes)
    def look(text: str, raw: bytes) -> None:
        if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            found.add("surrogate")
        try:
            raw.decode()
        except UnicodeDecodeError:
            found.add("invalid utf-8")

    look()
    assert found == {"surrogate", "invalid utf-8"}


@given(st.data())
def test_hostile_text_respects_its_sizes(data: st.DataObject) -> None:
    assert 2 <= len(data.draw(hostile_text(min_size=2, max_size=3))) <= 3
