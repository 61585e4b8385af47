"""Erase a customer from the online store (SQLite or PostgreSQL) that the HTTP service writes.

Rows that hold an identifier anywhere in their text go: events, identity links, consents, decisions.
The erasure request itself stays, as proof that it was done, with its customer id replaced by a
marker. SQLite is then checkpointed and vacuumed so no deleted page keeps the old bytes.
"""

from __future__ import annotations

import re

from ..schema import DECISIONS, EVENTS

# table -> (key columns that identify a row, text columns searched)
ONLINE_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "events": (("event_id",), tuple(c.name for c in EVENTS.columns if c.dtype == "string")),
    "identities": (("anonymous_id", "customer_id"), ("anonymous_id", "customer_id", "traits")),
    "consents": (("id",), ("customer_id", "purpose", "source")),
    "consent_imports": (("customer_id", "purpose", "recorded_at"), ("customer_id",)),
    "decisions": (("decision_id",), tuple(c.name for c in DECISIONS.columns if c.dtype == "string")),
    "erasure_requests": (("request_id",), ("customer_id",)),
}
ERASED_MARKER = "erased"


def _like(identifier: str) -> str:
    """A LIKE pattern finding the identifier anywhere in a value ('%' and '_' in it escaped)."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", identifier) + "%"


def candidate_rows(session, table: str, identifiers) -> list:
    """The rows of an online table that may hold an identifier (its key and text columns): a LIKE on
    every text column, a superset of the token matches, so that only those rows are read."""
    keys, columns = ONLINE_TABLES[table]
    likes = [_like(str(i)) for i in sorted(identifiers)]
    selected = ", ".join(dict.fromkeys(keys + columns))
    narrow = " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns for _ in likes)
    return session.execute(f"SELECT {selected} FROM {table} WHERE {narrow}",
                           [like for _ in columns for like in likes]).fetchall()


def erase_online(db, pattern: str, identifiers) -> dict[str, tuple[str, int]]:
    """Delete every online row holding an identifier token; returns (action, rows) per table touched.
    LIKE narrows the rows read, the token expression decides."""
    regex = re.compile(pattern)
    changed: dict[str, tuple[str, int]] = {}
    with db.transaction() as session:
        if db.dialect == "sqlite":  # deleted cells are overwritten with zeros, not just unlinked
            session.execute("PRAGMA secure_delete=ON")
        for table, (keys, columns) in ONLINE_TABLES.items():
            rows = candidate_rows(session, table, identifiers)
            doomed = [tuple(row[k] for k in keys) for row in rows
                      if any(row[c] is not None and regex.search(str(row[c])) for c in columns)]
            if not doomed:
                continue
            where = " AND ".join(f"{k} = ?" for k in keys)
            if table == "erasure_requests":
                session.executemany(f"UPDATE {table} SET customer_id = ? WHERE {where}",
                                    [(ERASED_MARKER, *key) for key in doomed])
                changed[table] = ("customer id replaced by a marker", len(doomed))
            else:
                session.executemany(f"DELETE FROM {table} WHERE {where}", doomed)
                changed[table] = ("deleted", len(doomed))
    if db.dialect == "sqlite":
        compact_sqlite(db)
    return changed


def compact_sqlite(db) -> None:
    """Fold the WAL into the file and rewrite it, so deleted rows leave no bytes behind. While the
    service holds the file open VACUUM may be refused: the deleted cells are zeroed already
    (secure_delete), and the scan afterwards reports any copy left in the WAL."""
    import sqlite3

    conn = db._connection()
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
            raise
