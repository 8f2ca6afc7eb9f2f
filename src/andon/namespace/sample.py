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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import orjson

from andon.clock import from_ms
from andon.errors import PayloadError
from andon.namespace.topics import TagAddress, parse_tag_topic

__all__ = ["MAX_TS_MS", "MIN_TS_MS", "Quality", "Sample", "decode_sample", "encode_sample"]

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


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of one tag at one source time."""

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
    """Return the JSON payload of a sample (``ValueError`` for a NaN or infinite value)."""
    doc: dict[str, object] = {
        "v": sample.value, "u": sample.unit, "q": sample.quality.value, "ts": sample.ts_ms,
        "seq": sample.seq, "src": sample.source}
    if sample.reason is not None:
        doc["qr"] = sample.reason
    return json.dumps(
        doc,
        separators=(",", ":"),
        allow_nan=False,
    ).encode()


_QUALITIES = {q.value: q for q in Quality}
_MAX_REASON = 32  # longest quality reason code (the store's column width)
#: reason codes of samples Andon inserts itself (gap fills): their seq is ``-ts``, never a
#: producer's, so a forwarded fill decodes again
_SYNTHESIZED = frozenset({"filled", "gap"})
_ORJSON_INT_LIMIT = 2.0**63


def decode_sample(topic: str, payload: bytes) -> Sample:
    """Decode a tag message; raise ``PayloadError`` with the reason on anything malformed."""
    address = parse_tag_topic(topic)
    if address is None:
        raise PayloadError(topic, "not a tag topic (andon/v1/enterprise/site/area/line/asset/tag)")
    try:
        data = orjson.loads(payload)  # ~5x faster than json.loads on the (common) good path
    except orjson.JSONDecodeError:
        data = _loads_slowly(topic, payload)  # stdlib: its messages name what is wrong
    if not isinstance(data, dict):
        raise PayloadError(topic, "payload is not a JSON object")
    value = _finite(topic, data.get("v"))
    unit = data.get("u")
    if not isinstance(unit, str):
        raise PayloadError(topic, f"'u' must be a unit string, got {unit!r}")
    q = data.get("q", "good")
    quality = _QUALITIES.get(q) if isinstance(q, str) else None
    if quality is None:
        raise PayloadError(topic, f"'q' must be good, uncertain or bad, got {q!r}")
    ts = _epoch_ms(topic, data.get("ts"))
    seq = data.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or (
            seq < 0 and data.get("qr") not in _SYNTHESIZED):
        raise PayloadError(topic, f"'seq' must be a non-negative integer, got {seq!r}")
    source = data.get("src")
    if not isinstance(source, str) or not source:
        raise PayloadError(topic, f"'src' must be a non-empty producer id, got {source!r}")
    reason = data.get("qr")
    if reason is None:
        return Sample(address, value, unit, quality, ts, seq, source)
    if not isinstance(reason, str) or not 0 < len(reason) <= _MAX_REASON:
        raise PayloadError(topic, f"'qr' must be a quality reason code (1 to {_MAX_REASON} "
                                  f"characters), got {reason!r:.60}")
    return Sample(address, value, unit, quality, ts, seq, source, reason)


def _epoch_ms(topic: str, ts: object) -> int:
    """``ts`` as epoch milliseconds within years 1 to 9999."""
    if isinstance(ts, float) and ts.is_integer() and abs(ts) >= _ORJSON_INT_LIMIT:
        ts = int(ts)  # orjson turns integers beyond 64 bits into floats: name the integer
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise PayloadError(topic, f"'ts' must be epoch milliseconds (integer), got {ts!r}")
    if not MIN_TS_MS <= ts <= MAX_TS_MS:
        raise PayloadError(topic, f"'ts' {ts} is not a representable time (epoch ms)")
    return ts


def _loads_slowly(topic: str, payload: bytes) -> object:
    """Parse what orjson refused with the stdlib, for the stdlib's reason.

    NaN/Infinity literals and huge numbers parse there, and the field checks then name them.
    """
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(topic, f"payload is not JSON ({exc})") from None
    except RecursionError:  # e.g. 5,000 nested '[' (found by tests/contracts/test_fuzz_broker)
        raise PayloadError(topic, "payload is not JSON (nested too deeply)") from None


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
