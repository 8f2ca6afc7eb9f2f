"""Ingest benchmark: Andon's decode → map → contract → window path vs the raw MQTT client.

Run from the repository root::

    .venv/bin/python benchmarks/ingest.py --repeat 3     # median of 3 flood rounds
    .venv/bin/python benchmarks/ingest.py --repeat 3 --broker mqtt://127.0.0.1:1883

Same broker, same messages: by default a private Mosquitto with unbounded queues, so that under
the flood both clients receive every message (``mqtt_receive.py``'s doc says why); with
``--broker`` the system Mosquitto and its default queue limit, where the slower client loses
messages (reported as ``loss %``).

The messages are the demo plant's sources (canonical UNS samples from Ghent, legacy raw names
through Porto's tag map), measured in the same run:

* ``gmqtt (raw)``: the fastest Python MQTT client measured here, only counting messages;
* ``andon edge``: the edge's MQTT intake (``UnsConnector``, ``MqttClient(on_batch=...)``)
  feeding ``Ingest.on_messages`` (one call per socket read, as ``run_edge``) on one core:
  topic resolution (legacy tag map), size cap, decode, time rules (duplicates, skew
  estimate, lateness, gaps), data contract, event-time windows and features (no model
  loaded: scoring is the latency benchmark's subject, ``edge_latency.py``).

Prints the receive rate of each and the ratio (issue target: Andon >= 0.5x the raw client),
then publish -> validated-sample latency p50/p99 at 1k and 10k samples/s. It is
``mqtt_receive.py`` restricted to those two clients; every option of that script applies.
"""

from __future__ import annotations

import sys

from mqtt_receive import main

if __name__ == "__main__":
    sys.exit(main(["--clients", "gmqtt", "edge", *sys.argv[1:]]))
