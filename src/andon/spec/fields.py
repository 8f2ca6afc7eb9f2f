"""What spec checks share: ``FieldError`` (a check about one field), ``unknown`` (a reference)."""

from __future__ import annotations

__all__ = ["FieldError", "unknown"]


class FieldError(ValueError):
    """A model-level check that belongs to one field; the loader re-attaches the field.

    pydantic reports a model validator's ``ValueError`` at the model; the message
    ``@field@ reason`` tells the loader (``andon.spec.loader``) which field it is about.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"@{field}@ {reason}")


def unknown(what: str, value: str, known: set[str]) -> str:
    """The reason for a reference that does not resolve, listing (up to 8 of) the known ids.

    >>> unknown("role", "janitor", {"operator", "shift_lead"})
    "unknown role 'janitor' (known: operator, shift_lead)"
    """
    listed = ", ".join(sorted(known)[:8]) + (", ..." if len(known) > 8 else "")  # noqa: PLR2004
    return f"unknown {what} {value!r} (known: {listed})"
