"""Fairness of the targeting decision storelift makes: a next-purchase propensity model's top-X% audience,
audited per protected attribute (gender; age band from birth year) and mitigated with per-group thresholds.

The model is storelift's ChurnModel (propensity = 1 - its churn score), trained on the recorded order
history before `as_of`; the audience is the top `audience_share` of the customers known at `as_of`
(customers without a recorded order get propensity 0: the model has no evidence of them). The audit
(fairness.fairness_audit per attribute) compares selection rates with the 80% rule and, with outcomes
after `as_of`, equalized odds; groups too small to test are shown but not flagged, and the significance
level is shared among an attribute's groups. Mitigation fits fairlearn's ThresholdOptimizer on the
training cutoff's scores and labels, and the same audit is run on its decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from ..warehouse import fetch
from .fairness import AUDIT_COLUMNS, FairnessError, fairness_audit, mitigate_thresholds

PROTECTED_ATTRIBUTES = ("gender", "age_band")
AGE_BANDS = ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, None))
UNKNOWN = "unknown"
MIN_GROUP_UNITS = 100  # below this a selection rate is too noisy to test (about +-9 points at 95% near 30%)
DECISION_COLUMNS = ["customer_id", "gender", "age_band", "propensity", "is_selected", "is_selected_mitigated",
                    "outcome"]
COMPARISON_COLUMNS = ["attribute", "group", "units", "selection_rate_before", "selection_rate_after",
                      "disparate_impact_before", "disparate_impact_after", "flagged_before", "flagged_after"]
SUMMARY_COLUMNS = ["attribute", "groups", "demographic_parity_difference_before",
                   "demographic_parity_difference_after", "equalized_odds_difference_before",
                   "equalized_odds_difference_after", "flagged_before", "flagged_after"]


def age_band(birth_year: pd.Series, year: int) -> pd.Series:
    """Age band ("18-24" .. "65+", "under 18") of each birth year at `year`; missing years are "unknown"."""
    age = year - pd.to_numeric(birth_year, errors="coerce")
    bands = pd.Series(UNKNOWN, index=birth_year.index, dtype=object)
    bands[age < AGE_BANDS[0][0]] = f"under {AGE_BANDS[0][0]}"
    for low, high in AGE_BANDS:
        inside = (age >= low) & (age <= high if high is not None else True)
        bands[inside] = f"{low}-{high}" if high is not None else f"{low}+"
    return bands


def protected_groups(customers: pd.DataFrame, as_of) -> pd.DataFrame:
    """customer_id, gender (missing: "unknown") and age_band at as_of's year, one row per customer."""
    missing = [c for c in ("customer_id", "gender", "birth_year") if c not in customers.columns]
    if missing:
        raise FairnessError(f"customers lacks column(s) {', '.join(missing)}; fairness audits need the customers "
                            "table with self-declared gender and birth_year")
    table = customers.drop_duplicates("customer_id", keep="last")
    gender = table["gender"].astype(object).where(table["gender"].notna(), UNKNOWN).astype(str)
    return pd.DataFrame({"customer_id": table["customer_id"].to_numpy(), "gender": gender.to_numpy(),
                         "age_band": age_band(table["birth_year"], pd.Timestamp(as_of).year).to_numpy()})


def known_customers(customers: pd.DataFrame, orders: ibis.Table, when: pd.Timestamp) -> pd.Series:
    """Ids of customers the store knew before `when`: created before it, or with a recorded order before it."""
    ordered = fetch(orders.filter(orders.ordered_at < ibis.literal(when.to_pydatetime(), type="timestamp"))
                    .select("customer_id").distinct())["customer_id"]
    if "created_at" in customers.columns:
        created = pd.to_datetime(customers["created_at"], utc=True).dt.tz_localize(None)
        signed_up = customers.loc[created < when, "customer_id"]
    else:
        signed_up = pd.Series([], dtype=object)
    ids = pd.Index(signed_up).union(pd.Index(ordered))
    return pd.Series(ids.intersection(pd.Index(customers["customer_id"])), dtype=object, name="customer_id")


def top_share(scores: np.ndarray, share: float) -> np.ndarray:
    """0/1 per row: the round(share * n) highest scores (ties broken by row order)."""
    if not 0 < share < 1:
        raise FairnessError(f"audience_share={share!r}: pass a share of customers in (0, 1), e.g. 0.3")
    chosen = np.zeros(len(scores), dtype=int)
    chosen[np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:int(round(share * len(scores)))]] = 1
    return chosen


class PrecomputedScore(ClassifierMixin, BaseEstimator):
    """A 'model' whose probability of the positive class is the first column of X: lets fairlearn's
    ThresholdOptimizer post-process scores that were computed elsewhere (here, by ChurnModel)."""

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X) -> np.ndarray:
        score = np.clip(np.asarray(X, dtype=float)[:, 0], 0.0, 1.0)
        return np.column_stack([1 - score, score])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def propensity_scores(model, orders: ibis.Table, ids: pd.Series, cutoff: pd.Timestamp) -> np.ndarray:
    """1 - the model's (uncalibrated) churn score per id at `cutoff`; 0 for ids with no recorded order."""
    from ..customers.features import customer_features

    feats = fetch(customer_features(orders, cutoff, model.windows_))
    score = pd.Series(1.0 - model.churn_score(feats), index=feats["customer_id"].to_numpy()) if len(feats) else \
        pd.Series(dtype=float)
    return score.reindex(ids.to_numpy()).fillna(0.0).to_numpy()


def purchased_in(orders: ibis.Table, ids: pd.Series, start: pd.Timestamp, days: float) -> np.ndarray:
    """0/1 per id: at least one order in [start, start + days)."""
    lo, hi = (ibis.literal(t.to_pydatetime(), type="timestamp") for t in (start, start + pd.Timedelta(days=days)))
    buyers = fetch(orders.filter((orders.ordered_at >= lo) & (orders.ordered_at < hi)).select("customer_id").distinct())
    return ids.isin(set(buyers["customer_id"])).astype(int).to_numpy()


@dataclass
class TargetingFairness:
    """A targeting audit: per-customer decisions, the audit before and after mitigation (AUDIT_COLUMNS each),
    which attribute was mitigated (None when nothing was flagged) and the settings.

    decisions (DECISION_COLUMNS): customer_id; gender and age_band; propensity, the model's score of an
    order within horizon_days (0 without a recorded order); is_selected, in the top audience_share;
    is_selected_mitigated, after mitigation (= is_selected when nothing was mitigated); outcome, 1.0 when
    the customer ordered in [as_of, as_of + horizon_days) in the outcome orders, NaN when the data ends
    before that window does."""

    decisions: pd.DataFrame
    before: pd.DataFrame
    after: pd.DataFrame
    mitigated_attribute: str | None
    constraint: str
    audience_share: float
    as_of: pd.Timestamp
    horizon_days: float

    @property
    def flagged(self) -> pd.DataFrame:
        """The rows of the audit before mitigation whose group is flagged."""
        return self.before[self.before["flagged"]].reset_index(drop=True)

    def comparison(self) -> pd.DataFrame:
        """One row per attribute and group: selection rate, disparate impact and flag before and after.
        Columns: COMPARISON_COLUMNS."""
        keep = ["attribute", "group", "selection_rate", "disparate_impact", "flagged"]
        both = self.before[["units", *keep]].merge(self.after[keep], on=["attribute", "group"],
                                                   suffixes=("_before", "_after"))
        return both[COMPARISON_COLUMNS]

    def summary(self) -> pd.DataFrame:
        """One row per attribute: parity and odds differences and flagged groups, before and after.
        Columns: SUMMARY_COLUMNS (flagged_*: the flagged groups joined by ", ", "" when none)."""
        rows = []
        for attribute, before in self.before.groupby("attribute", sort=False):
            after = self.after[self.after["attribute"] == attribute]
            rows.append({
                "attribute": attribute, "groups": len(before),
                "demographic_parity_difference_before": before["demographic_parity_difference"].iat[0],
                "demographic_parity_difference_after": after["demographic_parity_difference"].iat[0],
                "equalized_odds_difference_before": before["equalized_odds_difference"].iat[0],
                "equalized_odds_difference_after": after["equalized_odds_difference"].iat[0],
                "flagged_before": ", ".join(before.loc[before["flagged"], "group"]),
                "flagged_after": ", ".join(after.loc[after["flagged"], "group"])})
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def audit_groups(selected, sensitive: pd.DataFrame, y_true=None, *, min_group_units: int = MIN_GROUP_UNITS,
                 rule: float = 0.8, alpha: float = 0.01) -> pd.DataFrame:
    """fairness_audit per attribute on the groups of at least min_group_units units; smaller groups are listed
    with their selection rate and disparate impact against the same reference but are not tested (p_value
    NaN, never flagged) and neither serve as the reference nor enter the parity and odds differences, so a
    handful of customers can neither raise an alarm nor hide one. alpha is per attribute: each of its k
    tested groups is compared at alpha / (k - 1) (Bonferroni), as the reference is the most selected of
    them. Columns: AUDIT_COLUMNS."""
    chosen = np.asarray(selected).astype(int)
    truth = None if y_true is None else np.asarray(y_true)
    frames = []
    for attribute in sensitive.columns:
        groups = sensitive[attribute].astype(str).to_numpy()
        sizes = pd.Series(groups).value_counts()
        large = np.isin(groups, sizes.index[sizes >= min_group_units])
        if len(set(groups[large])) < 2:
            large = np.ones(len(groups), dtype=bool)  # too few large groups to compare: test them all
        tests = max(len(set(groups[large])) - 1, 1)
        audit = fairness_audit(chosen[large], sensitive.loc[large, [attribute]].reset_index(drop=True),
                               None if truth is None else truth[large], rule=rule, alpha=alpha / tests)
        reference = audit["selection_rate"].max()
        small = pd.Series(chosen[~large]).groupby(groups[~large]).agg(["mean", "size"])
        extra = pd.DataFrame({
            "attribute": attribute, "group": small.index.astype(str), "units": small["size"].astype(int).to_numpy(),
            "selection_rate": small["mean"].to_numpy(dtype=float),
            "disparate_impact": small["mean"].to_numpy(dtype=float) / reference if reference > 0 else 1.0,
            "demographic_parity_difference": audit["demographic_parity_difference"].iat[0],
            "equalized_odds_difference": audit["equalized_odds_difference"].iat[0],
            "p_value": np.nan, "flagged": False}, columns=AUDIT_COLUMNS)
        frames += [audit, extra] if len(extra) else [audit]
    return pd.concat(frames, ignore_index=True)[AUDIT_COLUMNS].astype({"flagged": bool})


def worst_flagged_attribute(audit: pd.DataFrame) -> str | None:
    """The attribute of the flagged group with the strongest evidence (smallest p-value, then lowest disparate
    impact), None when nothing is flagged."""
    flagged = audit[audit["flagged"]]
    return None if flagged.empty else str(flagged.sort_values(["p_value", "disparate_impact"])["attribute"].iat[0])


def audit_targeting(orders: ibis.Table, customers: pd.DataFrame, as_of, *, horizon_days: float = 90,
                    audience_share: float = 0.3, outcome_orders: ibis.Table | None = None,
                    mitigate_for: str | None = None, constraint: str = "demographic_parity",
                    rule: float = 0.8, alpha: float = 0.01, min_group_units: int = MIN_GROUP_UNITS,
                    random_state: int = 0, model=None) -> TargetingFairness:
    """Fit the propensity model on orders before as_of, target the top audience_share of the customers known
    at as_of, audit the audience per protected attribute, and mitigate the most clearly flagged attribute
    (or `mitigate_for`) with per-group thresholds learnt at the training cutoff (as_of - horizon_days) against
    the recorded purchases in the horizon after it: the most accurate thresholds under `constraint`, so
    the mitigated audience's size is the optimizer's choice, not audience_share (see the decisions).

    orders: customer_orders(...) of the recorded data; customers: customer_id, gender, birth_year and
    (optionally) created_at; outcome_orders: where outcomes in [as_of, as_of + horizon_days) are read
    (default `orders`; pass the true orders when the recorded ones are known to be incomplete). Outcomes
    are used only when the data reaches as_of + horizon_days. model: an unfitted ChurnModel-like
    estimator (default ChurnModel(horizon_days)). Groups under min_group_units are shown, not tested
    (audit_groups).
    """
    from ..customers.churn import ChurnModel
    from ..customers.features import to_timestamp

    as_of = to_timestamp(as_of, "as_of")
    if mitigate_for is not None and mitigate_for not in PROTECTED_ATTRIBUTES:
        raise FairnessError(f"mitigate_for={mitigate_for!r}: use one of {', '.join(PROTECTED_ATTRIBUTES)}")
    groups = protected_groups(customers, as_of).set_index("customer_id")
    fitted = (model if model is not None else ChurnModel(horizon_days=int(horizon_days),
                                                         random_state=random_state)).fit(orders, as_of)
    ids = known_customers(customers, orders, as_of)
    if ids.empty:
        raise FairnessError(f"no customer is known before as_of={as_of.date()}; pass a later as_of")
    sensitive = groups.loc[ids.to_numpy(), list(PROTECTED_ATTRIBUTES)].reset_index(drop=True)
    propensity = propensity_scores(fitted, orders, ids, as_of)
    selected = top_share(propensity, audience_share)
    truth = outcome_orders if outcome_orders is not None else orders
    end = fetch(truth.aggregate(last=truth.ordered_at.max()))["last"].iat[0]
    has_outcomes = end is not None and not pd.isna(end) and pd.Timestamp(end) >= as_of + pd.Timedelta(
        days=horizon_days - 1)
    outcome = purchased_in(truth, ids, as_of, horizon_days) if has_outcomes else None
    before = audit_groups(selected, sensitive, outcome, min_group_units=min_group_units, rule=rule, alpha=alpha)

    attribute = mitigate_for or worst_flagged_attribute(before)
    mitigated = selected
    if attribute is not None:
        cutoff = as_of - pd.Timedelta(days=float(horizon_days))
        train_ids = known_customers(customers, orders, cutoff)
        train_scores = propensity_scores(fitted, orders, train_ids, cutoff)
        train_labels = purchased_in(orders, train_ids, cutoff, horizon_days)
        train_groups = groups.loc[train_ids.to_numpy(), attribute]
        optimizer = mitigate_thresholds(PrecomputedScore().fit(), pd.DataFrame({"propensity": train_scores}),
                                        train_labels, train_groups, constraint)
        mitigated = np.asarray(optimizer.predict(pd.DataFrame({"propensity": propensity}),
                                                 sensitive_features=sensitive[attribute].to_numpy(),
                                                 random_state=random_state)).astype(int)
        unseen = ~sensitive[attribute].isin(set(train_groups)).to_numpy()
        mitigated[unseen] = selected[unseen]  # a group with no threshold keeps the model's decision
    after = before.copy() if attribute is None else \
        audit_groups(mitigated, sensitive, outcome, min_group_units=min_group_units, rule=rule, alpha=alpha)
    decisions = pd.DataFrame({"customer_id": ids.to_numpy(), "gender": sensitive["gender"].to_numpy(),
                              "age_band": sensitive["age_band"].to_numpy(), "propensity": propensity,
                              "is_selected": selected.astype(bool), "is_selected_mitigated": mitigated.astype(bool),
                              "outcome": outcome.astype(float) if outcome is not None else np.nan})
    return TargetingFairness(decisions[DECISION_COLUMNS], before, after, attribute, constraint, audience_share,
                             as_of, float(horizon_days))

