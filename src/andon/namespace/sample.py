"""The canonical sample and its JSON payload.

Payload (one message per sample, on the tag's topic)::

    {"v": 41.27, "u": "degC", "q": "good", "ts": 1764000000000, "seq": 1234, "src": "sim-ghent"}

``v`` value, ``u`` unit, ``q`` quality (good / uncertain / bad), optional ``qr`` the quality
reason code (why not good, e.g. ``stuck``), ``ts`` source timestamp in
milliseconds since the Unix epoch (UTC), ``seq`` the producer's sequence number, ``src`` the
producer (source) id. Short keys keep a sample near 90 bytes; the embedded broker relays a few
thousand messages per second, so payload size matters.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final

import msgspec

from andon.clock import from_ms
from andon.errors import PayloadError
from andon.namespace.topics import TagAddress, parse_tag_topic

__all__ = [
    "ESCAPE",
    "FAST_MAX_BYTES",
    "FAST_PATH_ERRORS",
    "MAX_SOURCE_CHARS",
    "MAX_TS_MS",
    "MAX_UNIT_CHARS",
    "MIN_TS_MS",
    "Quality",
    "Sample",
    "decode_at",
    "decode_fields",
    "decode_sample",
    "encode_sample",
    "json_object",
    "strict_utf8",
    "too_long",
    "valid_text",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: epoch milliseconds ``from_ms`` can turn into a datetime (years 1 to 9999); checked per
#: sample as two integer comparisons instead of building a datetime on the hot path
#: the source times a sample may carry: epoch ms of years 1 to 9999 (a ``datetime``'s range)
MIN_TS_MS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
MAX_TS_MS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)


class Quality(StrEnum):
    """OPC-style quality of a sample."""

    GOOD = "good"  # measured and trusted
    UNCERTAIN = "uncertain"  # measured but doubtful (e.g. sensor in calibration, substituted)
    BAD = "bad"  # not usable (sensor fault, comm loss); kept, never scored


class Sample(msgspec.Struct, frozen=True, gc=False):
    """One value of one tag at one source time.

    A frozen ``msgspec.Struct`` rather than a named tuple or a dataclass: the edge makes one or
    two per message and reads its fields ~20 times on the way; a Struct is built about twice as
    fast as a named tuple through ``tuple.__new__`` (~125 against ~240 ns) and its fields read
    about twice as fast (~15 against ~35 ns: slots, not ``itemgetter`` properties). It holds
    no containers that could form a cycle, so the garbage collector does not track it
    (``gc=False``). Positional like a tuple:
    ``Sample(address, value, unit, quality, ts_ms, seq, source[, reason])``; a changed copy is
    ``msgspec.structs.replace(sample, value=...)``.
    """

    address: TagAddress
    value: float
    unit: str
    quality: Quality
    ts_ms: int
    seq: int
    source: str
    #: why the quality is not plain ``good`` (a rule code such as ``stuck``, ``late``,
    #: ``filled``, ``skew_corrected``; see ``andon.contracts.rules``), or None
    reason: str | None = None

    @property
    def ts(self) -> datetime:
        """Source timestamp as an aware datetime."""
        return from_ms(self.ts_ms)


def encode_sample(sample: Sample) -> bytes:
    """Return the JSON payload of a sample (``ValueError`` for a NaN or infinite value).

    A finite float value and ASCII text (nearly every sample) are encoded by msgspec (~1 us);
    anything else by the standard library, whose ASCII output escapes any other character.
    Both give the same JSON document.
    """
    value, unit, source, reason = sample.value, sample.unit, sample.source, sample.reason
    if (type(value) is float and -_INF < value < _INF and unit.isascii() and source.isascii()
            and (reason is None or reason.isascii())):
        try:
            return _encode_wire(_Wire(value, unit, sample.quality.value, sample.ts_ms,
                                      sample.seq, source, reason))
        except (OverflowError, msgspec.EncodeError):  # an integer beyond 64 bits
            pass
    doc: dict[str, object] = {
        "v": value, "u": unit, "q": sample.quality.value, "ts": sample.ts_ms,
        "seq": sample.seq, "src": source}
    if reason is not None:
        doc["qr"] = reason
    return json.dumps(
        doc,
        separators=(",", ":"),
        allow_nan=False,
    ).encode()


class _Wire(msgspec.Struct, omit_defaults=True):
    """A sample's payload as ``encode_sample`` writes it (``qr`` only when there is one)."""

    v: float
    u: str
    q: str
    ts: int
    seq: int
    src: str
    qr: str | None = None


_encode_wire = msgspec.json.Encoder().encode
_QUALITIES = {q.value: q for q in Quality}
_MAX_REASON = 32  # longest quality reason code (the store's column width)
#: longest producer id (``src``) and unit (``u``) a sample may carry: the store's column
#: widths (``samples.source``, ``samples.unit``); a longer one is refused, never cut
MAX_SOURCE_CHARS: Final = 200
MAX_UNIT_CHARS: Final = 100
#: reason codes of samples Andon inserts itself (gap fills): their seq is ``-ts``, never a
#: producer's, so a forwarded fill decodes again
_SYNTHESIZED = frozenset({"filled", "gap"})
_INT64_MAX = 2**63 - 1
_INF = math.inf  # a module constant: read twice per sample
#: the msgspec fast paths take only payloads this short and in strict UTF-8: msgspec and the
#: stdlib judge some others differently (invalid or surrogate UTF-8, integers over 4,300
#: digits or deep nesting in a field msgspec skips), so those go to the reference decoder
FAST_MAX_BYTES = 1024
#: a JSON escape's backslash: a ``\\u`` escape may spell a lone surrogate (``"\\ud800"``),
#: which is no text (no store can encode it), so a payload with one goes to the reference
#: decoder, which checks every string field (``valid_text``); samples rarely escape. An int:
#: ``92 in payload`` is a ``memchr`` (~25 ns on a sample), where ``b"\\" in payload`` goes
#: through the buffer protocol (~250 ns)
ESCAPE = ord("\\")
#: what a fast path hands to the reference decoder instead of raising
FAST_PATH_ERRORS = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)


class _Payload(msgspec.Struct, gc=False):
    """The canonical payload as msgspec decodes and type-checks it in one pass (fast path)."""

    v: float
    u: Annotated[str, msgspec.Meta(max_length=MAX_UNIT_CHARS)]
    ts: Annotated[int, msgspec.Meta(ge=MIN_TS_MS, le=MAX_TS_MS)]
    seq: Annotated[int, msgspec.Meta(le=_INT64_MAX)]
    src: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SOURCE_CHARS)]
    q: Quality = Quality.GOOD
    qr: Annotated[str, msgspec.Meta(min_length=1, max_length=_MAX_REASON)] | None = None


_decode_payload = msgspec.json.Decoder(_Payload).decode


def decode_sample(topic: str, payload: bytes) -> Sample:
    """Decode a tag message; raise ``PayloadError`` with the reason on anything malformed.

    msgspec decodes and type-checks a well-formed payload in one pass (~1 us). Whatever it
    refuses, or accepts but a rule it cannot express may still refuse (a negative ``seq``,
    a value beyond float range), goes through the field-by-field decoder, which alone decides
    and names the reason; so does every payload over ``FAST_MAX_BYTES`` or not strict UTF-8.
    Both give the same result for any payload (``tests/namespace/test_sample.py`` checks it
    with Hypothesis).
    """
    address = parse_tag_topic(topic)
    if address is None:
        raise PayloadError(topic, "not a tag topic (andon/v1/enterprise/site/area/line/asset/tag)")
    return decode_at(topic, address, payload)


def decode_at(topic: str, address: TagAddress, payload: bytes) -> Sample:
    """``decode_sample`` for a topic already parsed into ``address`` (callers that keep it)."""
    if len(payload) > FAST_MAX_BYTES or not (payload.isascii() or strict_utf8(payload)) or (
            ESCAPE in payload):
        return decode_fields(topic, address, payload)
    try:
        p = _decode_payload(payload)
    except FAST_PATH_ERRORS:
        return decode_fields(topic, address, payload)
    if p.seq < 0 or not -_INF < p.v < _INF:
        return decode_fields(topic, address, payload)
    return Sample(address, p.v, p.u, p.q, p.ts, p.seq, p.src, p.qr)


def strict_utf8(payload: bytes) -> bool:
    """Whether ``payload`` is valid UTF-8 without encoded surrogates.

    Asked only of a payload that is not ASCII: a unit such as ``°C`` keeps it on the fast path.
    """
    try:
        payload.decode()
    except UnicodeDecodeError:
        return False
    return True


def valid_text(topic: str, name: str, text: str) -> str:
    r"""``text``, if it is Unicode text (encodes as UTF-8); else ``PayloadError`` naming ``name``.

    JSON can spell a lone surrogate (``"\ud800"``) that no UTF-8 store, topic or log can
    take; refused here, at the message, it cannot fail a batch further down.

    >>> valid_text("t", "src", "plc-\u00e9")
    'plc-é'
    >>> valid_text("t", "src", "\ud800x")
    Traceback (most recent call last):
    ...
    andon.errors.PayloadError: t: 'src' is not valid text: lone surrogate U+D800 at character 1
    """
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise PayloadError(topic, f"{name!r} is not valid text: lone surrogate "
                                  f"U+{ord(text[exc.start]):04X} at character {exc.start + 1}",
                           ) from None
    return text


def too_long(topic: str, name: str, text: str, limit: int) -> None:
    """``PayloadError`` naming the field and its length if ``text`` is over ``limit`` characters.

    >>> too_long("t", "src", "x" * 10_000, 200)
    Traceback (most recent call last):
    ...
    andon.errors.PayloadError: t: 'src' is 10000 characters, over the 200 the store keeps
    """
    if len(text) > limit:
        raise PayloadError(topic, f"{name!r} is {len(text)} characters, over the {limit} the "
                                  "store keeps")


def decode_fields(topic: str, address: TagAddress, payload: bytes) -> Sample:
    """The field-by-field decoder behind ``decode_sample``: the reference, with the reasons."""
    data = json_object(topic, payload)
    value = _finite(topic, data.get("v"))
    unit = data.get("u")
    if not isinstance(unit, str):
        raise PayloadError(topic, f"'u' must be a unit string, got {unit!r}")
    valid_text(topic, "u", unit)
    too_long(topic, "u", unit, MAX_UNIT_CHARS)
    q = data.get("q", "good")
    quality = _QUALITIES.get(q) if isinstance(q, str) else None
    if quality is None:
        raise PayloadError(topic, f"'q' must be good, uncertain or bad, got {q!r}")
    ts = _epoch_ms(topic, data.get("ts"))
    seq = data.get("seq")
    reason = data.get("qr")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq > _INT64_MAX or (
            seq < 0 and not (isinstance(reason, str) and reason in _SYNTHESIZED)):
        raise PayloadError(topic, f"'seq' must be a non-negative 64-bit integer, got {seq!r:.40}")
    source = data.get("src")
    if not isinstance(source, str) or not source:
        raise PayloadError(topic, f"'src' must be a non-empty producer id, got {source!r}")
    valid_text(topic, "src", source)
    too_long(topic, "src", source, MAX_SOURCE_CHARS)
    if reason is None:
        return Sample(address, value, unit, quality, ts, seq, source)
    if not isinstance(reason, str) or not 0 < len(reason) <= _MAX_REASON:
        raise PayloadError(topic, f"'qr' must be a quality reason code (1 to {_MAX_REASON} "
                                  f"characters), got {reason!r:.60}")
    valid_text(topic, "qr", reason)
    return Sample(address, value, unit, quality, ts, seq, source, reason)


def _epoch_ms(topic: str, ts: object) -> int:
    """``ts`` as epoch milliseconds within years 1 to 9999."""
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise PayloadError(topic, f"'ts' must be epoch milliseconds (integer), got {ts!r}")
    if not MIN_TS_MS <= ts <= MAX_TS_MS:
        raise PayloadError(topic, f"'ts' {ts!r:.40} is not a representable time (epoch ms)")
    return ts


def json_object(topic: str, payload: bytes, name: str = "") -> dict[str, object]:
    """The JSON object of a payload; ``PayloadError`` (reason prefixed ``name: ``) if it is not.

    The stdlib parser, for its precise reasons; NaN/Infinity literals and huge numbers parse,
    and the callers' field checks then name them. (The fast paths decode with msgspec.)
    """
    named = f"{name}: " if name else ""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(topic, f"{named}payload is not JSON ({exc})"[:300]) from None
    except RecursionError:  # e.g. 5,000 nested '[' (found by tests/contracts/test_fuzz_broker)
        raise PayloadError(topic, f"{named}payload is not JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise PayloadError(topic, f"{named}payload is not a JSON object")
    return data


def _finite(topic: str, value: object) -> float:
    """``value`` as a finite float; JSON integers beyond float range are refused too."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(topic, f"'v' must be a finite number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        shown = f"{value!r}" if isinstance(value, float) else "an integer too large for a float"
        raise PayloadError(topic, f"'v' must be a finite number, got {shown}")
    return number
