"""Canonical files: one table per CSV or Parquet file, named after the table (orders.csv,
order_lines.parquet, customers-2024.csv...), with the canonical column names of docs/schema.md."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import IngestError
from ...schema import TABLES
from ..readers import read_delimited, read_parquet
from .base import Adapter, IngestContext, Mapped

LOADABLE = [name for name, spec in TABLES.items() if not spec.system]


def table_for(path: Path) -> str | None:
    """The canonical table a file name stands for: the longest table name its stem starts with."""
    stem = Path(path).name.split(".")[0].lower()
    matches = [t for t in LOADABLE if stem == t or stem.startswith(t + "-") or stem.startswith(t + "_")]
    return max(matches, key=len) if matches else None


class CanonicalAdapter(Adapter):
    name = "canonical"
    description = "canonical tables (customers, products, orders, order_lines, refunds, events, consents, touches) as CSV or Parquet"

    def __init__(self, table: str):
        if table not in LOADABLE:
            raise IngestError(f"canonical table {table!r} cannot be loaded from files; use one of {', '.join(LOADABLE)}")
        self.table = table
        self.fact_tables = (table,)
        self.pii_fields = tuple(TABLES[table].pii_columns)

    def read(self, path: Path, chunk_rows: int, progress=None):
        if Path(path).suffix.lower() == ".parquet":
            chunks = read_parquet(path, chunk_rows, progress)
        else:
            chunks = read_delimited(path, chunk_rows, ",", progress=progress)
        return self._checked(path, chunks)

    def _checked(self, path, chunks):
        allowed = set(TABLES[self.table].column_names)
        for chunk in chunks:
            unknown = [c for c in chunk.frame.columns if not c.startswith("_") and c not in allowed]
            if unknown:
                raise IngestError(
                    f"{path}: column(s) {unknown} are not in the canonical {self.table!r} table; rename them to "
                    f"canonical names ({', '.join(sorted(allowed))}) or drop them, so nothing is lost silently"
                )
            yield chunk

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        return table_for(path) is not None and Path(path).suffix.lower() in (".csv", ".parquet")

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        columns = ["_line"] + [c for c in frame.columns if not c.startswith("_")]
        return Mapped(tables={self.table: frame[columns]})
