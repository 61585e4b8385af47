"""Event rows in the online store: the canonical `events` columns, written idempotently by event_id."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Mapping, Sequence

from ..data import pii
from .database import Session

VALUE_KEYS = ("revenue", "total", "value", "price")  # the Segment properties that carry money
SOURCE = "api"


@dataclass(frozen=True)
class EventRecord:
    """One behavioural event in the canonical `events` columns (see storelift.schema.EVENTS)."""

    event_id: str
    event: str
    customer_id: str | None
    anonymous_id: str | None
    session_id: str | None
    occurred_at: datetime | None
    sequence: int | None
    product_id: str | None
    order_id: str | None
    query: str | None
    value: float | None
    currency: str | None
    decision_id: str | None
    properties: str | None
    source: str = SOURCE


EVENT_FIELDS = [f.name for f in fields(EventRecord)]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def event_from_segment(message: Mapping[str, Any], pii_key: bytes | None) -> EventRecord:
    """A validated Segment track or page message as a canonical event row.

    Only `context.sessionId` is read from the context (never IPs or user agents). With a key,
    e-mail addresses and phone numbers in properties and search queries become pseudonyms.
    """
    props = dict(message.get("properties") or {})
    kind = message.get("type") or "track"
    name = "Page Viewed" if kind == "page" else message["event"]
    context = message.get("context") or {}
    value = next((props[k] for k in VALUE_KEYS if props.get(k) is not None), None)
    text = json.dumps(props, sort_keys=True, default=str, ensure_ascii=False)
    query = _text(props.get("query"))
    if pii_key is not None:
        text = pii.mask_text(text, pii_key)
        query = pii.mask_text(query, pii_key) if query else query
    currency = props.get("currency")
    return EventRecord(
        event_id=message["messageId"], event=name, customer_id=_text(message.get("userId")),
        anonymous_id=_text(message.get("anonymousId")),
        session_id=_text(context.get("sessionId") or props.get("session_id")),
        occurred_at=message["timestamp"], sequence=None, product_id=_text(props.get("product_id")),
        order_id=_text(props.get("order_id")), query=query,
        value=None if value is None else float(value),
        currency=currency.upper() if isinstance(currency, str) else None,
        decision_id=_text(props.get("decision_id")), properties=text,
    )


def insert_events(session: Session, records: Sequence[EventRecord], received_at: datetime) -> set[str]:
    """Insert rows whose event_id is new (ON CONFLICT DO NOTHING); returns the ids inserted.

    `records` must not repeat an event_id (the writer removes repeats before calling).
    """
    db = session.db
    columns = EVENT_FIELDS + ["received_at"]
    received = db.time(received_at)
    occurred = EVENT_FIELDS.index("occurred_at")
    rows = []
    for r in records:  # attribute by attribute: dataclasses.astuple deep-copies every field
        row = [getattr(r, name) for name in EVENT_FIELDS]
        row[occurred] = db.time(r.occurred_at)
        row.append(received)
        rows.append(row)
    if db.dialect == "postgres":
        return _insert_events_postgres(session, columns, rows)
    sql = (f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
           "ON CONFLICT (event_id) DO NOTHING")
    inserted = set()
    for row in rows:
        session.execute(sql, row)
        if session.rowcount == 1:
            inserted.add(row[0])
    return inserted


_PG_ARRAY_TYPES = {"sequence": "bigint[]", "value": "double precision[]", "occurred_at": "timestamptz[]",
                   "received_at": "timestamptz[]"}


def _insert_events_postgres(session: Session, columns: list[str], rows: list[list[Any]]) -> set[str]:
    """One statement for the whole group: INSERT ... SELECT FROM unnest(arrays) ... RETURNING."""
    arrays = [list(col) for col in zip(*rows)]
    casts = ", ".join(f"?::{_PG_ARRAY_TYPES.get(c, 'text[]')}" for c in columns)
    session.execute(
        f"INSERT INTO events ({', '.join(columns)}) SELECT * FROM unnest({casts}) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id", arrays)
    return {row["event_id"] for row in session.fetchall()}


def count_events(session: Session) -> int:
    return int(session.execute("SELECT count(*) AS n FROM events").fetchone()["n"])


def stored_event_ids(session: Session, event_ids: Sequence[str]) -> set[str]:
    """The subset of `event_ids` already stored."""
    found: set[str] = set()
    for start in range(0, len(event_ids), 500):
        chunk = list(event_ids[start:start + 500])
        marks = ", ".join("?" * len(chunk))
        rows = session.execute(f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk).fetchall()
        found.update(r["event_id"] for r in rows)
    return found
