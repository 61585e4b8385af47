"""Connections to the online store: SQLite (WAL) in the workspace, or PostgreSQL by URL.

Callers write SQL once with ``?`` placeholders and open short transactions with
``db.transaction()`` (writes) or ``db.read()``; the dialect differences (placeholders, time
values, locking, connection handling across threads) stay in this module.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import OnlineStoreBusy, OnlineStoreError

ONLINE_FILE = "online.sqlite"
CACHE_KIB = 64 * 1024  # per SQLite connection (one per thread); pages are allocated as used
DEFAULT_PG_SCHEMA = "storelift_online"
SQLITE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class OnlineURL:
    """Where the online store lives: a SQLite file, or a PostgreSQL database and schema."""

    dialect: str  # "sqlite" or "postgres"
    target: str  # a file path, or a libpq connection URL without the schema option
    schema: str = DEFAULT_PG_SCHEMA
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str | None, workspace_root: Path | None = None) -> "OnlineURL":
        """None means `online.sqlite` in the workspace; else sqlite:///FILE or postgresql://..."""
        if not url:
            if workspace_root is None:
                raise OnlineStoreError("no online store URL and no workspace; pass --online-url or a workspace")
            return cls("sqlite", str(Path(workspace_root) / ONLINE_FILE))
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme == "sqlite":
            path = url.split("://", 1)[1].split("?", 1)[0]  # sqlite:///abs/file or sqlite://relative/file
            if not path:
                raise OnlineStoreError(f"online url {url!r} names no file; use sqlite:///path/online.sqlite")
            if not Path(path).is_absolute() and workspace_root is not None:
                path = str(Path(workspace_root) / path)
            return cls("sqlite", path)
        if scheme in ("postgres", "postgresql"):
            parts = urlsplit(url)
            query = dict(parse_qsl(parts.query))
            schema = query.pop("schema", DEFAULT_PG_SCHEMA)
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
                raise OnlineStoreError(
                    f"online url schema {schema!r} is not a plain lower-case SQL name; use letters, digits and _")
            target = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))
            return cls("postgres", target, schema, query)
        raise OnlineStoreError(
            f"online url {redact(url)!r}: unknown kind {scheme!r}; use sqlite:///path/online.sqlite or "
            "postgresql://user:password@host:5432/database")


def redact(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


class Session:
    """One open transaction. SQL uses ``?`` placeholders on both dialects."""

    def __init__(self, cursor: Any, db: "Database"):
        self._cursor = cursor
        self.db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> "Session":
        self._cursor.execute(self.db.translate(sql), tuple(params))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> "Session":
        if rows:
            self._cursor.executemany(self.db.translate(sql), [tuple(r) for r in rows])
        return self

    def fetchone(self) -> Mapping[str, Any] | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Mapping[str, Any]]:
        return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def lock(self, name: str) -> None:
        """Serialize writers of one thing (a customer) until this transaction ends."""
        self.db.lock(self, name)


class Database:
    """The operations both dialects offer; see SqliteDatabase and PostgresDatabase."""

    dialect: str
    url: OnlineURL

    def translate(self, sql: str) -> str:
        return sql

    def time(self, value: datetime | None) -> Any:
        """A UTC time as this database stores it."""
        raise NotImplementedError

    def read_time(self, value: Any) -> datetime | None:
        """A stored time back as an aware UTC datetime."""
        raise NotImplementedError

    def lock(self, session: Session, name: str) -> None:
        raise NotImplementedError

    def transaction(self) -> contextlib.AbstractContextManager[Session]:
        raise NotImplementedError

    def read(self) -> contextlib.AbstractContextManager[Session]:
        raise NotImplementedError

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Mapping[str, Any] | None:
        """The first row of one read statement (a statement is consistent on its own: no transaction
        needs opening around it)."""
        with self.read() as session:
            return session.execute(sql, params).fetchone()

    def close(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    """A SQLite file in WAL mode: one connection per thread, writers serialized by BEGIN IMMEDIATE.

    synchronous=FULL makes every commit durable (fsync of the WAL) before it returns, so an
    acknowledged write survives a killed process and a power cut.
    """

    dialect = "sqlite"

    def __init__(self, url: OnlineURL, busy_timeout_s: float = 10.0):
        self.url = url
        self.path = Path(url.target)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OnlineStoreError(f"cannot make the folder of the online store {self.path}: {exc}") from exc
        with self._errors():
            mode = self._switch_to_wal()
        if str(mode).lower() != "wal":
            raise OnlineStoreError(f"{self.path}: SQLite refused WAL mode ({mode}); put the file on a local disk")

    def _switch_to_wal(self) -> str:
        """PRAGMA journal_mode=WAL, retried: on a new file opened by several processes at once SQLite can
        answer "locked" at once, without waiting out the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                return self._connection().execute("PRAGMA journal_mode=WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # index pages of large tables stay in memory
            self._local.conn = conn
            with self._guard:
                self._connections.append(conn)
        return conn

    def time(self, value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(timezone.utc).strftime(SQLITE_TIME_FORMAT)

    def read_time(self, value: Any) -> datetime | None:
        if value is None:
            return None
        return datetime.strptime(value, SQLITE_TIME_FORMAT).replace(tzinfo=timezone.utc)

    def lock(self, session: Session, name: str) -> None:
        """BEGIN IMMEDIATE already holds the database's single write lock."""

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                raise OnlineStoreBusy(
                    f"the online store {self.path} stayed locked for {self.busy_timeout_s:g} s; retry the request"
                ) from exc
            if any(w in text for w in ("disk", "readonly", "read-only", "unable to open", "i/o")):
                raise OnlineStoreError(f"cannot write the online store {self.path}: {exc}; check the disk "
                                       "and the file's permissions") from exc
            raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._errors():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Session(conn.cursor(), self)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # also when COMMIT itself failed (e.g. a full disk)
                    conn.execute("ROLLBACK")
                raise

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Mapping[str, Any] | None:
        with self._errors():  # autocommit: one statement, no BEGIN/COMMIT round trips
            return self._connection().execute(self.translate(sql), params).fetchone()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._errors():
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield Session(conn.cursor(), self)
            finally:
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._guard:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()


class PostgresDatabase(Database):
    """PostgreSQL through a psycopg 3 connection pool (one pool per process), tables in one schema."""

    dialect = "postgres"

    def __init__(self, url: OnlineURL, busy_timeout_s: float = 10.0, pool_size: int = 8):
        try:
            import psycopg
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise OnlineStoreError("a postgresql:// online store needs the serve extra: "
                                   "pip install 'storelift[serve]'") from exc
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        self._psycopg = psycopg
        schema = url.schema

        def configure(conn) -> None:
            conn.autocommit = True
            conn.execute(f"SET search_path TO {schema}")
            conn.execute("SET TIME ZONE 'UTC'")
            conn.autocommit = False

        self._pool = ConnectionPool(
            url.target, min_size=1, max_size=pool_size, open=False, timeout=busy_timeout_s,
            kwargs={"row_factory": dict_row, "connect_timeout": max(1, int(busy_timeout_s))},
            configure=configure, check=ConnectionPool.check_connection, name="storelift-online",
        )
        try:
            self._pool.open(wait=True, timeout=busy_timeout_s)
        except Exception as exc:
            self._pool.close()
            raise OnlineStoreError(f"cannot connect to the online store {redact(url.target)}: {exc}; "
                                   "check that PostgreSQL runs and the URL's user, password and database") from exc

    def translate(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def time(self, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(timezone.utc)

    def read_time(self, value: Any) -> datetime | None:
        return None if value is None else value.astimezone(timezone.utc)

    def lock(self, session: Session, name: str) -> None:
        session.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        from psycopg_pool import PoolTimeout

        try:
            yield
        except (PoolTimeout, self._psycopg.OperationalError) as exc:
            raise OnlineStoreBusy(
                f"the online store {redact(self.url.target)} did not answer in time ({exc}); retry the request"
            ) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._errors(), self._pool.connection() as conn, conn.transaction():
            yield Session(conn.cursor(), self)

    read = transaction

    def close(self) -> None:
        self._pool.close()


def open_database(url: OnlineURL, busy_timeout_s: float = 10.0) -> Database:
    if url.dialect == "sqlite":
        return SqliteDatabase(url, busy_timeout_s)
    return PostgresDatabase(url, busy_timeout_s)
