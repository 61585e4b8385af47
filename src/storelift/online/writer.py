"""Group commit: one writer thread commits many requests' events (and decision rows) in one durable
transaction.

Requests hand their events to `EventWriter.submit` and wait on the returned future, which is
resolved only after the transaction holding their rows has committed. While one commit waits for
the disk, new requests queue up and go into the next transaction together, so the cost of an
fsync is shared by every request that arrived meanwhile. Decision rows of answered lists, which
nobody waits for, are deferred: they ride along with the next commit, or one of their own at most
`decision_linger_s` later.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Sequence

from .database import Database, utc_now
from .errors import OnlineStoreError
from .decisions import DecisionRecord, insert_decisions
from .events import EventRecord, insert_events

log = logging.getLogger("storelift.online")

_STOP = object()


@dataclass(frozen=True)
class WriteResult:
    """What happened to one request's events: every one is now stored exactly once."""

    received: int
    stored: int  # new rows written by this request
    duplicates: int  # event ids that were already stored (or repeated within the request)


@dataclass
class _Pending:
    records: Sequence[EventRecord]
    future: Future
    decisions: Sequence[DecisionRecord] = ()


class EventWriter:
    """A thread that drains the queue of pending writes and commits them in groups."""

    def __init__(self, db: Database, max_group_rows: int = 5_000,
                 on_commit: Callable[[int, int], None] | None = None, decision_linger_s: float = 0.2):
        self.db = db
        self.max_group_rows = max_group_rows
        self.decision_linger_s = decision_linger_s  # the longest a deferred decision row waits for its commit
        self.on_commit = on_commit  # called with (requests, rows) after each committed group
        self._queue: queue.Queue = queue.Queue()
        self._deferred: collections.deque[DecisionRecord] = collections.deque()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.commits = 0

    def start(self) -> "EventWriter":
        with self._lock:
            if self._closed:
                raise OnlineStoreError("the event writer is closed; open the store again")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="storelift-event-writer", daemon=True)
                self._thread.start()
        return self

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, records: Sequence[EventRecord], decisions: Sequence[DecisionRecord] = ()) -> Future:
        """Queue `records` (and decision rows); the future gives a WriteResult once they are committed."""
        future: Future = Future()
        if not records and not decisions:
            future.set_result(WriteResult(0, 0, 0))
            return future
        self.start()
        self._queue.put(_Pending(list(records), future, list(decisions)))
        return future

    def defer(self, decisions: Sequence[DecisionRecord]) -> None:
        """Hand over decision rows nobody waits for (those of answered lists): they go into the next
        commit, at the latest `decision_linger_s` from now, without waking the writer, so a busy
        service pays one thread hand-off per commit, not per row. Failures are logged."""
        self.start()
        self._deferred.extend(decisions)

    async def write_decisions_async(self, decisions: Sequence[DecisionRecord]) -> None:
        """Write decision rows in the next group commit and await it without blocking the event loop."""
        await asyncio.wrap_future(self.submit((), decisions))

    def write(self, records: Sequence[EventRecord], timeout_s: float | None = None) -> WriteResult:
        """Write and wait until the commit (for scripts and tests)."""
        return self.submit(records).result(timeout_s)

    async def write_async(self, records: Sequence[EventRecord]) -> WriteResult:
        """Write and await the commit without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(records))

    def close(self, timeout_s: float = 30.0) -> None:
        """Commit what is queued, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout_s)

    # -- the writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:  # wake at least every decision_linger_s for deferred decision rows
                item = self._queue.get(timeout=self.decision_linger_s)
            except queue.Empty:
                item = None
            group: list[_Pending] = []
            rows = 0
            while item is not None:
                if item is _STOP:
                    stopping = True
                    break
                group.append(item)
                rows += len(item.records) + len(item.decisions)
                if rows >= self.max_group_rows:
                    break
                try:  # whatever queued up during the last commit goes into this one
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            deferred = self._take_deferred()
            if deferred:
                group.append(_Pending((), _deferred_future(), deferred))
            if group:
                self._commit_group(group)
        while self._deferred:  # rows handed over before close
            self._commit_group([_Pending((), _deferred_future(), self._take_deferred())])

    def _take_deferred(self) -> list[DecisionRecord]:
        taken = []
        while self._deferred and len(taken) < self.max_group_rows:
            taken.append(self._deferred.popleft())
        return taken

    def _commit_group(self, group: list[_Pending]) -> None:
        try:
            results = self._commit(group)
        except Exception as exc:
            if len(group) == 1:
                _fail(group[0], exc)
                return
            # one request's rows must not fail the others: commit each on its own
            for pending in group:
                try:
                    _resolve(pending, self._commit([pending])[0])
                except Exception as one_exc:
                    _fail(pending, one_exc)
            return
        for pending, result in zip(group, results):
            _resolve(pending, result)

    def _commit(self, group: list[_Pending]) -> list[WriteResult]:
        """Insert the group's rows in one transaction; first occurrence of an id wins."""
        seen: set[str] = set()
        firsts: list[list[EventRecord]] = []
        unique: list[EventRecord] = []
        for pending in group:
            mine = []
            for record in pending.records:
                if record.event_id not in seen:
                    seen.add(record.event_id)
                    mine.append(record)
            firsts.append(mine)
            unique.extend(mine)
        decisions = [d for pending in group for d in pending.decisions]
        with self.db.transaction() as session:
            inserted = insert_events(session, unique, utc_now()) if unique else set()
            if decisions:
                insert_decisions(session, decisions)
        self.commits += 1
        if self.on_commit is not None:
            try:
                self.on_commit(len(group), len(unique))
            except Exception:  # a metrics hook must never undo an acknowledged commit
                log.exception("on_commit hook failed")
        results = []
        for pending, mine in zip(group, firsts):
            stored = sum(1 for r in mine if r.event_id in inserted)
            results.append(WriteResult(len(pending.records), stored, len(pending.records) - stored))
        return results


def _deferred_future() -> Future:
    future: Future = Future()
    future.add_done_callback(_log_lost_decisions)
    return future


def _log_lost_decisions(future: Future) -> None:
    if future.exception() is not None:
        log.error("decision rows could not be written: %s", future.exception())


def _resolve(pending: _Pending, result: WriteResult) -> None:
    if not pending.future.done():
        pending.future.set_result(result)


def _fail(pending: _Pending, exc: Exception) -> None:
    if not isinstance(exc, OnlineStoreError):
        log.exception("event write failed", exc_info=exc)
    if not pending.future.done():
        pending.future.set_exception(exc)
