"""The online store's tables, created idempotently on SQLite and PostgreSQL.

events and decisions carry the canonical columns of `storelift.schema` (so exporting them to the
warehouse is a copy), plus when the service received them and when they were exported.
"""

from __future__ import annotations

from ..schema import DECISIONS, EVENTS, TableSpec
from .database import Database

SCHEMA_VERSION = "1"

_TYPES = {
    "sqlite": {"string": "TEXT", "int64": "INTEGER", "float64": "REAL", "boolean": "INTEGER", "timestamp": "TEXT"},
    "postgres": {"string": "TEXT", "int64": "BIGINT", "float64": "DOUBLE PRECISION", "boolean": "BOOLEAN",
                 "timestamp": "TIMESTAMPTZ"},
}
_SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgres": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"}

EVENT_COLUMNS = EVENTS.column_names + ["received_at"]
DECISION_COLUMNS = DECISIONS.column_names


def _canonical_columns(spec: TableSpec, dialect: str) -> list[str]:
    types = _TYPES[dialect]
    out = []
    for c in spec.columns:
        not_null = " NOT NULL" if c.name in spec.key else ""
        out.append(f"{c.name} {types[c.dtype]}{not_null}")
    return out


def table_statements(dialect: str) -> list[str]:
    """CREATE statements for every online table and index (each IF NOT EXISTS)."""
    t = _TYPES[dialect]
    ts, boolean = t["timestamp"], t["boolean"]
    events = _canonical_columns(EVENTS, dialect) + [f"received_at {ts} NOT NULL", f"exported_at {ts}"]
    decisions = _canonical_columns(DECISIONS, dialect) + [f"exported_at {ts}"]
    return [
        "CREATE TABLE IF NOT EXISTS online_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS events ({', '.join(events)}, PRIMARY KEY (event_id))",
        "CREATE INDEX IF NOT EXISTS events_to_export ON events (received_at) WHERE exported_at IS NULL",
        "CREATE INDEX IF NOT EXISTS events_by_customer ON events (customer_id)",
        f"""CREATE TABLE IF NOT EXISTS identities (
            anonymous_id TEXT NOT NULL, customer_id TEXT NOT NULL,
            first_seen_at {ts} NOT NULL, last_seen_at {ts} NOT NULL, traits TEXT,
            PRIMARY KEY (anonymous_id, customer_id))""",
        "CREATE INDEX IF NOT EXISTS identities_by_customer ON identities (customer_id)",
        f"""CREATE TABLE IF NOT EXISTS consents (
            id {_SERIAL[dialect]}, customer_id TEXT NOT NULL, purpose TEXT NOT NULL,
            granted {boolean} NOT NULL, recorded_at {ts} NOT NULL, source TEXT, exported_at {ts})""",
        "CREATE INDEX IF NOT EXISTS consents_by_customer ON consents (customer_id, purpose, id)",
        "CREATE INDEX IF NOT EXISTS consents_to_export ON consents (id) WHERE exported_at IS NULL",
        # staging for import_consents: filled and emptied inside one transaction
        f"""CREATE TABLE IF NOT EXISTS consent_imports (
            customer_id TEXT NOT NULL, purpose TEXT NOT NULL, granted {boolean} NOT NULL,
            recorded_at {ts} NOT NULL)""",
        f"CREATE TABLE IF NOT EXISTS decisions ({', '.join(decisions)}, PRIMARY KEY (decision_id))",
        "CREATE INDEX IF NOT EXISTS decisions_to_export ON decisions (decided_at) WHERE exported_at IS NULL",
        "CREATE INDEX IF NOT EXISTS decisions_by_customer ON decisions (customer_id, placement, decided_at)",
        f"""CREATE TABLE IF NOT EXISTS erasure_requests (
            request_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, requested_at {ts} NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'done')), done_at {ts})""",
        "CREATE INDEX IF NOT EXISTS erasure_by_customer ON erasure_requests (customer_id, status)",
        f"""CREATE TABLE IF NOT EXISTS api_keys (
            key_id TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL,
            rate_limit_per_s DOUBLE PRECISION NOT NULL, created_at {ts} NOT NULL, revoked_at {ts})""",
        f"CREATE TABLE IF NOT EXISTS health_checks (worker TEXT PRIMARY KEY, checked_at {ts} NOT NULL)",
    ]


def ensure_tables(db: Database) -> None:
    """Create the tables that are missing; safe when several processes start at once."""
    with db.transaction() as session:
        if db.dialect == "postgres":
            session.lock("storelift-online-schema")  # CREATE ... IF NOT EXISTS races on PostgreSQL
            session.execute(f"CREATE SCHEMA IF NOT EXISTS {db.url.schema}")
        for statement in table_statements(db.dialect):
            session.execute(statement)
        session.execute("INSERT INTO online_meta (key, value) VALUES ('schema_version', ?) "
                        "ON CONFLICT (key) DO NOTHING", (SCHEMA_VERSION,))
