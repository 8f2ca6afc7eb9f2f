"""The one place where Andon's exception tree becomes HTTP status codes.

::

    AuthError        401   caller unknown (missing, expired or revoked token)
    Forbidden        403   caller known, permission (or CSRF token) missing
    NotFound         404   no such record
    FeedbackError    422   feedback breaks a rule (dismissal without reason, closed item)
    LifecycleError   409   an illegal intervention move (names both states and the legal ones)
    SpecError(s)     422   plant spec rejected; one line per problem in ``problems``
    PayloadError     422   a payload could not be decoded
    ModelError       409   a model artifact is not usable
    RegistryError    409   the registry refused (e.g. promoting an unsigned version)
    StageError       409   an illegal model stage change (names both stages)
    StoreError       409   the store refused the operation
    AndonError       400   anything else raised on purpose

JSON routes (``/api/...``) answer ``{"error": "<one line>"}`` (plus ``"problems": [...]`` when
there are several); HTML pages are rendered by the web surface's ``HtmlErrorRenderer`` (a 401
shows the login page). Request validation errors and Starlette's own HTTP errors (unknown path,
wrong method) take the same two shapes. Messages never include request bodies, so a password or
token sent in a bad request is never echoed.
"""

from collections.abc import Callable, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from andon.errors import (
    AndonError,
    AuthError,
    FeedbackError,
    Forbidden,
    LifecycleError,
    ModelError,
    NotFound,
    PayloadError,
    RegistryError,
    SpecError,
    SpecErrors,
    StageError,
    StoreError,
)

__all__ = ["STATUS", "HtmlErrorRenderer", "install_error_handlers", "is_api_path", "status_for"]

#: exception class -> HTTP status; the most specific class in an exception's MRO wins
STATUS: dict[type[AndonError], int] = {
    Forbidden: 403,
    AuthError: 401,
    NotFound: 404,
    FeedbackError: 422,
    LifecycleError: 409,
    SpecError: 422,
    PayloadError: 422,
    ModelError: 409,
    RegistryError: 409,
    StageError: 409,
    StoreError: 409,
    AndonError: 400,
}

#: renders an error as an HTML page: (request, status, one-line message, problems) -> response
HtmlErrorRenderer = Callable[[Request, int, str, Sequence[str]], Response]


def status_for(exc: AndonError) -> int:
    """Return the HTTP status code for an Andon error."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400  # pragma: no cover - AndonError is in STATUS


def is_api_path(path: str) -> bool:
    """Tell whether ``path`` belongs to the JSON API (as opposed to an HTML page)."""
    return path == "/api" or path.startswith("/api/")


def install_error_handlers(app: FastAPI, html: HtmlErrorRenderer) -> None:
    """Register the exception handlers on ``app``; ``html`` renders errors of HTML pages."""

    def respond(request: Request, status: int, message: str,
                problems: Sequence[str] = ()) -> Response:
        if not is_api_path(request.url.path):
            return html(request, status, message, problems)
        body: dict[str, object] = {"error": message}
        if problems:
            body["problems"] = list(problems)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None  # noqa: PLR2004
        return JSONResponse(body, status_code=status, headers=headers)

    async def andon_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AndonError)  # noqa: S101 - registered for AndonError only
        if isinstance(exc, SpecErrors):
            problems = [str(e) for e in exc.errors]
            noun = "problem" if len(problems) == 1 else "problems"
            message = f"plant spec rejected ({len(problems)} {noun}); first: {problems[0]}"
            return respond(request, status_for(exc), message, problems)
        return respond(request, status_for(exc), str(exc))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
        problems = [_describe(err) for err in exc.errors()]
        message = problems[0] if len(problems) == 1 else f"{len(problems)} problems: {problems[0]}"
        return respond(request, 422, message, problems)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it only
        response = respond(request, exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    app.add_exception_handler(AndonError, andon_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _describe(err: object) -> str:
    """One line for a pydantic/FastAPI validation error, without the offending input."""
    if not isinstance(err, dict):
        return str(err)
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg', 'invalid')}"
