"""Names no other test uses, for tests that share a broker (or a database server).

Tests on the shared Mosquitto (127.0.0.1:1883) run beside other tests, other test runs and
other developers' runs: each takes its own enterprise id, Sparkplug group or topic prefix, so
that what it publishes and what it subscribes to never meet anyone else's (aiomqtt's habit).
The names are lowercase letters and digits: valid as a plant-spec id, a Sparkplug group id and
an MQTT topic level::

    enterprise = unique_id()                    # "t3f9a0c1d"
    topic = f"{topic_prefix('batch')}/values"   # "andon-test/batch/5b0e2d77/values"
"""

from __future__ import annotations

import re
import secrets

__all__ = ["ROOT", "topic_prefix", "unique_id"]

#: the first level of every ``topic_prefix``: one filter (``andon-test/#``) shows test traffic
ROOT = "andon-test"
_STEM = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")


def unique_id(stem: str = "t") -> str:
    """``stem`` and 8 random hex digits, e.g. ``t3f9a0c1d``: an id no other test uses.

    ``stem`` (lowercase, starting with a letter) says whose it is in a broker's log (``fz`` for
    the fuzzer); the result matches the spec's id pattern ``[a-z0-9][a-z0-9_-]{0,62}``.
    """
    if not _STEM.match(stem):
        raise ValueError(f"stem {stem!r} must be lowercase [a-z][a-z0-9_-], at most 31 long")
    return f"{stem}{secrets.token_hex(4)}"


def topic_prefix(label: str = "t") -> str:
    """A topic prefix of its own, ``andon-test/<label>/<8 hex digits>`` (no trailing ``/``)."""
    if not _STEM.match(label):
        raise ValueError(f"label {label!r} must be lowercase [a-z][a-z0-9_-], at most 31 long")
    return f"{ROOT}/{label}/{secrets.token_hex(4)}"
