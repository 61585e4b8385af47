"""API key authentication, scopes and per-key rate limits, as FastAPI dependencies.

A key is read from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Valid keys are cached
per process for `key_cache_ttl_s` seconds, so a revoked key stops working within that time.
Rate limits are token buckets kept per key in each worker process: with N workers a key may reach
up to N times its limit in total.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..online import ApiKey, OnlineStore
from ..online.api_keys import SCOPE_HELP
from .errors import ApiError

bearer_scheme = HTTPBearer(auto_error=False, description="Authorization: Bearer <key>")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <key>")


class KeyCache:
    """Looks keys up in the store; remembers valid ones for a few seconds."""

    def __init__(self, store: OnlineStore, ttl_s: float, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 10_000):
        self.store, self.ttl_s, self.clock, self.max_entries = store, ttl_s, clock, max_entries
        self._entries: dict[str, tuple[ApiKey, float]] = {}
        self._lock = threading.Lock()

    def cached(self, text: str) -> ApiKey | None:
        """The key if this worker validated it within the TTL (no store read); None otherwise."""
        with self._lock:
            hit = self._entries.get(text)
        return hit[0] if hit is not None and hit[1] > self.clock() else None

    def lookup(self, text: str) -> ApiKey | None:
        """The key from the cache, or read from the store now (one indexed row) and remembered when
        valid; None for an unknown key. For callers on the hot path that must not defer to a thread."""
        key = self.cached(text)
        if key is None:
            now = self.clock()
            key = self.store.lookup_api_key(text)
            self._remember(text, key, now)
        return key

    def _remember(self, text: str, key: ApiKey | None, read_at: float) -> None:
        if key is not None and key.revoked_at is None and self.ttl_s > 0:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[text] = (key, read_at + self.ttl_s)

    async def authenticate(self, text: str) -> ApiKey:
        key = self.cached(text) or await run_in_threadpool(self.lookup, text)  # a store read off the loop
        if key is None:
            raise ApiError(401, "invalid_api_key", "the API key is not known to this service; check that it was "
                           "copied whole, or create one with `storelift serve keys create`",
                           headers={"WWW-Authenticate": "Bearer"})
        if key.revoked_at is not None:
            raise ApiError(401, "revoked_api_key", f"API key {key.key_id} ({key.name}) was revoked; create a new "
                           "one with `storelift serve keys create`", headers={"WWW-Authenticate": "Bearer"})
        return key


class RateLimiter:
    """A token bucket per key in this process; a key's burst is one second of its rate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, last refill time)
        self._lock = threading.Lock()

    def retry_after_s(self, key: ApiKey) -> float:
        """0 when the request may go ahead (and a token is taken), else the seconds until one is free."""
        rate = key.rate_limit_per_s
        if rate <= 0:
            return 0.0
        capacity = max(rate, 1.0)
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key.key_id, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key.key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key.key_id] = (tokens, now)
            return (1.0 - tokens) / rate


def require_scope(scope: str):
    """A dependency that authenticates the key, applies its rate limit and checks `scope`."""

    async def dependency(request: Request,
                         bearer: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
                         header_key: str | None = Security(api_key_scheme)) -> ApiKey:
        services = request.app.state.services
        text = bearer.credentials if bearer is not None else header_key
        if not text:
            raise ApiError(401, "missing_api_key", "this endpoint needs an API key: send 'Authorization: Bearer "
                           "<key>' or 'X-API-Key: <key>'; create a key with `storelift serve keys create`",
                           headers={"WWW-Authenticate": "Bearer"})
        key = await services.keys.authenticate(text)
        request.state.key_id = key.key_id
        wait_s = services.limiter.retry_after_s(key)
        if wait_s > 0:
            raise ApiError(429, "rate_limited", f"API key {key.key_id} is limited to {key.rate_limit_per_s:g} "
                           f"requests per second; retry after {wait_s:.2f} s, or send events in batches",
                           headers={"Retry-After": str(max(1, math.ceil(wait_s)))})
        if not key.allows(scope):
            raise ApiError(403, "insufficient_scope", f"API key {key.key_id} ({key.name}) lacks the {scope!r} scope "
                           f"that {SCOPE_HELP[scope]} needs; create a key with --scope {scope}")
        return key

    return Depends(dependency)


async def require_json(request: Request) -> None:
    """Bodies must be sent as JSON: anything else is refused with 415 rather than misread."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, "unsupported_media_type",
                       f"the body is sent as {media or 'no content type'}; send JSON with "
                       "'Content-Type: application/json'")
