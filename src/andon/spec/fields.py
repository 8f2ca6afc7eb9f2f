"""``FieldError``: a model-level check that is about one field of the spec."""

from __future__ import annotations

__all__ = ["FieldError"]


class FieldError(ValueError):
    """A model-level check that belongs to one field; the loader re-attaches the field.

    pydantic reports a model validator's ``ValueError`` at the model; the message
    ``@field@ reason`` tells the loader (``andon.spec.loader``) which field it is about.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"@{field}@ {reason}")
