"""The OpenAPI document says how to authenticate and how each operation can fail.

Walked as a client generator would read it: the security schemes, then every operation: its
``security``, its permission, and its error responses with the one error body. The error
bodies the app really sends are checked against that schema too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from andon.api import route_table
from andon.api.openapi import ERROR_RESPONSES
from andon.api.schemas import ErrorOut
from andon.http.auth import PUBLIC_ROUTES, SESSION_COOKIE

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .conftest import Login, TestClient

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorOut"}
WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture
def doc(client: TestClient, logins: dict[str, Login]) -> dict[str, Any]:
    response = client.get("/api/openapi.json", headers=logins["viewer"].headers)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in doc["paths"].items()
            for method, op in ops.items()]


def test_the_document_declares_bearer_tokens_and_the_session_cookie(doc: dict[str, Any],
                                                                    ) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer",
                                 "description": schemes["bearer"]["description"]}
    assert schemes["session"]["type"] == "apiKey"
    assert schemes["session"]["in"] == "cookie"
    assert schemes["session"]["name"] == SESSION_COOKIE


def test_every_guarded_operation_lists_security_401_and_403(doc: dict[str, Any]) -> None:
    ops = operations(doc)
    assert len(ops) >= 35
    for method, path, op in ops:
        where = f"{method.upper()} {path}"
        if (method.upper(), path) in PUBLIC_ROUTES:
            assert op["security"] == [], where
            continue
        assert op["security"] == [{"bearer": []}, {"session": []}], where
        for status in ("401", "403"):
            assert status in op["responses"], where
            assert op["responses"][status]["content"]["application/json"]["schema"] \
                == ERROR_SCHEMA, where


def test_each_operation_names_its_permission(app: FastAPI, doc: dict[str, Any]) -> None:
    needed = {(m, p): perm for m, p, perm in route_table(app)}
    for method, path, op in operations(doc):
        permission = needed[(method.upper(), path)]
        assert op["x-permission"] == (permission.value if permission else None), path


def test_error_responses_follow_what_the_operation_can_raise(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        if "{" in path:
            assert "404" in responses, where
        if method in WRITES:
            assert "409" in responses, where
        if "requestBody" in op:
            assert {"400", "413", "422"} <= set(responses), where
        if op.get("parameters"):
            assert "422" in responses, where
        for status, response in responses.items():
            if int(status) >= 400:
                assert int(status) in ERROR_RESPONSES, where
                assert response["content"] == {"application/json": {"schema": ERROR_SCHEMA}}
                assert response["description"] != "Validation Error", where  # FastAPI's


def test_declared_not_found_and_media_type_errors_are_kept(doc: dict[str, Any]) -> None:
    assert "404" in doc["paths"]["/api/spec"]["get"]["responses"]
    assert "415" in doc["paths"]["/api/spec"]["put"]["responses"]
    assert "404" in doc["paths"]["/api/drift"]["get"]["responses"]


def test_fastapis_validation_error_schema_is_gone(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ErrorOut"]["required"] == ["error"]


def test_the_errors_sent_match_the_documented_body(client: TestClient,
                                                   logins: dict[str, Login]) -> None:
    """401, 403, 404, 422 as the app sends them fit ``ErrorOut`` (extra keys refused)."""
    sent = [
        client.get("/api/me"),
        client.put("/api/spec", content=b"x", headers=logins["viewer"].headers),
        client.get("/api/quarantine/12345", headers=logins["viewer"].headers),
        client.get("/api/quarantine/x", headers=logins["viewer"].headers),
        client.put("/api/spec", content=b"[[1]]", headers=logins["admin"].headers),
    ]
    assert [r.status_code for r in sent] == [401, 403, 404, 422, 422]
    for response in sent:
        body = response.json()
        assert set(body) <= set(ErrorOut.model_fields)
        ErrorOut.model_validate(body)
    assert sent[-1].json()["problems"]
