"""Fairness audits on a store's data: a workspace's warehouse or a synthetic store's files.

Each run audits the targeting decision (fairness_targeting), the campaign audiences already sent
(fairness_audiences) and, when the workspace has a recommendation model, recommendation exposure by
vendor, brand and category against the catalogue. On a synthetic store the outcomes come from the true
orders (ground_truth/unlinked_orders.parquet puts back the ones a planted bias unlinked), and
`alarm_rates` measures how often the audit flags stores with and without a planted bias, over seeds.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd
import pyarrow.csv as pcsv

from ..warehouse import fetch
from .fairness import FairnessError
from .fairness_audiences import campaign_audits
from .fairness_targeting import TargetingFairness, audit_targeting

EXPOSURE_DIMENSIONS = ("vendor", "brand", "category")
CUSTOMER_COLUMNS = ["customer_id", "created_at", "gender", "birth_year"]
ALARM_COLUMNS = ["seed", "customers", "planted_group", "flagged_groups", "has_alarm", "is_planted_group_flagged",
                 "planted_disparate_impact", "demographic_parity_difference_before",
                 "demographic_parity_difference_after", "seconds"]


@dataclass
class StoreFairness:
    """Everything one fairness run found: the targeting audit, the campaign audits (CAMPAIGN_AUDIT_COLUMNS),
    recommendation exposure per dimension (exposure_share columns; empty when there is no model) and, on a
    synthetic store, what was planted (truth.json's planted_bias; None otherwise)."""

    targeting: TargetingFairness
    campaigns: pd.DataFrame
    exposure: dict[str, pd.DataFrame] = field(default_factory=dict)
    planted_bias: dict | None = None


def default_as_of(orders: ibis.Table, horizon_days: float) -> pd.Timestamp:
    """The start of the day horizon_days before the last order: the latest date whose outcomes are all known."""
    last = fetch(orders.aggregate(last=orders.ordered_at.max()))["last"].iat[0]
    if last is None or pd.isna(last):
        raise FairnessError("there are no orders to audit; load orders first")
    last = pd.Timestamp(last)
    last = last.tz_convert("UTC").tz_localize(None) if last.tzinfo is not None else last
    return (last - pd.Timedelta(days=float(horizon_days))).normalize()


def read_store_table(store_dir: Path, name: str) -> pd.DataFrame:
    """One table of a synthetic store folder (Parquet or CSV)."""
    folder = Path(store_dir)
    if (folder / f"{name}.parquet").exists():
        return pd.read_parquet(folder / f"{name}.parquet")
    if (folder / f"{name}.csv").exists():
        options = pcsv.ConvertOptions(strings_can_be_null=True)  # an empty cell is a missing value, as written
        return pcsv.read_csv(folder / f"{name}.csv", convert_options=options).to_pandas()
    raise FairnessError(f"{folder} has no {name}.parquet or {name}.csv; point at a folder written by "
                        "`storelift synth` (or generate_store)")


def store_fairness(store_dir: Path, as_of=None, *, horizon_days: float = 90, audience_share: float = 0.3,
                   **audit_options) -> StoreFairness:
    """Audit a synthetic store's files: the propensity audience as of as_of (default: default_as_of), scored
    against the true orders, and the campaign audiences. audit_options go to audit_targeting."""
    from ..customers import customer_orders

    folder = Path(store_dir)
    read = lambda name: read_store_table(folder, name)  # noqa: E731
    raw_orders, lines, refunds = read("orders"), ibis.memtable(read("order_lines")), ibis.memtable(read("refunds"))
    customers = read("customers")
    unlinked_path = folder / "ground_truth" / "unlinked_orders.parquet"
    true_orders = raw_orders
    if unlinked_path.exists():
        owners = pd.read_parquet(unlinked_path).set_index("order_id")["customer_id"]
        true_owner = raw_orders["customer_id"].fillna(raw_orders["order_id"].map(owners))
        true_orders = raw_orders.assign(customer_id=true_owner)
    as_of = pd.Timestamp(as_of) if as_of is not None else default_as_of(ibis.memtable(raw_orders), horizon_days)
    recorded = customer_orders(ibis.memtable(raw_orders), lines, refunds, refunds_before=as_of)
    truth = customer_orders(ibis.memtable(true_orders), lines, refunds, refunds_before=as_of)
    targeting = audit_targeting(recorded, customers, as_of, horizon_days=horizon_days, audience_share=audience_share,
                                outcome_orders=truth, **audit_options)
    truth_path = folder / "ground_truth" / "truth.json"
    planted = json.loads(truth_path.read_text()).get("planted_bias") if truth_path.exists() else None
    campaigns = campaign_audits(ibis.memtable(read("touches")), customers, ibis.memtable(read("consents")))
    return StoreFairness(targeting, campaigns, {}, planted)


def recommendation_exposure(ws, customers: int = 300, k: int = 10) -> dict[str, pd.DataFrame]:
    """Exposure share by vendor, brand and category in the newest recommendation model's top-k lists for up
    to `customers` customers with personalization consent; {} when the workspace has no such model."""
    from ..artifacts import ArtifactError, load_models
    from ..recommend.personalize import Personalizer
    from ..recommend.rules import exposure_share
    from .consent import consenting_audience

    try:
        _, saved = load_models(ws.models_dir, prefix="recommend-")
    except ArtifactError:
        return {}
    wh = ws.warehouse
    people = wh.table("customers").select("customer_id")
    ids = fetch(consenting_audience(people, wh.table("consents"), "personalization").order_by("customer_id")
                .limit(customers))["customer_id"]
    personalizer = Personalizer.from_artifact(saved)  # the lists as served: vendor weights, segment lists
    catalog = saved["catalog"]
    shown = [personalizer.recommend(customer, k) for customer in ids]
    if not shown:
        return {}
    lists = pd.concat(shown, ignore_index=True)
    lists["item_row"] = catalog.items.get_indexer(lists["item_id"])
    return {by: exposure_share(lists, catalog, by=by) for by in EXPOSURE_DIMENSIONS}


def workspace_fairness(ws, as_of=None, *, horizon_days: float = 90, audience_share: float = 0.3,
                       exposure_customers: int = 300, **audit_options) -> StoreFairness:
    """Audit a workspace: the propensity audience as of as_of (default: default_as_of), the campaign audiences
    in its touches, and recommendation exposure when a recommendation model is saved."""
    from ..customers import customer_orders

    wh = ws.warehouse
    as_of = pd.Timestamp(as_of) if as_of is not None else default_as_of(wh.table("orders"), horizon_days)
    orders = customer_orders(wh.table("orders"), wh.table("order_lines"), wh.table("refunds"), refunds_before=as_of)
    customers = fetch(wh.table("customers").select(*CUSTOMER_COLUMNS))
    targeting = audit_targeting(orders, customers, as_of, horizon_days=horizon_days, audience_share=audience_share,
                                **audit_options)
    campaigns = campaign_audits(wh.table("touches"), customers, wh.table("consents"))
    return StoreFairness(targeting, campaigns, recommendation_exposure(ws, exposure_customers), None)


def alarm_rates(seeds, customers: int = 2000, planted_bias=None, as_of=None,
                **audit_options) -> pd.DataFrame:
    """Generate a synthetic store per seed (with `planted_bias`, or none), audit its propensity audience as of
    as_of (default: default_as_of), and report what was flagged. Columns: ALARM_COLUMNS; has_alarm.mean() is
    the false-alarm rate without a planted bias, is_planted_group_flagged.mean() the detection rate with one."""
    from ..synth import generate_store

    rows = []
    for seed in seeds:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="storelift-fairness-") as folder:
            generate_store(Path(folder), customers=customers, seed=int(seed), events=False, planted_bias=planted_bias)
            result = store_fairness(Path(folder), as_of, **audit_options).targeting
        before, after, flagged = result.before, result.after, result.flagged
        gender = before["attribute"] == "gender"
        planted = None if planted_bias is None else (planted_bias.attribute, planted_bias.group)
        hit = before[(before["attribute"] == planted[0]) & (before["group"] == planted[1])] if planted else before[:0]
        rows.append({
            "seed": int(seed), "customers": customers, "planted_group": "/".join(planted) if planted else "",
            "flagged_groups": ", ".join(f"{a}={g}" for a, g in zip(flagged["attribute"], flagged["group"])),
            "has_alarm": bool(before["flagged"].any()),
            "is_planted_group_flagged": bool(hit["flagged"].any()) if planted else False,
            "planted_disparate_impact": float(hit["disparate_impact"].iat[0]) if len(hit) else float("nan"),
            "demographic_parity_difference_before": float(before.loc[gender, "demographic_parity_difference"].iat[0]),
            "demographic_parity_difference_after": float(after.loc[after["attribute"] == "gender",
                                                                   "demographic_parity_difference"].iat[0]),
            "seconds": round(time.perf_counter() - started, 2)})
    return pd.DataFrame(rows, columns=ALARM_COLUMNS)


def false_alarm_rate(seeds=range(20), customers: int = 2000, **audit_options) -> float:
    """Share of unbiased synthetic stores (one per seed) where the targeting audit flags any group."""
    return float(alarm_rates(seeds, customers, None, **audit_options)["has_alarm"].mean())

