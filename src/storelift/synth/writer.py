"""Block-wise output: one Parquet or CSV file per canonical table, appended block by block.

Columns are cast to the canonical schema's types in its column order, so a block can never add a
non-canonical column; memory stays bounded because only the current block is held.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..schema import spec

FORMATS = ("parquet", "csv")
_ARROW_TYPES = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "boolean": pa.bool_(),
                "timestamp": pa.timestamp("s")}


def canonical_schema(table: str, columns: list[str]) -> pa.Schema:
    """Arrow schema of `columns` of canonical `table`, in the canonical order."""
    t = spec(table)
    unknown = set(columns) - set(t.column_names)
    if unknown:
        raise KeyError(f"columns {sorted(unknown)} are not canonical columns of {table!r}")
    return pa.schema([(c.name, _ARROW_TYPES[c.dtype]) for c in t.columns if c.name in columns])


class TableSink:
    """Appends blocks of one table to `<name>.<format>` (a Parquet row group or CSV rows per block)."""

    def __init__(self, out_dir: Path, name: str, columns: list[str], file_format: str, table: str | None = None):
        self.name, self.table_name, self.file_format = name, table or name, file_format
        self.schema = canonical_schema(self.table_name, columns)
        self.path = Path(out_dir) / f"{name}.{file_format}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows = 0
        if file_format == "parquet":
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        else:
            self._writer = pcsv.CSVWriter(self.path, self.schema)

    def write(self, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


class FreeParquetSink:
    """A Parquet file with its own schema (ground truth is not a canonical table)."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self._writer = pq.ParquetWriter(self.path, schema, compression="zstd")
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        table = table.cast(self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


def write_manifest(out_dir: Path, entries: list[dict], settings: dict) -> pd.DataFrame:
    """Write manifest.json (settings + one entry per file) and return the entries as a DataFrame."""
    manifest = pd.DataFrame(entries, columns=["file", "table", "format", "rows"])
    body = dict(settings, files=entries)
    (Path(out_dir) / "manifest.json").write_text(json.dumps(body, indent=2) + "\n")
    return manifest
