"""Who may show Andon in a frame: nobody by default, the origins of ``--frame-ancestor`` if set.

An HMI (Ignition Perspective, a SCADA web client) embeds the inbox in an iframe; browsers
obey ``Content-Security-Policy: frame-ancestors`` (and the older ``X-Frame-Options``). A real
browser honouring both is tested in ``tests/e2e/test_browser_framing.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from andon.api import create_app
from andon.cli.app import app as cli
from api.conftest import TestClient

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.spec import PlantSpec
    from andon.store import SqlStore

PATHS = ("/login", "/static/andon.css", "/api/me", "/healthz", "/no-such-page")


def test_by_default_no_page_may_be_framed(client: TestClient) -> None:
    for path in PATHS:
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path


def test_allowed_origins_may_frame_every_page_and_nothing_else_changes(
    store: SqlStore, demo_spec: PlantSpec, clock: ManualClock,
) -> None:
    origins = ["https://hmi.plant.example:8088", "http://10.1.2.3"]
    app = create_app(store, demo_spec, clock=clock, frame_ancestors=origins)
    with TestClient(app, follow_redirects=False) as client:
        for path in PATHS:
            headers = client.get(path).headers
            assert "x-frame-options" not in headers, path
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'self' https://hmi.plant.example:8088 http://10.1.2.3" in csp
            assert "frame-ancestors 'none'" not in csp
            assert "script-src 'self'" in csp, "the rest of the policy stays"
            assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("given", "reason"), [
    ("https://hmi.plant.example/inbox", "no path, query, user or wildcard"),
    ("https://*.plant.example", "no path, query, user or wildcard"),
    ("https://hmi; script-src *", "no path, query, user or wildcard"),
    ("hmi.plant.example:8088", "expected an http:// or https:// origin"),
    ("https://hmi:123456", "expected only scheme://host[:port]"),
])
def test_serve_refuses_an_origin_that_is_not_one_in_one_line(given: str, reason: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--frame-ancestor", "https://ok.example",
                                      "--frame-ancestor", given])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --frame-ancestor "), line
    assert reason in line
    assert line.endswith("(setting frame_ancestors, env ANDON_FRAME_ANCESTORS)")


def test_the_environment_variable_takes_a_comma_separated_list() -> None:
    result = CliRunner().invoke(cli, ["serve"],
                                env={"ANDON_FRAME_ANCESTORS": "https://a.example,ftp://b"})
    assert result.exit_code == 2
    assert "ANDON_FRAME_ANCESTORS=" in result.stderr
    assert "expected an http:// or https:// origin" in result.stderr
