"""The Hypothesis strategies Andon's property tests share (needs ``hypothesis``, a dev extra).

What the plant sends and what an attacker or a broken gateway sends, in one place, so that
every parser and codec is tried on the same inputs:

- ``ids``, ``tag_names``, ``addresses``, ``tag_topics``: valid ISA-95 places and their topics;
- ``samples``, ``canonical_payloads``: canonical samples and their encoded payloads;
- ``timestamps_ms``, ``utc_datetimes``: source times the codec accepts (1970 to 9999);
- ``json_values``: any JSON value, nested a little;
- ``hostile_text``: text with what breaks naive code: lone surrogates, control characters,
  bidi overrides, zero-width and combining characters, quotes and backslashes;
- ``raw_field_bytes``: a few raw bytes, or hostile text encoded with its surrogates kept, to put
  inside a JSON field where a decoder expects text.

Examples stay small: the strategies are for many quick examples, not for big documents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from andon.namespace.sample import Quality, Sample, encode_sample
from andon.namespace.topics import TagAddress

__all__ = [
    "MAX_TS_MS",
    "UNITS",
    "addresses",
    "canonical_payloads",
    "hostile_text",
    "ids",
    "json_values",
    "raw_field_bytes",
    "samples",
    "tag_names",
    "tag_topics",
    "timestamps_ms",
    "utc_datetimes",
]

#: the last millisecond of 9999-12-31: the latest source time the codec accepts
MAX_TS_MS = 253_402_300_799_999
#: units seen in plants, the odd ones included (empty, non-ASCII, exponents)
UNITS = ("degC", "bar", "mm/s", "m^3/h", "A", "percent", "", "µS/cm")

#: characters that break naive code, each drawn often: lone surrogates (not valid UTF-8),
#: NUL and other controls, a bidi override, zero-width space, a combining accent, a BOM,
#: quotes and backslashes (JSON), slashes and MQTT wildcards (topics), non-BMP emoji
_NASTY = ("\ud800", "\udfff", "\x00", "\x1b", "\n", "\u202e", "\u200b", "\u0301", "\ufeff",
          '"', "\\", "/", "+", "#", "\U0001f600", "\u00e9", "\u4e2d")

#: a spec id: lowercase, usable as an MQTT topic level
ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)
#: a canonical tag name
tag_names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
#: a place in the plant hierarchy
addresses = st.builds(TagAddress, ids, ids, ids, ids, ids, tag_names)
#: the UNS topic of a tag
tag_topics = addresses.map(lambda a: a.topic)
#: a source time in ms the codec accepts
timestamps_ms = st.integers(min_value=0, max_value=MAX_TS_MS)
#: an aware UTC datetime
utc_datetimes = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31),
                             timezones=st.just(UTC))

#: a canonical sample (finite value; any unit text; any source text)
samples = st.builds(
    Sample,
    address=addresses,
    value=st.floats(allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(UNITS) | st.text(),
    quality=st.sampled_from(Quality),
    ts_ms=timestamps_ms,
    seq=st.integers(min_value=0, max_value=2**63 - 1),
    source=st.text(min_size=1),
    reason=st.none() | st.from_regex(r"[a-z_]{1,32}", fullmatch=True),
)


def _topic_and_payload(sample: Sample) -> tuple[str, bytes]:
    return sample.address.topic, encode_sample(sample)


#: (tag topic, canonical JSON payload) of a sample, as a gateway publishes it
canonical_payloads = samples.map(_topic_and_payload)

#: any JSON value, nested a little
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                               max_size=3),
    max_leaves=8,
)


def hostile_text(min_size: int = 0, max_size: int = 16) -> st.SearchStrategy[str]:
    """Text that includes lone surrogates and the other characters naive code trips on."""
    anything = st.characters(exclude_categories=())  # surrogates included
    return st.text(alphabet=st.sampled_from(_NASTY) | anything, min_size=min_size,
                   max_size=max_size)


def _surrogatepass(text: str) -> bytes:
    return text.encode(errors="surrogatepass")


#: a few raw bytes, or hostile text encoded keeping its lone surrogates (invalid UTF-8)
raw_field_bytes = (st.binary(min_size=1, max_size=8)
                   | hostile_text(min_size=1, max_size=4).map(_surrogatepass))
