"""Decision rows in the online store, in the canonical `decisions` columns, written once by decision_id."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from datetime import datetime

from .database import Database


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


def record_decisions(db: Database, decisions: list[DecisionRecord]) -> int:
    """Insert decisions whose id is new; returns how many were new."""
    sql = (f"INSERT INTO decisions ({', '.join(DECISION_FIELDS)}) VALUES ({', '.join('?' * len(DECISION_FIELDS))}) "
           "ON CONFLICT (decision_id) DO NOTHING")
    new = 0
    with db.transaction() as session:
        for d in decisions:
            row = list(astuple(d))
            row[1] = db.time(d.decided_at)
            session.execute(sql, row)
            new += session.rowcount
    return new
