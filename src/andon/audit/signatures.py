"""Electronic signatures (21 CFR Part 11 §11.50, §11.70): who signed which record, meaning what.

A ``Signature`` binds the signer's login and printed name, the time and the stated
``Meaning`` to the SHA-256 of the exact record signed (a model version, a spec text, a rollout
move), plus the reason given. Its own ``hash`` covers all of that, and the audit entry that
records it carries that hash, so a signature cannot be altered or moved to another record
without the audit chain showing it. ``manifest`` is how it is shown wherever the record is
(§11.50: printed name, date and time, meaning).

>>> from andon.clock import utc
>>> s = Signature("model", "pump-bearing v4", "ab" * 32, "dana", "Dana Costa",
...               Meaning.APPROVED, utc(2026, 12, 7, 9, 30), "beats v3 on 30 days")
>>> s.manifest()
'approved by Dana Costa (dana) on 2026-12-07 09:30 UTC: beats v3 on 30 days'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from andon.audit.chain import record_hash

__all__ = ["Meaning", "Signature"]


class Meaning(StrEnum):
    """What a signature means (§11.50(a)(3))."""

    AUTHORED = "authored"  # I made this change
    REVIEWED = "reviewed"  # I checked it
    APPROVED = "approved"  # I release it to production


@dataclass(frozen=True, slots=True)
class Signature:
    """One electronic signature on one record."""

    record_kind: str  # model / spec / rollout
    record_id: str  # e.g. "pump-bearing v4", "spec", "pump-bearing rollout step 3"
    record_hash: str  # SHA-256 of the exact record signed
    username: str
    printed_name: str
    meaning: Meaning
    at: datetime
    reason: str = ""

    @property
    def hash(self) -> str:
        """SHA-256 of the whole signature (what its audit entry records)."""
        return record_hash({"kind": self.record_kind, "id": self.record_id,
                            "record": self.record_hash, "user": self.username,
                            "name": self.printed_name, "meaning": str(self.meaning),
                            "at": self.at.astimezone(UTC).isoformat(), "reason": self.reason})

    def manifest(self) -> str:
        """``approved by Dana Costa (dana) on 2026-12-07 09:30 UTC: reason``."""
        when = self.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = f"{self.meaning} by {self.printed_name} ({self.username}) on {when}"
        return f"{text}: {self.reason}" if self.reason else text
