"""OnlineStore: the state the real-time service reads and writes, behind one object per process."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import api_keys, consent, decisions, erasure, identities
from .database import Database, OnlineURL, open_database, utc_now
from .events import EventRecord, count_events
from .tables import ensure_tables
from .writer import EventWriter, WriteResult

log = logging.getLogger("storelift.online")

TABLES = ("events", "identities", "consents", "decisions", "erasure_requests", "api_keys")


class OnlineStore:
    """Events, identities, consents, decisions, erasure requests and API keys of one workspace.

    Every method is safe to call from many threads, and from many processes on the same store:
    state lives in the database, never in process memory.
    """

    def __init__(self, db: Database, clock: Callable[[], datetime] = utc_now):
        self.db = db
        self.clock = clock
        self.writer = EventWriter(db)

    @classmethod
    def open(cls, url: str | None = None, workspace_root: Path | str | None = None,
             busy_timeout_s: float = 10.0) -> "OnlineStore":
        """Open (and create if needed) the store: `online.sqlite` in the workspace unless `url` says otherwise."""
        db = open_database(OnlineURL.parse(url, Path(workspace_root) if workspace_root else None), busy_timeout_s)
        try:
            ensure_tables(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    # -- events -----------------------------------------------------------------------------
    def write_events(self, records: Sequence[EventRecord]) -> WriteResult:
        """Store events durably (group commit); returns once they are committed."""
        return self.writer.write(records)

    async def write_events_async(self, records: Sequence[EventRecord]) -> WriteResult:
        return await self.writer.write_async(records)

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(f"no online table {table!r}; tables are {', '.join(TABLES)}")
        with self.db.read() as session:
            if table == "events":
                return count_events(session)
            return int(session.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"])

    # -- customers --------------------------------------------------------------------------
    def link_identity(self, anonymous_id: str, customer_id: str, seen_at: datetime | None = None,
                      traits: Mapping[str, Any] | None = None) -> bool:
        return identities.link_identity(self.db, anonymous_id, customer_id, seen_at or self.clock(), traits)

    def record_consent(self, customer_id: str, changes: Mapping[str, bool],
                       source: str | None = "api") -> list[consent.ConsentRecord]:
        return consent.record_consent(self.db, customer_id, changes, source, self.clock())

    def consent(self, customer_id: str, history_limit: int = 100) -> consent.CustomerConsent:
        return consent.consent_of(self.db, customer_id, history_limit)

    def has_consent(self, customer_id: str, purpose: str) -> bool:
        return consent.has_consent(self.db, customer_id, purpose)

    def request_erasure(self, customer_id: str) -> tuple[erasure.ErasureRequest, bool]:
        return erasure.request_erasure(self.db, customer_id, self.clock())

    def erasure_request(self, request_id: str) -> erasure.ErasureRequest | None:
        return erasure.erasure_request(self.db, request_id)

    def mark_erasure_done(self, request_id: str) -> bool:
        return erasure.mark_erasure_done(self.db, request_id, self.clock())

    def record_decisions(self, rows: list[decisions.DecisionRecord]) -> int:
        return decisions.record_decisions(self.db, rows)

    async def record_decision_async(self, decision: decisions.DecisionRecord) -> None:
        """Write one decision in the next group commit (shared with events) and await it."""
        await self.writer.write_decisions_async([decision])

    def record_decision_soon(self, decision: decisions.DecisionRecord) -> None:
        """Queue one decision for the next group commit without waiting for it (failures are logged)."""
        self.writer.defer([decision])

    def count_decisions(self, customer_id: str, placement: str, since: datetime) -> int:
        return decisions.count_decisions(self.db, customer_id, placement, since)

    def import_consents(self, records, source: str = "warehouse") -> int:
        return consent.import_consents(self.db, records, source, self.clock())

    # -- API keys ---------------------------------------------------------------------------
    def create_api_key(self, name: str, scopes: Iterable[str],
                       rate_limit_per_s: float = 100.0) -> tuple[api_keys.ApiKey, str]:
        return api_keys.create_api_key(self.db, name, scopes, rate_limit_per_s, self.clock())

    def list_api_keys(self) -> list[api_keys.ApiKey]:
        return api_keys.list_api_keys(self.db)

    def revoke_api_key(self, key_id: str) -> api_keys.ApiKey:
        return api_keys.revoke_api_key(self.db, key_id, self.clock())

    def lookup_api_key(self, text: str) -> api_keys.ApiKey | None:
        return api_keys.lookup_api_key(self.db, text)

    # -- operations -------------------------------------------------------------------------
    def check_writable(self, worker: str) -> None:
        """Write and commit a row, so a health check proves the store takes writes."""
        with self.db.transaction() as session:
            session.execute("INSERT INTO health_checks (worker, checked_at) VALUES (?, ?) "
                            "ON CONFLICT (worker) DO UPDATE SET checked_at = excluded.checked_at",
                            (worker, self.db.time(self.clock())))

    def close(self) -> None:
        """Commit queued events, then close the connections."""
        self.writer.close()
        self.db.close()

    def __enter__(self) -> "OnlineStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
