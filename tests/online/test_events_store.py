"""Event writes: idempotent by event_id, grouped into shared commits, safe with several processes."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timezone

import pytest

from storelift.online import EventRecord, OnlineStore


def record(event_id: str, event: str = "Product Viewed", customer: str | None = "C1") -> EventRecord:
    return EventRecord(event_id=event_id, event=event, customer_id=customer, anonymous_id=None, session_id="s1",
                       occurred_at=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc), sequence=None,
                       product_id="P1", order_id=None, query=None, value=9.5, currency="EUR", decision_id=None,
                       properties='{"price": 9.5}')


def test_event_round_trips_with_its_columns(store):
    assert store.write_events([record("e1")]).stored == 1
    with store.db.read() as session:
        row = dict(session.execute("SELECT * FROM events").fetchone())
    assert row["event_id"] == "e1" and row["value"] == 9.5 and row["currency"] == "EUR"
    assert store.db.read_time(row["occurred_at"]) == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert row["received_at"] is not None and row["exported_at"] is None


def test_duplicate_event_ids_are_stored_once(store):
    first = store.write_events([record("e1"), record("e2")])
    again = store.write_events([record("e2"), record("e3"), record("e3")])
    assert (first.received, first.stored, first.duplicates) == (2, 2, 0)
    assert (again.received, again.stored, again.duplicates) == (3, 1, 2)
    assert store.count("events") == 3


def test_concurrent_requests_share_commits_and_each_is_counted(store):
    results, errors = [], []

    def client(n: int) -> None:
        try:
            for i in range(25):
                ids = [f"c{n}-{i}-{j}" for j in range(4)] + [f"shared-{i}"]
                results.append(store.write_events([record(x) for x in ids]))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 200
    assert sum(r.stored for r in results) == 8 * 25 * 4 + 25 == store.count("events")
    assert sum(r.duplicates for r in results) == 7 * 25
    assert store.writer.commits < 200  # requests arriving together were committed together


def _write_from_another_process(url: str, prefix: str, count: int, queue) -> None:
    with OnlineStore.open(url) as other:
        stored = 0
        for start in range(0, count, 50):
            ids = [f"{prefix}-{i}" for i in range(start, start + 50)] + [f"both-{start}"]
            stored += other.write_events([record(x) for x in ids]).stored
    queue.put(stored)


def test_two_processes_writing_at_once_store_each_event_once(online_url):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    with OnlineStore.open(online_url):  # create the tables first, as `storelift serve` does
        pass
    workers = [context.Process(target=_write_from_another_process, args=(online_url, name, 1000, queue))
               for name in ("a", "b")]
    for w in workers:
        w.start()
    stored = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    with OnlineStore.open(online_url) as store:
        assert store.count("events") == 2000 + 20 == sum(stored)


def test_writer_commits_queued_events_when_closed(online_url):
    store = OnlineStore.open(online_url)
    futures = [store.writer.submit([record(f"q{i}")]) for i in range(50)]
    store.close()
    assert all(f.result(5).stored == 1 for f in futures)
    with OnlineStore.open(online_url) as reopened:
        assert reopened.count("events") == 50


def test_a_closed_writer_refuses_new_events(store):
    from storelift.online import OnlineStoreError

    store.writer.close()
    with pytest.raises(OnlineStoreError, match="closed"):
        store.write_events([record("late")])
