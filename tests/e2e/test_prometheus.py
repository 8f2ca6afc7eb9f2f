"""A real Prometheus (Debian's package) scrapes ``/metrics`` with a viewer's token.

The Andon app runs under uvicorn on a loopback port over a store holding two new
interventions and one done. Prometheus runs from ``deploy/prometheus/prometheus.yml`` (the
example the docs give), pointed at that port with a 1 s scrape interval and the token in a
file, beside a second job without a token. The test waits (bounded, on Prometheus' own query
API) until ``up{job="andon"}`` is 1 and ``andon_interventions{state="new"}`` is 2, and until
the tokenless job's target is down with a 401.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from andon.api import create_app
from andon.clock import ManualClock
from andon.interventions.lifecycle import InterventionState
from andon.testing import eventually, free_port
from andon.testing.factories import T0, add_token, add_user, make_intervention
from andon.testing.services import serving

if TYPE_CHECKING:
    from collections.abc import Iterator

    from andon.spec import PlantSpec
    from andon.store import SqlStore

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@pytest.fixture
def prometheus_binary() -> str:
    """Debian's Prometheus; a clear skip (a failure in CI) when it is not installed."""
    if not Path(PROMETHEUS).exists():
        pytest.skip(f"Prometheus is not installed at {PROMETHEUS} (apt-get install prometheus)")
    return PROMETHEUS


def _config(target: str, token_file: Path) -> dict[str, Any]:
    """The example scrape config, aimed at ``target``, every second, plus a job without token."""
    doc = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8"))
    doc["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s",
                     "evaluation_interval": "1s"}
    (job,) = doc["scrape_configs"]
    job["authorization"]["credentials_file"] = str(token_file)
    job["static_configs"] = [{"targets": [target]}]
    anonymous = {k: v for k, v in job.items() if k != "authorization"}
    doc["scrape_configs"].append({**anonymous, "job_name": "andon-anonymous"})
    return doc


def _read(url: str) -> bytes | None:
    """The body of a GET on our loopback Prometheus, or None (not up yet, an error status)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our loopback port
            return bytes(answer.read())
    except OSError:
        return None


def _get(url: str) -> dict[str, Any] | None:
    body = _read(url)
    try:
        doc = json.loads(body) if body is not None else None
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _value(api: str, query: str) -> str | None:
    """The single value of an instant query, or None (no answer yet, no series)."""
    doc = _get(f"{api}/api/v1/query?{urllib.parse.urlencode({'query': query})}")
    result = (doc or {}).get("data", {}).get("result", [])
    return str(result[0]["value"][1]) if len(result) == 1 else None


@pytest.fixture
def prometheus(prometheus_binary: str, tmp_path: Path, store: SqlStore, demo_spec: PlantSpec,
               ) -> Iterator[str]:
    """Andon served on a loopback port, Prometheus scraping it; yields Prometheus' URL."""
    clock = ManualClock(T0)
    add_user(store, "grafana", access="viewer", role="plant_manager")
    token_file = tmp_path / "andon-token"
    token_file.write_text(add_token(store, "grafana", T0 + timedelta(days=365)) + "\n",
                          encoding="utf-8")
    token_file.chmod(0o400)
    for n, state in enumerate([InterventionState.NEW, InterventionState.NEW,
                               InterventionState.DONE]):
        store.save_intervention(make_intervention(f"iv-{n}", state=state,
                                                  created_at=T0 + timedelta(minutes=n)))
    with serving(create_app(store, demo_spec, clock=clock)) as base_url:
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(_config(base_url.removeprefix("http://"),
                                                 token_file)), encoding="utf-8")
        port = free_port()
        log = tmp_path / "prometheus.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - Debian's binary, our arguments
                [prometheus_binary, f"--config.file={config}",
                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=out, stderr=subprocess.STDOUT)
            try:
                api = f"http://127.0.0.1:{port}"
                eventually(lambda: proc.poll() is not None or _read(f"{api}/-/ready") is not None,
                           "Prometheus to be ready", 30)
                assert proc.poll() is None, log.read_text(encoding="utf-8")
                yield api
            finally:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def test_prometheus_scrapes_andon_with_the_token_and_is_refused_without(prometheus: str,
                                                                       ) -> None:
    api = prometheus
    eventually(lambda: _value(api, 'up{job="andon"}') == "1", 'up{job="andon"} to be 1', 30,
               every_s=0.2, state=lambda: _get(f"{api}/api/v1/targets"))
    eventually(lambda: _value(api, 'andon_interventions{job="andon",state="new"}') == "2",
               "andon_interventions{state=new} to be 2", 30, every_s=0.2,
               state=lambda: _value(api, 'andon_interventions{state="new"}'))
    assert _value(api, 'andon_interventions{job="andon",state="done"}') == "1"
    assert _value(api, 'andon_store_up{job="andon"}') == "1"
    # each scrape is counted by the app, and the next scrape carries the count
    eventually(lambda: float(_value(api, 'sum(andon_http_requests_total{job="andon",'
                                    'route="/metrics",status="200"})') or 0) >= 1,
               "Andon to count the scrapes it answered", 30, every_s=0.2)

    def refused() -> dict[str, Any] | None:
        doc = _get(f"{api}/api/v1/targets") or {}
        for target in doc.get("data", {}).get("activeTargets", []):
            if target["labels"]["job"] == "andon-anonymous" and target["health"] == "down":
                return dict(target)
        return None

    target = eventually(refused, "the job without a token to be refused", 30, every_s=0.2)
    assert "401" in target["lastError"], target
    assert _value(api, 'up{job="andon-anonymous"}') == "0"
