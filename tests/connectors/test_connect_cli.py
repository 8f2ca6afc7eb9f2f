"""``andon connect sparkplug`` as a real process: a pysparkplug edge node's births become stored
samples through the site's tag map and the data contracts; an unmapped metric is quarantined
with a reason naming it; SIGTERM stops the host and it says so on its STATE topic."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pysparkplug import DataType, EdgeNode, Metric
from typer.testing import CliRunner

from andon.cli.app import app
from andon.connectors.mqtt import MqttClient
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.conformance.connectors import STOP_WITHIN_S

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "demo-plant.yaml"
ANDON = str(Path(sys.executable).parent / "andon")


def test_sparkplug_host_feeds_the_edge_store(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"

    async def story(broker: MosquittoProcess) -> None:
        states: list[dict[str, object]] = []
        changed = asyncio.Event()

        def on_state(_topic: str, payload: bytes) -> None:
            if payload:
                states.append(json.loads(payload))
                changed.set()

        spy = MqttClient(broker.url, on_message=on_state, subscriptions=["spBv1.0/STATE/cli"])
        await spy.connect()
        proc = subprocess.Popen(  # noqa: ASYNC220, S603 - the real CLI, our arguments
            [ANDON, "connect", "sparkplug", "--site", "porto", "--broker", broker.url,
             "--host-id", "cli", "--spec", str(SPEC), "--db", db,
             "--models-dir", str(tmp_path / "models")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        node = EdgeNode("porto", "plc2", [
            Metric(timestamp=None, name="PLC2.DB10.W4", datatype=DataType.DOUBLE, value=725.0),
            Metric(timestamp=None, name="PLC2.DB99.W0", datatype=DataType.DOUBLE, value=1.0),
        ])
        try:
            await until(lambda: any(s.get("online") is True for s in states), "STATE birth",
                        30, wake=changed)
            node.connect("127.0.0.1", port=broker.port)

            def stored() -> bool:
                with open_store(db) as store:
                    return bool(store.samples(assets=["p-301"])) and bool(store.quarantined())

            # the edge writes every 0.5 s
            await until(lambda: asyncio.to_thread(stored), "a stored sample and a quarantined "
                        "metric", 30, every_s=0.1)
        finally:
            await asyncio.to_thread(node.disconnect)
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.to_thread(proc.communicate, None, STOP_WITHIN_S * 4)
        text = out.decode()
        assert proc.returncode == 0, text
        assert "host stopped:" in text
        assert states[-1]["online"] is False, "STATE death on a clean stop"
        await spy.disconnect()

    with MosquittoProcess(tmp_path) as broker:
        asyncio.run(story(broker))

    with open_store(db) as store:
        samples = store.samples(assets=["p-301"])
        quarantined = store.quarantined()
    assert [(s.address.tag, s.source) for s in samples] == [("discharge_pressure",
                                                            "spb:porto/plc2")]
    assert samples[0].value == pytest.approx(72.5 * 0.0689476, rel=1e-4), "psi → bar"
    assert any("metric 'PLC2.DB99.W0': metric not in the tag map" in q.reason
               for q in quarantined)


def test_connect_refuses_a_site_without_opc_ua_node_ids() -> None:
    result = CliRunner().invoke(app, ["connect", "opcua", "opc.tcp://127.0.0.1:4840",
                                      "--site", "porto", "--spec", str(SPEC)])
    assert result.exit_code == 2
    assert "maps no OPC UA node ids" in result.output
