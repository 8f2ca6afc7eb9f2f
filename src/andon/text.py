"""Text that reaches people: one-line reasons (kernel; imports nothing of Andon)."""

from __future__ import annotations

import re

__all__ = ["one_line", "printable", "redact_url"]

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
