"""The one decide path of the service: consent, deterministic holdout, frequency cap, a decision row.

Every answer about a customer goes through `decide_recommendations` or `decide_variant`:
1. the customer's consent for personalization is read from the online store (no consent, or an
   erasure queued: the non-personalized answer);
2. the customer is assigned deterministically to treatment or the persistent holdout of the
   initiative (storelift.experiments), and the holdout gets the non-personalized answer too, so
   the initiative's lift can be measured against it;
3. a `decisions` row records what was shown and why, under a new decision id that the storefront
   sends back with impressions, clicks and orders.
"""

from __future__ import annotations

import functools
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from ..experiments import HOLDOUT_ARM, Experiment
from ..online import DecisionRecord

RECOMMENDATIONS = "recommendations"
PURPOSE = "personalization"


@dataclass(frozen=True)
class DecisionPolicy:
    """How decisions are made. holdout_share: customers held out of each initiative (the same ones
    for every initiative); variant_cap_per_day: how often one customer may get a decision for the same
    variant placement in 24 hours (None: no cap)."""

    holdout_share: float = 0.05
    variant_cap_per_day: int | None = 3

    def experiment(self, initiative: str, arms=(("treatment", 1.0),)) -> Experiment:
        return _experiment(initiative, tuple(arms), self.holdout_share)


@functools.lru_cache(maxsize=4096)
def _experiment(initiative: str, arms: tuple, holdout_share: float) -> Experiment:
    """Experiments are immutable: one per definition, so its bucket ranges are worked out once."""
    return Experiment(initiative, arms=arms, holdout_share=holdout_share)


def new_decision_id() -> str:
    """d_ + the time in microseconds (13 hex digits) + 76 random bits: unique, and in time order, so the
    decisions table's key grows at its end instead of splitting pages all over a large index. The bits
    come from `random` (reseeded from the OS in every process, forked ones included): an id names a
    decision, it guards nothing, so it need not cost a system call."""
    return f"d_{time.time_ns() // 1000:013x}{random.getrandbits(76):019x}"


def decide_recommendations(served, store, customer_id: str, *, placement: str, k: int, session_items=(),
                           context: str | None, policy: DecisionPolicy, now: datetime) -> tuple[DecisionRecord, dict]:
    """A recommendation list for one customer or visitor id, with its decision row (not yet written)."""
    has_consent = store.has_consent(customer_id, PURPOSE)
    arm = policy.experiment(RECOMMENDATIONS).assign(customer_id)
    personalize = has_consent and arm != HOLDOUT_ARM
    items = served.personalizer.recommend_records(customer_id, k, consent=personalize, session_items=session_items,
                                                 context=context)
    if not has_consent:
        why = "no personalization consent: the popular list"
    elif arm == HOLDOUT_ARM:
        why = "in the recommendations holdout: the popular list, so the lift of personalization can be measured"
    elif any(item["personalized"] for item in items):
        source = next(item["source"] for item in items if item["personalized"])
        why = ("personalized from this visit's items" if source == "session" else
               f"personalized by {source} from this customer's activity")
    else:
        why = "nothing known about this visitor yet: the popular list"
    decision = DecisionRecord(
        decision_id=new_decision_id(), decided_at=now, customer_id=customer_id, initiative=RECOMMENDATIONS,
        placement=placement, arm=arm, has_consent=has_consent, model_version=served.version,
        shown=orjson.dumps({"items": [item["item_id"] for item in items], "context": context}).decode(),
        explanation=why)
    return decision, {"items": items, "personalized": personalize and any(i["personalized"] for i in items),
                      "explanation": why}


def recommendation_body(decision: DecisionRecord, answer: dict, model_version: str) -> dict:
    """The JSON answer to a recommendation request (GET /v1/recommendations/{id}), one shape for the
    route and the lean path."""
    return {"decision_id": decision.decision_id, "customer_id": decision.customer_id,
            "placement": decision.placement, "arm": decision.arm, "personalized": answer["personalized"],
            "model_version": model_version, "explanation": answer["explanation"], "items": answer["items"]}


def decide_variant(store, customer_id: str, *, placement: str, variants: list[str], context: str | None,
                   policy: DecisionPolicy, now: datetime) -> tuple[DecisionRecord, dict]:
    """Which of a placement's variants (content, offer, creative) to show; variants[0] is the default
    that non-consenting and held-out customers get. At the frequency cap no variant is shown."""
    has_consent = store.has_consent(customer_id, PURPOSE)
    arm = policy.experiment(placement, [(v, 1.0) for v in variants]).assign(customer_id)
    capped = policy.variant_cap_per_day is not None and store.count_decisions(
        customer_id, placement, since=now - timedelta(days=1)) >= policy.variant_cap_per_day
    if capped:
        variant, why = None, f"frequency cap: {policy.variant_cap_per_day} decisions for this placement in 24 hours"
    elif arm == HOLDOUT_ARM:
        variant, why = variants[0], "in the holdout: the default variant"
    elif not has_consent:
        variant, why = variants[0], "no personalization consent: the default variant"
    else:
        variant, why = arm, f"assigned to {arm!r} by the {placement!r} experiment"
    decision = DecisionRecord(
        decision_id=new_decision_id(), decided_at=now, customer_id=customer_id, initiative=placement,
        placement=placement, arm="capped" if capped else arm, has_consent=has_consent, model_version=None,
        shown=json.dumps({"variant": variant, "context": context}), explanation=why)
    return decision, {"variant": variant, "explanation": why}
