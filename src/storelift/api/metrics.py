"""Prometheus metrics of the service, summed over worker processes in multiprocess mode.

`storelift serve` points PROMETHEUS_MULTIPROC_DIR at a fresh folder before the workers start, so
every worker writes its counters there and GET /metrics (answered by any worker) reports the sum.
Without that variable (one process, tests) the counters live in this process.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("storelift_http_requests", "HTTP requests answered, by route template and status.",
                   ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("storelift_http_request_duration_seconds", "Time to answer a request, by route template.",
                    ["method", "route"], registry=REGISTRY,
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
EVENTS_RECEIVED = Counter("storelift_events_received", "Events in accepted requests.", registry=REGISTRY)
EVENTS_STORED = Counter("storelift_events_stored", "Events stored for the first time.", registry=REGISTRY)
EVENTS_DUPLICATE = Counter("storelift_events_duplicate", "Events whose messageId was already stored.",
                           registry=REGISTRY)
COMMITS = Counter("storelift_event_commits", "Group-commit transactions of events.", registry=REGISTRY)
COMMIT_REQUESTS = Histogram("storelift_event_commit_requests", "Requests acknowledged by one group commit.",
                            registry=REGISTRY, buckets=(1, 2, 4, 8, 16, 32, 64, 128))


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_events(received: int, stored: int, duplicates: int) -> None:
    EVENTS_RECEIVED.inc(received)
    EVENTS_STORED.inc(stored)
    EVENTS_DUPLICATE.inc(duplicates)


def observe_commit(requests: int, rows: int) -> None:
    COMMITS.inc()
    COMMIT_REQUESTS.observe(requests)


def exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric, summed over workers when there are several."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
