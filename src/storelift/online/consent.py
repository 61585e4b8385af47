"""Consent in the online store: a history of grants and withdrawals; the latest per purpose is in force.

Reads go to the store, never to process memory, so a change made through one worker is what the
next request sees on every worker. While an erasure request is queued for a customer, every
purpose reads as not granted, whatever the history says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

from ..schema import CONSENT_PURPOSES
from .database import Database, Session
from .errors import OnlineStoreError

PURPOSES = tuple(sorted(CONSENT_PURPOSES))


@dataclass(frozen=True)
class ConsentRecord:
    """One grant or withdrawal."""

    customer_id: str
    purpose: str
    granted: bool
    recorded_at: datetime
    source: str | None


@dataclass(frozen=True)
class CustomerConsent:
    """A customer's consent now: the record in force per purpose (None: never asked, so not granted)."""

    customer_id: str
    in_force: dict[str, ConsentRecord | None]
    erasure_requested: bool
    history: list[ConsentRecord]  # newest first

    def has_consent(self, purpose: str) -> bool:
        record = self.in_force.get(purpose)
        return not self.erasure_requested and record is not None and record.granted


def _check_purposes(purposes) -> None:
    unknown = sorted(set(purposes) - CONSENT_PURPOSES)
    if unknown:
        raise OnlineStoreError(f"unknown consent purpose {unknown[0]!r}; purposes are {', '.join(PURPOSES)}")


def record_consent(db: Database, customer_id: str, changes: Mapping[str, bool], source: str | None,
                   now: datetime) -> list[ConsentRecord]:
    """Append one history row per purpose in `changes`; they are in force as soon as this returns.

    recorded_at is the server's time, made strictly later than the customer's previous record
    for that purpose, so "latest" means the same thing here and in the warehouse.
    """
    _check_purposes(changes)
    written = []
    with db.transaction() as session:
        session.lock(f"customer:{customer_id}")
        for purpose in sorted(changes):
            row = session.execute(
                "SELECT max(recorded_at) AS last FROM consents WHERE customer_id = ? AND purpose = ?",
                (customer_id, purpose)).fetchone()
            last = db.read_time(row["last"]) if row and row["last"] is not None else None
            recorded_at = now if last is None or now > last else last + timedelta(microseconds=1)
            session.execute(
                "INSERT INTO consents (customer_id, purpose, granted, recorded_at, source) VALUES (?, ?, ?, ?, ?)",
                (customer_id, purpose, bool(changes[purpose]), db.time(recorded_at), source))
            written.append(ConsentRecord(customer_id, purpose, bool(changes[purpose]), recorded_at, source))
    return written


def import_consents(db: Database, records, source: str, now: datetime) -> int:
    """Append consent records from elsewhere (e.g. the warehouse's `consents`: customer_id, purpose,
    granted, recorded_at) where they are newer than every record the store holds for that customer
    and purpose, so a change made through the API is never overridden by an older file. Returns how
    many were added; importing the same records again adds none. Imported rows count as exported."""
    import pandas as pd

    frame = pd.DataFrame(records)
    missing = [c for c in ("customer_id", "purpose", "granted", "recorded_at") if c not in frame.columns]
    if missing:
        raise OnlineStoreError(f"consent records lack column(s) {missing}; pass customer_id, purpose, granted, "
                               "recorded_at")
    if frame.empty:
        return 0
    _check_purposes(frame["purpose"].unique())
    when = pd.to_datetime(frame["recorded_at"], utc=True)
    frame = frame.assign(recorded_at=when).sort_values("recorded_at", kind="stable") \
        .drop_duplicates(["customer_id", "purpose", "recorded_at"], keep="last")
    rows = [(str(c), str(p), bool(g), db.time(t.to_pydatetime()))
            for c, p, g, t in zip(frame["customer_id"], frame["purpose"], frame["granted"], frame["recorded_at"])]
    with db.transaction() as session:
        session.execute("DELETE FROM consent_imports")
        session.executemany("INSERT INTO consent_imports (customer_id, purpose, granted, recorded_at) "
                            "VALUES (?, ?, ?, ?)", rows)
        session.execute(
            "INSERT INTO consents (customer_id, purpose, granted, recorded_at, source, exported_at) "
            "SELECT i.customer_id, i.purpose, i.granted, i.recorded_at, ?, ? FROM consent_imports i "
            "WHERE NOT EXISTS (SELECT 1 FROM consents c WHERE c.customer_id = i.customer_id "
            "AND c.purpose = i.purpose AND c.recorded_at >= i.recorded_at) ORDER BY i.recorded_at",
            (source, db.time(now)))
        added = session.rowcount
        session.execute("DELETE FROM consent_imports")
    return int(added)


def _erasure_queued(session: Session, customer_id: str) -> bool:
    row = session.execute("SELECT 1 AS hit FROM erasure_requests WHERE customer_id = ? AND status = 'queued' "
                          "LIMIT 1", (customer_id,)).fetchone()
    return row is not None


def consent_of(db: Database, customer_id: str, history_limit: int = 100) -> CustomerConsent:
    """The purposes in force, whether erasure is pending, and the newest history rows."""
    with db.read() as session:
        rows = session.execute(
            "SELECT c.purpose, c.granted, c.recorded_at, c.source FROM consents c "
            "WHERE c.customer_id = ? AND c.id = (SELECT max(d.id) FROM consents d "
            "WHERE d.customer_id = c.customer_id AND d.purpose = c.purpose)", (customer_id,)).fetchall()
        history = session.execute(
            "SELECT purpose, granted, recorded_at, source FROM consents WHERE customer_id = ? "
            "ORDER BY id DESC LIMIT ?", (customer_id, history_limit)).fetchall()
        erasure = _erasure_queued(session, customer_id)

    def record(r) -> ConsentRecord:
        return ConsentRecord(customer_id, r["purpose"], bool(r["granted"]), db.read_time(r["recorded_at"]),
                             r["source"])

    in_force: dict[str, ConsentRecord | None] = {p: None for p in PURPOSES}
    for r in rows:
        in_force[r["purpose"]] = record(r)
    return CustomerConsent(customer_id, in_force, erasure, [record(r) for r in history])


def has_consent(db: Database, customer_id: str, purpose: str) -> bool:
    """Whether `purpose` may be used for this customer now (no record, or erasure pending: no)."""
    _check_purposes([purpose])
    row = db.query_one(  # one statement: it runs on every decision
        "SELECT (SELECT granted FROM consents WHERE customer_id = ? AND purpose = ? ORDER BY id DESC LIMIT 1) "
        "AS granted, EXISTS (SELECT 1 FROM erasure_requests WHERE customer_id = ? AND status = 'queued') "
        "AS erasing", (customer_id, purpose, customer_id))
    return bool(row["granted"]) and not bool(row["erasing"])
