"""Text that reaches people: one-line reasons, numbers (kernel; imports nothing of Andon).

Every number a person reads (the inbox card, a sink's message, the CLI's lists) goes through
``eng``: at most three significant digits, thousands grouped, an SI prefix past 10,000 when
there is no unit, never an exponent, with the unit written as people write it (``°C``,
``m³/h``). ``times`` says how many times its limit a score is, ``sigma`` how far a value lies
from its healthy mean in standard deviations.
"""

from __future__ import annotations

import math
import re

__all__ = ["eng", "one_line", "pretty_unit", "printable", "redact_url", "sigma", "times"]

#: what a terminal must not be handed raw: C0 and C1 controls (ESC starts escape sequences),
#: DEL, the bidirectional controls (a right-to-left override reorders the rest of a line) and
#: lone surrogates (not encodable)
_BYTE = 0xFF  # escaped as \\xNN up to here, as \\uNNNN above
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069\ud800-\udfff]")


def printable(text: str, *, keep: str = "") -> str:
    r"""``text`` safe for a terminal: each control, bidi or lone-surrogate character escaped.

    ``keep`` lists characters left as they are (e.g. a newline in a payload shown whole).

    >>> printable("p-101\u202e\x1b[31m")
    'p-101\\u202e\\x1b[31m'
    >>> printable("a\nb", keep="\n")
    'a\nb'
    """
    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        if ch in keep:
            return ch
        code = ord(ch)
        return f"\\x{code:02x}" if code <= _BYTE else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, text)


def one_line(text: str, limit: int = 300) -> str:
    r"""``text`` on one line, whitespace collapsed, cut to ``limit`` characters.

    >>> one_line("connection\n  refused")
    'connection refused'
    >>> one_line("x" * 10, limit=8)
    'xxxxx...'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


#: what a password in a URL is shown as (``andon.settings.SECRET_MASK`` alike)
_MASK = "***"


def redact_url(text: str) -> str:
    """A URL (or a comma-separated list of them) fit to show: each password replaced by ***.

    Every place Andon shows a broker or store URL (logs, errors, ``andon status``, the
    settings table) shows it through this. The user name stays (it says who connects); what
    follows its ``:`` up to the last ``@`` goes, so a password holding an unescaped ``@`` or
    ``/`` is masked whole too. Anything without ``scheme://user:...@`` is returned unchanged.

    >>> redact_url("mqtts://ana:s3cret@broker:8883")
    'mqtts://ana:***@broker:8883'
    >>> redact_url("mqtt://ana:a@b@h1:1883,mqtt://h2:1883")
    'mqtt://ana:***@h1:1883,mqtt://h2:1883'
    >>> redact_url("mqtt://ana@broker")
    'mqtt://ana@broker'
    """
    return ",".join(_redact_one(item) for item in text.split(","))


def _redact_one(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    if not colon:
        return url
    return f"{scheme}://{user}:{_MASK}@{host}"


#: how units are written for people (pint's spelling -> the usual symbol)
_UNIT_WORDS = (("degC", "°C"), ("degF", "°F"), ("delta_degC", "°C"), ("percent", "%"),
               ("**2", "²"), ("^2", "²"), ("**3", "³"), ("^3", "³"), ("micrometer", "µm"),
               ("dimensionless", ""), (" ", ""))
#: SI prefixes for large numbers without a unit (a unit is never prefixed: "1,360 rpm")
_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_GROUPED_BELOW = 1e4  # without a unit, from here on a prefix: 12,345 -> "12.3 k"
_GROUPED_BELOW_UNIT = 1e6  # with a unit, grouped up to here: 123,456 m³/h
_TINY = 1e-9  # shown as 0


def pretty_unit(unit: str) -> str:
    """A pint unit as people write it.

    >>> pretty_unit("m^3/h"), pretty_unit("degC"), pretty_unit("dimensionless")
    ('m³/h', '°C', '')
    """
    out = unit.strip()
    for word, symbol in _UNIT_WORDS:
        out = out.replace(word, symbol)
    return out


def eng(value: float, unit: str = "", *, digits: int = 3) -> str:
    """``value`` for a person: ``digits`` significant digits, grouped, no exponent, the unit.

    >>> eng(1360.4, "rpm"), eng(203.4, "m^3/h"), eng(7.94, "mm/s"), eng(0.0123)
    ('1,360 rpm', '203 m³/h', '7.94 mm/s', '0.0123')
    >>> eng(12345.0), eng(2.5e6), eng(-0.5, "degC"), eng(0.0), eng(float("nan"), "A")
    ('12.3 k', '2.5 M', '-0.5 °C', '0', 'n/a')
    """
    u = pretty_unit(unit)
    suffix = f" {u}" if u else ""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return ("-∞" if value < 0 else "∞") + suffix
    size = abs(value)
    if size < _TINY:
        return "0" + suffix
    if size >= (_GROUPED_BELOW_UNIT if u else _GROUPED_BELOW):
        for step, prefix in _PREFIXES:
            if size >= step:
                return f"{_digits(value / step, digits)} {prefix}{suffix}"
    return _digits(value, digits) + suffix


def _digits(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant digits, grouped, trailing zeros cut."""
    size = abs(value)
    places = digits - 1 - math.floor(math.log10(size)) if size else 0
    rounded = round(value, places)
    if rounded and math.floor(math.log10(abs(rounded))) > math.floor(math.log10(size)):
        places -= 1  # 9.996 rounds up to 10.0: one digit fewer
        rounded = round(value, places)
    text = f"{rounded:,.{max(places, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def times(ratio: float) -> str:
    """How many times its limit a score is: ``1.4×``, ``38.2×``, ``> 1,000×``.

    >>> times(1.43), times(38.2), times(2088.0), times(float("inf"))
    ('1.4×', '38.2×', '> 1,000×', '> 1,000×')
    """
    if math.isnan(ratio):
        return "n/a"
    if ratio >= 1000:  # noqa: PLR2004 - beyond it the exact figure means nothing to a person
        return "> 1,000×"
    return f"{_digits(ratio, 2 if ratio < 10 else 3)}×"  # noqa: PLR2004 - 1.4×, 38×, 203×


def sigma(z: float) -> str:
    """A standardised deviation, unsigned: ``4.1 σ``; past 100, ``> 100 σ``.

    >>> sigma(4.07), sigma(-0.42), sigma(350.0)
    ('4.1 σ', '0.4 σ', '> 100 σ')
    """
    size = abs(z)
    if size > 100:  # noqa: PLR2004
        return "> 100 σ"
    return f"{size:.1f} σ" if size < 10 else f"{size:.0f} σ"  # noqa: PLR2004
