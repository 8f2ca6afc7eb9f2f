"""Audit: the record of what happened, who did it and when.

An ``Event`` is one thing worth keeping (a model promoted, an answer given, a message refused,
an edge's link dropping); ``EventKind`` names every kind Andon writes, one member each, so a
report or an auditor can ask for "every promotion" without guessing spellings. Good means:
every change a person or the system makes to what the plant sees is an event with who, when
and why; kinds are a closed list; events are written by the one function that made the change.
"""

from andon.audit.events import Event, EventKind

__all__ = ["Event", "EventKind"]
