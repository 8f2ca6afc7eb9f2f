"""Comments: what people write on an intervention while it is worked on (notes for the shift).

A comment changes nothing of the intervention's lifecycle and is no label: it is a note for
the next person ("spare bearing ordered, arrives Thursday"), kept with who, when and through
which surface, shown on the card, found by the console's search and recorded in the audit
trail like every answer. Good means: a comment is never empty, never longer than
``MAX_COMMENT`` characters, and is refused with a one-line reason otherwise.

>>> from andon.clock import utc
>>> new_comment("rec-1", "  spare bearing ordered  ", by="ana", at=utc(2026, 3, 2, 8)).body
'spare bearing ordered'
>>> new_comment("rec-1", " ", by="ana", at=utc(2026, 3, 2, 8))
Traceback (most recent call last):
...
andon.errors.FeedbackError: a comment on rec-1 needs some text
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from andon.errors import FeedbackError

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["MAX_COMMENT", "Comment", "new_comment"]

#: the longest comment kept, in characters
MAX_COMMENT = 2000


@dataclass(frozen=True, slots=True)
class Comment:
    """A note on an intervention: its text, who wrote it, when and through which surface."""

    intervention_id: str
    body: str
    by: str
    at: datetime
    via: str = "api"
    id: int | None = None  # the store's id, once stored


def new_comment(intervention_id: str, body: str, *, by: str, at: datetime,
                via: str = "api") -> Comment:
    """A checked comment: trimmed; ``FeedbackError`` if empty or over ``MAX_COMMENT``."""
    text = body.strip()
    if not text:
        raise FeedbackError(f"a comment on {intervention_id} needs some text")
    if len(text) > MAX_COMMENT:
        raise FeedbackError(f"a comment on {intervention_id} is {len(text)} characters; "
                            f"at most {MAX_COMMENT} are kept")
    return Comment(intervention_id=intervention_id, body=text, by=by, at=at, via=via)
