"""Data contracts: what a canonical tag promises, and what happens to data that breaks it.

A *data contract* is, per canonical tag of the plant spec, the unit, valid range and expected
period the spec declares, plus optional limits (staleness, rate of change, stuck-after, allowed
values, counter monotonicity). ``ContractChecker`` judges every decoded sample against it: a
compatible unit is converted to the canonical one; a breach either *quarantines* the message
(kept aside with the original payload, the rule and the reason; replayable after a fix) or
*flags* the sample (recorded with quality ``uncertain``, reported as a ``data_quality`` event).
The rule table is in ``andon.contracts.rules``.

Good means: nothing is dropped silently (every message received is stored, quarantined or a
duplicate); every refusal names the tag, the rule and the reason in one line; the checker is
pure (explicit ingest time, no wall clock, no I/O) and cheap enough for the edge's hot path;
and a stuck sensor produces one event per hour, not one per sample.
"""

from andon.contracts.check import ContractChecker, Verdict, Violation, tag_path
from andon.contracts.events import DATA_QUALITY, QualityEvents
from andon.contracts.quarantine import MAX_PAYLOAD_BYTES, Quarantined, quarantined_message
from andon.contracts.rules import QUARANTINE, Rule, TagContract, contracts_of

__all__ = [
    "DATA_QUALITY",
    "MAX_PAYLOAD_BYTES",
    "QUARANTINE",
    "ContractChecker",
    "QualityEvents",
    "Quarantined",
    "Rule",
    "TagContract",
    "Verdict",
    "Violation",
    "contracts_of",
    "quarantined_message",
    "tag_path",
]
