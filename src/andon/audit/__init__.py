"""Audit: the record of what happened, who did it and when, in a tamper-evident chain.

An ``Event`` is one thing worth keeping (a model promoted, an answer given, a message refused,
an edge's link dropping, a sign-in); ``EventKind`` names every kind Andon writes, one member
each, so a report or an auditor can ask for "every promotion" without guessing spellings.
The store writes each event as the next ``ChainEntry`` of a SHA-256 hash chain
(``andon.audit.chain``); ``verify_chain`` names the first entry edited, deleted or reordered.
Good means: every change a person or the system makes to what the plant sees is an event with
who, when and why; kinds are a closed list; events are written by the one function that made
the change; nothing in the trail changes without the chain showing it.
"""

from andon.audit.chain import (
    GENESIS,
    Anchor,
    ChainEntry,
    Verification,
    anchor_message,
    record_hash,
    verify_chain,
)
from andon.audit.events import Event, EventKind
from andon.audit.signatures import Meaning, Signature

__all__ = [
    "GENESIS",
    "Anchor",
    "ChainEntry",
    "Event",
    "EventKind",
    "Meaning",
    "Signature",
    "Verification",
    "anchor_message",
    "record_hash",
    "verify_chain",
]
