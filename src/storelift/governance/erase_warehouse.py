"""Erase a customer from the warehouse: delete their rows, anonymize the sales that accounting keeps.

Orders, order lines and refunds stay (revenue, tax and stock figures must still add up) with every
value that names the customer taken out: a text value holding an identifier becomes null, and an
order or refund id that embeds the customer id is re-keyed to an opaque one, the same in every table
so lines still join their order. Every other row holding an identifier token in any text column is
deleted. The audit log is never rewritten: its entries carry no customer ids, and the scan afterwards
would show it if one did. A DuckDB file is then rewritten so freed blocks keep no old bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import ibis
import pandas as pd

KEPT_TABLES = ("orders", "order_lines", "refunds")
REKEYED_COLUMNS = ("order_id", "refund_id", "source_document")
APPEND_ONLY = ("audit_log",)
ERASE_COLUMNS = ("table", "action", "rows")


def _string_columns(table) -> list[str]:
    return [name for name, dtype in table.schema().items() if dtype.is_string()]


def _holds_identifier(table, columns: list[str], pattern: str):
    return ibis.or_(*(table[c].re_search(pattern).fill_null(False) for c in columns))


def opaque_keys(values, salt: str) -> dict[str, str]:
    """A stable opaque replacement for each key that embeds an identifier."""
    return {v: "erased-" + hashlib.sha256((salt + v).encode()).hexdigest()[:20] for v in values}


def rows_holding(wh, name: str, column: str, pattern: str) -> list[str]:
    """Distinct values of `column` in the rows of table `name` that hold an identifier token."""
    if not wh.has_table(name):
        return []
    table = wh.con.table(name)
    holding = table.filter(_holds_identifier(table, _string_columns(table), pattern)).select(column).distinct()
    return sorted(holding.execute()[column].dropna().astype(str))


def _rekeyed_values(wh, pattern: str) -> list[str]:
    found: set[str] = set()
    for name in KEPT_TABLES:
        if not wh.has_table(name):
            continue
        table = wh.con.table(name)
        for column in (c for c in REKEYED_COLUMNS if c in table.columns):
            matching = table.filter(table[column].re_search(pattern).fill_null(False)).select(column).distinct()
            found.update(matching.execute()[column].dropna().astype(str))
    return sorted(found)


def erase_warehouse(wh, pattern: str, salt: str | None = None) -> pd.DataFrame:
    """Delete or anonymize every warehouse row holding an identifier token; one row per table touched."""
    salt = salt if salt is not None else os.urandom(16).hex()
    keys = opaque_keys(_rekeyed_values(wh, pattern), salt)
    done = []
    for name in sorted(n for n in wh.con.list_tables() if not n.startswith("_stage_")):
        table = wh.con.table(name)
        columns = _string_columns(table)
        if not columns:
            continue
        matches = int(table.filter(_holds_identifier(table, columns, pattern)).count().execute())
        if not matches:
            continue
        if name in APPEND_ONLY:
            done.append({"table": name, "action": "left (append-only; see the scan)", "rows": matches})
        elif name in KEPT_TABLES:
            wh.replace(name, _anonymized(table, columns, pattern, keys))
            done.append({"table": name, "action": "anonymized", "rows": matches})
        else:
            wh.replace(name, table.filter(~_holds_identifier(table, columns, pattern)))
            done.append({"table": name, "action": "deleted", "rows": matches})
    return pd.DataFrame(done, columns=list(ERASE_COLUMNS))


def _anonymized(table, columns: list[str], pattern: str, keys: dict[str, str]):
    changes = {}
    for column in columns:
        holds = table[column].re_search(pattern).fill_null(False)
        if column in REKEYED_COLUMNS and keys:
            changes[column] = table[column].substitute(keys)
        else:
            changes[column] = ibis.ifelse(holds, ibis.null(table[column].type()), table[column])
    return table.mutate(**changes)


def compact_duckdb(path: Path) -> None:
    """Rewrite a DuckDB file table by table into a fresh file, leaving freed blocks (and old bytes) behind."""
    import duckdb

    path = Path(path)
    fresh = path.with_name(path.stem + ".compact.duckdb")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("CHECKPOINT")
        (source,) = con.execute("SELECT current_database()").fetchone()
        con.execute(f"ATTACH '{fresh}' AS compacted")
        con.execute(f'COPY FROM DATABASE "{source}" TO compacted')
        con.execute("DETACH compacted")
    finally:
        con.close()
    fresh.replace(path)
    Path(str(path) + ".wal").unlink(missing_ok=True)
