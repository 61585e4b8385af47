"""A lean ASGI path for the hottest request, GET /v1/recommendations/{id}, answered ahead of the
framework: no middleware stack, routing, dependency solving or response re-validation (about a
millisecond of CPU a request on this stack).

It answers only the well-formed request: a known key with the read scope inside its rate limit, the
documented query parameters with valid values, no request body, and a model loaded. Anything else
goes on to the FastAPI app, whose route owns every error answer, so the contract (OpenAPI document,
4xx bodies) stays the route's. The decision itself is the same `decide_recommendations` call, and
the answer is counted and logged like every other request (`record_request`).
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, unquote

import orjson
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from .decide import decide_recommendations, recommendation_body
from .middleware import new_request_id, record_request

PREFIX = "/v1/recommendations/"
PLACEMENT = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
SINGLE = ("placement", "k", "context")
ROUTE_PATH = "/v1/recommendations/{customer_id}"


def parse_request(scope: Scope) -> dict | None:
    """customer_id, placement, k, session_items, context of a valid request; None for anything else."""
    raw = scope["path"]
    if scope["method"] != "GET" or not raw.startswith(PREFIX):
        return None
    customer = unquote(raw[len(PREFIX):]) if "%" in raw else raw[len(PREFIX):]
    if not customer or "/" in customer or len(customer) > 256:
        return None
    params = {"placement": "default", "k": "10", "context": None}
    seen: set[str] = set()
    session_items: list[str] = []
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if name == "session_items":
            if not value or len(value) > 256 or len(session_items) == 50:
                return None
            session_items.append(value)
        elif name in SINGLE and name not in seen:
            seen.add(name)
            params[name] = value
        else:
            return None  # unknown or repeated: the route explains
    k = params["k"]
    if not (k.isdigit() and 1 <= int(k) <= 100) or not PLACEMENT.match(params["placement"]):
        return None
    if params["context"] is not None and len(params["context"]) > 500:
        return None
    return {"customer_id": customer, "placement": params["placement"], "k": int(k),
            "session_items": session_items, "context": params["context"]}


def _key_text(scope: Scope) -> str | None:
    """The API key of a request without a body; None when there is none or the request carries a body."""
    text = None
    for name, value in scope["headers"]:
        if name == b"authorization" and text is None:
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            text = credentials.strip() if scheme.lower() == "bearer" else ""
        elif name == b"x-api-key" and text is None:
            text = value.decode("latin-1").strip()
        elif (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
            return None  # a body on a GET: the app's size limit and route deal with it
    return text or None


class RecommendationFastPath:
    """The ASGI app that `create_app` returns: answers valid GET /v1/recommendations/{id} requests
    itself and passes everything else (and lifespan) to the FastAPI app, whose attributes it shows."""

    def __init__(self, app: FastAPI):
        self.app = app

    def __getattr__(self, name: str):
        return getattr(self.app, name)  # state, openapi(), routes... are the FastAPI app's

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            started = time.perf_counter()
            answered = self._answer(scope)
            if answered is not None:
                body, key_id = answered
                request_id = new_request_id()
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()),
                                        (b"x-request-id", request_id.encode())]})
                await send({"type": "http.response.body", "body": body})
                record_request("GET", ROUTE_PATH, 200, time.perf_counter() - started, request_id, key_id)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> tuple[bytes, str] | None:
        request = parse_request(scope)
        text = _key_text(scope)
        if request is None or not text:
            return None
        services = self.app.state.services
        try:
            key = services.keys.lookup(text)  # a cache miss reads the store here: no herd onto the route
            if key is None or key.revoked_at is not None or not key.allows("read"):
                return None  # unknown, revoked or lacking the scope: the route answers
            services.models.refresh()
            served = services.models.recommender
            if served is None or services.limiter.retry_after_s(key) > 0:
                return None
            decision, answer = decide_recommendations(
                served, services.store, request["customer_id"], placement=request["placement"], k=request["k"],
                session_items=request["session_items"], context=request["context"], policy=services.policy,
                now=services.store.clock())
            body = orjson.dumps(recommendation_body(decision, answer, served.version))
        except Exception:  # e.g. a busy store: the route makes the documented error answer
            return None
        services.store.record_decision_soon(decision)
        return body, key.key_id
