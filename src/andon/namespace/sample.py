"""The canonical sample and its JSON payload.

Payload (one message per sample, on the tag's topic)::

    {"v": 41.27, "u": "degC", "q": "good", "ts": 1764000000000, "seq": 1234, "src": "sim-ghent"}

``v`` value, ``u`` unit, ``q`` quality (good / uncertain / bad), ``ts`` source timestamp in
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

from andon.clock import from_ms
from andon.errors import PayloadError
from andon.namespace.topics import TagAddress, parse_tag_topic

__all__ = ["Quality", "Sample", "decode_sample", "encode_sample"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: epoch milliseconds ``from_ms`` can turn into a datetime (years 1 to 9999); checked per
#: sample as two integer comparisons instead of building a datetime on the hot path
_MIN_TS_MS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
_MAX_TS_MS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)


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

    @property
    def ts(self) -> datetime:
        """Source timestamp as an aware datetime."""
        return from_ms(self.ts_ms)


def encode_sample(sample: Sample) -> bytes:
    """Return the JSON payload of a sample (``ValueError`` for a NaN or infinite value)."""
    return json.dumps(
        {"v": sample.value, "u": sample.unit, "q": sample.quality.value, "ts": sample.ts_ms,
         "seq": sample.seq, "src": sample.source},
        separators=(",", ":"),
        allow_nan=False,
    ).encode()


_QUALITIES = {q.value: q for q in Quality}


def decode_sample(topic: str, payload: bytes) -> Sample:
    """Decode a tag message; raise ``PayloadError`` with the reason on anything malformed."""
    address = parse_tag_topic(topic)
    if address is None:
        raise PayloadError(topic, "not a tag topic (andon/v1/enterprise/site/area/line/asset/tag)")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(topic, f"payload is not JSON ({exc})") from None
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
    ts = data.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise PayloadError(topic, f"'ts' must be epoch milliseconds (integer), got {ts!r}")
    if not _MIN_TS_MS <= ts <= _MAX_TS_MS:
        raise PayloadError(topic, f"'ts' {ts} is not a representable time (epoch ms)")
    seq = data.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise PayloadError(topic, f"'seq' must be a non-negative integer, got {seq!r}")
    source = data.get("src")
    if not isinstance(source, str) or not source:
        raise PayloadError(topic, f"'src' must be a non-empty producer id, got {source!r}")
    return Sample(address, value, unit, quality, ts, seq, source)


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
