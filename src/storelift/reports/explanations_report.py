"""Explanations in one page: what drives churn and lifetime value overall, why for a few customers, the
reason behind each recommended item, and how many recorded decisions say why they were made.

Everything is read from the workspace: the newest saved customer models (`storelift customers score`),
the newest recommendation model (`storelift recommend fit`) when there is one, and the decisions table.
Customers appear only under the ids the warehouse stores (pseudonymous); no contact data is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import pandas as pd
import plotly.graph_objects as go

from ..artifacts import ArtifactError, load_models
from .audit_report import LAYOUT
from .customers_report import importance_figure
from .html import Report

CUSTOMER_PREFIX = "customers-"
RECOMMEND_PREFIX = "recommend-"

EXPLANATION_COVERAGE_COLUMNS = {
    "initiative": "Initiative (recommendations, campaign, pricing...).",
    "decisions": "Decisions recorded.",
    "explained": "Decisions whose explanation is not empty.",
    "share_explained": "explained / decisions.",
}

EXAMPLE_COLUMNS = {"customer_id": "Customer (as stored, pseudonymous).", "role": "Why this customer is shown."}


def decision_explanation_coverage(decisions: ibis.Table) -> pd.DataFrame:
    """Per initiative, how many decisions carry a non-empty explanation (columns: EXPLANATION_COVERAGE_COLUMNS)."""
    has_text = decisions.explanation.notnull() & (decisions.explanation.strip().length() > 0)
    per = decisions.group_by("initiative").aggregate(decisions=decisions.count(),
                                                     explained=decisions.count(where=has_text))
    out = per.order_by([ibis.desc("decisions"), "initiative"]).execute()
    out["decisions"] = out["decisions"].astype("int64")
    out["explained"] = out["explained"].astype("int64")
    out["share_explained"] = out["explained"] / out["decisions"]
    return out[list(EXPLANATION_COVERAGE_COLUMNS)]


def example_customers(scores: pd.DataFrame, n: int = 4) -> pd.DataFrame:
    """A few customers worth explaining: the highest CLV, the most value at risk, a typical one and a one-time
    buyer (columns: EXAMPLE_COLUMNS). scores: customer_scores rows of one run."""
    scored = scores.dropna(subset=["clv"]).sort_values("customer_id", kind="stable")
    picks: list[tuple[str, str]] = []

    def pick(frame: pd.DataFrame, order: pd.Series, role: str) -> None:
        frame = frame[~frame["customer_id"].isin([c for c, _ in picks])]
        if len(frame):
            picks.append((str(frame.loc[order.loc[frame.index].idxmin(), "customer_id"]), role))

    if len(scored):
        pick(scored, -scored["clv"], "highest lifetime value")
        if scored["churn_probability"].notna().any():
            pick(scored, -(scored["churn_probability"].fillna(0) * scored["clv"]), "most value at risk of churn")
        pick(scored, (scored["clv"] - scored["clv"].median()).abs(), "typical (median lifetime value)")
        once = scored[scored["frequency"] == 1]
        pick(once, (once["clv"] - once["clv"].median()).abs(), "one order so far")
    return pd.DataFrame(picks[:n], columns=list(EXAMPLE_COLUMNS))


def _run_as_of(ws, version: str, scores: pd.DataFrame) -> pd.Timestamp | None:
    manifest = Path(ws.models_dir) / version / "manifest.json"
    as_of = json.loads(manifest.read_text()).get("as_of") if manifest.exists() else None
    if as_of is None and len(scores):
        as_of = scores["as_of"].iloc[0]
    if as_of is None:
        return None
    stamp = pd.Timestamp(as_of)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def _orders_before(ws, as_of: pd.Timestamp) -> ibis.Table:
    """Identified customers' orders before as_of with refunds made before it, as the scoring run read them."""
    from ..customers import customer_orders

    wh = ws.warehouse
    orders = customer_orders(wh.table("orders"), wh.table("order_lines"), wh.table("refunds"), as_of)
    return orders.filter(orders.ordered_at < ibis.literal(as_of.to_pydatetime(), type="timestamp"))


def _churn_reasons(churn, orders: ibis.Table, as_of: pd.Timestamp, examples: pd.DataFrame,
                   scores: pd.DataFrame) -> dict[str, list[str]]:
    """Churn reasons per example customer: the stored ones, or from the saved model for customers the run did
    not explain."""
    from ..customers.features import customer_features

    stored = scores.set_index("customer_id")["churn_reasons"]
    out = {c: str(stored.get(c)).split("; ") for c in examples["customer_id"] if pd.notna(stored.get(c))}
    missing = [c for c in examples["customer_id"] if c not in out]
    if churn is not None and missing:
        feats = customer_features(orders.filter(orders.customer_id.isin(missing)), as_of, churn.windows_).execute()
        found = churn.predict_features(feats, explain=True)
        columns = [c for c in ("reason_1", "reason_2", "reason_3") if c in found.columns]
        for _, row in found.iterrows():
            out[str(row["customer_id"])] = [str(v) for v in row[columns] if pd.notna(v)]
    return out


def partial_dependence_figure(partial: pd.DataFrame) -> go.Figure:
    """Mean CLV as each input moves from its 10th to its 90th percentile, the others held."""
    fig = go.Figure()
    for name, part in partial.groupby("input", sort=False):
        fig.add_trace(go.Scatter(
            x=part["quantile"], y=part["mean_clv"], mode="lines+markers", name=str(part["description"].iat[0]),
            customdata=part["value"], hovertemplate="value %{customdata:,.1f}: mean CLV %{y:,.2f}<extra></extra>"))
    fig.update_layout(title="How lifetime value responds to each input (partial dependence, repeat buyers)", **LAYOUT)
    fig.update_xaxes(title_text="the input's percentile among repeat buyers", tickformat=".0%")
    fig.update_yaxes(title_text="mean discounted CLV")
    return fig


def _add_churn(report: Report, churn) -> None:
    report.add_heading("Churn: what drives the risk")
    importance = getattr(churn, "feature_importance_", None)
    if importance is None:
        report.add_text("No churn model was fitted in the newest scoring run (too little history); run "
                        "`storelift customers score` on a longer history.")
        return
    report.add_text("Mean absolute TreeSHAP contribution of each feature to the churn model's log-odds "
                    "(Lundberg et al. 2020), over a sample of the training customers.", muted=True)
    report.add_figure(importance_figure(importance), height_px=420)
    report.add_table(importance, caption="Global churn importance, largest first.")


def _add_clv(report: Report, bgnbd, gg, summary: pd.DataFrame, horizon_months: int, rate: float) -> None:
    from ..customers.clv_explain import clv_partial_dependence, drivers_from_partial_dependence

    report.add_heading("Lifetime value: what drives it")
    if bgnbd is None or gg is None:
        report.add_text("Lifetime value was not fitted in the newest scoring run (no repeat buyers or too few "
                        "customers); see the notes of `storelift customers score`.")
        return
    partial = clv_partial_dependence(bgnbd, gg, summary, horizon_months=horizon_months, monthly_discount_rate=rate)
    drivers = drivers_from_partial_dependence(partial)
    report.add_metrics([
        ("store mean order value", f"{gg.mean_order_value():,.2f}", "Gamma-Gamma population mean"),
        ("horizon", f"{horizon_months} months", f"discounted at {rate:.1%} a month"),
        ("repeat buyers", int((summary["frequency"] > 0).sum()), f"of {len(summary):,} customers"),
    ])
    report.add_text(
        "Each input of the BG/NBD x Gamma-Gamma model is set to the same value for every sampled repeat buyer "
        "while the others keep their own values, and the mean CLV is read off (partial dependence). "
        "The median can move the other way: for customers silent for months, more repeat purchases make a "
        "drop-out likelier, so their CLV falls.", muted=True)
    report.add_figure(partial_dependence_figure(partial), height_px=400)
    two_places = {c: (lambda v: f"{v:,.2f}") for c in ("low", "high", "mean_clv_low", "mean_clv_high", "change",
                                                         "median_change")}
    percent = {c: (lambda v: f"{v:.0%}") for c in ("low_quantile", "high_quantile")}
    report.add_table(drivers, caption="Change in mean (and median) CLV for one inter-quartile step of each input.",
                     formats={**two_places, **percent})


def _add_examples(report: Report, examples: pd.DataFrame, clv_reasons: pd.DataFrame | None,
                  churn_reasons: dict[str, list[str]], scores: pd.DataFrame) -> None:
    report.add_heading("Why, for a few customers")
    if examples.empty:
        report.add_text("The newest scoring run has no customer with a lifetime value to explain.")
        return
    by_id = scores.set_index("customer_id")
    clv_by_id = clv_reasons.set_index("customer_id") if clv_reasons is not None else None
    for customer, role in examples.itertuples(index=False):
        row = by_id.loc[customer]
        report.add_heading(f"{role}: customer {customer}", level=3)
        churn = f", churn probability {row['churn_probability']:.0%}" if pd.notna(row["churn_probability"]) else ""
        report.add_text(f"CLV {row['clv']:,.2f} (P(alive) {row['p_alive']:.2f}){churn}.", muted=True)
        lines = [("churn risk", text) for text in churn_reasons.get(customer, [])]
        if clv_by_id is not None and customer in clv_by_id.index:
            lines += [("lifetime value", clv_by_id.at[customer, c]) for c in ("reason_1", "reason_2", "reason_3")]
        report.add_table(pd.DataFrame(lines, columns=["score", "reason"]))


def _consenting(ws) -> set[str]:
    """Customers whose personalization consent in force is a grant."""
    from ..governance.consent import consenting_ids

    wh = ws.warehouse
    return set(consenting_ids(wh.table("consents"), "personalization")) if wh.has_table("consents") else set()


def _add_recommendations(report: Report, ws, examples: pd.DataFrame, n: int = 3, k: int = 5) -> None:
    from ..recommend.personalize import Personalizer
    from ..recommend.sources import customer_purchases

    report.add_heading("Recommendations: a reason per item")
    try:
        version, saved = load_models(ws.models_dir, prefix=RECOMMEND_PREFIX)
    except ArtifactError:
        report.add_text("No recommendation model is saved yet; run `storelift recommend fit` to add this section.")
        return
    catalog = saved["catalog"]
    personalizer = Personalizer.from_artifact(saved)  # as served: vendor weights included
    allowed = _consenting(ws)
    chosen = [c for c in examples["customer_id"] if c in allowed]
    chosen += sorted(c for c in allowed if c in saved["interactions"].users and c not in chosen)
    consent = bool(chosen)
    if not consent:  # nobody allows personalization: show what they are shown, the non-personalized list
        chosen = list(examples["customer_id"])
    report.add_text(f"Model version {version}. Lists as the customer would get them now, business rules applied"
                    + ("." if consent else "; no customer has granted personalization consent, so these are the "
                       "non-personalized lists everyone without consent gets."), muted=True)
    wh = ws.warehouse
    for customer in chosen[:n]:  # as `storelift recommend show` gives them: recent purchases excluded too
        bought = (customer_purchases(wh.table("orders"), wh.table("order_lines"), customer)
                  if consent and wh.has_table("order_lines") else None)
        recs = personalizer.recommend(customer, k, consent=consent, purchases=bought)
        recs["title"] = [catalog.label(int(i)) for i in catalog.items.get_indexer(recs["item_id"])]
        report.add_table(recs[["rank", "item_id", "title", "reason", "personalized"]], caption=f"Customer {customer}")


def _add_decisions(report: Report, ws) -> None:
    report.add_heading("Decisions: how many say why")
    wh = ws.warehouse
    coverage = decision_explanation_coverage(wh.table("decisions")) if wh.has_table("decisions") else pd.DataFrame()
    if coverage.empty:
        report.add_text("No automated decision has been recorded yet (the `decide` path of `storelift serve` "
                        "writes one per recommendation list, campaign send or price shown).")
        return
    total, explained = int(coverage["decisions"].sum()), int(coverage["explained"].sum())
    report.add_metrics([("decisions", total, "all initiatives"),
                        ("with an explanation", f"{explained / total:.1%}", f"{explained:,} decisions")])
    report.add_table(coverage, caption="Share of decisions rows with a non-empty explanation, by initiative.",
                     formats={"share_explained": lambda v: f"{v:.1%}"})


def write_explanations_report(ws, path=None, *, examples: int = 4, horizon_months: int = 12,
                              monthly_discount_rate: float = 0.01) -> Path:
    """reports/explanations.html (or `path`): global churn importance and CLV drivers, reasons for a few
    customers, recommendation reasons and the decisions' explanation coverage. Returns the path written."""
    from ..customers.clv_data import rfm_summary
    from ..customers.clv_explain import clv_reasons

    path = Path(path) if path is not None else ws.reports_dir / "explanations.html"
    report = Report("Explanations", f"{ws.config.name} · why each score, list and decision is what it is")
    report.add_text("Customers are shown only by the ids stored in the warehouse, which are pseudonymous; "
                    "no names, e-mail addresses or other contact details are read for this report.")
    try:
        version, models = load_models(ws.models_dir, prefix=CUSTOMER_PREFIX)
    except ArtifactError:
        version, models = None, {}
    picks = pd.DataFrame(columns=list(EXAMPLE_COLUMNS))
    if version is None:
        report.add_heading("Churn and lifetime value")
        report.add_text("No customer models are saved yet; run `storelift customers score` to add the churn and "
                        "lifetime-value sections.")
    else:
        t = ws.warehouse.table("customer_scores")
        scores = t.filter(t.model_version == version).execute()
        as_of = _run_as_of(ws, version, scores)
        report.add_text(f"Customer models: version {version}, as of {as_of:%Y-%m-%d}.", muted=True)
        orders = _orders_before(ws, as_of)
        bgnbd, gg, churn = models.get("bgnbd"), models.get("gamma_gamma"), models.get("churn")
        _add_churn(report, churn)
        summary = rfm_summary(orders, as_of).execute() if bgnbd is not None and gg is not None else None
        _add_clv(report, bgnbd, gg, summary, horizon_months, monthly_discount_rate)
        picks = example_customers(scores, examples)
        reasons = None
        if summary is not None and len(picks):
            chosen = summary[summary["customer_id"].isin(picks["customer_id"])]
            reasons = clv_reasons(bgnbd, gg, chosen, horizon_months=horizon_months,
                                  monthly_discount_rate=monthly_discount_rate)
        _add_examples(report, picks, reasons, _churn_reasons(churn, orders, as_of, picks, scores), scores)
    _add_recommendations(report, ws, picks)
    _add_decisions(report, ws)
    return report.write(path)
