"""POST /v1/events and POST /v1/identify: what the storefront sends in."""

# no `from __future__ import annotations`: FastAPI must see the per-app body type, a closure variable
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool

from ..online import event_from_segment, safe_traits
from . import metrics
from .auth import require_json, require_scope
from .errors import error_responses
from .event_models import TRACK_EXAMPLE, EventModels, EventsAccepted
from .models import IdentifyMessage, IdentifyResult

EVENTS_DOC = """Store Segment spec track or page calls, one message or `{"batch": [...]}`.

The response comes only after every message is durably committed, so a 200 means stored. A
messageId already stored is counted as a duplicate and not stored again: resending a batch after
a timeout or a crash is always safe. A batch is all or nothing: if any message is invalid the
service answers 422 listing every bad message (index, field, problem, fix) and stores none."""


def events_router(models: EventModels) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["events"])
    examples = {
        "one": {"summary": "One track call", "value": TRACK_EXAMPLE},
        "batch": {"summary": "A batch", "value": {"batch": [TRACK_EXAMPLE, {
            "type": "page", "messageId": "0d9e2b1c-7f3a-4c55-a1b2-9e8d7c6b5a41", "timestamp": "2024-05-01T12:00:03Z",
            "anonymousId": "a-9f3e", "properties": {"path": "/sale"}}]}},
    }

    @router.post("/events", response_model=EventsAccepted, summary="Send events (Segment track/page)",
                 description=EVENTS_DOC, dependencies=[require_scope("ingest"), Depends(require_json)],
                 responses=error_responses(400, 401, 403, 413, 415, 422, 429, 503))
    async def post_events(request: Request,
                          body: Annotated[models.body, Body(openapi_examples=examples)]) -> EventsAccepted:
        services = request.app.state.services
        messages = body.batch if isinstance(body, models.batch) else [body]
        records = [event_from_segment(m.model_dump(by_alias=True), services.pii_key) for m in messages]
        result = await services.store.write_events_async(records)
        metrics.observe_events(result.received, result.stored, result.duplicates)
        return EventsAccepted(received=result.received, stored=result.stored, duplicates=result.duplicates)

    @router.post("/identify", response_model=IdentifyResult, summary="Link a device id to a customer",
                 description="Link anonymousId to userId (Segment identify). Traits are stored only as the "
                             "canonical customer fields, with PII pseudonymized by the workspace key.",
                 dependencies=[require_scope("ingest"), Depends(require_json)],
                 responses=error_responses(400, 401, 403, 413, 415, 422, 429, 503))
    async def post_identify(request: Request, body: IdentifyMessage) -> IdentifyResult:
        services = request.app.state.services
        traits = safe_traits(body.traits, services.pii_key)
        linked = await run_in_threadpool(services.store.link_identity, body.anonymous_id, body.user_id,
                                         body.timestamp, traits.kept)
        return IdentifyResult(linked=linked, kept_traits=sorted(traits.kept), dropped_traits=traits.dropped)

    return router
