"""`storelift serve` as a real process: uvicorn with two workers on loopback, killed with SIGKILL mid-stream."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import httpx
import pytest

from storelift.api import ServeSettings, start_server
from storelift.online import OnlineStore

TOTAL_EVENTS = 50_000
BATCH = 500


@pytest.fixture
def live_workspace(tmp_path):
    from storelift import Workspace

    Workspace.init(tmp_path / "ws").close()
    return tmp_path / "ws"


def _key(workspace, *scopes) -> str:
    with OnlineStore.open(workspace_root=workspace) as store:
        return store.create_api_key("live-test", scopes, rate_limit_per_s=0)[1]


def _batches() -> list[list[dict]]:
    events = [{"type": "track", "event": "Product Viewed", "messageId": f"dur-{i:05d}",
               "timestamp": "2024-05-01T12:00:00Z", "anonymousId": f"a-{i % 977}",
               "properties": {"product_id": f"P{i % 311}", "price": 1.0 + i % 50, "currency": "GBP"}}
              for i in range(TOTAL_EVENTS)]
    return [events[i:i + BATCH] for i in range(0, TOTAL_EVENTS, BATCH)]


def _send_all(url: str, key: str, batches: list[list[dict]], threads: int = 4, on_ack=None):
    """Send batches from several threads; returns {batch index: response JSON} for acknowledged ones."""
    acked: dict[int, dict] = {}
    lock = threading.Lock()
    todo = list(enumerate(batches))

    def sender() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            while True:
                with lock:
                    if not todo:
                        return
                    index, batch = todo.pop(0)
                try:
                    response = client.post("/v1/events", json={"batch": batch})
                except httpx.HTTPError:
                    continue  # not acknowledged: the server died with this request in flight
                if response.status_code == 200:
                    with lock:
                        acked[index] = response.json()
                        if on_ack is not None:
                            on_ack(sum(r["received"] for r in acked.values()))

    workers = [threading.Thread(target=sender) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return acked


def _stored_ids(workspace) -> list[str]:
    with sqlite3.connect(workspace / "online.sqlite") as conn:
        return [r[0] for r in conn.execute("SELECT event_id FROM events")]


def test_acknowledged_events_survive_kill_9_and_resending_stores_each_once(live_workspace, tmp_path):
    started = time.monotonic()
    key = _key(live_workspace, "ingest")
    batches = _batches()
    server = start_server(live_workspace, workers=2, log_path=tmp_path / "first.log")
    killed = threading.Event()

    def kill_mid_stream(acked_events: int) -> None:
        if acked_events >= TOTAL_EVENTS * 0.3 and not killed.is_set():
            killed.set()
            server.kill()  # SIGKILL to the master and both workers, with requests in flight

    try:
        first = _send_all(server.url, key, batches, on_ack=kill_mid_stream)
    finally:
        server.kill()
    assert killed.is_set() and 0 < len(first) < len(batches), "the server must die mid-stream"

    stored = _stored_ids(live_workspace)
    acked_ids = {m["messageId"] for i in first for m in batches[i]}
    assert acked_ids <= set(stored), "an acknowledged event was lost"
    assert len(stored) == len(set(stored))

    server = start_server(live_workspace, workers=2, log_path=tmp_path / "second.log")
    try:
        unacked = [i for i in range(len(batches)) if i not in first]
        second = _send_all(server.url, key, [batches[i] for i in unacked])
    finally:
        server.stop()
    assert len(second) == len(unacked)

    stored = _stored_ids(live_workspace)
    assert len(stored) == len(set(stored)) == TOTAL_EVENTS
    assert set(stored) == {f"dur-{i:05d}" for i in range(TOTAL_EVENTS)}
    new_first = sum(r["stored"] for r in first.values())
    new_second = sum(r["stored"] for r in second.values())
    committed_unacknowledged = sum(r["duplicates"] for r in second.values())
    assert new_first == len(acked_ids)  # nothing was stored twice before the crash either
    # a batch can be committed and then killed before its answer left: stored once, acknowledged on resend
    assert new_first + committed_unacknowledged + new_second == TOTAL_EVENTS
    assert new_second + committed_unacknowledged == len(unacked) * BATCH
    print(f"durability: {len(first)} batches acknowledged before SIGKILL, {committed_unacknowledged} events "
          f"committed but unacknowledged, {time.monotonic() - started:.1f} s in all")


def _request_processes(log_path) -> dict[str, int]:
    """request id -> worker process id, from the server's JSON access log."""
    out = {}
    for line in log_path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("logger") == "storelift.api.access":
            out[record["request_id"]] = record["process"]
    return out


def _crossed(pairs, log_path) -> list:
    """The (write, read) request pairs that two different workers served, by the access log."""
    time.sleep(0.5)  # let the log lines land (request lines are written in batches, at most 0.25 s late)
    processes = _request_processes(log_path)
    return [p for p in pairs if p[0] in processes and p[1] in processes and processes[p[0]] != processes[p[1]]]


def test_consent_change_is_seen_at_once_by_the_other_worker(live_workspace, tmp_path):
    key = _key(live_workspace, "consent", "read")
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}  # a new connection, so any worker
    log_path = tmp_path / "serve.log"
    pairs = []
    with start_server(live_workspace, workers=2, log_path=log_path) as server:
        assert server.workers_started() == 2  # start_server waits for every worker, not just the first
        for round_ in range(200):
            granted = round_ % 2 == 0
            put = httpx.put(f"{server.url}/v1/customers/C-77/consent", headers=headers,
                            json={"purposes": {"personalization": granted}})
            assert put.status_code == 200
            got = httpx.get(f"{server.url}/v1/customers/C-77/consent", headers=headers)
            assert got.json()["personalization_allowed"] is granted, f"round {round_}: read an old consent"
            pairs.append((put.headers["x-request-id"], got.headers["x-request-id"]))
            if round_ >= 10 and round_ % 10 == 0 and _crossed(pairs, log_path):
                break
    assert _crossed(pairs, log_path), "no read was served by a different worker than its write"


def test_withdrawn_consent_makes_the_next_recommendation_non_personalized_on_any_worker(live_workspace, tmp_path):
    from api.conftest import save_served_models

    save_served_models(live_workspace / "models")
    key = _key(live_workspace, "consent", "read")
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}  # a new connection, so any worker
    log_path = tmp_path / "serve.log"
    pairs = []
    with start_server(live_workspace, workers=2, log_path=log_path,
                      settings=ServeSettings(holdout_share=0.0)) as server:
        for round_ in range(100):
            granted = round_ % 2 == 0
            put = httpx.put(f"{server.url}/v1/customers/gardener3/consent", headers=headers,
                            json={"purposes": {"personalization": granted}})
            assert put.status_code == 200
            got = httpx.get(f"{server.url}/v1/recommendations/gardener3", params={"k": 3}, headers=headers)
            assert got.status_code == 200, got.text
            answer = got.json()
            assert answer["personalized"] is granted, f"round {round_}: answered from an old consent"
            assert all(item["item_id"].startswith("g" if granted else "k") for item in answer["items"])
            pairs.append((put.headers["x-request-id"], got.headers["x-request-id"]))
            if round_ >= 10 and round_ % 10 == 0 and _crossed(pairs, log_path):
                break
    assert _crossed(pairs, log_path), "no recommendation was served by a different worker than the consent change"
