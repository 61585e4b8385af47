"""`storelift recommend ...`: fit, evaluate and show product recommendations from the workspace's data."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.table import Table

from .cli_common import WorkspaceArg, console, err, fail
from .errors import StoreliftError
from .workspace import Workspace

app = typer.Typer(help="Recommendations: fit models on purchases and product events, evaluate them, show lists.",
                  no_args_is_help=True)

MODELS = ("ease", "itemknn", "popularity", "als", "bpr", "hybrid", "sasrec")
SEQUENTIAL = "sasrec"  # fitted on each customer's items in time order, not on the matrix
ARTIFACT_PREFIX = "recommend-"
INDEX_MIN_ITEMS = 10_000  # below this, scoring every item is as fast as an approximate index
FULL_SOFTMAX_MAX_ITEMS = 5_000  # SASRec trains on a sampled softmax above this catalog size


def make_model(name: str, n_items: int, texts=None):
    """A model by CLI name; EASE falls back to ItemKNN above its dense-matrix item limit. hybrid blends
    that with product-text similarity (needs `texts`, one per item column), so new products get shown."""
    from .recommend import EASE, ContentKNN, Hybrid, ItemKNN, Popularity

    if name == "hybrid":
        if texts is None:
            raise StoreliftError("--model hybrid needs product texts; it is available for `recommend fit`")
        return Hybrid([(make_model("ease", n_items), 1.0), (ContentKNN(texts), 0.3)])
    if name == "ease":
        return EASE(lambda_=250.0) if n_items <= 20_000 else ItemKNN()
    if name == "itemknn":
        return ItemKNN()
    if name == "popularity":
        return Popularity()
    if name == "als":
        from .recommend import ALS

        return ALS()
    if name == "bpr":  # each customer's vector re-learned from their weighted, time-decayed evidence
        from .recommend import BPR

        return BPR(fold_in_users=True)
    if name == SEQUENTIAL:
        raise StoreliftError("--model sasrec is fitted on each customer's items in order, not on a matrix; "
                             "fit it with run_fit, evaluate it with run_evaluate or run_temporal")
    raise StoreliftError(f"--model {name!r} is not known; pass one of {', '.join(MODELS)}")


def product_texts(products: pd.DataFrame, items: pd.Index) -> list[str]:
    """Title, category and description of each item column ('' for items the products table lacks)."""
    columns = [c for c in ("title", "category", "description") if c in products.columns]
    table = products.drop_duplicates("product_id", keep="last").set_index("product_id").reindex(items)
    return table[columns].fillna("").astype(str).agg(" ".join, axis=1).tolist() if columns else [""] * len(items)


def workspace_evidence(ws: Workspace, before=None) -> pd.DataFrame:
    """Purchases and product events of identified customers (before `before`), as a DataFrame."""
    from .recommend.sources import evidence

    wh = ws.warehouse
    events = wh.table("events") if "events" in wh.con.list_tables() else None
    frame = evidence(wh.table("orders"), wh.table("order_lines"), events, before).execute()
    if frame.empty:
        raise StoreliftError("no purchases or product events of identified customers in the workspace; "
                             "ingest orders with customer ids (and events) first")
    return frame


def latest_consent(ws: Workspace, customer_id: str, purpose: str = "personalization") -> bool:
    """Whether the customer's consent in force for `purpose` grants it (no record: not granted)."""
    return customer_id in set(consenting(ws, purpose, customer_id))


def consenting(ws: Workspace, purpose: str = "personalization", customer_id: str | None = None) -> list[str]:
    """Customers (or just `customer_id`) whose consent in force for `purpose` is a grant, by id."""
    from .governance.consent import consenting_ids

    wh = ws.warehouse
    return consenting_ids(wh.table("consents"), purpose, customer_id) if wh.has_table("consents") else []


def customer_purchases(ws: Workspace, customer_id: str) -> pd.DataFrame:
    """item_id, purchased_at of one customer's order lines, read for that customer only."""
    from .recommend.sources import customer_purchases as purchases_of

    return purchases_of(ws.warehouse.table("orders"), ws.warehouse.table("order_lines"), customer_id)


def customer_segments(ws: Workspace, column: str, users: pd.Index) -> list:
    """One label per fitted customer from a column of the customers table, or of the newest
    customer_scores run (rfm_segment, cluster_name, ...); None where the customer has none."""
    wh = ws.warehouse
    customers = wh.table("customers")
    if column in customers.columns and column != "customer_id":
        frame = customers.select("customer_id", column).execute()
    elif wh.has_table("customer_scores") and column in wh.table("customer_scores").columns:
        scores = wh.table("customer_scores")
        frame = scores.filter(scores.scored_at == scores.scored_at.max()).select("customer_id", column).execute()
    else:
        scored = ", rfm_segment, cluster_name (after `storelift customers score`)" if not wh.has_table(
            "customer_scores") else ", " + ", ".join(c for c in wh.table("customer_scores").columns
                                                    if c not in ("customer_id", "as_of", "scored_at"))
        raise StoreliftError(f"--segment-by {column!r} names no customer column; pass one of "
                             f"{', '.join(c for c in customers.columns if c != 'customer_id')}{scored}")
    labels = frame.drop_duplicates("customer_id", keep="last").set_index("customer_id")[column].reindex(users)
    return [None if pd.isna(v) else str(v) for v in labels.tolist()]


def run_fit(ws: Workspace, model: str = "ease", as_of=None, half_life: float | None = 90.0,
            balance_vendors: float | None = None, segment_by: str | None = None):
    """Fit a model on weighted, time-decayed evidence and save it with its id maps and the catalog.
    balance_vendors: fit per-vendor score weights (at most this factor either way) that pull each
    vendor's share of recommended slots toward its catalogue share; saved with the model.
    segment_by: a customer column (country, acquisition_channel, rfm_segment, ...) whose segments
    get their own popular lists (the fallback for that segment's customers and for requests whose
    context names the segment); saved with the model."""
    from .artifacts import save_models
    from .recommend import interaction_matrix
    from .recommend.interactions import weighted_interactions
    from .recommend.rules import ItemCatalog

    with console.status("reading purchases and events"):
        frame = workspace_evidence(ws, as_of)
    now = pd.Timestamp(as_of) if as_of else pd.to_datetime(frame["occurred_at"]).max() + pd.Timedelta(seconds=1)
    weighted = weighted_interactions(frame, now, half_life_days=half_life)
    products = ws.warehouse.table("products").execute()
    items = pd.Index(sorted(set(weighted["item_id"]) | set(products["product_id"].dropna())))
    interactions = interaction_matrix(weighted, weight_col="weight", items=items)
    catalog = ItemCatalog.from_products(products, interactions.items)
    if model == SEQUENTIAL:
        chosen = fit_sequential(frame, interactions, catalog, now)
    else:
        chosen = make_model(model, interactions.n_items, product_texts(products, interactions.items))
    popular = None
    if segment_by is not None:
        from .recommend import Popularity

        popular = Popularity(segments=customer_segments(ws, segment_by, interactions.users)).fit(interactions.matrix)
    if popular is not None and type(chosen) is type(popular):
        chosen = popular  # --model popularity: the per-segment lists are the model
    elif model != SEQUENTIAL:
        with console.status(f"fitting {type(chosen).__name__} on {interactions.matrix.nnz:,} interactions"):
            chosen.fit(interactions.matrix)
    saved = {"model": chosen, "interactions": interactions, "catalog": catalog}
    if popular is not None:
        saved["popular"] = popular
        console.print(f"popular lists for {len(popular.segment_labels_):,} segments by {segment_by} "
                      f"({int((popular.user_segments_ >= 0).sum()):,} of {interactions.n_users:,} customers in one)")
    if balance_vendors is not None:
        saved["item_weights"] = fit_vendor_balance(chosen, interactions, catalog, balance_vendors)
    version = f"{ARTIFACT_PREFIX}{type(chosen).__name__.lower()}-{now:%Y%m%d}-{pd.Timestamp.now():%Y%m%dT%H%M%S%f}"
    folder = save_models(ws.models_dir, version, saved,
                         meta={"as_of": str(now), "users": interactions.n_users, "items": interactions.n_items,
                               "interactions": int(interactions.matrix.nnz), "half_life_days": half_life,
                               "segment_by": segment_by})
    if hasattr(chosen, "item_factors_") and interactions.n_items >= INDEX_MIN_ITEMS:
        from .artifacts import ITEM_INDEX_FILE
        from .recommend import InnerProductIndex

        with console.status(f"indexing {interactions.n_items:,} item vectors for serving"):
            InnerProductIndex("hnsw").fit(chosen.item_factors_).save(folder / ITEM_INDEX_FILE)
    from .governance import append_audit, local_actor

    append_audit(ws, local_actor(), "recommend.trained", version,
                 {"model": type(chosen).__name__, "users": interactions.n_users, "items": interactions.n_items})
    console.print(f"{type(chosen).__name__} fitted on {interactions.n_users:,} customers x {interactions.n_items:,} "
                  f"items ({interactions.matrix.nnz:,} interactions)")
    return folder


def fit_sequential(evidence: pd.DataFrame, interactions, catalog, now):
    """SASRec on each customer's items in time order (rows of `interactions`), each item's category
    as its feature, the epoch count chosen on every customer's newest item (then refitted on all).
    Above FULL_SOFTMAX_MAX_ITEMS items it trains on a sampled softmax (1,000 negatives): the full one
    would hold batch x length x items scores in memory."""
    from .recommend.sequential import evidence_sequences, fit_with_early_stopping

    sequences = evidence_sequences(evidence, interactions.users, interactions.items, now)
    categories = [c if c else None for c in catalog.category]
    steps = sum(len(s) for s in sequences)
    title = f"fitting SASRec on {interactions.n_users:,} customers' sequences ({steps:,} steps)"
    with console.status(title) as status:
        loss = "ce" if interactions.n_items <= FULL_SOFTMAX_MAX_ITEMS else "sampled"
        return fit_with_early_stopping(sequences, interactions.n_items, item_features=categories, loss=loss,
                                       progress=lambda line: status.update(f"{title}: {line}"))


def fit_vendor_balance(model, interactions, catalog, max_boost: float):
    """Per-item weights that balance vendor exposure; prints how far exposure moved toward the catalogue."""
    from .recommend.exposure import fit_on_sample

    balance = fit_on_sample(model, interactions, catalog.vendor, max_boost)
    console.print(f"vendor exposure vs catalogue share: total variation {balance.distance_before_:.3f} -> "
                  f"{balance.distance_after_:.3f} (weights within x{max_boost:g})")
    return balance.item_weights(catalog.vendor)


def run_evaluate(ws: Workspace, models=None, stage: str = "test") -> pd.DataFrame:
    """Leave-one-out results (one row per model) on the workspace's first-touch item sequences."""
    from .recommend import evaluate as evaluate_model
    from .recommend import leave_one_out
    from .recommend.sequential import evaluate_sequential
    from .recommend.sources import first_touch_sequences

    with console.status("reading purchases and events"):
        touches = first_touch_sequences(workspace_evidence(ws))
        split = leave_one_out(touches)
    rows = []
    for name in models or ["popularity", "itemknn", "ease"]:
        with console.status(f"evaluating {name}"):
            rows.append(evaluate_sequential(split, touches, stage) if name == SEQUENTIAL else
                        evaluate_model(make_model(name, len(split.items)), split, stage))
    results = pd.concat(rows, ignore_index=True)
    results.attrs["n_items"] = len(split.items)
    return results


def print_evaluation(results: pd.DataFrame, stage: str) -> None:
    table = Table(title=f"leave-one-out, full ranking over {results.attrs.get('n_items', 0):,} items, {stage} "
                        f"stage, {int(results['n_users'].iat[0]):,} customers")
    columns = ["model", "HIT@10", "NDCG@10", "HIT@20", "NDCG@20", "MRR", "fit_s"]
    for col in columns:
        table.add_column(col, justify="left" if col == "model" else "right")
    for _, r in results.iterrows():
        table.add_row(str(r["model"]), *(f"{r[c]:.4f}" if c != "fit_s" else f"{r[c]:.1f}" for c in columns[1:]))
    console.print(table)


def recommend_for(ws: Workspace, customer: str, k: int = 10, session=None, repurchase_days=None, version=None,
                  context=None):
    """(recommendations, version, consent, catalog) for one customer from the newest (or given) saved model."""
    from .artifacts import load_models
    from .recommend.personalize import Personalizer
    from .recommend.rules import RecommendationRules

    version, saved = load_models(ws.models_dir, version, prefix=ARTIFACT_PREFIX)
    consent = latest_consent(ws, customer)
    personalizer = Personalizer.from_artifact(saved, RecommendationRules(repurchase_days=repurchase_days))
    recs = personalizer.recommend(customer, k, consent=consent, session_items=session or [],
                                  purchases=customer_purchases(ws, customer) if consent else None, context=context)
    return recs, version, consent, saved["catalog"]


def print_recommendations(customer: str, recs: pd.DataFrame, version: str, consent: bool, catalog) -> None:
    table = Table(title=f"recommendations for {customer} ({version})")
    for col in ("rank", "item", "title", "why"):
        table.add_column(col, overflow="fold")
    for _, r in recs.iterrows():
        title = catalog.label(int(catalog.items.get_loc(r["item_id"])))
        table.add_row(str(r["rank"]), str(r["item_id"]), title, str(r["reason"]))
    console.print(table)
    if not consent:
        err.print("[yellow]note:[/] personalization consent is not granted (never given or withdrawn): "
                  "showing the non-personalized list")


def run_report(ws: Workspace, evaluation: pd.DataFrame | None = None, samples: int = 3, exposure_customers: int = 300):
    """reports/recommendations.html from the newest saved model: evaluation, sample lists, exposure by category."""
    from .artifacts import load_models
    from .recommend.personalize import Personalizer
    from .recommend.rules import exposure_share
    from .reports.recommend_report import write_recommendation_report

    evaluation = run_evaluate(ws) if evaluation is None else evaluation
    version, saved = load_models(ws.models_dir, prefix=ARTIFACT_PREFIX)
    personalizer = Personalizer.from_artifact(saved)
    catalog = saved["catalog"]
    lists, shown = {}, []
    with console.status("recommending for sample customers"):
        for i, customer in enumerate(consenting(ws)[:exposure_customers]):
            recs = personalizer.recommend(customer, 10)
            recs["item_row"] = catalog.items.get_indexer(recs["item_id"])
            shown.append(recs)
            if i < samples:
                lists[customer] = recs.assign(title=[catalog.label(r) for r in recs["item_row"]])
    exposure = exposure_share(pd.concat(shown), catalog, by="category") if shown else None
    path = write_recommendation_report(ws.reports_dir / "recommendations.html", evaluation, lists, exposure, version,
                                       store_name=ws.config.name)
    return path


def demo_recommendations(ws: Workspace) -> tuple[Path, Path]:
    """Demo step: compare models on held-out items, fit EASE, show a consenting customer's list, write the report."""
    evaluation = run_evaluate(ws)
    print_evaluation(evaluation, "test")
    folder = run_fit(ws, "ease")
    for customer in consenting(ws)[:1]:
        print_recommendations(customer, *recommend_for(ws, customer, 5))
    return folder, run_report(ws, evaluation)


@app.command()
def report(workspace: Path = WorkspaceArg) -> None:
    """Write reports/recommendations.html: model comparison, sample lists with reasons, exposure by category."""
    try:
        path = run_report(Workspace.open(workspace))
    except StoreliftError as exc:
        fail(exc)
    console.print(f"report: [bold]{path}[/]")


@app.command()
def fit(
    workspace: Path = WorkspaceArg,
    model: str = typer.Option("ease", help=f"Model: {', '.join(MODELS)}."),
    as_of: Optional[str] = typer.Option(None, help="Use evidence before this date; default all of it."),
    half_life: float = typer.Option(90.0, help="Days after which an event counts half."),
    balance_vendors: Optional[float] = typer.Option(
        None, help="Balance vendor exposure toward catalogue shares, moving any score by at most this factor "
                   "(e.g. 2)."),
    segment_by: Optional[str] = typer.Option(
        None, help="Customer column whose segments get their own popular lists (e.g. country, "
                   "acquisition_channel, rfm_segment)."),
) -> None:
    """Fit a recommender on weighted, time-decayed purchases and events; save it with the catalog under models/."""
    try:
        folder = run_fit(Workspace.open(workspace), model, as_of, half_life, balance_vendors, segment_by)
    except StoreliftError as exc:
        fail(exc)
    console.print(f"model: {folder}")


@app.command()
def show(
    customer: str = typer.Argument(..., help="Customer id, as stored in the warehouse."),
    workspace: Path = WorkspaceArg,
    k: int = typer.Option(10, "-k", "--items", help="How many items."),
    session: Optional[list[str]] = typer.Option(None, help="Item ids viewed in this visit (repeatable)."),
    repurchase_days: Optional[float] = typer.Option(None, help="Bought items may return after this many days."),
    version: Optional[str] = typer.Option(None, help="Model version folder; default the newest."),
    context: Optional[str] = typer.Option(None, help="A segment of the model's --segment-by column (e.g. a "
                                                     "country): its popular list is the fallback."),
) -> None:
    """One customer's list with a reason per item; consent and the business rules are applied."""
    try:
        shown = recommend_for(Workspace.open(workspace), customer, k, session, repurchase_days, version, context)
    except StoreliftError as exc:
        fail(exc)
    print_recommendations(customer, *shown)


def run_temporal(ws: Workspace, cutoff: str, models=None) -> pd.DataFrame:
    """Temporal-split results (one row per model): fit before `cutoff`, new items after it are the targets."""
    from .recommend.sequential import evaluate_temporal_sequential
    from .recommend.temporal import evaluate_temporal, temporal_split

    with console.status("reading purchases and events"):
        evidence = workspace_evidence(ws)
        split = temporal_split(evidence, cutoff)
    rows = []
    for name in models or ["popularity", "itemknn", "ease"]:
        with console.status(f"evaluating {name}"):
            rows.append(evaluate_temporal_sequential(split, evidence) if name == SEQUENTIAL else
                        evaluate_temporal(make_model(name, len(split.items)), split))
    return pd.concat(rows, ignore_index=True)


@app.command()
def evaluate(
    workspace: Path = WorkspaceArg,
    models: Optional[list[str]] = typer.Option(None, "--model", help=f"Models to compare (repeatable): {', '.join(MODELS)}."),
    stage: str = typer.Option("test", help="Leave-one-out: validation (for choosing) or test (report once)."),
    cutoff: Optional[str] = typer.Option(None, help="Temporal split instead: fit before this date, predict new items after."),
) -> None:
    """Leave-one-out (each customer's last new item held out) or, with --cutoff, a temporal split; all items ranked."""
    try:
        ws = Workspace.open(workspace)
        results = run_temporal(ws, cutoff, models) if cutoff else run_evaluate(ws, models, stage)
    except StoreliftError as exc:
        fail(exc)
    if not cutoff:
        print_evaluation(results, stage)
        return
    table = Table(title=f"temporal split at {cutoff}: new items after it, {int(results['n_users'].iat[0]):,} customers")
    columns = ["model", "HR@10", "Recall@10", "NDCG@10", "MAP@10", "Recall@20", "coverage@20", "ARP@20"]
    for col in columns:
        table.add_column(col, justify="left" if col == "model" else "right")
    for _, r in results.iterrows():
        table.add_row(str(r["model"]), *(f"{r[c]:.4f}" for c in columns[1:]))
    console.print(table)
