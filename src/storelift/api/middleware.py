"""ASGI middleware: the body size limit, and one log line and metric per request with a last-resort 500."""

from __future__ import annotations

import logging
import os
import random
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .errors import BodyTooLarge, body_too_large_message, error_response, internal_error_response
from .logs import ACCESS_LOGGER

access_log = logging.getLogger(ACCESS_LOGGER)
error_log = logging.getLogger("storelift.api")


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413: at once when Content-Length says so, else as they stream in."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = error_response(413, "body_too_large", body_too_large_message(self.max_bytes),
                                      headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


class RequestObserver:
    """Logs one JSON line per request (no paths, customer ids or client addresses) and counts it.

    It also catches any exception the app let through, logs it with its traceback and answers a
    generic 500, so no client ever sees a traceback.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        started = time.perf_counter()
        status = 0

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            route = _route(scope)
            error_log.exception("unhandled error", extra={"fields": {"request_id": request_id, "route": route}})
            if status == 0:
                await internal_error_response(request_id)(scope, receive, observed_send)
            status = status or 500
        finally:
            state = scope.get("state") or {}
            record_request(scope["method"], _route(scope), status, time.perf_counter() - started, request_id,
                           state.get("key_id"))


def new_request_id() -> str:
    """16 hex digits from `random` (reseeded from the OS in every process): names a request, guards nothing."""
    return f"{random.getrandbits(64):016x}"


def record_request(method: str, route: str, status: int, seconds: float, request_id: str,
                   key_id: str | None) -> None:
    """The metrics and the JSON request line of one answered request."""
    metrics.observe_request(method, route, status, seconds)
    access_log.info("request", extra={"fields": {
        "request_id": request_id, "method": method, "route": route, "status": status,
        "latency_ms": round(seconds * 1000, 2), "key_id": key_id, "process": os.getpid()}})


def _route(scope: Scope) -> str:
    """The route template that matched (e.g. /v1/customers/{customer_id}/consent), never the raw path."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"
