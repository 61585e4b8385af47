"""Fairness of audiences already drawn: a campaign's send list or any list of customer ids, audited per
protected attribute against the population it was drawn from (the 80% rule, as in fairness_targeting).

A campaign's population is every customer created before its first send and, when consents are given,
with consent for the channel's purpose in force then: the customers it could lawfully have reached.
"""

from __future__ import annotations

import ibis
import pandas as pd

from ..warehouse import fetch
from .consent import consenting_audience
from .fairness import AUDIT_COLUMNS, FairnessError
from .fairness_targeting import MIN_GROUP_UNITS, PROTECTED_ATTRIBUTES, audit_groups, protected_groups

CAMPAIGN_AUDIT_COLUMNS = ["campaign", "sent_at", "population", "audience", *AUDIT_COLUMNS]
CHANNEL_PURPOSES = {"email": "email", "sms": "sms"}


def _created_before(customers: pd.DataFrame, when: pd.Timestamp) -> pd.Series:
    if "created_at" not in customers.columns:
        return customers["customer_id"]
    created = pd.to_datetime(customers["created_at"], utc=True).dt.tz_localize(None)
    return customers.loc[created.isna() | (created < when), "customer_id"]


def audience_audit(audience_ids, customers: pd.DataFrame, as_of, *, population_ids=None, rule: float = 0.8,
                   alpha: float = 0.01, min_group_units: int = MIN_GROUP_UNITS) -> pd.DataFrame:
    """Audit an audience that was already drawn (a campaign's send list, a price test's exposed customers)
    against the population it was drawn from (default: every customer created before as_of).
    Columns: AUDIT_COLUMNS, one row per protected attribute and group."""
    as_of = pd.Timestamp(as_of)
    groups = protected_groups(customers, as_of).set_index("customer_id")
    if population_ids is None:
        population_ids = _created_before(customers, as_of)
    population = pd.Index(pd.unique(pd.Series(list(population_ids), dtype=object))).intersection(groups.index)
    if population.empty:
        raise FairnessError("the audience's population is empty; pass population_ids or a later as_of")
    selected = population.isin(set(audience_ids)).astype(int)
    return audit_groups(selected, groups.loc[population, list(PROTECTED_ATTRIBUTES)].reset_index(drop=True),
                        min_group_units=min_group_units, rule=rule, alpha=alpha)


def campaign_audits(touches: ibis.Table, customers: pd.DataFrame, consents: ibis.Table | None = None, *,
                    rule: float = 0.8, alpha: float = 0.01, min_group_units: int = MIN_GROUP_UNITS) -> pd.DataFrame:
    """One audit per campaign with sends (touches of kind "send"): who was sent it, out of who could have
    been. Columns: CAMPAIGN_AUDIT_COLUMNS (sent_at: the first send; population and audience: customer
    counts); empty when no campaign was sent."""
    sends = fetch(touches.filter((touches.kind == "send") & touches.customer_id.notnull())
                  .select("campaign", "channel", "customer_id", "touched_at"))
    frames = []
    for campaign, rows in sends.groupby("campaign", sort=True):
        sent_at = pd.Timestamp(rows["touched_at"].min())
        if sent_at.tzinfo is not None:
            sent_at = sent_at.tz_convert("UTC").tz_localize(None)
        population = _created_before(customers, sent_at)
        purpose = CHANNEL_PURPOSES.get(str(rows["channel"].iat[0]))
        if consents is not None and purpose is not None:
            reachable = consenting_audience(ibis.memtable(pd.DataFrame({"customer_id": population.to_numpy()})),
                                            consents, purpose, as_of=sent_at.to_pydatetime())
            population = fetch(reachable)["customer_id"]
        population = pd.Index(population).union(pd.Index(rows["customer_id"].unique()))
        audit = audience_audit(rows["customer_id"], customers, sent_at, population_ids=population, rule=rule,
                               alpha=alpha, min_group_units=min_group_units)
        audit.insert(0, "audience", int(rows["customer_id"].nunique()))
        audit.insert(0, "population", len(population))
        audit.insert(0, "sent_at", sent_at)
        audit.insert(0, "campaign", campaign)
        frames.append(audit)
    if not frames:
        return pd.DataFrame(columns=CAMPAIGN_AUDIT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[CAMPAIGN_AUDIT_COLUMNS]
