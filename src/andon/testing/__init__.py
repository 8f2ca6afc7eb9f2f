"""Test helpers shipped with Andon, for its own tests and for plug-in authors' tests.

Nothing under ``src/`` imports this package (an import-linter contract says so), and nothing
in it needs pytest to import: the few helpers that skip a test import pytest when called.

- ``ManualClock``: time that moves only when the test says so.
- ``eventually`` / ``until`` (``wait``): bounded waits for a condition that can only be observed;
  a failure names what was awaited and what was last seen.
- ``unique_id`` / ``topic_prefix`` (``unique``): an enterprise id or topic prefix per test on a
  shared broker.
- ``need``, ``port_open``, ``free_port``, ``postgres_database`` (``services``): probes and
  throwaway resources on the real local services; ``MosquittoProcess``: a private broker to
  stop and start; ``NatsCluster``: a three-node NATS cluster with JetStream and MQTT whose
  nodes a test kills and restarts; ``cmms.LocalCmms``: a small real work-order server.
- ``tls``: a throwaway CA with server and client certificates (``make_pki``) and a Mosquitto
  with TLS, passwords and ACLs (``secure_mosquitto``).
- ``opcua_certs``: throwaway OPC UA application instance certificates (application URI,
  key usages), self-signed or issued by a throwaway CA.
- ``factories``: deterministic interventions, users, tokens and model versions.
- ``strategies``: the Hypothesis strategies the property tests share (needs ``hypothesis``).
- ``conformance``: the checks every store, sink and connector must pass, importable so that a
  plug-in's own tests run them against its sink or connector (see its docstring).
"""

from andon.clock import ManualClock
from andon.testing.mosquitto import MosquittoProcess
from andon.testing.nats import NatsCluster
from andon.testing.services import (
    free_port,
    need,
    port_open,
    postgres_database,
    service_unavailable,
)
from andon.testing.unique import topic_prefix, unique_id
from andon.testing.wait import WaitTimeout, eventually, until

__all__ = [
    "ManualClock",
    "MosquittoProcess",
    "NatsCluster",
    "WaitTimeout",
    "eventually",
    "free_port",
    "need",
    "port_open",
    "postgres_database",
    "service_unavailable",
    "topic_prefix",
    "unique_id",
    "until",
]
