"""Text that reaches people: one-line reasons (kernel; imports nothing of Andon)."""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: str, limit: int = 300) -> str:
    r"""``text`` on one line, whitespace collapsed, cut to ``limit`` characters.

    >>> one_line("connection\n  refused")
    'connection refused'
    >>> one_line("x" * 10, limit=8)
    'xxxxx...'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
