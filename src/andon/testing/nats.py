"""A three-node NATS cluster with JetStream and its MQTT gateway, on free loopback ports.

NATS speaks MQTT 3.1.1 on an ``mqtt`` listener and keeps MQTT sessions, retained messages and
QoS 1 messages in JetStream streams, replicated over the cluster (``stream_replicas: 3``,
``consumer_replicas: 3``): a client that loses its node connects to another and finds its
session there. ``NatsCluster`` starts such a cluster for a test (each node with its own
JetStream store under the work directory), waits until JetStream has a meta leader and every
node reports healthy, and can ``kill`` a node (SIGKILL) and ``start_node`` it again on the same
ports and store. Every wait is bounded and on a condition.

NATS 2.9 speaks MQTT 3.1.1 only, and QoS 0 and 1 only (QoS 2 arrived in 2.10: a 2.9 server
drops a connection that publishes with QoS 2 and downgrades QoS 2 subscriptions to QoS 1);
Andon uses QoS 0 and 1. A client id connecting again at a very fast pace while its previous
connection is still open is refused for a moment (the server's protection against two
clients taking a session from each other in a loop): Andon's reconnect policy never retries
in a tight loop (``andon.connectors.reconnect``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from andon.testing.services import free_port, port_open
from andon.testing.wait import WaitTimeout, eventually

__all__ = ["NATS_SERVER", "NatsCluster"]

#: where Debian installs the server
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


class _Node:
    """One server of the cluster: its ports, its config file, its process."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.name = name
        self.client_port, self.route_port = free_port(), free_port()
        self.mqtt_port, self.http_port = free_port(), free_port()
        self.store = workdir / f"{name}-store"
        self.config = workdir / f"{name}.conf"
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    def write_config(self, cluster: str, routes: list[int], ack_wait: str) -> None:
        route_urls = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)
        self.config.write_text(
            f"server_name: {self.name}\n"
            f"listen: 127.0.0.1:{self.client_port}\n"
            f"http: 127.0.0.1:{self.http_port}\n"
            f'jetstream {{ store_dir: "{self.store}", max_memory_store: 64MB, '
            "max_file_store: 1GB }\n"
            f"cluster {{ name: {cluster}, listen: 127.0.0.1:{self.route_port}, "
            f"routes: [{route_urls}] }}\n"
            f"mqtt {{ listen: 127.0.0.1:{self.mqtt_port}, stream_replicas: 3, "
            f"consumer_replicas: 3, ack_wait: {json.dumps(ack_wait)} }}\n",
            encoding="utf-8")

    def monitor(self, path: str) -> dict[str, object] | None:
        """GET a monitoring endpoint as JSON; None if the node does not answer (yet)."""
        try:
            with urllib.request.urlopen(  # our own loopback http port
                    f"http://127.0.0.1:{self.http_port}{path}", timeout=1.0) as answer:
                doc = json.loads(answer.read())
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None


class NatsCluster:
    """Start, kill and restart the nodes of a 3-node NATS cluster with MQTT (see module doc).

    ``urls`` are the nodes' MQTT URLs; ``url`` is the comma-separated failover list Andon
    takes (``--broker``). ``ack_wait`` is how long the cluster waits for a QoS 1 delivery's
    acknowledgement before sending it again (NATS's default is 30 s).
    """

    def __init__(self, workdir: Path, *, size: int = 3, binary: str = NATS_SERVER,
                 name: str = "andon", ack_wait: str = "2s") -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        self.nodes = [_Node(workdir, f"n{i + 1}") for i in range(size)]
        routes = [n.route_port for n in self.nodes]
        for node in self.nodes:
            node.write_config(name, routes, ack_wait)

    @property
    def urls(self) -> list[str]:
        """The MQTT URL of each node, in node order."""
        return [n.mqtt_url for n in self.nodes]

    @property
    def url(self) -> str:
        """All nodes as one failover list: ``mqtt://...,mqtt://...,mqtt://...``."""
        return ",".join(self.urls)

    def node_of(self, url: str) -> int:
        """The index of the node serving MQTT on ``url``."""
        return self.urls.index(url)

    def running(self, index: int) -> bool:
        """Whether node ``index``'s process is alive."""
        proc = self.nodes[index].proc
        return proc is not None and proc.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Start every node; return once the cluster is ready (``TimeoutError`` if not)."""
        for i in range(len(self.nodes)):
            self._spawn(i)
        self.wait_ready(timeout)

    def start_node(self, index: int, timeout: float = 60.0) -> None:
        """Start node ``index`` again (same ports, same store) and wait until all are ready."""
        self._spawn(index)
        self.wait_ready(timeout)

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` and reap it (no goodbye to its clients or peers)."""
        node = self.nodes[index]
        proc, node.proc = node.proc, None
        if proc is not None:
            proc.kill()
            proc.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every node and wait for it (SIGKILL after ``timeout``)."""
        for node in self.nodes:
            proc, node.proc = node.proc, None
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until each running node is healthy, knows the meta leader, listens for MQTT."""
        try:
            eventually(self._ready, "the NATS cluster ready (JetStream meta leader, every node "
                       "healthy, MQTT listening)", timeout, every_s=0.1, state=self._state)
        except WaitTimeout as exc:
            raise TimeoutError(str(exc)) from None

    def _spawn(self, index: int) -> None:
        node = self.nodes[index]
        if node.proc is not None and node.proc.poll() is None:
            raise RuntimeError(f"NATS node {node.name} is already running")
        with node.log.open("ab") as log:
            node.proc = subprocess.Popen(  # noqa: S603 - fixed binary, our own config
                [self.binary, "-c", str(node.config)], stdout=log, stderr=subprocess.STDOUT)

    def _ready(self) -> bool:
        for node in self.nodes:
            if node.proc is None:
                continue
            if node.proc.poll() is not None:
                raise RuntimeError(f"nats-server {node.name} exited with "
                                   f"{node.proc.returncode}; see {node.log}: "
                                   f"{node.log.read_text(errors='replace')[-500:]}")
            health = node.monitor("/healthz")
            jsz = node.monitor("/jsz")
            meta = jsz.get("meta_cluster") if jsz else None
            if (health is None or health.get("status") != "ok" or not isinstance(meta, dict)
                    or not meta.get("leader")
                    or not port_open("127.0.0.1", node.mqtt_port, timeout=0.2)):
                return False
        return True

    def _state(self) -> object:
        return {n.name: (n.proc is not None and n.proc.poll() is None, n.monitor("/healthz"))
                for n in self.nodes}

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
