"""Decisions out: GET /v1/recommendations/{id}, GET /v1/items/{id}/similar, POST /v1/decide,
GET /v1/customers/{id} (scores) and GET /v1/experiments/{name}/assignment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ..experiments import AssignmentError, Experiment
from .auth import require_json, require_scope
from .decide import decide_recommendations, decide_variant, recommendation_body
from .errors import ApiError, error_responses

router = APIRouter(prefix="/v1", tags=["decisions"])

IdPath = Path(min_length=1, max_length=256, description="The store's customer id, or a visitor's anonymous id.",
              examples=["C0001021"])


class RecommendedItem(BaseModel):
    rank: int = Field(description="1 = first to show.")
    item_id: str = Field(description="The product id.")
    score: float = Field(description="The model's score (popularity for back-filled items).")
    source: str = Field(description="Model class, 'session' (folded in from this visit) or 'popular'.")
    personalized: bool = Field(description="Whether this item came from the customer's own activity.")
    reason: str = Field(description="Why it is shown, in words.")


class RecommendationAnswer(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "decision_id": "d_4f1c2a9e0b8d4c6fa1e2b3c4d5e6f708", "customer_id": "C0001021", "placement": "home",
        "arm": "treatment", "personalized": True, "model_version": "recommend-ease-20240501-20240502T010203000000",
        "explanation": "personalized by EASE from this customer's activity",
        "items": [{"rank": 1, "item_id": "P0042", "score": 0.81, "source": "EASE", "personalized": True,
                   "reason": "because you showed interest in Garden hose"}]}]})

    decision_id: str = Field(description="Send it back with impressions, clicks and orders (properties.decision_id).")
    customer_id: str
    placement: str
    arm: str = Field(description="treatment or holdout (the persistent holdout gets the popular list).")
    personalized: bool = Field(description="False when consent is missing, in the holdout, or nothing is known.")
    model_version: str
    explanation: str
    items: list[RecommendedItem]


class SimilarItem(BaseModel):
    rank: int
    item_id: str
    score: float
    reason: str


class SimilarAnswer(BaseModel):
    item_id: str
    model_version: str
    items: list[SimilarItem]


class DecideRequest(BaseModel):
    """A placement to fill for a customer: with `variants`, pick one of them (an experiment per
    placement); without, a recommendation list of k items."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"customer_id": "C0001021", "placement": "home-hero", "variants": ["spring-sale", "free-shipping"]},
        {"customer_id": "C0001021", "placement": "cart", "k": 4, "session_items": ["P0042"]}]})

    customer_id: str = Field(min_length=1, max_length=256, description="Customer id or anonymous id.")
    placement: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$",
                           description="Where the answer is shown (letters, digits, _ . : -).")
    variants: list[str] | None = Field(None, min_length=2, max_length=20,
                                       description="Content, offer or creative ids; the first is the default.")
    k: int = Field(10, ge=1, le=100, description="Items in a recommendation list.")
    session_items: list[str] = Field(default_factory=list, max_length=50,
                                     description="Items this visit touched, newest last (folded in).")
    context: str | None = Field(None, max_length=500, description="Free text kept with the decision (page, device).")


class DecideAnswer(BaseModel):
    decision_id: str
    customer_id: str
    placement: str
    arm: str
    explanation: str
    variant: str | None = Field(None, description="The variant to show; null at the frequency cap.")
    items: list[RecommendedItem] | None = Field(None, description="The list, when no variants were given.")
    model_version: str | None = None


class ProfileAnswer(BaseModel):
    customer_id: str
    scores_version: str
    scores: dict[str, Any] = Field(description="The customer's row of customer_scores: segment, CLV, churn risk "
                                               "and its reasons (see docs/schema.md).")


class AssignmentAnswer(BaseModel):
    experiment: str
    unit_id: str
    arm: str


def _no_repeated_query(*lists: str):
    """A dependency refusing a repeated query parameter unless it is a list (the last value would
    silently win otherwise)."""
    async def check(request: Request) -> None:  # async: a sync dependency costs a thread hop per request
        for name in request.query_params.keys():
            if name not in lists and len(request.query_params.getlist(name)) > 1:
                raise ApiError(422, "repeated_parameter", f"query parameter {name!r} is given "
                               f"{len(request.query_params.getlist(name))} times; give it once", field=name)
    return Depends(check)


def _served(request: Request):
    services = request.app.state.services
    services.models.refresh()
    served = services.models.recommender
    if served is None:
        raise ApiError(503, "no_model", "no recommendation model is saved in this workspace yet; run "
                       "`storelift recommend fit` (the service picks it up without a restart)")
    return served


def _check_items(ids: list[str], field: str) -> list[str]:
    for position, item in enumerate(ids):
        if not isinstance(item, str) or not item or len(item) > 256:
            raise ApiError(422, "invalid_field", f"{field}[{position}] must be a product id of 1 to 256 characters",
                           field=field)
    return ids


async def _write(request: Request, decision, wait: bool = False) -> None:
    """Write the decision row in the next group commit. A recommendation list does not wait for the
    disk (a crash within the few milliseconds before the commit can lose the row of a list already
    answered, never an event); a variant decision waits, because the frequency cap counts it."""
    store = request.app.state.services.store
    if wait:
        await store.record_decision_async(decision)
    else:
        store.record_decision_soon(decision)


@router.get("/recommendations/{customer_id}", response_model=RecommendationAnswer,
            summary="A recommendation list for a customer or visitor",
            description="Consent is checked first (no personalization consent, or an erasure queued: the popular "
                        "list); the customer is then assigned to treatment or the persistent holdout; a decision "
                        "row records what was shown. Items carry a reason each.",
            dependencies=[require_scope("read"), _no_repeated_query("session_items")],
            responses=error_responses(401, 403, 422, 429, 503))
async def recommendations(request: Request, customer_id: str = IdPath,
                          placement: str = Query("default", min_length=1, max_length=100,
                                                 pattern=r"^[A-Za-z0-9_.:-]+$", description="Where it is shown."),
                          k: int = Query(10, ge=1, le=100, description="How many items."),
                          session_items: list[str] = Query([], max_length=50,
                                                           description="Items this visit touched, newest last."),
                          context: str | None = Query(
                              None, max_length=500,
                              description="Kept with the decision. When it names a segment the served model was "
                                          "fitted with (e.g. a country, `recommend fit --segment-by country`), "
                                          "the popular list is that segment's.")
                          ) -> RecommendationAnswer:
    served = _served(request)
    services = request.app.state.services
    decision, answer = decide_recommendations(
        served, services.store, customer_id, placement=placement, k=k,
        session_items=_check_items(session_items, "session_items"), context=context, policy=services.policy,
        now=services.store.clock())
    await _write(request, decision)
    return RecommendationAnswer(**recommendation_body(decision, answer, served.version))


@router.get("/items/{item_id}/similar", response_model=SimilarAnswer, summary="Items similar to one item",
            description="By the served model's item links, in stock, under the diversity caps. Not personal: "
                        "no consent is needed and no decision row is written.",
            dependencies=[require_scope("read"), _no_repeated_query()],
            responses=error_responses(401, 403, 404, 422, 429, 503))
async def similar(request: Request,
                  item_id: str = Path(min_length=1, max_length=256, description="Product id.", examples=["P0042"]),
                  k: int = Query(10, ge=1, le=100)) -> SimilarAnswer:
    served = _served(request)
    items = served.similar(item_id, k)
    if items is None:
        raise ApiError(404, "unknown_item", f"item {item_id[:100]!r} is not in model {served.version}; new products "
                       "appear after the next `storelift recommend fit`", field="item_id")
    return SimilarAnswer(item_id=item_id, model_version=served.version, items=items)


@router.post("/decide", response_model=DecideAnswer, summary="Fill a placement: a variant or a recommendation list",
             description="The decide path: consent, deterministic treatment/holdout assignment, a frequency cap per "
                         "customer and placement for variants, and a decision row with the explanation.",
             dependencies=[require_scope("read"), Depends(require_json)],
             responses=error_responses(400, 401, 403, 413, 415, 422, 429, 503))
async def decide(request: Request, body: DecideRequest) -> DecideAnswer:
    services = request.app.state.services
    now = services.store.clock()
    if body.variants:
        if len(set(body.variants)) != len(body.variants) or not all(0 < len(v) <= 100 for v in body.variants):
            raise ApiError(422, "invalid_field", "variants must be distinct ids of 1 to 100 characters",
                           field="variants")
        decision, answer = decide_variant(services.store, body.customer_id, placement=body.placement,
                                          variants=body.variants, context=body.context, policy=services.policy,
                                          now=now)
        await _write(request, decision, wait=True)
        return DecideAnswer(decision_id=decision.decision_id, customer_id=body.customer_id,
                            placement=body.placement, arm=decision.arm, **answer)
    served = _served(request)
    decision, answer = decide_recommendations(
        served, services.store, body.customer_id, placement=body.placement, k=body.k,
        session_items=_check_items(body.session_items, "session_items"), context=body.context,
        policy=services.policy, now=now)
    await _write(request, decision)
    return DecideAnswer(decision_id=decision.decision_id, customer_id=body.customer_id, placement=body.placement,
                        arm=decision.arm, explanation=answer["explanation"], items=answer["items"],
                        model_version=served.version)


@router.get("/customers/{customer_id}", response_model=ProfileAnswer, summary="A customer's segment, CLV and churn",
            description="The customer's row of the newest `storelift customers score` run, with churn reasons.",
            dependencies=[require_scope("read")], responses=error_responses(401, 403, 404, 422, 429, 503))
async def profile(request: Request, customer_id: str = IdPath) -> ProfileAnswer:
    models = request.app.state.services.models
    models.refresh()
    if models.scores is None:
        raise ApiError(503, "no_scores", "no customer scores are saved in this workspace yet; run "
                       "`storelift customers score`")
    row = models.scores.profile(customer_id)
    if row is None:
        raise ApiError(404, "unknown_customer", f"customer {customer_id[:100]!r} has no scores in "
                       f"{models.scores.version}; scores cover customers with orders at the last scoring run",
                       field="customer_id")
    return ProfileAnswer(customer_id=customer_id, scores_version=models.scores.version, scores=row)


@router.get("/experiments/{experiment}/assignment", response_model=AssignmentAnswer,
            summary="The arm of a unit in an experiment",
            description="Deterministic: the same unit gets the same arm on every call and every worker. Arms are "
                        "given as name or name:weight; the workspace's holdout share applies.",
            dependencies=[require_scope("read"), _no_repeated_query("arms")],
            responses=error_responses(401, 403, 422, 429))
async def assignment(request: Request,
                     experiment: str = Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$"),
                     unit_id: str = Query(min_length=1, max_length=256, description="Customer or visitor id."),
                     arms: list[str] = Query(["control", "treatment"], min_length=1, max_length=20,
                                             description="Arm names, optionally name:weight.")) -> AssignmentAnswer:
    parsed = []
    for text in arms:
        name, _, weight = text.partition(":")
        try:
            parsed.append((name, float(weight) if weight else 1.0))
        except ValueError:
            raise ApiError(422, "invalid_field", f"arm {text[:100]!r}: the weight after ':' must be a number",
                           field="arms") from None
    try:
        chosen = Experiment(experiment, arms=tuple(parsed),
                            holdout_share=request.app.state.services.policy.holdout_share)
    except AssignmentError as exc:
        raise ApiError(422, "invalid_field", str(exc), field="arms") from None
    return AssignmentAnswer(experiment=experiment, unit_id=unit_id, arm=chosen.assign(unit_id))
