"""Sinks: where interventions go, so that they reach people in the tools they already use.

A sink takes the one JSON form of an intervention (``intervention_document``) and delivers
it: to the asset's UNS topic (``UnsSink``), to a webhook with an HMAC signature
(``WebhookSink``), to a CMMS as a work order (``CmmsSink``), whose completion comes back and
closes the intervention, or by e-mail to the people of the role that owns it, again at each
escalation (``EmailSink``). The ``Dispatcher`` hands each new or changed intervention to every
sink that wants it and records every attempt.

Good means: delivery is idempotent (same dedup key → same work order; the same
``Idempotency-Key`` on every retry), each attempt's result is kept, a failing or hanging sink
never blocks the others, nothing delivered is re-sent after a restart and nothing undelivered
is forgotten, and secrets (webhook keys, CMMS tokens, SMTP passwords) are never stored or
logged.
"""

from andon.sinks.base import Attempt, DeliveryResult, Outgoing, Sink
from andon.sinks.cmms import CmmsSink
from andon.sinks.dispatch import Attempted, Dispatcher, Route
from andon.sinks.mail import EmailSink
from andon.sinks.uns import UnsSink
from andon.sinks.webhook import WebhookSink

__all__ = [
    "Attempt",
    "Attempted",
    "CmmsSink",
    "DeliveryResult",
    "Dispatcher",
    "EmailSink",
    "Outgoing",
    "Route",
    "Sink",
    "UnsSink",
    "WebhookSink",
]
