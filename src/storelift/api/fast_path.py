"""A lean ASGI path for the hottest request, GET /v1/recommendations/{id}, answered without the
framework's routing, dependency solving and response re-validation (about a millisecond of CPU a
request on this stack).

It answers only the well-formed request: a known key with the read scope inside its rate limit, the
documented query parameters with valid values, and a model loaded. Anything else falls through to
the FastAPI route, which owns every error answer, so the contract (OpenAPI document, 4xx bodies)
stays the route's. The decision itself is the same `decide_recommendations` call.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from .decide import decide_recommendations, recommendation_body

PREFIX = "/v1/recommendations/"
PLACEMENT = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
SINGLE = ("placement", "k", "context")
ROUTE_PATH = "/v1/recommendations/{customer_id}"


class _Route:
    """What the request observer reads for logs and metrics: the route template, never the raw path."""

    path = ROUTE_PATH


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
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else None
        if name == b"x-api-key":
            return value.decode("latin-1").strip()
    return None


class RecommendationFastPath:
    """Answers valid GET /v1/recommendations/{id} requests itself; passes everything else on."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            body = await self._answer(scope)
            if body is not None:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> bytes | None:
        request = parse_request(scope)
        text = _key_text(scope)
        services = scope["app"].state.services if "app" in scope else None
        if request is None or not text or services is None:
            return None
        try:
            key = services.keys.lookup(text)  # a cache miss reads the store here: no herd onto the route
        except Exception:  # e.g. a busy store: the route makes the documented error answer
            return None
        if key is None or key.revoked_at is not None or not key.allows("read"):
            return None  # unknown, revoked or lacking the scope: the route answers
        services.models.refresh()
        served = services.models.recommender
        if served is None or services.limiter.retry_after_s(key) > 0:
            return None
        try:
            decision, answer = decide_recommendations(
                served, services.store, request["customer_id"], placement=request["placement"], k=request["k"],
                session_items=request["session_items"], context=request["context"], policy=services.policy,
                now=services.store.clock())
        except Exception:  # e.g. a busy store: the route makes the documented error answer
            return None
        services.store.record_decision_soon(decision)
        scope.setdefault("state", {})["key_id"] = key.key_id
        scope["route"] = _Route
        return json.dumps(recommendation_body(decision, answer, served.version), separators=(",", ":")).encode()
