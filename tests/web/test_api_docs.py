"""The API page: Swagger UI from Andon's own files, behind sign-in, with its licence.

What a browser makes of it (operations rendered, nothing fetched from another origin, no
Content-Security-Policy violation) is ``tests/e2e/test_browser_api_docs.py``.
"""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files

import pytest

from andon.web.apidocs import ASSETS, SWAGGER_UI_VERSION
from api.conftest import Login, TestClient
from api.test_auth import sign_in

#: the vendored files, as ``vendor/swagger-ui/VENDORED.md`` records them
SHA256 = {
    "swagger-ui-bundle.js": "b164c5a22535e40dae08c00271674a67e437ec195098c55fcedf8ffac7ac3c88",
    "swagger-ui.css": "7eb9f5a125e4bc9b3f0b71869b66d1a3d7c501f972f53d44ef91c2ae6c5bda5e",
}
VENDOR = files("andon.web").joinpath("vendor", "swagger-ui")


def test_the_page_and_its_files_need_a_signed_in_caller(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 401
    assert 'action="/login"' in page.text  # a person is shown the sign-in form
    for name in ASSETS:
        assert client.get(f"/api/docs/{name}").status_code == 401, name


def test_a_viewer_gets_swagger_ui_over_the_openapi_document_from_andon_itself(
    client: TestClient, logins: dict[str, Login],
) -> None:
    sign_in(client, "viewer")
    page = client.get("/api/docs")
    assert page.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert scripts == ["/api/docs/swagger-ui-bundle.js", "/static/api-docs.js"]
    assert styles == ["/static/andon.css", "/api/docs/swagger-ui.css"]
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    assert re.search(r'name="andon-csrf" content="[0-9a-f]{64}"', page.text)
    assert f"Swagger UI {SWAGGER_UI_VERSION}" in page.text
    starter = client.get("/static/api-docs.js").text
    assert 'url: "/api/openapi.json"' in starter
    assert "validatorUrl: null" in starter  # else Swagger UI calls validator.swagger.io
    for name, media in ASSETS.items():
        response = client.get(f"/api/docs/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == media
        assert response.headers["cache-control"] == "private, max-age=86400"
    assert "Apache License" in client.get("/api/docs/LICENSE").text
    assert "SmartBear" in client.get("/api/docs/NOTICE").text
    assert client.get("/api/docs", headers=logins["viewer"].headers).status_code == 200


@pytest.mark.parametrize("name", ["swagger-ui-bundle.js.map", "..%2F..%2Fpages.py",
                                  "index.html", "VENDORED.md"])
def test_only_the_listed_files_are_served(client: TestClient, logins: dict[str, Login],
                                          name: str) -> None:
    del logins  # the users sign_in needs
    sign_in(client, "viewer")
    assert client.get(f"/api/docs/{name}").status_code == 404


def test_the_vendored_files_are_the_recorded_release_with_its_licence() -> None:
    for name, digest in SHA256.items():
        assert hashlib.sha256(VENDOR.joinpath(name).read_bytes()).hexdigest() == digest, name
    record = VENDOR.joinpath("VENDORED.md").read_text(encoding="utf-8")
    assert f"swagger-ui-dist` {SWAGGER_UI_VERSION}" in record
    for digest in SHA256.values():
        assert digest in record
    assert set(ASSETS) <= {p.name for p in VENDOR.iterdir()}


def test_the_static_mount_serves_none_of_it(client: TestClient) -> None:
    for name in ASSETS:
        assert client.get(f"/static/{name}").status_code == 404
        assert client.get(f"/static/vendor/swagger-ui/{name}").status_code == 404
