"""The OpenAPI document of the JSON API: who may call each operation and how it can fail.

FastAPI describes parameters and bodies; this module adds what it cannot see, from the same
tables the app is built with:

- the two ways to authenticate (``components.securitySchemes``): ``bearer`` (an API token in
  ``Authorization: Bearer``) and ``session`` (the ``andon_session`` cookie of the inbox;
  writes also need ``X-CSRF-Token``);
- on every guarded operation, ``security`` (either scheme) and ``x-permission`` (the one
  permission it needs, as ``route_table`` reads it); public operations (``PUBLIC_ROUTES``)
  declare ``security: []``;
- the error responses, each with the one error body (``ErrorOut``: ``{"error": "<one line>",
  "problems": [...]}``, ``andon.api.errors``): 401 and 403 on every guarded operation, 404 on
  those that name a record in their path (or declare one), 409 on those that change state (a
  lifecycle move, a stage, a conflict with what is stored), 413 on those that take a body
  (``andon.api.limits``), 400 on those too (a body that cannot be read as JSON) and 422 on
  those that take input, in place of FastAPI's ``HTTPValidationError``, which Andon never
  sends; a route may declare more (``responses={404: ...}``), given the same body here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from andon.api.schemas import ErrorOut
from andon.auth.access import Permission
from andon.http.auth import CSRF_HEADER, PUBLIC_ROUTES, SESSION_COOKIE

__all__ = ["ERROR_RESPONSES", "SECURITY_SCHEMES", "describe", "install"]

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
#: the error responses Andon documents, by status: what each means for any operation
ERROR_RESPONSES: dict[int, str] = {
    400: "The request cannot be read (a body that is not UTF-8 JSON, a malformed header)",
    401: "No valid token: sign in, or send `Authorization: Bearer <token>`",
    403: "The caller's access level lacks the permission (or a cookie write lacks its CSRF "
         "token)",
    404: "No such record",
    409: "The change conflicts with the record's state (a lifecycle move, a model stage, a "
         "rollout gate) or with what is stored",
    413: "The request body is over the app's limit",
    415: "The body's media type is not one the operation reads",
    422: "The input is invalid: one line per problem",
}
#: the ways to authenticate: an API token or the inbox's session cookie
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API token (`andon users token`, `POST /api/tokens`)."},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                "description": "The inbox's session cookie (`POST /login`); writes also "
                               f"need the `{CSRF_HEADER}` header."},
}
_EITHER: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
_WRITES = {"post", "put", "patch", "delete"}
#: how FastAPI describes the 422 it documents (of a body Andon never sends)
_FASTAPI_422 = "Validation Error"


def describe(app: FastAPI, permissions: dict[tuple[str, str], Permission | None],
             ) -> dict[str, Any]:
    """The OpenAPI document of ``app``; ``permissions`` maps (METHOD, path) to what it needs."""
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary,
                      description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    schemas = components.setdefault("schemas", {})
    schemas["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            _describe_operation(op, method, path, permissions.get((method.upper(), path)))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc


def _describe_operation(op: dict[str, Any], method: str, path: str,
                        permission: Permission | None) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    public = (method.upper(), path) in PUBLIC_ROUTES
    statuses = set() if public else {401, 403}
    op["security"] = [] if public else [dict(scheme) for scheme in _EITHER]
    if permission is not None:
        op["x-permission"] = permission.value
    if "{" in path:
        statuses.add(404)
    if method in _WRITES:
        statuses.add(409)
    if "requestBody" in op:
        statuses.update((400, 413))
    if op.get("parameters") or "requestBody" in op or "422" in responses:
        statuses.add(422)
    statuses.update(int(code) for code in responses
                    if code.isdigit() and int(code) in ERROR_RESPONSES)  # declared by the route
    for status in sorted(statuses):
        declared = responses.setdefault(str(status), {})
        if declared.get("description") in {None, "", _FASTAPI_422}:
            declared["description"] = ERROR_RESPONSES[status]
        declared["content"] = {"application/json": {"schema": _ERROR_REF}}


def install(app: FastAPI, permissions: Callable[[], dict[tuple[str, str], Permission | None]],
            ) -> None:
    """Serve ``describe(app)`` as ``app.openapi()``, built once on first use."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app, permissions())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
