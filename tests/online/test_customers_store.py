"""Consent history, identities, erasure requests and decisions in the online store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from storelift.online import DecisionRecord, OnlineStore, OnlineStoreError, safe_traits
from support import KEY


def test_latest_consent_record_is_in_force(store):
    store.record_consent("C1", {"personalization": True, "email": True}, source="signup")
    store.record_consent("C1", {"personalization": False}, source="settings")
    state = store.consent("C1")
    assert state.has_consent("email") and not state.has_consent("personalization")
    assert state.in_force["personalization"].source == "settings"
    assert state.in_force["sms"] is None and not state.has_consent("sms")
    assert [(r.purpose, r.granted) for r in state.history] == [
        ("personalization", False), ("personalization", True), ("email", True)]


def test_consent_written_by_one_store_is_read_by_another(online_url):
    with OnlineStore.open(online_url) as writer, OnlineStore.open(online_url) as reader:
        writer.record_consent("C1", {"personalization": True})
        assert reader.has_consent("C1", "personalization")
        writer.record_consent("C1", {"personalization": False})
        assert not reader.has_consent("C1", "personalization")


def test_consent_times_only_move_forward_even_if_the_clock_does_not(store):
    noon = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    times = iter([noon, noon, noon - timedelta(seconds=5)])
    store.clock = lambda: next(times)
    for granted in (True, False, True):
        store.record_consent("C1", {"email": granted})
    history = store.consent("C1").history
    assert [r.granted for r in history] == [True, False, True]
    assert history[0].recorded_at > history[1].recorded_at > history[2].recorded_at
    assert store.has_consent("C1", "email")


def test_unknown_purpose_is_refused(store):
    with pytest.raises(OnlineStoreError, match="purposes are analytics, email"):
        store.record_consent("C1", {"marketing": True})


def test_queued_erasure_withholds_every_purpose_until_done(store):
    store.record_consent("C1", {"personalization": True})
    request, is_new = store.request_erasure("C1")
    assert is_new and request.status == "queued"
    assert store.request_erasure("C1") == (request, False)
    assert not store.has_consent("C1", "personalization")
    assert store.consent("C1").erasure_requested
    assert store.mark_erasure_done(request.request_id) and not store.mark_erasure_done(request.request_id)
    done = store.erasure_request(request.request_id)
    assert done.status == "done" and done.done_at is not None
    assert store.erasure_request("er_unknown") is None


def test_identity_link_is_idempotent_and_keeps_newest_traits(store):
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert store.link_identity("a1", "C1", t0, {"city": "Leeds"}) is True
    assert store.link_identity("a1", "C1", t0 + timedelta(days=1), {"city": "York"}) is False
    assert store.link_identity("a1", "C1", t0 - timedelta(days=1), {"city": "Hull"}) is False  # a late retry
    with store.db.read() as session:
        [row] = session.execute("SELECT traits FROM identities").fetchall()
    assert json.loads(row["traits"]) == {"city": "York"}


def test_traits_keep_canonical_fields_and_pseudonymize_pii():
    traits = safe_traits({"email": "Ada@Example.com ", "lastName": "Lovelace", "plan": "gold", "birthYear": 1990,
                          "address": {"city": "Leeds", "street": "1 Main St", "floor": 2}}, KEY)
    assert traits.dropped == ["address.floor", "plan"]
    assert traits.kept["city"] == "Leeds" and traits.kept["birth_year"] == 1990
    for column in ("email", "last_name", "street_address"):
        assert traits.kept[column].startswith("psn_")
    assert traits.kept["email"] == safe_traits({"email": "ada@example.com"}, KEY).kept["email"]
    assert safe_traits({"email": "ada@example.com"}, None).kept["email"] == "ada@example.com"


def test_decisions_are_written_once(store):
    decision = DecisionRecord("d1", datetime(2024, 5, 1, tzinfo=timezone.utc), "C1", "recommendations", "home",
                              "treatment", True, "ease-1", '["P1"]', "because you viewed P2")
    assert store.record_decisions([decision, decision]) == 1
    assert store.record_decisions([decision]) == 0
    assert store.count("decisions") == 1


def test_decisions_ride_the_group_commit_and_are_counted_for_frequency_caps(store):
    import asyncio

    start = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    rows = [DecisionRecord(f"d{i}", start + timedelta(hours=i), "C1", "hero", "hero", "a", True, None, "{}", "x")
            for i in range(5)]

    async def write_all():
        await asyncio.gather(*(store.record_decision_async(row) for row in rows))

    asyncio.run(write_all())
    assert store.count("decisions") == 5
    assert store.count_decisions("C1", "hero", since=start + timedelta(hours=2)) == 3
    assert store.count_decisions("C1", "cart", since=start) == 0
    assert store.count_decisions("C2", "hero", since=start) == 0


def test_a_group_of_decisions_counts_only_the_new_ones(store):
    rows = [DecisionRecord(f"g{i}", datetime(2024, 5, 1, tzinfo=timezone.utc), "C1", "recommendations", "home",
                           "treatment", True, None, "{}", "x") for i in range(4)]
    assert store.record_decisions(rows[:2]) == 2
    assert store.record_decisions(rows) == 2  # two were there already
    assert store.count("decisions") == 4


def test_deferred_decisions_are_committed_within_the_linger_and_at_close(online_url):
    import time

    store = OnlineStore.open(online_url)
    rows = [DecisionRecord(f"s{i}", datetime(2024, 5, 1, tzinfo=timezone.utc), "C1", "recommendations", "home",
                           "treatment", True, None, "{}", "x") for i in range(7)]
    for row in rows[:3]:
        store.record_decision_soon(row)
    deadline = time.monotonic() + 5
    while store.count("decisions") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.count("decisions") == 3  # nobody woke the writer: its own timer committed them
    for row in rows[3:]:
        store.record_decision_soon(row)
    store.close()  # what is still deferred is committed before the writer stops
    with OnlineStore.open(online_url) as reopened:
        assert reopened.count("decisions") == 7
    with pytest.raises(OnlineStoreError, match="closed"):
        store.record_decision_soon(rows[0])
