"""Erasure requests: queued by the API, done by a later job; personalization stops at once.

A queued request makes every consent purpose read as not granted for that customer (see
`consent.consent_of`). Asking again while a request is queued returns the same request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from .database import Database

QUEUED, DONE = "queued", "done"


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    customer_id: str
    requested_at: datetime
    status: str  # queued or done
    done_at: datetime | None


def _request(db: Database, row) -> ErasureRequest:
    return ErasureRequest(row["request_id"], row["customer_id"], db.read_time(row["requested_at"]), row["status"],
                          db.read_time(row["done_at"]))


def request_erasure(db: Database, customer_id: str, now: datetime) -> tuple[ErasureRequest, bool]:
    """Queue an erasure of the customer; returns the request and whether it is new."""
    with db.transaction() as session:
        session.lock(f"customer:{customer_id}")
        row = session.execute(
            "SELECT request_id, customer_id, requested_at, status, done_at FROM erasure_requests "
            "WHERE customer_id = ? AND status = ? ORDER BY requested_at LIMIT 1", (customer_id, QUEUED)).fetchone()
        if row is not None:
            return _request(db, row), False
        request_id = "er_" + uuid.uuid4().hex
        session.execute(
            "INSERT INTO erasure_requests (request_id, customer_id, requested_at, status) VALUES (?, ?, ?, ?)",
            (request_id, customer_id, db.time(now), QUEUED))
    return ErasureRequest(request_id, customer_id, now, QUEUED, None), True


def erasure_request(db: Database, request_id: str) -> ErasureRequest | None:
    """The request with this id, or None."""
    with db.read() as session:
        row = session.execute("SELECT request_id, customer_id, requested_at, status, done_at FROM erasure_requests "
                              "WHERE request_id = ?", (request_id,)).fetchone()
    return None if row is None else _request(db, row)


def mark_erasure_done(db: Database, request_id: str, now: datetime) -> bool:
    """Record that the erasure job finished; returns False when no queued request has this id."""
    with db.transaction() as session:
        session.execute("UPDATE erasure_requests SET status = ?, done_at = ? WHERE request_id = ? AND status = ?",
                        (DONE, db.time(now), request_id, QUEUED))
        return session.rowcount == 1
