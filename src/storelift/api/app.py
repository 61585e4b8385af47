"""The FastAPI app of `storelift serve`: built by `create_app`, one per worker process."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from .. import __version__
from ..errors import ConfigError
from ..online import OnlineStore
from ..schema import SEGMENT_EVENTS
from ..workspace import Workspace
from . import metrics
from .auth import KeyCache, RateLimiter
from .errors import install_error_handlers
from .event_models import event_models
from .middleware import BodySizeLimit, RequestObserver
from .decide import DecisionPolicy
from .fast_path import RecommendationFastPath
from .routes_customers import router as customers_router
from .routes_decisions import router as decisions_router
from .served_models import ServedModels
from .routes_events import events_router
from .routes_ops import ops_router
from .settings import WORKSPACE_ENV, ServeSettings

DESCRIPTION = """storelift's real-time service: events in, consent-gated decisions out (recommendations,
variants, customer scores), consent and erasure, health and metrics.

**Decisions.** Every recommendation list and variant choice checks personalization consent,
assigns the customer deterministically to treatment or the persistent holdout, and writes a
decision row; the answer carries its `decision_id` (send it back with impressions, clicks and
orders as `properties.decision_id`) and an explanation. New model versions saved under
`models/` are picked up without a restart.

**Keys.** Send `Authorization: Bearer <key>` (or `X-API-Key: <key>`). Scopes: `ingest` (events,
identify), `read` (GET endpoints), `consent` (PUT consent), `metrics` (GET /metrics), `admin`
(erasure, and everything else). Create keys with `storelift serve keys create`.

**Errors.** Every error is `{"error": {"code", "message", "field"?, "errors"?}}`; the message says
what is wrong and how to fix it. 429 and 503 carry `Retry-After`.

**Rate limits** are per key and per worker process (with N workers a key may reach N times its
limit). **Bodies** larger than the server's limit (1 MiB by default) get 413 before they are read.
"""


@dataclass
class ApiServices:
    """What the routes share within one worker process."""

    store: OnlineStore
    settings: ServeSettings
    keys: KeyCache
    limiter: RateLimiter
    pii_key: bytes | None  # None: the workspace keeps raw PII
    models: ServedModels
    policy: DecisionPolicy


def create_app(workspace_path: Path | str, settings: ServeSettings | None = None) -> RecommendationFastPath:
    """The service of one workspace; opens (and creates) its online store. An ASGI app: the FastAPI app
    behind the lean recommendation path, whose attributes (state, openapi) it shows."""
    settings = settings or ServeSettings()
    workspace = Workspace.open(workspace_path)
    pii_key = None if workspace.config.keep_raw_pii else workspace.pii_key()
    store = OnlineStore.open(settings.online_url, workspace.root, settings.busy_timeout_s)
    store.writer.on_commit = metrics.observe_commit
    policy = DecisionPolicy(settings.holdout_share, settings.variant_cap_per_day or None)
    served = ServedModels(workspace.models_dir, settings.model_check_s)
    services = ApiServices(store, settings, KeyCache(store, settings.key_cache_ttl_s), RateLimiter(), pii_key,
                           served, policy)
    names = frozenset(SEGMENT_EVENTS | set(workspace.config.custom_events))
    models = event_models(names, settings.max_batch_messages, timedelta(seconds=settings.max_future_skew_s))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        store.writer.start()
        await run_in_threadpool(served.load_now)  # before the first request; later versions load in the background
        try:
            yield
        finally:
            await run_in_threadpool(store.close)

    app = FastAPI(title="storelift", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  openapi_tags=[{"name": "events", "description": "Segment spec events in."},
                                {"name": "customers", "description": "Consent and erasure."},
                                {"name": "decisions", "description": "Recommendations, variants, customer scores, "
                                                                     "experiment assignment."},
                                {"name": "operations", "description": "Health and metrics."}])
    app.state.services = services
    install_error_handlers(app)
    app.include_router(events_router(models))
    app.include_router(customers_router)
    app.include_router(decisions_router)
    app.include_router(ops_router(settings.public_metrics))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestObserver)  # added last: outermost, so it sees every response
    return RecommendationFastPath(app)  # ahead of it all: the hottest request, answered lean


def app_from_environment() -> RecommendationFastPath:
    """The uvicorn factory used by `storelift serve`: the workspace and settings come from the environment."""
    workspace = os.environ.get(WORKSPACE_ENV)
    if not workspace:
        raise ConfigError(f"{WORKSPACE_ENV} is not set; start the service with `storelift serve WORKSPACE`")
    return create_app(workspace, ServeSettings.from_environment())
