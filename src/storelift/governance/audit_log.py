"""A tamper-evident audit trail: append-only entries, each carrying the SHA-256 of its own content and
of the entry before it, so changing, deleting or reordering any entry breaks the chain.

The chain lives in the warehouse's `audit_log` table. Its head (the last seq and hash) is also written
to `audit_head.json` in the workspace, outside the warehouse, so dropping entries from the end is
caught too; copy that file somewhere the warehouse's writers cannot reach for stronger evidence.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import StoreliftError

GENESIS = "0" * 64
HEAD_FILE = "audit_head.json"
PROBLEM_COLUMNS = ["seq", "problem"]


class AuditLogError(StoreliftError):
    """The audit trail cannot be written or read."""


def _utc_naive(at) -> pd.Timestamp:
    """A time as naive UTC (how the warehouse stores times)."""
    stamp = pd.Timestamp(at)
    return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)


def _stamp(at) -> str:
    return _utc_naive(at).strftime("%Y-%m-%dT%H:%M:%S.%f")


def entry_hash(seq: int, at, actor: str, action: str, subject: str | None, details: str | None,
               prev_hash: str) -> str:
    """SHA-256 of an entry's content and the previous entry's hash, over a canonical JSON text."""
    text = json.dumps({"seq": int(seq), "at": _stamp(at), "actor": actor, "action": action, "subject": subject,
                       "details": details, "prev_hash": prev_hash}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chained_entry(previous: dict | None, actor: str, action: str, subject: str | None = None,
                  details: dict | None = None, at: datetime | None = None) -> dict:
    """The next entry after `previous` (None: the first), with its seq, prev_hash and hash."""
    if not actor or not action:
        raise AuditLogError("an audit entry needs an actor (who) and an action (what); pass both")
    seq = 0 if previous is None else int(previous["seq"]) + 1
    prev_hash = GENESIS if previous is None else str(previous["hash"])
    when = _utc_naive(at or datetime.now(timezone.utc))
    text = None if details is None else json.dumps(details, sort_keys=True, default=str)
    return {"seq": seq, "at": when, "actor": actor, "action": action, "subject": subject, "details": text,
            "prev_hash": prev_hash, "hash": entry_hash(seq, when, actor, action, subject, text, prev_hash)}


def verify_chain(entries: pd.DataFrame, head: dict | None = None) -> pd.DataFrame:
    """Every break in the chain, one row each (empty: intact). Columns: seq, problem.

    entries: the audit_log rows in any order. head: the last seq and hash recorded outside the
    warehouse, if any (catches entries dropped from the end)."""
    problems: list[tuple[int | None, str]] = []
    rows = entries.sort_values("seq", kind="stable").to_dict("records")
    previous_hash, expected_seq = GENESIS, 0
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            problems.append((seq, f"entry {seq} follows entry {expected_seq - 1}: entries {expected_seq}.."
                                  f"{seq - 1} are missing or entries were renumbered"))
        if row["prev_hash"] != previous_hash:
            problems.append((seq, "prev_hash does not match the entry before it: an entry was deleted, "
                                  "inserted or moved"))
        details = None if pd.isna(row["details"]) else row["details"]
        subject = None if pd.isna(row["subject"]) else row["subject"]
        if entry_hash(seq, row["at"], row["actor"], row["action"], subject, details, row["prev_hash"]) != row["hash"]:
            problems.append((seq, "hash does not match the entry's content: the entry was changed"))
        previous_hash, expected_seq = row["hash"], seq + 1
    if head is not None:
        last = rows[-1] if rows else None
        if last is None or int(last["seq"]) != int(head["seq"]) or last["hash"] != head["hash"]:
            problems.append((None, f"the chain ends at entry {None if last is None else int(last['seq'])} but the "
                                   f"recorded head is entry {head['seq']}: entries were removed from the end"))
    return pd.DataFrame(problems, columns=PROBLEM_COLUMNS)


def local_actor() -> str:
    """Who runs this process on this machine (user@host), for entries written by the CLI."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no login name (some containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def read_head(root: Path) -> dict | None:
    path = Path(root) / HEAD_FILE
    return json.loads(path.read_text()) if path.exists() else None


def append_audit(ws, actor: str, action: str, subject: str | None = None, details: dict | None = None,
                 at: datetime | None = None) -> dict:
    """Append one entry to the workspace's audit log and move the recorded head; returns the entry."""
    from ..warehouse import fetch

    wh = ws.warehouse
    table = wh.table("audit_log")
    last = fetch(table.order_by(table.seq.desc()).limit(1))
    entry = chained_entry(None if last.empty else last.iloc[0].to_dict(), actor, action, subject, details, at)
    wh.insert("audit_log", pd.DataFrame([entry]))
    head = Path(ws.root) / HEAD_FILE
    tmp = head.with_suffix(".tmp")
    tmp.write_text(json.dumps({"seq": entry["seq"], "hash": entry["hash"]}))
    tmp.replace(head)
    return entry


def verify_workspace(ws) -> tuple[int, pd.DataFrame]:
    """(entries, problems) for the workspace's audit log against its recorded head."""
    from ..warehouse import fetch

    entries = fetch(ws.warehouse.table("audit_log"))
    return len(entries), verify_chain(entries, read_head(ws.root))
