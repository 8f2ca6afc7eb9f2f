"""The API page: Swagger UI over Andon's OpenAPI document, served offline, behind sign-in.

FastAPI's own ``/docs`` loads Swagger UI from a CDN, which a plant network cannot reach (and
which would run third-party code with a signed-in session), so it stays off. Instead:

- ``GET /api/docs``: a page of the inbox (its header, its sign-in) running Swagger UI on
  ``/api/openapi.json``;
- ``GET /api/docs/{name}``: Swagger UI's files, vendored in ``andon/web/vendor/swagger-ui``
  (``swagger-ui-dist``, Apache-2.0, with its licence and notice; ``VENDORED.md`` says which
  version and how to update it). Only the files listed in ``ASSETS`` are served.

Both need the ``read`` permission, as every page does; the page keeps the app's
Content-Security-Policy (no inline script: its start-up code is ``/static/api-docs.js``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from andon.auth.access import Permission
from andon.errors import NotFound
from andon.http.auth import Caller, needs
from andon.web.views import user_view

if TYPE_CHECKING:
    from andon.web.pages import WebInbox

__all__ = ["ASSETS", "SWAGGER_UI_VERSION", "api_docs_router"]

#: the vendored Swagger UI release (``vendor/swagger-ui/VENDORED.md``)
SWAGGER_UI_VERSION = "5.36.0"
#: the files served under ``/api/docs/``, with their media types
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "LICENSE": "text/plain; charset=utf-8",
    "NOTICE": "text/plain; charset=utf-8",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
}
#: the files change only with Andon: a signed-in browser may keep them a day
_ASSET_HEADERS = {"Cache-Control": "private, max-age=86400"}

Reader = Annotated[Caller, Depends(needs(Permission.READ))]


@cache
def _asset(name: str) -> bytes:
    """A vendored file's bytes, read once."""
    return files("andon.web").joinpath("vendor", "swagger-ui", name).read_bytes()


def api_docs_router(web: WebInbox) -> APIRouter:
    """``/api/docs`` and its vendored files (permission read)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/api/docs", response_class=HTMLResponse)
    def api_docs(caller: Reader) -> HTMLResponse:
        """Show the JSON API's operations with Swagger UI (served by Andon, no CDN)."""
        return web.render("api_docs.html", me=user_view(caller.user, web.spec()),
                          csrf=web.auth.csrf_token(caller),
                          swagger_version=SWAGGER_UI_VERSION)

    @router.get("/api/docs/{name}")
    def api_docs_asset(name: str, caller: Reader) -> Response:
        """One of Swagger UI's vendored files (404 for any other name)."""
        del caller
        media = ASSETS.get(name)
        if media is None:
            raise NotFound("API page file", name)
        return Response(_asset(name), media_type=media, headers=_ASSET_HEADERS)

    return router
