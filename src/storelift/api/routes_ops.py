"""GET /health (no key: proves the store takes writes) and GET /metrics (Prometheus text format)."""

from __future__ import annotations

import os
import socket

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from . import metrics
from .auth import require_scope
from .errors import error_responses
from .models import Health

WORKER = f"{socket.gethostname()}:{os.getpid()}"


def ops_router(public_metrics: bool) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", response_model=Health, summary="Is this worker able to store data?",
                description="Writes and commits a row in the online store. 200 when that worked; 503 when "
                            "the store is unreachable, locked or read-only. Needs no key.",
                responses=error_responses(503))
    async def health(request: Request) -> Health:
        store = request.app.state.services.store
        await run_in_threadpool(store.check_writable, WORKER)
        return Health(store=store.dialect, process=os.getpid())

    metric_doc = ("Request counts by route template and status, latency histograms, events received, stored "
                  "and duplicate, group commits; summed over all worker processes. "
                  + ("Needs no key." if public_metrics else "Needs a key with the metrics scope."))
    dependencies = [] if public_metrics else [require_scope("metrics")]
    errors = error_responses() if public_metrics else error_responses(401, 403, 429)

    @router.get("/metrics", summary="Prometheus metrics", description=metric_doc, dependencies=dependencies,
                response_class=Response, responses={
                    200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                          "description": "Prometheus text exposition format."}, **errors})
    async def get_metrics() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return router
