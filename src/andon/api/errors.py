"""The one place where Andon's exception tree becomes HTTP responses.

Each error class declares its HTTP status once (``http_status`` in ``andon.errors``, drawn
there with its exit code); ``status_for`` reads it, the most specific class winning. For
example ``AuthError`` answers 401 (missing, expired or revoked token), ``Forbidden`` 403
(permission or CSRF token missing), ``NotFound`` 404, ``LifecycleError`` 409 (names both
states and the legal ones), ``SpecError(s)`` 422 (one line per problem in ``problems``),
``AndonError`` itself 400.

JSON routes (``/api/...``, and ``/metrics`` for Prometheus) answer ``{"error": "<one line>"}``
(plus ``"problems": [...]`` when there are several); HTML pages, the API page ``/api/docs``
included, are rendered by the web surface's ``HtmlErrorRenderer`` (a 401 shows the login
page). Request validation errors and Starlette's own HTTP errors (unknown path, wrong method)
take the same two shapes. Messages never include request bodies, so a password or
token sent in a bad request is never echoed.
"""

from collections.abc import Callable, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from andon.errors import AndonError, SpecErrors

__all__ = ["HtmlErrorRenderer", "install_error_handlers", "is_api_path", "status_for"]

#: renders an error as an HTML page: (request, status, one-line message, problems) -> response
HtmlErrorRenderer = Callable[[Request, int, str, Sequence[str]], Response]


def status_for(exc: AndonError) -> int:
    """Return the HTTP status code for an Andon error: its class's ``http_status``."""
    return type(exc).http_status


#: paths whose callers are programs, not people, beside ``/api/...``
_MACHINE_PATHS = frozenset({"/api", "/metrics"})
#: the API page (``andon.web.apidocs``): HTML under ``/api``
_API_PAGE = "/api/docs"


def is_api_path(path: str) -> bool:
    """Tell whether ``path`` is answered as JSON (the API, ``/metrics``) or as an HTML page.

    >>> [is_api_path(p) for p in ("/api/me", "/metrics", "/inbox", "/api/docs")]
    [True, True, False, False]
    """
    if path == _API_PAGE or path.startswith(_API_PAGE + "/"):
        return False
    return path in _MACHINE_PATHS or path.startswith("/api/")


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
