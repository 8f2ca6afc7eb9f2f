"""Plug-ins through entry points: a third-party distribution installed at run time adds a sink
type, a connector and a model kind that work for real beside the built-ins; a broken one is
refused in one line and everything else keeps working.

The distributions are installed offline into ``tmp_path`` (package + ``.dist-info`` with
``entry_points.txt``, see ``plugin_dists``). In-process tests put that directory on
``sys.path`` and forget what was discovered before and after; the CLI runs in subprocesses
with ``PYTHONPATH``, so no entry-point state leaks between tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon import plugins
from andon.clock import ManualClock, utc
from andon.connectors.plugin import connector_plugins
from andon.edge import build_edge
from andon.errors import ExitCode, SpecErrors
from andon.registry import Registry, generate_keypair, verify
from andon.scoring import load_model, model_kinds
from andon.services.delivery import DeliveryService, build_routes
from andon.services.history import backfill
from andon.services.training import train_use_case
from andon.simulator import PlantSimulator
from andon.sinks.plugin import SinkContext, sink_plugins
from andon.spec.loader import load_spec_text
from andon.store import open_store
from andon.testing.conformance.sinks import SinkFactory, check_sink
from plugin_dists import install_broken, install_example

if TYPE_CHECKING:
    from collections.abc import Iterator

    from andon.interventions.record import Intervention
    from andon.store import SqlStore

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo-plant.yaml"
ANDON = str(Path(sys.executable).parent / "andon")
START = utc(2026, 3, 2, 8)


@pytest.fixture
def demo_text() -> str:
    return DEMO.read_text(encoding="utf-8")


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example distribution installed and importable in this process, for this test."""
    root = install_example(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    plugins.refresh()
    yield root
    plugins.refresh()
    for name in [m for m in sys.modules if m.startswith("andon_example_plugin")]:
        del sys.modules[name]


def with_model_kind(text: str, kind: str, params: str = "{}") -> str:
    """The demo spec with pump-bearing's model of another kind."""
    old = "    model: pump-bearing\n"
    assert old in text
    return text.replace(old, f"{old}    model_kind: {kind}\n    model_params: {params}\n", 1)


# -- discovery --------------------------------------------------------------------------------
def test_a_third_party_distribution_adds_one_of_each_beside_the_built_ins(
        example: Path) -> None:
    del example
    sinks = sink_plugins()
    assert {"uns", "webhook", "cmms", "jsonl"} <= set(sinks.names())
    assert sinks.origins["jsonl"].distribution == "andon-example-plugin 0.1.0"
    assert sinks.origins["uns"].value == "andon.sinks.uns:PLUGIN"  # found the same way
    assert {"uns", "sparkplug", "opcua", "historian", "csv-rows"} <= set(
        connector_plugins().names())
    assert {"pca-spe", "zscore"} <= set(model_kinds().names())
    assert not sinks.broken
    assert not connector_plugins().broken
    assert not model_kinds().broken


def test_without_the_distribution_its_names_are_unknown_and_the_error_lists_what_is() -> None:
    with pytest.raises(plugins.PluginError, match=r"unknown sink type 'jsonl' \(installed: "
                       r"cmms, email, uns, webhook\)"):
        sink_plugins().get("jsonl")


# -- a sink type ------------------------------------------------------------------------------
def test_a_spec_sink_of_the_plugin_type_receives_the_intervention(
        example: Path, tmp_path: Path, demo_text: str, *, store: SqlStore, iv: Intervention,
        clock: ManualClock) -> None:
    del example
    out = tmp_path / "interventions.jsonl"
    spec = load_spec_text(demo_text + f"""
sinks:
  - {{type: jsonl, id: audit, path: "{out}", priorities: [high, critical]}}
  - {{type: uns}}
""", "plant.yaml")
    assert spec.sinks.names() == ["jsonl:audit", "uns"]
    routes, pollers = build_routes(spec.sinks, clock=clock)
    assert [r.sink.name for r in routes] == ["jsonl:audit"]  # no broker here: no UNS sink
    assert pollers == []
    asyncio.run(DeliveryService(store, routes, clock=clock).dispatch_once())
    docs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(d["id"], d["where"]["asset"], d["use_case"]) for d in docs] == [
        (iv.id, "p-101", "pump-bearing")]
    delivery, = store.deliveries(sink="jsonl:audit")
    assert delivery.ok
    assert delivery.external_id == str(out)


def test_the_plugin_sink_passes_the_sink_conformance_suite(example: Path,
                                                          tmp_path: Path) -> None:
    """What a plug-in author writes: the suite run against the sink its entry point builds."""
    del example
    jsonl = sink_plugins().get("jsonl")

    def make(path: Path) -> SinkFactory:
        return lambda clock: jsonl.build(jsonl.config(path=path), SinkContext("jsonl:c", clock))

    check_sink(live=make(tmp_path / "out.jsonl"), dead=make(tmp_path / "missing" / "out.jsonl"),
               external_id=True)


@pytest.mark.parametrize(("section", "message"), [
    ("  - {type: jsonl, id: audit}\n", "sinks[0].path: required field is missing"),
    ("  - {type: jsonl, path: x.jsonl, mode: append}\n",
     ("sinks[0].mode: unknown field 'mode' for 'jsonl' (allowed: type, id, enabled, use_cases, "
      "priorities, path)")),
])
def test_a_plugin_type_checks_its_own_keys_like_any_spec_error(
        example: Path, demo_text: str, section: str, message: str) -> None:
    del example
    with pytest.raises(SpecErrors) as caught:
        load_spec_text(demo_text + "\nsinks:\n" + section, "plant.yaml")
    line, = str(caught.value).splitlines()
    assert line.startswith("plant.yaml:")
    assert message in line


# -- a model kind ----------------------------------------------------------------------------
def test_training_a_plugin_model_kind_gives_a_signed_artifact_the_edge_loads(
        example: Path, tmp_path: Path, demo_text: str) -> None:
    del example
    spec = load_spec_text(with_model_kind(demo_text, "zscore", "{margin: 2}"), "plant.yaml")
    models = tmp_path / "models"
    clock = ManualClock(START)
    sim = PlantSimulator(spec, seed=5, start=START, lines={"cooling-water"})
    with open_store(f"sqlite:///{tmp_path / 'plant.db'}") as store:
        backfill(sim, store, START + timedelta(hours=6), clock=clock)
        meta = train_use_case(spec, store, models, "pump-bearing", start=START,
                              end=START + timedelta(hours=6), clock=clock)
        assert (meta.kind, meta.params["margin"]) == ("zscore", 2.0)
        assert "train_max" in meta.metrics
        version = models / "pump-bearing" / f"v{meta.version}"
        assert json.loads((version / "meta.json").read_text(encoding="utf-8"))["kind"] == (
            "zscore")

        model, loaded = load_model(version, top=2)
        assert loaded == meta
        assert type(model).__name__ == "ZScoreModel"
        assert model.score(model.mean).value == 0.0  # type: ignore[attr-defined]

        private, public, _ = generate_keypair(tmp_path / "keys", "plant")
        Registry(store, clock, models).register(version, private, "fay")
        trusted = tmp_path / "keys" / "trusted"
        trusted.mkdir()
        (trusted / public.name).write_bytes(public.read_bytes())
        assert verify(version, trusted)

        edge = build_edge(spec, store, models, clock=clock, lines={"cooling-water"},
                          record=False)
        assert edge.reload_models() == [meta.label]
        served = edge.model("pump-bearing")
        assert served is not None
        assert served[0].kind == "zscore"


def test_a_plugin_model_kind_checks_its_params_in_the_spec(example: Path,
                                                           demo_text: str) -> None:
    del example
    with pytest.raises(SpecErrors) as caught:
        load_spec_text(with_model_kind(demo_text, "zscore", "{margin: 0.5}"), "plant.yaml")
    assert "use_cases[0].model_params.margin: Input should be greater than or equal to 1" in (
        str(caught.value))


def test_an_unknown_model_kind_is_a_spec_error_listing_the_installed_ones(
        demo_text: str) -> None:
    with pytest.raises(SpecErrors, match=r"use_cases\[0\]\.model_kind: unknown model kind "
                       r"'zscore' \(installed: pca-spe, pca-tail\)"):
        load_spec_text(with_model_kind(demo_text, "zscore"), "plant.yaml")


# -- the command line, in subprocesses -------------------------------------------------------
def andon(*args: str, path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(path), "COLUMNS": "200"}
    return subprocess.run([ANDON, *args], capture_output=True, text=True, timeout=180,  # noqa: S603
                          env=env, cwd=cwd, check=False)


def test_andon_connect_lists_and_runs_the_plugin_connector(tmp_path: Path) -> None:
    site = install_example(tmp_path / "site")
    listed = andon("connect", "--list", path=site, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert names == ["csv-rows", "historian", "opcua", "sparkplug", "uns"]
    assert "andon-example-plugin 0.1.0" in listed.stdout

    now_ms = int(time.time() * 1000)
    rows = tmp_path / "rows.csv"
    rows.write_text("asset,tag,value,unit,ts_ms\n"
                    f"p-101,flow,210.5,m^3/h,{now_ms - 120_000}\n"
                    f"p-101,flow,211.0,m^3/h,{now_ms - 60_000}\n"
                    f"p-101,vibration,2.1,mm/s,{now_ms - 60_000}\n"
                    f"p-999,flow,1.0,m^3/h,{now_ms}\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    ran = andon("connect", "csv-rows", str(rows), "--source", "csv-test", "--spec", str(DEMO),
                "--db", db, "--models-dir", str(tmp_path / "models"), path=site, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "csv-rows reading rows.csv" in ran.stdout
    assert "csv-rows stopped: 3 samples, 1 rejected" in ran.stdout
    with open_store(db) as store:
        stored = store.samples(assets=["p-101"])
        assert sorted((s.address.tag, s.value) for s in stored) == [
            ("flow", 210.5), ("flow", 211.0), ("vibration", 2.1)]
        assert {s.source for s in stored} == {"csv-test"}
        quarantined, = store.quarantined()
        assert "unknown asset 'p-999'" in quarantined.reason


def test_a_broken_plugin_is_one_line_and_the_built_ins_keep_working(tmp_path: Path) -> None:
    site = install_broken(install_example(tmp_path / "site"))
    listed = andon("connect", "--list", path=site, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout.splitlines()
    assert {"csv-rows", "historian", "opcua", "sparkplug", "uns"} <= {
        line.split()[0] for line in out if line.strip()}
    modbus = [line for line in out if "modbus" in line]
    assert modbus  # the log line and the listing: each says it all in one line
    for line in modbus:
        assert "andon.connectors:modbus" in line
        assert "andon-broken-plugin 0.0.1" in line
        assert "ModuleNotFoundError: No module named 'nonexistent_modbus_driver'" in line

    report = andon("plugins", path=site, cwd=tmp_path)
    assert report.returncode == 1  # something was refused
    refused = [line for line in report.stdout.splitlines() if line.startswith("refused ")]
    assert len(refused) == 5, report.stdout
    text = "\n".join(refused)
    assert ("andon.sinks:cmms (andon.sinks.cmms:PLUGIN, from andon 0.2.0): the name 'cmms' is "
            "also claimed by andon.sinks:cmms (andon_broken_plugin:CMMS, from "
            "andon-broken-plugin 0.0.1) (uninstall one)") in text
    assert ("andon.models:bogus (andon_broken_plugin:NOT_A_PLUGIN, from andon-broken-plugin "
            "0.0.1): malformed: andon_broken_plugin:NOT_A_PLUGIN is a dict, not a ModelPlugin"
            ) in text
    assert ("andon.sinks:pager (andon_broken_plugin:CMMS, from andon-broken-plugin 0.0.1): "
            "malformed: the entry point is named 'pager' but the plug-in 'cmms'") in text
    assert "jsonl" in report.stdout  # the good plug-ins of the same run are listed

    checked = andon("spec", "check", str(DEMO), path=site, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok" in checked.stdout

    plant = tmp_path / "plant.yaml"
    plant.write_text(DEMO.read_text(encoding="utf-8") + "\nsinks:\n"
                     "  - {type: webhook, url: 'https://h/x', secret_env: K}\n"
                     "  - {type: cmms, url: 'http://h'}\n", encoding="utf-8")
    refused_type = andon("spec", "check", str(plant), path=site, cwd=tmp_path)
    assert refused_type.returncode == ExitCode.BAD_INPUT
    *logged, error = [line for line in refused_type.stderr.splitlines() if line.strip()]
    assert all("plugin" in line for line in logged), logged  # logs go to stderr too
    assert "plant.yaml:" in error
    assert "sinks[1].type: sink type 'cmms' is refused:" in error
    assert "also claimed by" in error
