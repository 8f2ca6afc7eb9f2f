"""``Event``: a record of something worth keeping (model loaded or refused, feedback, stages).

It lives in the kernel so that domain packages (the model registry) can write events through
the protocols they declare, while the store keeps them; ``andon.store.Event`` is this class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Event"]


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth keeping a record of (model loaded, feedback given, spec changed...)."""

    kind: str
    subject: str
    detail: str
    at: datetime
    by: str = "system"
