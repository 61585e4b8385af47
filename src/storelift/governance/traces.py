"""Find every trace of a customer in a workspace: warehouse tables, the online store and every file.

A trace is one of the customer's identifiers (their id, their e-mail and phone pseudonyms, their
device ids) standing as a whole token: not next to a letter, digit or underscore, so customer 1785
is not found inside order 178500. Files are read by format, because a byte search alone is blind to
compressed Parquet pages: Parquet by column values, SQLite and DuckDB files by their tables and by
their raw bytes (dead pages), pickles by the strings inside the objects, zip archives (.npz) by
member, and every file (indexes, HTML, JSON...) also as raw bytes in UTF-8, UTF-16 and UTF-32.

`scan_workspace` returns TRACE_COLUMNS: location (table.column or file, with member), kind
(warehouse, online, parquet, database, pickle, bytes) and hits (matching values or byte occurrences).
"""

from __future__ import annotations

import gzip
import re
import sqlite3
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

TRACE_COLUMNS = ("location", "kind", "hits")
_WORD = "A-Za-z0-9_"
_ENCODINGS = (("utf-8", 1), ("utf-16-le", 2), ("utf-32-le", 4))
_DATABASE_SUFFIXES = (".sqlite", ".db", ".sqlite3")


def token_pattern(identifiers: Iterable[str], capture: bool = False) -> str:
    """A regular expression (Python and RE2 alike) matching any identifier as a whole token; with
    `capture`, groups 1 and 3 hold the boundary characters and group 2 the identifier."""
    ids = sorted({str(i) for i in identifiers if i is not None and str(i)}, key=len, reverse=True)
    if not ids:
        raise ValueError("no identifiers to look for; pass the customer id at least")
    group = "(" if capture else "(?:"
    return f"{group}^|[^{_WORD}]){group}{'|'.join(re.escape(i) for i in ids)}){group}$|[^{_WORD}])"


def holding_values(values: pd.Series, pattern: str) -> pd.Series:
    """True where a value, written as text, contains an identifier token (numbers too: an export may
    keep customer ids as floats such as 17850.0)."""
    found = pd.Series(False, index=values.index)
    present = values.notna()
    if present.any():
        found[present] = values[present].astype(str).str.contains(pattern, regex=True).to_numpy(dtype=bool)
    return found


def count_in_values(values: pd.Series, pattern: str) -> int:
    """How many non-null values contain an identifier token."""
    return int(holding_values(values, pattern).sum())


def count_in_bytes(data: bytes, identifiers: Iterable[str]) -> int:
    """Occurrences of the identifiers as whole tokens in raw bytes, in UTF-8, UTF-16-LE and UTF-32-LE."""
    hits = 0
    for identifier in {str(i) for i in identifiers}:
        for encoding, width in _ENCODINGS:
            needle = identifier.encode(encoding)
            start = data.find(needle)
            while start >= 0:
                end = start + len(needle)
                if not (_is_word(data[max(start - width, 0):start], encoding, width)
                        or _is_word(data[end:end + width], encoding, width)):
                    hits += 1
                start = data.find(needle, start + 1)
    return hits


def _is_word(unit: bytes, encoding: str, width: int) -> bool:
    if len(unit) < width:
        return False
    try:
        char = unit.decode(encoding)
    except UnicodeDecodeError:
        return False
    return len(char) == 1 and (char.isalnum() and char.isascii() or char == "_")


def count_in_object(obj, regex: re.Pattern, _seen: set | None = None) -> int:
    """Strings holding an identifier token anywhere inside an unpickled object: containers, numpy and
    pandas arrays, and the attributes of plain objects. (Arrow string buffers in a pickle hold their
    values back to back, with no boundary a byte search could see.)"""
    import numpy as np

    seen = _seen if _seen is not None else set()
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, str):
        return 1 if regex.search(obj) else 0
    if isinstance(obj, bytes):
        return 0
    if isinstance(obj, (pd.Index, pd.Series)):
        return count_in_object(obj.to_numpy(dtype=object), regex, seen) if not _numeric(obj.dtype) else 0
    if isinstance(obj, pd.DataFrame):
        return sum(count_in_object(obj[c], regex, seen) for c in obj.columns) + count_in_object(obj.index, regex, seen)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "US":
            return sum(1 for v in obj.ravel().tolist() if regex.search(str(v)))
        if obj.dtype.kind == "O":
            return sum(count_in_object(v, regex, seen) for v in obj.ravel().tolist())
        return 0
    if isinstance(obj, dict):
        return sum(count_in_object(k, regex, seen) + count_in_object(v, regex, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sum(count_in_object(v, regex, seen) for v in obj)
    state = getattr(obj, "__dict__", None)
    if isinstance(state, dict):
        return count_in_object(state, regex, seen)
    return 0


def _numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def scan_frame(frame: pd.DataFrame, pattern: str, location: str, kind: str) -> list[dict]:
    """One row per column of `frame` whose values hold an identifier token."""
    rows = []
    for column in frame.columns:
        hits = count_in_values(frame[column], pattern)
        if hits:
            rows.append({"location": f"{location}.{column}", "kind": kind, "hits": hits})
    return rows


def scan_warehouse(wh, pattern: str) -> list[dict]:
    """Every string column of every warehouse table, searched in the engine (nothing is pulled out)."""
    rows = []
    for name in sorted(wh.con.list_tables()):
        table = wh.con.table(name)
        for column, dtype in table.schema().items():
            if not dtype.is_string():
                continue
            hits = int(table.filter(table[column].re_search(pattern)).count().execute())
            if hits:
                rows.append({"location": f"warehouse:{name}.{column}", "kind": "warehouse", "hits": hits})
    return rows


def scan_online(db, pattern: str, identifiers: Iterable[str]) -> list[dict]:
    """Every text column of the online store's tables (SQLite or PostgreSQL), in the rows a LIKE on
    the identifiers picks (the token expression then decides, as erasure does)."""
    from .erase_online import ONLINE_TABLES, candidate_rows

    rows = []
    regex = re.compile(pattern)
    for table, (_, columns) in ONLINE_TABLES.items():
        with db.read() as session:
            found = candidate_rows(session, table, identifiers)
        for column in columns:
            hits = sum(1 for row in found if row[column] is not None and regex.search(str(row[column])))
            if hits:
                rows.append({"location": f"online:{table}.{column}", "kind": "online", "hits": hits})
    return rows


def scan_file(path: Path, identifiers: list[str], pattern: str, label: str) -> list[dict]:
    """Traces in one file, read by its format, plus its raw bytes."""
    rows: list[dict] = []
    data = path.read_bytes()
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows += scan_frame(pq.read_table(path).to_pandas(), pattern, label, "parquet")
    elif path.suffix in _DATABASE_SUFFIXES and data[:16] == b"SQLite format 3\x00":
        rows += _scan_sqlite_file(path, pattern, label)
    elif path.suffix == ".duckdb":
        rows += _scan_duckdb_file(path, pattern, label)
    elif zipfile.is_zipfile(path) and path.suffix in (".npz", ".zip"):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                hits = count_in_bytes(archive.read(member), identifiers)
                if hits:
                    rows.append({"location": f"{label}:{member}", "kind": "bytes", "hits": hits})
    elif path.suffix == ".pkl":
        import pickle

        with open(path, "rb") as fh:
            hits = count_in_object(pickle.load(fh), re.compile(pattern))
        if hits:
            rows.append({"location": f"{label}:objects", "kind": "pickle", "hits": hits})
    elif path.suffix == ".gz":
        hits = count_in_bytes(gzip.decompress(data), identifiers)
        if hits:
            rows.append({"location": f"{label}:gunzipped", "kind": "bytes", "hits": hits})
    hits = count_in_bytes(data, identifiers)
    if hits:
        rows.append({"location": label, "kind": "bytes", "hits": hits})
    return rows


def _scan_sqlite_file(path: Path, pattern: str, label: str) -> list[dict]:
    rows = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            rows += scan_frame(pd.read_sql_query(f'SELECT * FROM "{table}"', con), pattern, f"{label}:{table}",
                               "database")
    finally:
        con.close()
    return rows


def _scan_duckdb_file(path: Path, pattern: str, label: str) -> list[dict]:
    import duckdb

    rows = []
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:  # open elsewhere in this process (the warehouse): scanned through its connection
        return rows
    try:
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            columns = [c for c, t in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                [table]).fetchall() if t == "VARCHAR"]
            for column in columns:
                (hits,) = con.execute(f'SELECT count(*) FROM "{table}" WHERE regexp_matches("{column}", ?)',
                                      [pattern]).fetchone()
                if hits:
                    rows.append({"location": f"{label}:{table}.{column}", "kind": "database", "hits": int(hits)})
    finally:
        con.close()
    return rows


def scan_workspace(ws, identifiers: Iterable[str], online_db=None) -> pd.DataFrame:
    """Every trace of the identifiers in the workspace: its warehouse, its online store and all its files."""
    ids = sorted({str(i) for i in identifiers if i})
    pattern = token_pattern(ids)
    rows = scan_warehouse(ws.warehouse, pattern)
    if online_db is not None:
        rows += scan_online(online_db, pattern, ids)
    for path in sorted(p for p in Path(ws.root).rglob("*") if p.is_file()):
        rows += scan_file(path, ids, pattern, str(path.relative_to(ws.root)))
    return pd.DataFrame(rows, columns=list(TRACE_COLUMNS))
