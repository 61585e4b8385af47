"""One scoring run: RFM segment, cluster, lifetime value and churn risk for every customer as of a date.

`score_customers` is pure: it reads an ibis table of customer orders (on any engine) and returns a
`CustomerScores` bundle whose `scores` frame has exactly the columns of the customer_scores table.
Writing it to the warehouse and saving the fitted models are left to the caller (CLI, demo).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import ibis
import numpy as np
import pandas as pd

from .. import __version__
from ..errors import StoreliftError
from ..schema import TABLES
from ..warehouse import fetch
from .bgnbd import BetaGeo
from .churn import ChurnModel
from .clusters import CustomerClusters
from .clv import customer_lifetime_value
from .clv_data import rfm_summary
from .cohorts import cohort_activity
from .gamma_gamma import GammaGamma
from .rfm import pareto_curve, rfm_table, segment_summary, top_share

SCORE_COLUMNS = TABLES["customer_scores"].column_names
CLUSTER_FEATURES = ["recency_days", "frequency", "monetary", "mean_order_value", "tenure_days"]


class ScoringError(StoreliftError):
    """The orders cannot support a scoring run (too few customers or no history before the as-of date)."""

    exit_code = 6


@dataclass
class CustomerScores:
    """What a scoring run produced: the per-customer table and the fitted models and views behind it."""

    as_of: pd.Timestamp
    model_version: str
    scores: pd.DataFrame  # the customer_scores columns, one row per customer
    segments: pd.DataFrame  # segment_summary of the RFM segments
    pareto: pd.DataFrame  # pareto_curve of monetary value
    top20_share: float  # revenue share of the top 20% of customers
    cohorts: pd.DataFrame  # cohort_activity, long format
    clusters: CustomerClusters
    bgnbd: BetaGeo | None
    gamma_gamma: GammaGamma | None
    churn: ChurnModel | None
    notes: list[str] = field(default_factory=list)  # what could not be fitted, and why
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage

    def models(self) -> dict[str, object]:
        """The fitted models by name, for saving as artifacts."""
        named = dict(clusters=self.clusters, bgnbd=self.bgnbd, gamma_gamma=self.gamma_gamma, churn=self.churn)
        return {k: v for k, v in named.items() if v is not None}


def _as_timestamp(as_of) -> pd.Timestamp:
    ts = pd.Timestamp(as_of)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def model_version(as_of: pd.Timestamp, scored_at: datetime) -> str:
    """customers-<package version>-<as-of day>-<scoring time>: unique per run, sortable by time."""
    return f"customers-{__version__}-{as_of:%Y%m%d}-{scored_at:%Y%m%dT%H%M%S%f}"


def score_customers(orders: ibis.Table, as_of, *, clv_horizon_months: int = 12, monthly_discount_rate: float = 0.01,
                    churn_horizon_days: int = 90, cluster_k="auto", explain: int | bool = 20_000,
                    random_state: int = 0, progress=None) -> CustomerScores:
    """Score every customer with an order before `as_of`.

    orders: customer_id, order_id, ordered_at, gross, refunded, value (see `customer_orders`).
    Each model that the data cannot support (for instance no repeat buyers for BG/NBD) is left out
    with a note, and its columns stay empty; RFM and clusters always run. explain: how many customers
    get churn reasons, likeliest churners first (TreeSHAP costs about 0.25 ms a customer); True for all.
    """
    as_of = _as_timestamp(as_of)
    step = progress or (lambda stage: None)
    seconds: dict[str, float] = {}
    notes: list[str] = []
    scored_at = datetime.now(timezone.utc).replace(tzinfo=None)

    def timed(stage, fn):
        step(stage)
        start = time.perf_counter()
        out = fn()
        seconds[stage] = round(time.perf_counter() - start, 3)
        return out

    # every stage reads the orders: materialize them (the order-line join) once, as a temporary table
    before = ibis.literal(as_of.to_pydatetime(), type="timestamp")
    orders = timed("orders", lambda: orders.filter(orders.ordered_at < before).cache())
    rfm = timed("rfm", lambda: fetch(rfm_table(orders, as_of)))
    if len(rfm) < 10:
        raise ScoringError(f"only {len(rfm)} customers have an order before as_of={as_of:%Y-%m-%d}; scoring needs "
                           "at least 10: ingest more orders or pass a later --as-of")
    rfm = rfm.sort_values("customer_id", kind="stable").reset_index(drop=True)

    clusters = CustomerClusters(method="kmeans", k=cluster_k, random_state=random_state)
    labels = timed("clusters", lambda: clusters.fit(rfm[CLUSTER_FEATURES]).labels_)
    names = clusters.profiles_.set_index("cluster")["name"]

    scores = pd.DataFrame({
        "customer_id": rfm["customer_id"].astype(str),
        "as_of": as_of,
        "scored_at": scored_at,
        "recency_days": rfm["recency_days"].astype(float),
        "frequency": rfm["frequency"].astype("int64"),
        "monetary": rfm["monetary"].astype(float),
        "rfm_cell": rfm["rfm_cell"].astype(str),
        "rfm_segment": rfm["segment"].astype(str),
        "cluster": np.asarray(labels, dtype="int64"),
        "cluster_name": pd.Series(np.asarray(labels)).map(names).astype(str).to_numpy(),
    })

    bgnbd = gg = None
    try:
        summary = timed("clv summary", lambda: fetch(rfm_summary(orders, as_of)))
        bgnbd = timed("bg/nbd", lambda: BetaGeo().fit(summary))
        gg = timed("gamma-gamma", lambda: GammaGamma().fit(summary))
        clv = timed("clv", lambda: customer_lifetime_value(
            bgnbd, gg, summary, horizon_months=clv_horizon_months, monthly_discount_rate=monthly_discount_rate))
        scores = scores.merge(clv[["customer_id", "p_alive", "expected_purchases", "clv", "clv_low", "clv_high"]]
                              .astype({"customer_id": str}), on="customer_id", how="left")
    except StoreliftError as exc:
        notes.append(f"lifetime value left out: {exc}")
        bgnbd = gg = None

    churn = None
    try:
        churn = timed("churn fit", lambda: ChurnModel(horizon_days=churn_horizon_days, random_state=random_state)
                      .fit(orders, as_of))
        risk = timed("churn predict", lambda: churn.predict(orders, as_of, explain=explain))
        scores = scores.merge(_churn_columns(risk), on="customer_id", how="left")
    except StoreliftError as exc:
        notes.append(f"churn left out: {exc}")
        churn = None

    for col in SCORE_COLUMNS:
        if col not in scores.columns:
            scores[col] = np.nan if col != "churn_reasons" else None
    scores["model_version"] = model_version(as_of, scored_at)
    segments = segment_summary(rfm)
    return CustomerScores(
        as_of=as_of, model_version=scores["model_version"].iat[0], scores=scores[SCORE_COLUMNS],
        segments=segments, pareto=pareto_curve(rfm["monetary"]), top20_share=top_share(rfm["monetary"], 0.2),
        cohorts=timed("cohorts", lambda: cohort_activity(orders).execute()),
        clusters=clusters, bgnbd=bgnbd, gamma_gamma=gg, churn=churn, notes=notes, seconds=seconds,
    )


def _churn_columns(risk: pd.DataFrame) -> pd.DataFrame:
    """ChurnModel.predict output mapped onto the customer_scores columns (reasons joined with '; ')."""
    reasons = [c for c in ("reason_1", "reason_2", "reason_3") if c in risk.columns]
    joined = np.full(len(risk), None, dtype=object)
    if reasons:  # only the explained customers have reasons: join just those rows
        parts = risk[reasons].to_numpy(dtype=object)
        explained = np.flatnonzero(pd.notna(parts).any(axis=1))
        joined[explained] = ["; ".join(str(p) for p in row if p is not None and not pd.isna(p))
                             for row in parts[explained]]
    return pd.DataFrame({
        "customer_id": risk["customer_id"].astype(str),
        "churn_probability": risk["churn_probability"].astype(float),
        "next_purchase_days": risk["next_purchase_days_median"].astype(float),
        "next_purchase_low": risk["next_purchase_days_low"].astype(float),
        "next_purchase_high": risk["next_purchase_days_high"].astype(float),
        "churn_reasons": joined,
    })
