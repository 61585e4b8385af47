"""Decision rows in the online store, in the canonical `decisions` columns, written once by decision_id."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from .database import Database, Session


@dataclass(frozen=True)
class DecisionRecord:
    """One automated choice about a customer (see storelift.schema.DECISIONS)."""

    decision_id: str
    decided_at: datetime
    customer_id: str | None
    initiative: str
    placement: str | None
    arm: str
    has_consent: bool | None
    model_version: str | None
    shown: str | None  # JSON
    explanation: str | None


DECISION_FIELDS = [f.name for f in fields(DecisionRecord)]


def insert_decisions(session: Session, decisions: list[DecisionRecord]) -> int:
    """Insert decisions whose id is new inside an open transaction; returns how many were new."""
    db = session.db
    sql = (f"INSERT INTO decisions ({', '.join(DECISION_FIELDS)}) VALUES ({', '.join('?' * len(DECISION_FIELDS))}) "
           "ON CONFLICT (decision_id) DO NOTHING")
    rows = []
    for d in decisions:  # attribute by attribute: dataclasses.astuple deep-copies every field
        row = [getattr(d, name) for name in DECISION_FIELDS]
        row[1] = db.time(d.decided_at)
        rows.append(row)
    if len(rows) == 1:
        session.execute(sql, rows[0])
    else:
        session.executemany(sql, rows)  # sqlite3 and psycopg 3 both sum the rows inserted
    return session.rowcount


def record_decisions(db: Database, decisions: list[DecisionRecord]) -> int:
    """Insert decisions whose id is new in their own transaction; returns how many were new."""
    with db.transaction() as session:
        return insert_decisions(session, decisions)


def count_decisions(db: Database, customer_id: str, placement: str, since: datetime) -> int:
    """Decisions for this customer and placement at or after `since` (for frequency caps)."""
    with db.read() as session:
        row = session.execute("SELECT count(*) AS n FROM decisions WHERE customer_id = ? AND placement = ? "
                              "AND decided_at >= ?", (customer_id, placement, db.time(since))).fetchone()
    return int(row["n"])
