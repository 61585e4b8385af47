"""A withdrawn consent removes the customer from the next audience drawn."""

import ibis
import pandas as pd
import pytest

from storelift.governance import ConsentError, consenting_audience

T = pd.Timestamp("2024-05-01")


def test_withdrawal_removes_the_customer_from_the_next_audience(warehouse):
    warehouse.insert("consents", pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C1", "C4"],
        "purpose": ["email", "email", "email", "email", "sms"],
        "granted": [True, True, False, False, True],
        "recorded_at": [T, T, T, T + pd.Timedelta(days=2), T]}))
    audience = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4", "C5"], "segment": ["a", "b", "c", "d", "e"]})
    target = ibis.memtable(audience)
    consents = warehouse.table("consents")
    before = consenting_audience(target, consents, "email", as_of=T + pd.Timedelta(days=1)).execute()
    assert sorted(before["customer_id"]) == ["C1", "C2"]  # C3 refused, C4 only sms, C5 never asked
    after = consenting_audience(target, consents, "email").execute()
    assert sorted(after["customer_id"]) == ["C2"]  # C1 withdrew on day 2
    assert list(after.columns) == ["customer_id", "segment"]


def test_same_time_grant_and_withdrawal_counts_as_withdrawn(warehouse):
    warehouse.insert("consents", pd.DataFrame({"customer_id": ["C1", "C1"], "purpose": ["email", "email"],
                                               "granted": [True, False], "recorded_at": [T, T]}))
    audience = ibis.memtable(pd.DataFrame({"customer_id": ["C1"]}))
    assert consenting_audience(audience, warehouse.table("consents"), "email").execute().empty


def test_bad_requests_name_the_problem(warehouse):
    audience = ibis.memtable(pd.DataFrame({"id": ["C1"]}))
    with pytest.raises(ConsentError, match="not a consent purpose"):
        consenting_audience(audience, warehouse.table("consents"), "newsletter")
    with pytest.raises(ConsentError, match="customer_col"):
        consenting_audience(audience, warehouse.table("consents"), "email")


def test_consenting_ids_are_the_grants_in_force(warehouse):
    from storelift.governance.consent import consenting_ids

    warehouse.insert("consents", pd.DataFrame({
        "customer_id": ["C2", "C1", "C3", "C1", "C4"],
        "purpose": ["personalization"] * 4 + ["email"],
        "granted": [True, True, True, False, True],
        "recorded_at": [T, T, T, T + pd.Timedelta(days=1), T]}))
    consents = warehouse.table("consents")
    assert consenting_ids(consents, "personalization") == ["C2", "C3"]  # C1 withdrew, C4 only email
    assert consenting_ids(consents, "personalization", "C3") == ["C3"]
    assert consenting_ids(consents, "personalization", "C1") == []
    with pytest.raises(ConsentError, match="not a consent purpose"):
        consenting_ids(consents, "newsletter")
