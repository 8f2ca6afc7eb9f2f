"""The UNS payload codec and the topic layout.

Round trips are property tests; every malformed payload is refused with a ``PayloadError`` that
names the topic and the reason; subscription filters are checked with a small MQTT matcher.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.errors import PayloadError
from andon.namespace import (
    PREFIX,
    Quality,
    Sample,
    TagAddress,
    decode_fields,
    decode_sample,
    edge_intervention_topic,
    encode_sample,
    line_filter,
    parse_tag_topic,
    tag_topic,
)
from andon.namespace.topics import edge_intervention_filter
from andon.testing.strategies import addresses, json_values, raw_field_bytes, samples

TOPIC = "andon/v1/acme/ghent/utilities/cooling-water/p-101/bearing_temp"
ADDRESS = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "bearing_temp")
GOOD = {"v": 41.27, "u": "degC", "q": "good", "ts": 1764000000000, "seq": 1234, "src": "sim-ghent"}
TAG_EXPECTED = "not a tag topic (andon/v1/enterprise/site/area/line/asset/tag)"
#: examples are fast, but a loaded CI machine must not turn timing into a failure
NO_DEADLINE = settings(deadline=None)


def payload(**changes: Any) -> bytes:
    """The good payload with some keys changed (``None`` removes a key)."""
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def without(key: str) -> bytes:
    return json.dumps({k: v for k, v in GOOD.items() if k != key}).encode()


def outcome(raw: bytes) -> Sample | PayloadError:
    """The decoded sample, or the PayloadError; any other exception escapes (a bug)."""
    try:
        return decode_sample(TOPIC, raw)
    except PayloadError as exc:
        return exc


def topic_of(address: TagAddress) -> str:
    return tag_topic(address.enterprise, address.site, address.area, address.line,
                     address.asset, address.tag)


# -- round trips ------------------------------------------------------------------------------
@NO_DEADLINE
@given(samples)
def test_encode_then_decode_gives_the_same_sample(sample: Sample) -> None:
    decoded = decode_sample(topic_of(sample.address), encode_sample(sample))
    assert decoded == sample
    assert decoded.ts.timestamp() * 1000 == pytest.approx(sample.ts_ms, abs=1)


@NO_DEADLINE
@given(samples)
def test_the_msgspec_encoder_and_the_standard_library_write_the_same_document(
        sample: Sample) -> None:
    """``encode_sample`` takes msgspec for ASCII text and a finite float: same JSON either way."""
    reference: dict[str, object] = {"v": sample.value, "u": sample.unit,
                                     "q": sample.quality.value, "ts": sample.ts_ms,
                                     "seq": sample.seq, "src": sample.source}
    if sample.reason is not None:
        reference["qr"] = sample.reason
    encoded = encode_sample(sample)
    assert json.loads(encoded) == reference
    assert encoded.isascii(), "ASCII JSON: any other character (a lone surrogate) escaped"


@NO_DEADLINE
@given(addresses)
def test_tag_topic_and_parse_tag_topic_are_inverse(address: TagAddress) -> None:
    topic = topic_of(address)
    assert topic.startswith(f"{PREFIX}/")
    assert parse_tag_topic(topic) == address


def test_payload_is_compact_json_with_short_keys() -> None:
    sample = Sample(ADDRESS, 41.27, "degC", Quality.GOOD, 1764000000000, 1234, "sim-ghent")
    assert encode_sample(sample) == (
        b'{"v":41.27,"u":"degC","q":"good","ts":1764000000000,"seq":1234,"src":"sim-ghent"}')


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_value_cannot_be_encoded(value: float) -> None:
    sample = Sample(ADDRESS, value, "degC", Quality.BAD, 1764000000000, 1, "sim-ghent")
    with pytest.raises(ValueError, match="not JSON compliant"):
        encode_sample(sample)


def test_missing_quality_means_good_and_integers_become_floats() -> None:
    sample = decode_sample(TOPIC, payload(q=None, v=41))
    assert sample == Sample(ADDRESS, 41.0, "degC", Quality.GOOD, 1764000000000, 1234, "sim-ghent")
    assert isinstance(sample.value, float)


# -- malformed payloads -----------------------------------------------------------------------
MALFORMED = [
    pytest.param(b"v=41.3", "payload is not JSON (Expecting value: line 1 column 1 (char 0))",
                 id="not-json"),
    pytest.param(b"\xff", "payload is not JSON ('utf-8' codec can't decode byte 0xff in "
                 "position 0: invalid start byte)", id="not-utf8"),
    pytest.param(b"[41.3]", "payload is not a JSON object", id="a-list"),
    pytest.param(b"41.3", "payload is not a JSON object", id="a-bare-number"),
    pytest.param(payload(v="x"), "'v' must be a finite number, got 'x'", id="value-is-text"),
    pytest.param(payload(v=True), "'v' must be a finite number, got True", id="value-is-bool"),
    pytest.param(without("v"), "'v' must be a finite number, got None", id="value-missing"),
    pytest.param(payload(v=[41.3]), "'v' must be a finite number, got [41.3]",
                 id="value-is-a-list"),
    pytest.param(payload(v=1).replace(b'"v": 1', b'"v": NaN'),
                 "'v' must be a finite number, got nan", id="value-is-nan-literal"),
    pytest.param(payload(v=1).replace(b'"v": 1', b'"v": 1e999'),
                 "'v' must be a finite number, got inf", id="value-overflows-to-inf"),
    pytest.param(payload(v=10**400), "'v' must be a finite number, got an integer too large "
                 "for a float", id="value-integer-too-large"),
    pytest.param(without("u"), "'u' must be a unit string, got None", id="unit-missing"),
    pytest.param(payload(u=3), "'u' must be a unit string, got 3", id="unit-is-a-number"),
    pytest.param(payload(q="ok"), "'q' must be good, uncertain or bad, got 'ok'",
                 id="unknown-quality"),
    pytest.param(payload(q="GOOD"), "'q' must be good, uncertain or bad, got 'GOOD'",
                 id="quality-in-capitals"),
    pytest.param(payload(q=["good"]), "'q' must be good, uncertain or bad, got ['good']",
                 id="quality-is-a-list"),
    pytest.param(without("ts"), "'ts' must be epoch milliseconds (integer), got None",
                 id="ts-missing"),
    pytest.param(payload(ts=1764000000000.5),
                 "'ts' must be epoch milliseconds (integer), got 1764000000000.5", id="ts-float"),
    pytest.param(payload(ts="2026-11-24T16:00:00Z"),
                 "'ts' must be epoch milliseconds (integer), got '2026-11-24T16:00:00Z'",
                 id="ts-iso-text"),
    pytest.param(payload(ts=True), "'ts' must be epoch milliseconds (integer), got True",
                 id="ts-bool"),
    pytest.param(payload(ts=10**20),
                 "'ts' 100000000000000000000 is not a representable time (epoch ms)",
                 id="ts-beyond-year-9999"),
    pytest.param(payload(seq=-1), "'seq' must be a non-negative 64-bit integer, got -1",
                 id="negative-seq"),
    pytest.param(payload(seq=1.0), "'seq' must be a non-negative 64-bit integer, got 1.0",
                 id="float-seq"),
    pytest.param(without("seq"), "'seq' must be a non-negative 64-bit integer, got None",
                 id="seq-missing"),
    pytest.param(payload(seq=2**63), "'seq' must be a non-negative 64-bit integer, got "
                 "9223372036854775808", id="seq-beyond-64-bits"),
    pytest.param(payload(seq=-1, qr=[]), "'seq' must be a non-negative 64-bit integer, got -1",
                 id="negative-seq-with-a-list-reason"),
    pytest.param(payload(src=""), "'src' must be a non-empty producer id, got ''",
                 id="empty-src"),
    pytest.param(without("src"), "'src' must be a non-empty producer id, got None",
                 id="src-missing"),
]


@pytest.mark.parametrize(("raw", "reason"), MALFORMED)
def test_malformed_payload_is_refused_naming_topic_and_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        decode_sample(TOPIC, raw)
    assert (info.value.topic, info.value.reason) == (TOPIC, reason)
    assert str(info.value) == f"{TOPIC}: {reason}"


@pytest.mark.parametrize("topic", [
    pytest.param("andon/v1/acme/ghent/utilities/cooling-water/p-101", id="too-short"),
    pytest.param(TOPIC + "/extra", id="too-deep"),
    pytest.param(edge_intervention_topic("acme", "ghent", "utilities", "cooling-water", "p-101"),
                 id="intervention-topic"),
    pytest.param("andon/v1/acme/ghent/utilities/cooling-water/p-101/_andon", id="andon-level"),
    pytest.param("andon/v2/acme/ghent/utilities/cooling-water/p-101/flow", id="other-version"),
    pytest.param("spBv1.0/acme/ghent/utilities/cooling-water/p-101/flow", id="other-prefix"),
    pytest.param("andon/v1/acme/ghent//cooling-water/p-101/flow", id="empty-level"),
    pytest.param("", id="empty-topic"),
])
def test_a_message_off_the_tag_layout_is_refused(topic: str) -> None:
    with pytest.raises(PayloadError) as info:
        decode_sample(topic, payload())
    assert str(info.value) == f"{topic}: {TAG_EXPECTED}"


@settings(NO_DEADLINE, max_examples=300)
@given(st.dictionaries(st.sampled_from(["v", "u", "q", "ts", "seq", "src"]) | st.text(max_size=3),
                       json_values, max_size=8))
def test_any_json_object_decodes_or_is_refused_with_a_payload_error(data: dict[str, Any]) -> None:
    result = outcome(json.dumps({**GOOD, **data}).encode())
    if isinstance(result, PayloadError):
        assert result.topic == TOPIC
        assert "\n" not in str(result)
    else:
        assert isinstance(result.value, float)
        assert result.seq >= 0
        assert result.source


@NO_DEADLINE
@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_are_refused_with_a_payload_error(raw: bytes) -> None:
    result = outcome(raw)
    assert isinstance(result, Sample) or result.topic == TOPIC


# -- the msgspec fast path agrees with the field-by-field decoder ------------------------------
def reference(raw: bytes) -> Sample | str:
    try:
        return decode_fields(TOPIC, ADDRESS, raw)
    except PayloadError as exc:
        return str(exc)


def fast(raw: bytes) -> Sample | str:
    result = outcome(raw)
    return str(result) if isinstance(result, PayloadError) else result


#: values at the edges of what either decoder accepts
edge_values = st.sampled_from([
    0, -1, 1.0, -0.0, True, None, "", "good", "bad", "filled", "gap", "x" * 33, 2**63 - 1, 2**63,
    2**64, 10**400, -(2**63), 1e308, 253_402_300_799_999, 253_402_300_800_000, -62_135_596_800_000,
    -62_135_596_800_001, [], {},
])
fields = st.sampled_from(["v", "u", "q", "qr", "ts", "seq", "src"])


@settings(NO_DEADLINE, max_examples=500)
@given(st.dictionaries(fields | st.text(max_size=3), json_values | edge_values, max_size=8))
def test_the_fast_path_and_the_reference_decoder_agree_on_json_objects(
        data: dict[str, Any]) -> None:
    raw = json.dumps({**GOOD, **data}).encode()
    assert fast(raw) == reference(raw)


@NO_DEADLINE
@given(st.binary(max_size=64) | st.sampled_from([
    b'{"v":NaN,"u":"A","ts":1,"seq":1,"src":"s"}', b'{"v":1,"u":"A","ts":1,"seq":1,"src":"s"}x',
    b'\xef\xbb\xbf{"v":1,"u":"A","ts":1,"seq":1,"src":"s"}',
    b'{"v":1,"v":"x","u":"A","ts":1,"seq":1,"src":"s"}',
    b'{"v":1,"u":"A","ts":1,"seq":-5,"src":"s","qr":"filled"}',
    b'{"v":1,"u":"\\ud800","ts":1,"seq":1,"src":"s"}',
    '{"v":1,"u":"A","ts":1,"seq":1,"src":"s"}'.encode("utf-16"),
]))
def test_the_fast_path_and_the_reference_decoder_agree_on_any_bytes(raw: bytes) -> None:
    assert fast(raw) == reference(raw)


# -- subscription filters ---------------------------------------------------------------------
def mqtt_matches(topic_filter: str, topic: str) -> bool:
    """MQTT 3.1.1 topic matching (section 4.7): '+' is one level, a final '#' the rest."""
    levels, parts = topic_filter.split("/"), topic.split("/")
    if topic.startswith("$") and levels[0] in {"+", "#"}:
        return False
    for i, level in enumerate(levels):
        if level == "#":
            return i == len(levels) - 1
        if i >= len(parts) or level not in {"+", parts[i]}:
            return False
    return len(levels) == len(parts)


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), [
    ("a/+/c", "a/b/c", True),
    ("a/+/c", "a/b/x/c", False),
    ("a/+", "a/b/c", False),
    ("a/#", "a", True),
    ("a/#", "a/b/c", True),
    ("+/+", "/b", True),
    ("#", "$SYS/x", False),
    ("a/b", "a/b", True),
])
def test_the_matcher_follows_mqtt(topic_filter: str, topic: str, expected: bool) -> None:
    assert mqtt_matches(topic_filter, topic) is expected


@NO_DEADLINE
@given(addresses)
def test_line_filters_match_tag_topics_never_interventions(address: TagAddress) -> None:
    a = address
    topic = topic_of(a)
    iv = edge_intervention_topic(a.enterprise, a.site, a.area, a.line, a.asset)
    for topic_filter in (line_filter(a.enterprise),
                         line_filter(a.enterprise, a.site, a.area, a.line)):
        assert mqtt_matches(topic_filter, topic)
        assert not mqtt_matches(topic_filter, iv)
    assert mqtt_matches(edge_intervention_filter(a.enterprise), iv)
    assert not mqtt_matches(edge_intervention_filter(a.enterprise), topic)


def test_a_line_filter_matches_only_its_own_line() -> None:
    mine = line_filter("acme", "ghent", "utilities", "cooling-water")
    assert mqtt_matches(mine, TOPIC)
    assert not mqtt_matches(mine, "andon/v1/acme/ghent/assembly/press-line/pr-201/oil_temp")
    assert not mqtt_matches(line_filter("other"), TOPIC)


def test_every_demo_tag_topic_is_parsed_back_to_its_place(demo_spec: Any) -> None:
    """The spec's ids are topic-safe: each demo tag has a topic that parses to its address."""
    topics = {
        tag_topic(demo_spec.enterprise.id, s.id, a.id, ln.id, x.id, t.name): (s, a, ln, x, t)
        for s, a, ln, x in demo_spec.assets() for t in x.tags
    }
    assert len(topics) == demo_spec.tag_count()
    for topic, (s, a, ln, x, t) in topics.items():
        assert parse_tag_topic(topic) == TagAddress("acme", s.id, a.id, ln.id, x.id, t.name)
        assert mqtt_matches(line_filter("acme", s.id, a.id, ln.id), topic)


#: what msgspec and the stdlib judge differently: raw (not escaped) non-ASCII bytes, invalid
#: or surrogate UTF-8, integers over 4,300 digits and deep nesting in a field msgspec skips
HOSTILE = [
    b'{"v":1,"u":"A","ts":1,"seq":1,"src":"\xff"}',
    b'{"v":1,"u":"A","ts":1,"seq":1,"src":"\xed\xa0\x80"}',
    b'{"v":1,"u":"\xc3","ts":1,"seq":1,"src":"s"}',
    b'{"v":1,"u":"A","ts":1,"seq":1,"src":"s","x":"\xc0\xaf"}',
    b'{"v":1,"u":"\xc2\xb0C","ts":1,"seq":1,"src":"s"}',
    b'{"v":1,"u":"A","ts":1,"seq":1,"src":"s","x":' + b"9" * 5000 + b"}",
    b'{"v":1,"u":"A","ts":1,"seq":1,"src":"s","x":' + b"[" * 1000 + b"]" * 1000 + b"}",
    b'{"v":1,"u":"A","ts":1,"seq":1,"src":"s","x":' + b"[" * 400 + b"]" * 400 + b"}",
]


@pytest.mark.parametrize("raw", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bytes_get_the_reference_decoders_answer_never_another_exception(
        raw: bytes) -> None:
    assert fast(raw) == reference(raw)  # ``outcome`` lets anything but PayloadError escape


@NO_DEADLINE
@given(raw_field_bytes, st.sampled_from(["u", "src", "qr", "x"]))
def test_raw_bytes_inside_a_field_get_the_reference_decoders_answer(
        inside: bytes, key: str) -> None:
    good = {**GOOD, key: "@"}
    raw = json.dumps(good).encode().replace(b"@", inside.replace(b'"', b"").replace(b"\\", b""))
    assert fast(raw) == reference(raw)
