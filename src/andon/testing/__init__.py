"""Test helpers shipped with Andon (nothing under ``src/`` imports this package).

Manual clock, real-service probes and fixtures' building blocks: a PostgreSQL database per
test session, the embedded broker on a free loopback port, a unique topic prefix per test.
"""

from andon.clock import ManualClock
from andon.testing.mosquitto import MosquittoProcess
from andon.testing.services import (
    free_port,
    need,
    port_open,
    postgres_database,
    service_unavailable,
)

__all__ = [
    "ManualClock",
    "MosquittoProcess",
    "free_port",
    "need",
    "port_open",
    "postgres_database",
    "service_unavailable",
]
