"""The JSON API routes under ``/api``; each declares the one permission it needs."""

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from andon.api.schemas import (
    FeedbackIn,
    FeedbackOut,
    FeedbackResult,
    Health,
    InterventionOut,
    Me,
    ModelOut,
    QuarantinedDetail,
    QuarantinedOut,
    SignatureBody,
    SpecOut,
    SpecSaved,
    StageChangeIn,
    StoredId,
    TokenIn,
    TokenOut,
)
from andon.app import (
    Actor,
    Context,
    archive_model,
    give_feedback,
    issue_token,
    promote_model,
    replace_spec,
    revoke_token,
)
from andon.app.signatures import SignatureIn, spec_record_hash
from andon.app.spec import SPEC_FILENAME
from andon.audit import Signature
from andon.auth.access import Permission
from andon.errors import NotFound, SpecError, SpecErrors
from andon.feedback.answers import Via
from andon.http.auth import Caller, needs
from andon.store.base import Store

__all__ = ["MAX_SPEC_BYTES", "api_router"]

#: largest plant spec text ``PUT /api/spec`` accepts
MAX_SPEC_BYTES = 1_000_000
# The protocol has no count query; open interventions are few (one per use case and asset).
_COUNT_LIMIT = 1_000_000

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
Giver = Annotated[Caller, Depends(needs(Permission.FEEDBACK))]
SpecAdmin = Annotated[Caller, Depends(needs(Permission.CHANGE_SPEC))]
ModelManager = Annotated[Caller, Depends(needs(Permission.MANAGE_MODELS))]

_NO_STORE = {"Cache-Control": "no-store"}
_SPEC_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {"type": "object", "required": ["text"],
                           "properties": {"text": {"type": "string"}}},
            },
        },
    },
}


def api_router(ctx: Context) -> APIRouter:
    """Build the ``/api`` routes over the store, clock and spec of ``ctx``."""
    router = APIRouter(prefix="/api", tags=["api"])
    _reading_routes(router, ctx.store)
    _quarantine_routes(router, ctx.store)
    _writing_routes(router, ctx)
    return router


def _reading_routes(router: APIRouter, store: Store) -> None:
    """Add the routes that only read (permission READ)."""

    @router.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request, caller: Reader) -> JSONResponse:
        """Describe this API as OpenAPI 3 (signed-in callers only)."""
        del caller
        return JSONResponse(request.app.openapi())

    @router.get("/health")
    def health(caller: Reader) -> Health:
        """Report liveness, open interventions, stored samples and registered models."""
        del caller
        return Health(
            status="ok",
            open_interventions=len(store.list_interventions(open_only=True,
                                                                limit=_COUNT_LIMIT)),
            samples=store.sample_count(),
            models=[m.label for m in store.list_models()],
        )

    @router.get("/me")
    def me(caller: Reader) -> Me:
        """Tell who the caller is and what they may do."""
        return Me.of(caller.user)

    # GET /interventions (the console's query: scope, filters, search) is in api/interventions.py

    @router.get("/interventions/{intervention_id}")
    def get_intervention(intervention_id: str, caller: Reader) -> InterventionOut:
        """Show one intervention with its evidence (404 if unknown)."""
        del caller
        return InterventionOut.of(store.get_intervention(intervention_id))

    @router.get("/interventions/{intervention_id}/feedback")
    def list_feedback(intervention_id: str, caller: Reader) -> list[FeedbackOut]:
        """List the feedback given on an intervention, oldest first (404 if unknown)."""
        del caller
        store.get_intervention(intervention_id)
        return [FeedbackOut.of(fb) for fb in store.feedback_for(intervention_id)]

    @router.get("/models")
    def list_models(caller: Reader) -> list[ModelOut]:
        """List registered model versions with their lineage, by name then version."""
        del caller
        return _models_out(store)

    @router.get("/spec", responses={404: {"description": "No plant spec was stored yet"}})
    def get_spec(caller: Reader) -> SpecOut:
        """Show the newest stored plant spec text (404 if none was stored yet)."""
        del caller
        current = store.current_spec()
        if current is None:
            raise NotFound("stored plant spec", "latest")
        signed = store.signatures_for("spec", record_hash=spec_record_hash(current.text))
        return SpecOut(version=current.version, text=current.text, by=current.by, at=current.at,
                       signatures=[x.manifest() for x in signed])


def _quarantine_routes(router: APIRouter, store: Store) -> None:
    """Add the routes that read the quarantine (permission READ)."""

    @router.get("/quarantine")
    def list_quarantined(
        caller: Reader,
        rule: Annotated[str | None, Query(description="only this rule code")] = None,
        asset: Annotated[str | None, Query(description="only this asset id")] = None,
        since: Annotated[datetime | None, Query(description="received at or after (ISO 8601 "
                                                "with offset)")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[QuarantinedOut]:
        """List quarantined messages (malformed or breaking a data contract), newest first."""
        del caller
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # a time without offset is read as UTC
        items = store.quarantined(rule=rule, asset=asset, since=since, limit=limit)
        return [QuarantinedOut.of(q) for q in items]

    @router.get("/quarantine/{item_id}")
    def get_quarantined(item_id: StoredId, caller: Reader) -> QuarantinedDetail:
        """Show one quarantined message with its original payload (404 if unknown)."""
        del caller
        return QuarantinedDetail.of(store.get_quarantined(item_id))


def _writing_routes(router: APIRouter, ctx: Context) -> None:
    """Add the routes that change state (feedback, models, spec, tokens)."""

    @router.post("/interventions/{intervention_id}/feedback", status_code=201)
    def feedback(intervention_id: str, body: FeedbackIn, caller: Giver) -> FeedbackResult:
        """Record acted / deferred / dismissed (deferring and dismissing need a reason)."""
        done = give_feedback(ctx, Actor.of(caller.user, Via.API), intervention_id, body.kind,
                             body.reason)
        assert done.feedback is not None  # noqa: S101 - give_feedback returns its feedback
        return FeedbackResult(feedback=FeedbackOut.of(done.feedback),
                              intervention=InterventionOut.of(done.record))

    @router.post("/models/{name}/{version}/promote")
    def promote(name: str, version: StoredId, body: StageChangeIn,
                      caller: ModelManager) -> ModelOut:
        """Promote a signed version to production; the previous production one is archived."""
        done = promote_model(ctx, Actor.of(caller.user, Via.API), name, version, body.reason,
                             signature=body.given()).record
        return ModelOut.of(done, ctx.store.signatures_for("model", record_id=done.label))

    @router.post("/models/{name}/{version}/archive")
    def archive(name: str, version: StoredId, body: StageChangeIn,
                      caller: ModelManager) -> ModelOut:
        """Archive a version: no edge loads it again (promote another one to replace it)."""
        done = archive_model(ctx, Actor.of(caller.user, Via.API), name, version, body.reason,
                             signature=body.given()).record
        return ModelOut.of(done, ctx.store.signatures_for("model", record_id=done.label))

    @router.put("/spec", openapi_extra=_SPEC_BODY,
                responses={415: {"description": "The body is neither YAML text nor JSON"}})
    async def put_spec(request: Request, caller: SpecAdmin) -> SpecSaved:
        """Replace the plant spec: YAML as ``text/plain`` or JSON ``{"text": ...}``.

        An invalid spec is refused with 422 and one line per problem in ``problems``. Where
        the spec in force asks for electronic signatures, send JSON ``{"text": ...,
        "signature": {"password": ..., "meaning": "approved"}, "reason": ...}``.
        """
        text, signature = _spec_text(request.headers.get("content-type", ""),
                                     await _body(request))
        saved = (await run_in_threadpool(
            lambda: replace_spec(ctx, Actor.of(caller.user, Via.API), text,
                                 signature=signature))).record
        return SpecSaved(version=saved.version, by=saved.by, at=saved.at)

    @router.post("/tokens", status_code=201)
    def new_token(
        caller: Reader, response: Response, body: Annotated[TokenIn | None, Body()] = None,
    ) -> TokenOut:
        """Issue a new API token for the caller; shown once, only its hash is stored."""
        ttl = (body or TokenIn()).expires_in_s
        issued = issue_token(ctx, Actor.of(caller.user, Via.API), caller.user.username,
                             timedelta(seconds=ttl), kind="api token").record
        response.headers.update(_NO_STORE)
        return TokenOut(token=issued.token, username=issued.username,
                        expires_at=issued.expires_at)

    @router.delete("/tokens/current", status_code=204)
    def revoke_current_token(caller: Reader) -> Response:
        """Revoke the token (or session) this request was made with."""
        revoke_token(ctx, Actor.of(caller.user, Via.API), caller.token_hash,
                     what=f"{caller.via} token")
        return Response(status_code=204)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_SPEC_BYTES:
        raise HTTPException(413, f"plant spec is larger than {MAX_SPEC_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_SPEC_BYTES:
        raise HTTPException(413, f"plant spec is larger than {MAX_SPEC_BYTES} bytes")
    return raw


def _models_out(store: Store) -> list[ModelOut]:
    """Every model version with the electronic signatures on it."""
    signed: dict[str, list[Signature]] = {}
    for sig in store.signatures_for("model"):
        signed.setdefault(sig.record_id, []).append(sig)
    return [ModelOut.of(m, signed.get(m.label)) for m in store.list_models()]


def _spec_text(content_type: str, raw: bytes) -> tuple[str, SignatureIn | None]:
    """The spec text of a request body (YAML text or JSON ``{"text": ...}``), and its signature.

    Only a JSON body carries a signature (``{"signature": {...}, "reason": ...}``).
    """
    media = content_type.partition(";")[0].strip().lower()
    if media == "application/json":
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
            raise HTTPException(422, 'body is not JSON; send {"text": "<yaml>"}') from None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise HTTPException(422, 'JSON body must be {"text": "<yaml>"}')
        text: str = data["text"]
        reason = data.get("reason", "")
        signed = data.get("signature")
        if signed is None:
            return text, None
        try:
            body = SignatureBody.model_validate(signed)
        except ValidationError:
            raise HTTPException(422, 'signature must be {"password": "...", "meaning": '
                                '"authored" | "reviewed" | "approved"}') from None
        return text, body.given(reason if isinstance(reason, str) else "")
    if media not in {"", "text/plain", "application/yaml", "application/x-yaml", "text/yaml"}:
        raise HTTPException(415, f"send the spec as text/plain YAML or JSON, not {media}")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        raise SpecErrors([SpecError(SPEC_FILENAME, None, "",
                                    f"not UTF-8 text ({exc.reason})")]) from None
