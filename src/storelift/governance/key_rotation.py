"""Rotate the pseudonymization key: add a new key to the workspace's key file and re-key every stored
pseudonym with it, so a leaked old key alone can no longer test guesses against the data.

A stored pseudonym p becomes ``psn_`` + HMAC-SHA256(new key, p)[:32 hex]; the key file keeps the chain
of keys, oldest first, and `pii.pseudonym` applies the chain, so a customer loaded tomorrow gets the
pseudonym their old rows now carry. Everything is re-keyed: every text value of every warehouse table
(whole values and tokens inside text or JSON), the online store, and Parquet, pickle and text files
under models/ and reports/ (see `rekey_stores`).

One run, resumable at any point:
1. the new chain goes to ``<key file>.next`` and a marker ``<key file>.rotation.json`` records the
   rotation; while the marker exists every `pii.load_key` is refused, so nothing loads data keyed one
   way into tables keyed the other;
2. re-keyed copies of tables and files are staged beside the originals (originals untouched);
3. the online store is re-keyed in one transaction, staged copies replace the originals, the
   databases are compacted (no freed page keeps an old pseudonym), ``.next`` replaces the key file,
   an audit entry is written and the marker removed.
An interruption leaves every value keyed with a chain that is on disk (the key file or ``.next``) and
the marker in place; running the rotation again finishes the same rotation without re-keying twice.

Stop the HTTP service and any ingest or scoring job first and restart the service afterwards: a
running process keeps the key it loaded. Back up the key file again afterwards: new data needs the
whole chain, and the old backup no longer matches the stored pseudonyms.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..data import pii
from ..errors import PrivacyError
from .audit_log import append_audit, local_actor
from .erase_online import compact_sqlite
from .erase_warehouse import compact_duckdb
from .rekey import Rekeyer
from .rekey_stores import (
    drop_staged_files, drop_staged_tables, evidence_holding, rekey_online, stage_files, stage_warehouse, swap_files,
    swap_warehouse,
)
from .retention import open_online_store

ROTATION_COLUMNS = ("place", "action", "values")
AUDIT_ACTION = "pii.key_rotated"
NEXT_SUFFIX = ".next"


class KeyRotationError(PrivacyError):
    """The pseudonymization key cannot be rotated (key in the environment, no key file, a mismatch)."""


@dataclass(frozen=True)
class KeyRotation:
    """A finished rotation: its id, the key file and how many keys its chain holds now, and per place how
    many values were re-keyed (`places`: place, action, values)."""

    rotation_id: str
    key_file: Path
    keys: int
    places: pd.DataFrame
    resumed: bool


def workspace_key_file(ws) -> Path:
    """The workspace's key file, or an error saying why its key cannot be rotated."""
    if os.environ.get(pii.KEY_ENV):
        raise KeyRotationError(
            f"{pii.KEY_ENV} is set, so the key lives in the environment, where rotation cannot add a key; "
            f"write its value to a key file (owner-only permissions), set [privacy] key_file in "
            f"{Path(ws.root) / 'storelift.toml'} to that file, unset {pii.KEY_ENV}, and rotate again")
    if not ws.config.key_file:
        raise KeyRotationError(f"[privacy] key_file is not set in {Path(ws.root) / 'storelift.toml'}; point it "
                               "at the key file the workspace's data was pseudonymized with")
    return Path(ws.config.key_file).expanduser()


def next_key_file(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + NEXT_SUFFIX)


def rotate_key(ws, *, online_url: str | None = None, actor: str | None = None,
               progress: Callable[[str], None] | None = None) -> KeyRotation:
    """Add a new key to the chain and re-key every stored pseudonym with it (or finish an interrupted
    rotation). online_url: the service's online store when it is not online.sqlite in the workspace."""
    key_file = workspace_key_file(ws)
    actor = actor or local_actor()
    say = progress or (lambda _stage: None)
    marker = pii.rotation_marker(key_file)
    state = _read_state(marker)
    resumed = state is not None
    if state is None:
        state = _begin(ws, key_file, marker, actor)
    elif Path(state["workspace"]) != Path(ws.root).resolve():
        raise KeyRotationError(f"the unfinished rotation of {key_file} belongs to the workspace {state['workspace']}; "
                               "finish it there (run the rotation in that workspace)")
    chain = _new_chain(key_file, state)
    rekeyer = Rekeyer(chain.newest)

    if state["phase"] == "staging":
        say("staging re-keyed tables and files")
        drop_staged_tables(ws.warehouse)
        drop_staged_files(Path(ws.root))
        counts = stage_warehouse(ws.warehouse, rekeyer)
        counts |= stage_files(Path(ws.root), rekeyer)
        state = _write_state(marker, state | {"phase": "swapping", "counts": counts})

    say("re-keying the online store")
    state = _rekey_online_store(ws, online_url, rekeyer, marker, state)
    say("replacing tables and files")
    swap_warehouse(ws.warehouse)
    swap_files(Path(ws.root))
    if any(place.startswith("warehouse:") for place in state["counts"]):
        say("compacting the warehouse")
        _compact_warehouse(ws)
    _install_chain(key_file)
    places = _places(state, evidence_holding(ws.warehouse))
    _audit_once(ws, actor, state, places)
    marker.unlink(missing_ok=True)
    return KeyRotation(state["rotation_id"], key_file, len(chain), places, resumed)


def _begin(ws, key_file: Path, marker: Path, actor: str) -> dict:
    """Write the extended chain to ``.next`` and the marker; no data is touched yet."""
    old = pii.read_key_chain(key_file)
    keys = [k.decode() for k in old.keys] + [secrets.token_hex(32)]
    _write_private(next_key_file(key_file), "\n".join(keys) + "\n")
    state = {"rotation_id": "rot_" + uuid.uuid4().hex, "workspace": str(Path(ws.root).resolve()), "phase": "staging",
             "keys": len(keys), "actor": actor, "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "counts": {}}
    return _write_state(marker, state)


def _new_chain(key_file: Path, state: dict) -> pii.KeyChain:
    """The chain this rotation installs: ``.next`` until it is swapped in, the key file afterwards."""
    pending = next_key_file(key_file)
    if pending.exists():
        chain = pii.read_key_chain(pending)
        if chain.keys[:-1] != pii.read_key_chain(key_file).keys:
            raise KeyRotationError(f"{key_file} changed while a rotation was running (its keys no longer start "
                                   f"{pending}); restore the key file from a backup, then rotate again")
    elif state["phase"] == "staging":
        raise KeyRotationError(f"{pending} is missing, so the unfinished rotation cannot go on; no data was re-keyed "
                               f"yet: delete {pii.rotation_marker(key_file)} and rotate again")
    else:
        chain = pii.read_key_chain(key_file)
    if len(chain) != state["keys"]:
        raise KeyRotationError(f"{key_file} holds {len(chain)} keys but the unfinished rotation expects "
                               f"{state['keys']}; restore the key file from a backup, then rotate again")
    return chain


def _rekey_online_store(ws, online_url: str | None, rekeyer: Rekeyer, marker: Path, state: dict) -> dict:
    store = open_online_store(ws, online_url)
    if store is None:
        return state
    try:
        done = rekey_online(store.db, rekeyer, state["rotation_id"])
        if done is not None:
            state = _write_state(marker, state | {"counts": state["counts"] | done})
        if store.db.dialect == "sqlite":
            compact_sqlite(store.db)
    finally:
        store.close()
    return state


def _compact_warehouse(ws) -> None:
    wh = ws.warehouse
    if wh.engine == "duckdb" and wh.location.target != ":memory:":
        path = Path(wh.location.target)
        ws.close()
        compact_duckdb(path)


def _install_chain(key_file: Path) -> None:
    pending = next_key_file(key_file)
    if pending.exists():
        os.replace(pending, key_file)
        _fsync_folder(key_file.parent)


def _places(state: dict, kept: dict[str, int]) -> pd.DataFrame:
    rows = [{"place": place, "action": "re-keyed", "values": int(n)} for place, n in sorted(state["counts"].items())]
    rows += [{"place": place, "action": "kept: evidence table, hash-chained or digested in the audit log",
              "values": int(n)} for place, n in sorted(kept.items())]
    return pd.DataFrame(rows, columns=list(ROTATION_COLUMNS)).astype({"values": "int64"})


def _audit_once(ws, actor: str, state: dict, places: pd.DataFrame) -> None:
    """One audit entry per rotation, also when a resumed run gets here a second time."""
    from ..warehouse import fetch

    log = ws.warehouse.table("audit_log")
    earlier = fetch(log.filter(log.action == AUDIT_ACTION).select("details"))["details"]
    if any(isinstance(d, str) and json.loads(d).get("rotation_id") == state["rotation_id"] for d in earlier):
        return
    re_keyed = places[places["action"] == "re-keyed"]
    kept = places[places["action"] != "re-keyed"]
    append_audit(ws, actor, AUDIT_ACTION, None, {
        "rotation_id": state["rotation_id"], "keys_in_chain": state["keys"], "started_at": state["started_at"],
        "values_rekeyed": dict(zip(re_keyed["place"], re_keyed["values"].astype(int).tolist())),
        "rows_kept_in_evidence_tables": dict(zip(kept["place"], kept["values"].astype(int).tolist())),
    })


# -- small files, written so a crash leaves the old or the new content, never half ------------------

def _read_state(marker: Path) -> dict | None:
    if not marker.exists():
        return None
    try:
        return json.loads(marker.read_text())
    except json.JSONDecodeError as exc:
        raise KeyRotationError(f"{marker} is not valid JSON ({exc}); it records an unfinished rotation: restore "
                               "it from a backup, or if no data was re-keyed yet, delete it and rotate again") from exc


def _write_state(marker: Path, state: dict) -> dict:
    _write_private(marker, json.dumps(state, indent=2, sort_keys=True))
    return state


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by the owner only, atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some systems cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
