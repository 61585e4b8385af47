"""Per-capability readiness: can this store's data feed segmentation, CLV, churn, recommendations...?

`store_profile` pulls a handful of aggregates through Ibis; `assess_readiness` turns them into one
row per capability with columns:

- capability: segmentation, clv, churn, recommendations, search_content, experiments, attribution,
  forecast, pricing, campaigns, fairness
- ready: yes, partly or no
- needs: what the capability needs, in words
- has: what the warehouse holds, with numbers
- detail: what is missing and what to load (or what works already)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import ibis
import pandas as pd

from .common import Tables, TableSet, as_timestamp, loaded, one_row
from .coverage import latest_consents

READINESS_COLUMNS = ["capability", "ready", "needs", "has", "detail"]
LEVELS = ("yes", "partly", "no")


@dataclass(frozen=True)
class ReadinessThresholds:
    """The amounts of data each capability needs to be called ready."""

    min_buyers: int = 100  # identified buyers for segmentation
    min_repeat_buyers: int = 50  # customers with 2+ orders for CLV and churn
    clv_months: float = 6.0  # months of order history for CLV
    churn_months: float = 9.0  # calibration before a cutoff plus an observation window after it
    churn_window_days: int = 90
    min_interactions: int = 1000  # customer-item interactions for recommendations
    min_item_coverage: float = 0.5  # share of catalogue products with an interaction
    min_title_share: float = 0.95
    min_description_share: float = 0.5
    forecast_weeks: int = 52  # weeks with sales for demand forecasting
    min_price_changes: int = 10  # products sold at 2+ prices, for elasticity
    min_email_audience: int = 100  # customers granting e-mail, for campaigns
    min_protected_share: float = 0.5  # share of customers with gender or birth year


@dataclass
class StoreProfile:
    """The aggregates readiness is judged on (all small numbers)."""

    as_of: pd.Timestamp
    rows: dict[str, int] = field(default_factory=dict)
    first_order: pd.Timestamp | None = None
    last_order: pd.Timestamp | None = None
    history_months: float = 0.0
    weeks_with_sales: int = 0
    identified_orders: int = 0
    identified_buyers: int = 0
    repeat_buyers: int = 0
    amount_share: float = 0.0  # order lines with a known amount
    interactions: int = 0  # order lines of identified orders + product events by a known person
    interaction_users: int = 0
    interaction_items: int = 0
    catalogue_items_with_interactions: int = 0
    title_share: float = 0.0
    description_share: float = 0.0
    experiments: int = 0
    experiments_with_arms: int = 0  # experiments with 2 or more arms
    touches_with_campaign: int = 0
    touch_channels: int = 0
    touch_cost_share: float = 0.0
    priced_lines: int = 0
    products_with_price_changes: int = 0
    cost_share: float = 0.0
    email_consent_records: int = 0
    email_audience: int = 0
    gender_share: float = 0.0
    birth_year_share: float = 0.0

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, pd.Timestamp) else v) for k, v in asdict(self).items()}


def store_profile(tables: Tables, as_of=None) -> StoreProfile:
    """Measure what the warehouse holds for each capability."""
    tables = TableSet.of(tables)
    p = StoreProfile(as_of=as_timestamp(as_of))
    p.rows = tables.count_all()
    orders, lines = loaded(tables, "orders"), loaded(tables, "order_lines")
    products, customers = loaded(tables, "products"), loaded(tables, "customers")
    events = loaded(tables, "events")

    if p.rows.get("orders"):
        span = one_row(orders.aggregate(first=orders.ordered_at.min(), last=orders.ordered_at.max(),
                                        identified=orders.count(where=orders.customer_id.notnull()),
                                        weeks=orders.ordered_at.truncate("W").nunique()))
        if span["last"] is not None:
            p.first_order, p.last_order = pd.Timestamp(span["first"]), pd.Timestamp(span["last"])
            p.history_months = (p.last_order - p.first_order).days / 30.4375
        p.identified_orders, p.weeks_with_sales = int(span["identified"]), int(span["weeks"] or 0)
        known = orders.filter(orders.customer_id.notnull())
        per = known.group_by("customer_id").aggregate(n=known.order_id.nunique())
        agg = one_row(per.aggregate(buyers=per.count(), repeat=per.count(where=per.n >= 2)))
        p.identified_buyers, p.repeat_buyers = int(agg["buyers"] or 0), int(agg["repeat"] or 0)

    pairs = []
    if p.rows.get("order_lines"):
        agg = one_row(lines.aggregate(n=lines.count(), amounts=lines.amount.count(), priced=lines.unit_price.count()))
        p.amount_share = agg["amounts"] / agg["n"]
        p.priced_lines = int(agg["priced"] or 0)
        # the price paid per unit, after line discounts: promotions often discount the line, not the list price
        paid = lines.filter(lines.amount.notnull() & (lines.quantity > 0))
        paid = paid.mutate(paid_price=(paid.amount / paid.quantity).round(2))
        per_product = paid.group_by("product_id").aggregate(prices=paid.paid_price.nunique())
        p.products_with_price_changes = int(per_product.count(where=per_product.prices >= 2).execute())
        if orders is not None:
            sold = lines.inner_join(orders, lines.order_id == orders.order_id).filter(orders.customer_id.notnull())
            pairs.append(sold.select(person=orders.customer_id, product_id=lines.product_id))
    if p.rows.get("events"):
        viewed = events.filter(events.product_id.notnull()
                               & (events.customer_id.notnull() | events.anonymous_id.notnull()))
        pairs.append(viewed.select(person=viewed.customer_id.fill_null(viewed.anonymous_id),
                                   product_id=viewed.product_id))
    if pairs:
        inter = pairs[0] if len(pairs) == 1 else ibis.union(*pairs, distinct=False)
        agg = one_row(inter.aggregate(n=inter.count(), users=inter.person.nunique(), items=inter.product_id.nunique()))
        p.interactions, p.interaction_users, p.interaction_items = (int(agg[k]) for k in ("n", "users", "items"))
        if p.rows.get("products"):
            items = inter.select("product_id").distinct()
            p.catalogue_items_with_interactions = int(
                products.semi_join(items, products.product_id == items.product_id).count().execute())

    if p.rows.get("products"):
        agg = one_row(products.aggregate(n=products.count(), titles=products.title.count(),
                                         descriptions=products.description.count(), costs=products.cost.count()))
        p.title_share, p.description_share = agg["titles"] / agg["n"], agg["descriptions"] / agg["n"]
        p.cost_share = agg["costs"] / agg["n"]

    assignments = loaded(tables, "assignments")
    if p.rows.get("assignments"):
        arms = assignments.group_by("experiment").aggregate(arms=assignments.arm.nunique())
        agg = one_row(arms.aggregate(n=arms.count(), with_arms=arms.count(where=arms.arms >= 2)))
        p.experiments, p.experiments_with_arms = int(agg["n"] or 0), int(agg["with_arms"] or 0)

    touches = loaded(tables, "touches")
    if p.rows.get("touches"):
        agg = one_row(touches.aggregate(n=touches.count(), campaign=touches.count(where=touches.campaign.notnull()),
                                        channels=touches.channel.nunique(), costs=touches.cost.count()))
        p.touches_with_campaign, p.touch_channels = int(agg["campaign"] or 0), int(agg["channels"] or 0)
        p.touch_cost_share = agg["costs"] / agg["n"]

    consents = loaded(tables, "consents")
    if p.rows.get("consents"):
        email = latest_consents(consents.filter(consents.purpose == "email"))
        agg = one_row(email.aggregate(n=email.count(), granted=email.count(where=email.granted)))
        p.email_consent_records, p.email_audience = int(agg["n"] or 0), int(agg["granted"] or 0)

    if p.rows.get("customers"):
        agg = one_row(customers.aggregate(n=customers.count(), gender=customers.gender.count(),
                                          birth=customers.birth_year.count()))
        p.gender_share, p.birth_year_share = agg["gender"] / agg["n"], agg["birth"] / agg["n"]
    return p


def _row(capability: str, ready: str, needs: str, has: str, detail: str) -> dict:
    assert ready in LEVELS, ready
    return {"capability": capability, "ready": ready, "needs": needs, "has": has, "detail": detail}


def _shortfalls(p: StoreProfile, t: ReadinessThresholds, months: float) -> str:
    """What history and repeat buying are short of, and what to load."""
    short = []
    if p.history_months < months:
        short.append(f"{p.history_months:.1f} months of orders (want {months:g}+): load older orders")
    if p.repeat_buyers < t.min_repeat_buyers:
        short.append(f"{p.repeat_buyers} repeat buyers (want {t.min_repeat_buyers}+): load more history or "
                     "check that customer ids are stable")
    return "; ".join(short)


def assess_readiness(tables: Tables, as_of=None, thresholds: ReadinessThresholds | None = None,
                     profile: StoreProfile | None = None) -> pd.DataFrame:
    """One row per capability: is the data ready (yes/partly/no), what it needs and has, and what to load."""
    p = profile or store_profile(tables, as_of)
    t = thresholds or ReadinessThresholds()
    orders = p.rows.get("orders", 0)
    months = f"{p.history_months:.1f} months of orders"
    rows = []

    # segmentation (RFM)
    needs = f"orders with customer ids and amounts for {t.min_buyers}+ buyers"
    has = f"{p.identified_orders:,} of {orders:,} orders with a customer id; {p.identified_buyers:,} buyers; " \
          f"{p.amount_share:.0%} of lines with an amount"
    if p.identified_buyers == 0 or p.amount_share == 0:
        ready, detail = "no", "load orders with customer ids and order lines with prices or amounts"
    elif p.identified_buyers >= t.min_buyers and p.amount_share >= 0.9:
        ready, detail = "yes", "RFM segments can be computed for every identified buyer"
    else:
        short = []
        if p.identified_buyers < t.min_buyers:
            short.append(f"{p.identified_buyers} identified buyers (want {t.min_buyers}+): load more orders "
                         "with customer ids")
        if p.amount_share < 0.9:
            short.append(f"{p.amount_share:.0%} of lines have an amount (want 90%+): export prices or line totals")
        ready, detail = "partly", "segments work but are thin: " + "; ".join(short)
    rows.append(_row("segmentation", ready, needs, has, detail))

    # CLV
    needs = f"{t.clv_months:g}+ months of orders and {t.min_repeat_buyers}+ repeat buyers with amounts"
    has = f"{months}; {p.repeat_buyers:,} repeat buyers"
    if p.repeat_buyers == 0 or p.amount_share == 0 or p.history_months < t.clv_months / 2:
        ready = "no"
        detail = (f"BG/NBD and Gamma-Gamma learn from repeat purchases over time: have {months} and "
                  f"{p.repeat_buyers} repeat buyers; load at least {t.clv_months:g} months of orders with customer ids")
    elif p.history_months >= t.clv_months and p.repeat_buyers >= t.min_repeat_buyers:
        ready, detail = "yes", "enough history and repeat buying to fit BG/NBD and Gamma-Gamma"
    else:
        ready = "partly"
        detail = "a model fits but is uncertain: " + _shortfalls(p, t, t.clv_months)
    rows.append(_row("clv", ready, needs, has, detail))

    # churn
    needs = (f"{t.churn_months:g}+ months of orders: a cutoff with {t.churn_window_days} days after it "
             f"to observe who returned, and repeat buyers")
    has = f"{months}; {p.repeat_buyers:,} repeat buyers"
    cutoff = (p.last_order - pd.Timedelta(days=t.churn_window_days)) if p.last_order is not None else None
    if p.history_months < t.churn_months / 2 or p.repeat_buyers == 0:
        ready = "no"
        detail = (f"churn labels need behaviour before and after a cutoff: have {months}; load at least "
                  f"{t.churn_months:g} months of orders with customer ids")
    elif p.history_months >= t.churn_months and p.repeat_buyers >= t.min_repeat_buyers:
        ready, detail = "yes", f"suggested cutoff {cutoff:%Y-%m-%d}, leaving {t.churn_window_days} days to observe"
    else:
        ready = "partly"
        detail = f"labels at a cutoff of {cutoff:%Y-%m-%d} are thin: " + _shortfalls(p, t, t.churn_months)
    rows.append(_row("churn", ready, needs, has, detail))

    # recommendations
    products = p.rows.get("products", 0)
    coverage = p.catalogue_items_with_interactions / products if products else 0.0
    needs = (f"{t.min_interactions:,}+ customer-product interactions (order lines or product events) "
             f"covering {t.min_item_coverage:.0%}+ of the catalogue")
    has = (f"{p.interactions:,} interactions by {p.interaction_users:,} people on {p.interaction_items:,} products; "
           + (f"{coverage:.0%} of {products:,} catalogue products" if products else "no catalogue loaded"))
    if p.interactions == 0:
        ready, detail = "no", "load orders with customer ids and their lines, or product events with user ids"
    elif p.interactions >= t.min_interactions and products and coverage >= t.min_item_coverage:
        ready, detail = "yes", "enough interactions for ALS/EASE and item-kNN; popular items fill cold starts"
    else:
        missing = []
        if p.interactions < t.min_interactions:
            missing.append(f"more interactions (have {p.interactions:,}, want {t.min_interactions:,}): "
                           "load product view/add-to-cart events")
        if not products:
            missing.append("the product catalogue, so recommendations can be described and filtered")
        elif coverage < t.min_item_coverage:
            missing.append(f"coverage: {coverage:.0%} of products were ever bought or viewed; others get "
                           "content-based recommendations only")
        ready, detail = "partly", "needs " + "; ".join(missing)
    rows.append(_row("recommendations", ready, needs, has, detail))

    # search and content
    needs = f"product titles ({t.min_title_share:.0%}+) and descriptions ({t.min_description_share:.0%}+)"
    has = (f"{products:,} products; {p.title_share:.0%} with titles, {p.description_share:.0%} with descriptions"
           if products else "no products loaded")
    if not products or p.title_share == 0:
        ready, detail = "no", "load the product catalogue with titles (and descriptions for semantic search)"
    elif p.title_share >= t.min_title_share and p.description_share >= t.min_description_share:
        ready, detail = "yes", "hybrid lexical and semantic search and grounded content can use the catalogue"
    else:
        ready = "partly"
        detail = ("lexical search works on titles; semantic search and grounded copy need descriptions: "
                  "export the long description" if p.title_share >= t.min_title_share
                  else f"{1 - p.title_share:.0%} of products have no title: export product names")
    rows.append(_row("search_content", ready, needs, has, detail))

    # experiments
    needs = "experiment assignments (2+ arms) or campaign touches, and orders to measure outcomes"
    has = f"{p.experiments} experiments ({p.experiments_with_arms} with 2+ arms); " \
          f"{p.touches_with_campaign:,} touches with a campaign; {orders:,} orders"
    if orders == 0:
        ready, detail = "no", "load orders: lift is measured on orders joined to assignments"
    elif p.experiments_with_arms:
        ready, detail = "yes", "past experiments can be analysed (CUPED, sequential, Bayesian)"
    else:
        ready = "partly"
        detail = ("no past experiment to analyse; storelift assigns holdouts from now on" +
                  ("; campaign touches allow observational comparisons" if p.touches_with_campaign else
                   "; load campaign touches to compare past campaigns"))
    rows.append(_row("experiments", ready, needs, has, detail))

    # attribution
    touches = p.rows.get("touches", 0)
    needs = "touches on 2+ channels with costs, and orders by the same customers"
    has = f"{touches:,} touches on {p.touch_channels} channels; {p.touch_cost_share:.0%} with a cost"
    if touches == 0:
        ready, detail = "no", "load marketing touches (sends, clicks, ad impressions) with channel and cost"
    elif p.touch_channels >= 2 and p.touch_cost_share >= 0.5 and orders:
        ready, detail = "yes", "rule-based, Markov and Shapley attribution and ROI per channel can run"
    else:
        missing = [m for m, bad in (("a second channel", p.touch_channels < 2),
                                    ("costs on touches (for ROI)", p.touch_cost_share < 0.5),
                                    ("orders", not orders)) if bad]
        ready, detail = "partly", "load " + ", ".join(missing)
    rows.append(_row("attribution", ready, needs, has, detail))

    # forecast
    needs = f"{t.forecast_weeks}+ weeks with sales (a year, to see seasonality)"
    has = f"{p.weeks_with_sales} weeks with sales; {months}"
    if p.weeks_with_sales < 8:
        ready, detail = "no", f"have {p.weeks_with_sales} weeks with sales; load at least a year of orders"
    elif p.weeks_with_sales >= t.forecast_weeks:
        ready, detail = "yes", "weekly demand forecasts with yearly seasonality"
    else:
        ready = "partly"
        detail = (f"short-horizon forecasts only: {p.weeks_with_sales} of {t.forecast_weeks} weeks; "
                  "load older orders to capture seasonality")
    rows.append(_row("forecast", ready, needs, has, detail))

    # pricing
    needs = (f"prices paid over time with {t.min_price_changes}+ products sold at 2+ prices, "
             f"{t.forecast_weeks}+ weeks of sales, and costs for margins")
    has = (f"{p.priced_lines:,} priced lines; {p.products_with_price_changes} products with price changes; "
           f"{p.weeks_with_sales} weeks; {p.cost_share:.0%} of products with a cost")
    if p.priced_lines == 0:
        ready, detail = "no", "load order lines with unit prices"
    elif (p.products_with_price_changes >= t.min_price_changes and p.weeks_with_sales >= t.forecast_weeks
          and p.cost_share >= 0.5):
        ready, detail = "yes", "elasticities can be estimated and margin-constrained prices proposed"
    else:
        missing = []
        if p.products_with_price_changes < t.min_price_changes:
            missing.append(f"price variation ({p.products_with_price_changes} products changed price, want "
                           f"{t.min_price_changes}): elasticity needs past price changes or price tests")
        if p.weeks_with_sales < t.forecast_weeks:
            missing.append(f"a year of sales (have {p.weeks_with_sales} weeks)")
        if p.cost_share < 0.5:
            missing.append("product costs, for margin guards")
        ready, detail = "partly", "needs " + "; ".join(missing)
    rows.append(_row("pricing", ready, needs, has, detail))

    # campaigns
    needs = f"{t.min_email_audience}+ customers whose latest e-mail consent is a grant"
    has = f"{p.email_audience:,} customers grant e-mail ({p.email_consent_records:,} with an e-mail consent record)"
    if p.email_audience == 0:
        ready = "no"
        detail = ("no customer grants e-mail, so campaigns can send to nobody; load newsletter opt-ins as consents "
                  "with purpose 'email'")
    elif p.email_audience >= t.min_email_audience:
        ready, detail = "yes", "triggered and batch e-mail campaigns can send, with holdouts"
    else:
        ready = "partly"
        detail = (f"only {p.email_audience} reachable customers; holdout comparisons will be noisy below "
                  f"{t.min_email_audience}: load all e-mail opt-ins")
    rows.append(_row("campaigns", ready, needs, has, detail))

    # fairness
    needs = f"protected attributes (gender, birth year) for {t.min_protected_share:.0%}+ of customers"
    has = (f"gender for {p.gender_share:.0%}, birth year for {p.birth_year_share:.0%} of customers"
           if p.rows.get("customers") else "no customers loaded")
    best = max(p.gender_share, p.birth_year_share)
    if best == 0:
        ready = "no"
        detail = ("fairness audits compare outcomes across protected groups; load self-declared gender or birth "
                  "year where customers gave them (used only for audits)")
    elif min(p.gender_share, p.birth_year_share) >= t.min_protected_share:
        ready, detail = "yes", "outcomes can be audited by gender and age group"
    else:
        ready = "partly"
        detail = "audits run for the attributes present; groups without the attribute are reported as unknown"
    rows.append(_row("fairness", ready, needs, has, detail))
    return pd.DataFrame(rows, columns=READINESS_COLUMNS).astype(str)
