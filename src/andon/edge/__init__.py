"""The edge runtime: runs next to the machines, turns UNS samples into interventions.

Good means: it keeps up with its line's samples, never crashes on a bad message (it is
counted and kept with its reason), scores every complete window of every watched asset with
the use case's production model, loaded only if its signature verifies against the plant's
trusted keys (otherwise the last good model keeps scoring), and publishes and stores at most
one open intervention per problem. On the way out, it loses nothing the broker could not
take (a durable outbox, replayed in order with idempotency keys), says where it stands (link
state, birth, heartbeat, last will), publishes only on its own topics (the guard), and keeps
ingesting when a model hangs (the watchdog), and when its store fails (the recorder keeps
and retries the batch). With a central Andon, it forwards what it
recorded through the same outbox, pulls its production models into a local cache (verified
before use; the cache serves when the central side is down), and blocks any intervention
outside its use case's action envelope.
"""

from andon.edge.envelope import EnvelopeCheck
from andon.edge.forward import Forwarder
from andon.edge.guard import PublishGuard
from andon.edge.heartbeat import EdgeIdentity, EdgeStatus, config_hash
from andon.edge.ingest import Ingest
from andon.edge.link import Backoff, LinkState, LinkStats
from andon.edge.models import ModelCache
from andon.edge.outbox import Outbox, OutboxItem
from andon.edge.pull import PullResult, pull_models
from andon.edge.recorder import Recorder
from andon.edge.runtime import (
    Edge,
    build_edge,
    default_edge_id,
    intervention_key,
    intervention_payload,
    run_edge,
)
from andon.edge.scoring import Scoring
from andon.edge.stats import EdgeStats, StoreStats
from andon.edge.uplink import Uplink
from andon.edge.watchdog import ScoringWatchdog, WatchdogStats

__all__ = [
    "Backoff",
    "Edge",
    "EdgeIdentity",
    "EdgeStats",
    "EdgeStatus",
    "EnvelopeCheck",
    "Forwarder",
    "Ingest",
    "LinkState",
    "LinkStats",
    "ModelCache",
    "Outbox",
    "OutboxItem",
    "PublishGuard",
    "PullResult",
    "Recorder",
    "Scoring",
    "ScoringWatchdog",
    "StoreStats",
    "Uplink",
    "WatchdogStats",
    "build_edge",
    "config_hash",
    "default_edge_id",
    "intervention_key",
    "intervention_payload",
    "pull_models",
    "run_edge",
]
