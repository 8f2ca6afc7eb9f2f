"""The deployment files run real commands: ``Dockerfile``, ``compose.yaml``, ``deploy/``.

No image is built here (that needs the package index, and pulling ``python:3.11-slim`` and
``eclipse-mosquitto`` needs a registry): the files are checked statically, but against the real
code. Every ``andon`` command line in ``compose.yaml`` and in the systemd units is parsed by
the CLI's own parser (``andon``'s Click commands: unknown options, bad values and settings that
break their rules fail exactly as they would in the container), every ``ANDON_*`` variable they
set is a setting whose value passes its checks, the units pass ``systemd-analyze verify`` and
keep their hardening, and ``pyproject.toml`` ships every file the package needs at run time.
"""

from __future__ import annotations

import configparser
import fnmatch
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from andon.api import PUBLIC_ROUTES
from andon.cli.app import app
from andon.settings import PATH, TABLE

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = ROOT / "examples" / "demo-plant.yaml"
ANDON = shutil.which("andon") or str(Path(__file__).resolve().parents[1] / ".venv/bin/andon")
BY_ENV = {s.env: s for s in TABLE}
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
             "PrivateTmp": "yes", "ReadWritePaths": "/var/lib/andon", "User": "andon",
             "CapabilityBoundingSet": "", "SystemCallFilter": "@system-service",
             "UMask": "0077"}


def parse(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse ``andon ARGV`` as the CLI would, without running it: (command, its values)."""
    root = typer.main.get_command(app)
    ctx = root.make_context("andon", list(argv))
    head = list(getattr(ctx, "protected_args", None) or getattr(ctx, "_protected_args", []))
    name, cmd, rest = root.resolve_command(ctx, [*head, *ctx.args])
    assert name is not None
    assert cmd is not None
    sub = cmd.make_context(name, rest, parent=ctx)
    return name, sub.params


def check_environment(env: dict[str, str]) -> None:
    """Each ``ANDON_*`` variable is a setting, and its value passes the setting's checks."""
    for name, text in env.items():
        if not name.startswith("ANDON_"):
            continue
        assert name in BY_ENV, f"{name} is not a setting"
        setting = BY_ENV[name]
        if setting.kind is PATH:
            continue  # a path in the container or on the plant host
        setting.check(setting.parse(text), "env")


# -- compose.yaml ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_compose_runs_a_broker_the_central_server_an_edge_and_the_simulator(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["broker"]["image"].startswith("eclipse-mosquitto:2")
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text(encoding="utf-8")
    assert "listener 1883" in conf
    commands = {name: parse(s["command"])[0] for name, s in services.items()
                if s.get("image", "").startswith("andon:")}
    assert commands == {"central": "serve", "edge": "edge", "simulator": "simulate"}
    for name in commands:
        assert services[name]["build"] == ".", name
        check_environment(services[name].get("environment", {}))
    central = parse(services["central"]["command"])[1]
    edge = parse(services["edge"]["command"])[1]
    simulator = parse(services["simulator"]["command"])[1]
    assert central["broker_url"] == edge["broker_url"] == simulator["broker_url"] == (
        "mqtt://broker:1883")
    assert central["host"] == "0.0.0.0"  # noqa: S104 - inside the container, published on loopback
    assert edge["forward"] is True
    assert simulator["scenario"] == "demo"
    published = services["central"]["ports"]
    assert published == [f"127.0.0.1:{central['port']}:{central['port']}"]
    probe = " ".join(services["central"]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{central['port']}/readyz" in probe
    assert ("GET", "/readyz") in PUBLIC_ROUTES  # a health check has no token


def test_compose_keeps_each_service_data_apart_and_monitoring_optional(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    mounts = {name: [v for v in s.get("volumes", []) if isinstance(v, str)]
              for name, s in services.items()}
    assert mounts["central"] == ["central-data:/var/lib/andon"]
    assert mounts["edge"] == ["edge-data:/var/lib/andon"]
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    token = next(v for v in prometheus["volumes"] if isinstance(v, dict))
    assert token["target"] == "/etc/prometheus/andon-token"
    assert token["bind"]["create_host_path"] is False  # a missing token is an error, not a dir
    assert "/deploy/secrets/" in (ROOT / ".gitignore").read_text(encoding="utf-8")


def test_the_prometheus_example_scrapes_metrics_with_a_bearer_token_file() -> None:
    doc = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8"))
    (job,) = doc["scrape_configs"]
    assert job["job_name"] == "andon"
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer",
                                    "credentials_file": "/etc/prometheus/andon-token"}


# -- Dockerfile -------------------------------------------------------------------------------
def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    rows = [line.strip() for line in text.splitlines()]
    return [(row.split(None, 1)[0].upper(), row.split(None, 1)[1]) for row in rows
            if row and not row.startswith("#")]


def test_the_image_is_python_3_11_slim_runs_andon_as_a_user_and_copies_what_exists() -> None:
    steps = _instructions()
    froms = [arg for op, arg in steps if op == "FROM"]
    assert [f.split()[0] for f in froms] == ["python:3.11-slim", "python:3.11-slim"]
    users = [arg for op, arg in steps if op == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM"):]
    assert ("ENTRYPOINT", '["andon"]') in final
    assert any(op == "RUN" and "--no-index" in arg for op, arg in final), (
        "the final stage installs from the built wheels only")
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for op, arg in steps:
        if op == "COPY" and not arg.startswith("--from"):
            *sources, _target = shlex.split(arg)
            for source in sources:
                assert (ROOT / source).exists(), source
                assert f"!{source.rstrip('/')}/" in ignored or f"!{source}" in ignored, source
    env = dict(re.findall(r"(ANDON_[A-Z_]+)=(\S+)", " ".join(
        arg for op, arg in final if op == "ENV")))
    assert env["ANDON_SPEC"] == "/opt/andon/examples/demo-plant.yaml"
    assert ("COPY", "examples /opt/andon/examples") in final
    check_environment(env)


def test_the_package_ships_every_file_it_reads_at_run_time() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = project["tool"]["setuptools"]["package-data"]["andon"]
    package = ROOT / "src" / "andon"
    data = [p.relative_to(package).as_posix() for p in package.rglob("*")
            if p.is_file() and p.suffix not in {".py", ".pyc", ".pyi"}  # stubs: for checkers
            and "__pycache__" not in p.parts]
    assert "web/vendor/swagger-ui/swagger-ui-bundle.js" in data
    unshipped = [f for f in data if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert unshipped == []


# -- systemd ----------------------------------------------------------------------------------
def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign] - keys keep their case
    text = (ROOT / "deploy/systemd" / name).read_text(encoding="utf-8")
    unit.read_string(text.replace("\\\n", " "))
    return unit


@pytest.mark.parametrize(("name", "command"), [("andon-serve.service", "serve"),
                                               ("andon-edge.service", "edge")])
def test_each_unit_runs_a_real_command_hardened_as_a_dedicated_user(
    name: str, command: str, tmp_path: Path,
) -> None:
    service = _unit(name)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{name}: {key}"
    assert service.get("StateDirectory") == "andon"
    assert "DynamicUser" not in service  # the dedicated user of andon.sysusers.conf
    exec_start = shlex.split(service["ExecStart"])
    assert exec_start[0] == "/opt/andon/bin/andon"
    token = tmp_path / "central-token"
    token.write_text("andon_x\n", encoding="utf-8")
    argv = [str(token) if a == "%d/central-token" else
            str(DEMO_SPEC) if a == "/etc/andon/plant.yaml" else a for a in exec_start[1:]]
    parsed_name, values = parse(argv)
    assert parsed_name == command
    assert values["db"].startswith("sqlite:////var/lib/andon/")
    check_environment(dict(re.findall(r"(ANDON_[A-Z_]+)=(\S+)", service.get("Environment",
                                                                             ""))))
    sysusers = (ROOT / "deploy/systemd/andon.sysusers.conf").read_text(encoding="utf-8")
    assert re.search(r"^u\s+andon\s", sysusers, re.MULTILINE)


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    copies = []
    for unit in sorted((ROOT / "deploy/systemd").glob("*.service")):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text(encoding="utf-8").replace("/opt/andon/bin/andon", ANDON),
                        encoding="utf-8")
        copies.append(str(copy))
    done = subprocess.run([analyze, "verify", *copies],  # noqa: S603 - Debian's systemd
                          capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    complaints = [line for line in done.stderr.splitlines() if str(tmp_path) in line]
    assert complaints == [], "\n".join(complaints)
