"""Where rotation re-keys pseudonyms: warehouse tables, the online store, and files under models/ and
reports/ (Parquet snapshots, pickled artifacts, text such as JSON or HTML reports).

Warehouse tables and files are re-keyed in two steps so an interruption never leaves one half done:
`stage_*` writes re-keyed copies beside the originals (``_rekey_<table>``, ``<file>.rekey-staged``)
and touches nothing else; `swap_*` moves every staged copy over its original, and running it again
after an interruption finishes the moves without re-keying anything twice. The online store, which
the HTTP service keeps writing, is re-keyed in one transaction that also records the rotation's id,
so a second run skips it.

Evidence tables (`audit_log`, `approvals`) are never rewritten: their rows are hash-chained or
digested in the audit log, and changing them would break `verify_workspace` and `verify_approvals`.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import ibis

from .rekey import SQL_TOKEN, Rekeyer, remap_object

STAGE_PREFIX = "_rekey_"
STAGED_SUFFIX = ".rekey-staged"
EVIDENCE_TABLES = ("audit_log", "approvals")
FILE_FOLDERS = ("models", "reports")
TEXT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".html", ".htm", ".md", ".txt", ".xml", ".svg")
ONLINE_MARKER = "pii_rotation"
BATCH_ROWS = 100_000


# -- warehouse ------------------------------------------------------------------------------------

def _string_columns(table) -> list[str]:
    return [name for name, dtype in table.schema().items() if dtype.is_string()]


def columns_holding(table) -> dict[str, int]:
    """Rows holding a pseudonym token, per string column of an Ibis table (columns with none left out)."""
    columns = _string_columns(table)
    if not columns:
        return {}
    counts = table.aggregate(**{f"c{i}": table[c].re_search(SQL_TOKEN).fill_null(False).ifelse(1, 0).sum()
                                for i, c in enumerate(columns)}).execute().iloc[0]
    return {c: int(counts[f"c{i}"] or 0) for i, c in enumerate(columns) if int(counts[f"c{i}"] or 0)}


def warehouse_tables(wh) -> list[str]:
    """The tables rotation re-keys: all but staged copies and evidence tables."""
    return sorted(n for n in wh.con.list_tables() if not n.startswith(STAGE_PREFIX) and n not in EVIDENCE_TABLES)


def drop_staged_tables(wh) -> None:
    for name in wh.con.list_tables():
        if name.startswith(STAGE_PREFIX):
            wh.con.drop_table(name)


def stage_warehouse(wh, rekeyer: Rekeyer) -> dict[str, int]:
    """A re-keyed copy of every table holding pseudonyms; values re-keyed per table."""
    done = {}
    for name in warehouse_tables(wh):
        table = wh.con.table(name)
        columns = list(columns_holding(table))
        if not columns:
            continue
        staged = STAGE_PREFIX + name
        wh.con.create_table(staged, schema=table.schema(), overwrite=True)
        rows = table.to_pyarrow()
        changed = 0
        for start in range(0, rows.num_rows, BATCH_ROWS):
            batch, n = rekeyer.arrow_table(rows.slice(start, BATCH_ROWS), columns)
            changed += n
            wh.insert(staged, batch.to_pandas(types_mapper=_arrow_dtype))
        done[f"warehouse:{name}"] = changed
    return done


def _arrow_dtype(arrow_type):
    """Keep Arrow types through pandas (an int column with nulls stays an int column)."""
    import pandas as pd

    return pd.ArrowDtype(arrow_type)


def swap_warehouse(wh) -> list[str]:
    """Move each staged table over its original; returns the tables swapped."""
    swapped = []
    for staged in sorted(n for n in wh.con.list_tables() if n.startswith(STAGE_PREFIX)):
        name = staged[len(STAGE_PREFIX):]
        wh.con.create_table(name, wh.con.table(staged), overwrite=True)
        wh.con.drop_table(staged)
        swapped.append(name)
    return swapped


def evidence_holding(wh) -> dict[str, int]:
    """Rows of the evidence tables that hold a pseudonym (left as they are; reported)."""
    held = {}
    for name in EVIDENCE_TABLES:
        if wh.has_table(name):
            table = wh.con.table(name)
            columns = _string_columns(table)
            if columns:
                rows = int(table.filter(ibis.or_(*(table[c].re_search(SQL_TOKEN).fill_null(False)
                                                   for c in columns))).count().execute())
                if rows:
                    held[f"warehouse:{name}"] = rows
    return held


# -- online store -----------------------------------------------------------------------------------

def rekey_online(db, rekeyer: Rekeyer, rotation_id: str) -> dict[str, int] | None:
    """Re-key every text column of the online tables in one transaction; None when this rotation already
    did (its id is recorded in online_meta in the same transaction)."""
    from .erase_online import ONLINE_TABLES

    done = {}
    with db.transaction() as session:
        row = session.execute("SELECT value FROM online_meta WHERE key = ?", (ONLINE_MARKER,)).fetchone()
        if row is not None and row["value"] == rotation_id:
            return None
        for table, (keys, columns) in ONLINE_TABLES.items():
            selected = list(dict.fromkeys(keys + columns))
            rows = session.execute(f"SELECT {', '.join(selected)} FROM {table}").fetchall()
            updates, changed = [], 0
            for r in rows:
                new = {c: rekeyer.text(r[c]) if isinstance(r[c], str) else r[c] for c in columns}
                n = sum(1 for c in columns if new[c] != r[c])
                if n:
                    changed += n
                    updates.append([new[c] for c in columns] + [r[k] for k in keys])
            if updates:
                sets = ", ".join(f"{c} = ?" for c in columns)
                where = " AND ".join(f"{k} = ?" for k in keys)
                session.executemany(f"UPDATE {table} SET {sets} WHERE {where}", updates)
                done[f"online:{table}"] = changed
        session.execute("INSERT INTO online_meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (ONLINE_MARKER, rotation_id))
    return done


# -- files --------------------------------------------------------------------------------------------

def rekeyable_files(root: Path) -> list[Path]:
    """Parquet, pickle and text files under models/ and reports/ (staged copies left out)."""
    found = []
    for folder in FILE_FOLDERS:
        base = Path(root) / folder
        if base.exists():
            found += [p for p in base.rglob("*") if p.is_file() and not p.name.endswith(STAGED_SUFFIX)
                      and (p.suffix in (".parquet", ".pkl") or p.suffix in TEXT_SUFFIXES)]
    return sorted(found)


def staged_files(root: Path) -> list[Path]:
    found = []
    for folder in FILE_FOLDERS:
        base = Path(root) / folder
        if base.exists():
            found += [p for p in base.rglob(f"*{STAGED_SUFFIX}") if p.is_file()]
    return sorted(found)


def drop_staged_files(root: Path) -> None:
    for path in staged_files(root):
        path.unlink()


def stage_file(path: Path, rekeyer: Rekeyer) -> int:
    """Write a re-keyed copy of one file beside it when it holds pseudonyms; returns values re-keyed."""
    staged = path.with_name(path.name + STAGED_SUFFIX)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table, changed = rekeyer.arrow_table(pq.read_table(path))
        if changed:
            pq.write_table(table, staged)
    elif path.suffix == ".pkl":
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
        obj, changed = remap_object(obj, rekeyer)
        if changed:
            with open(staged, "wb") as fh:
                pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        text = path.read_text(errors="surrogateescape")
        rekeyed = rekeyer.text(text)
        changed = _count_changed_tokens(text, rekeyed)
        if changed:
            staged.write_text(rekeyed, errors="surrogateescape")
    if changed:
        _fsync(staged)
    return changed


def _count_changed_tokens(before: str, after: str) -> int:
    from .rekey import TOKEN_RE

    return 0 if before == after else len(TOKEN_RE.findall(before))


def stage_files(root: Path, rekeyer: Rekeyer) -> dict[str, int]:
    """Staged re-keyed copies of every file holding pseudonyms; values re-keyed per file (relative path)."""
    done = {}
    for path in rekeyable_files(root):
        changed = stage_file(path, rekeyer)
        if changed:
            done[str(path.relative_to(root))] = changed
    return done


def swap_files(root: Path) -> list[str]:
    """Move each staged file over its original (an atomic rename each); returns the files swapped."""
    swapped = []
    for staged in staged_files(root):
        original = staged.with_name(staged.name[: -len(STAGED_SUFFIX)])
        os.replace(staged, original)
        swapped.append(str(original.relative_to(root)))
    return swapped


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())

