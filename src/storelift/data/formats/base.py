"""What every source format adapter provides: how to read the file, and how to map its records.

An adapter turns one chunk of source records into canonical table frames. Each frame carries the
`_line` of the source record it came from, so a bad value anywhere quarantines the whole record
and counts reconcile per source record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from ..readers import Progress, RawChunk


@dataclass
class IngestContext:
    """What an adapter may know about the run: the source label, time zone and running state."""

    source: str
    source_timezone: str = "UTC"
    state: dict = field(default_factory=dict)

    def line_numbers(self, order_ids: pd.Series) -> pd.Series:
        """1-based position of each row within its order, continuing across chunks of one run."""
        counters: dict = self.state.setdefault("line_numbers", {})
        out = []
        for oid in order_ids:
            n = counters.get(oid, 0) + 1
            counters[oid] = n
            out.append(n)
        return pd.Series(out, index=order_ids.index, dtype="int64")


@dataclass
class Mapped:
    """Canonical frames made from one chunk, plus problems the adapter found itself."""

    tables: dict[str, pd.DataFrame]
    problems: pd.DataFrame | None = None  # columns _line, reason
    source_names: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> canonical -> source field
    source_timezone: str | None = None  # overrides the context's for this chunk


class Adapter:
    """Base of the format adapters. Subclasses set the class attributes and implement read/map."""

    name: str = ""
    description: str = ""
    # Fact tables: a record counts as loaded when one of its rows here is new.
    fact_tables: tuple[str, ...] = ()
    # Source fields holding PII, masked in quarantined raw text.
    pii_fields: tuple[str, ...] = ()
    # Canonical id columns the adapter fills with a PII value (column -> PII kind, e.g. customer_id ->
    # email): ingest stores that value's pseudonym, the same one the PII column of that kind gets.
    pseudonymized_columns: dict[str, str] = {}
    # Source time zone when the format fixes one (None: the workspace's [ingest] source_timezone).
    timezone: str | None = None

    def read(self, path: Path, chunk_rows: int, progress: Progress | None = None) -> Iterator[RawChunk]:
        raise NotImplementedError

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        raise NotImplementedError

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        """True when the file looks like this format (`head` is its first few KB as text)."""
        return False


def problems_frame(lines, reasons) -> pd.DataFrame:
    return pd.DataFrame({"_line": pd.Series(list(lines), dtype="int64"), "reason": pd.Series(list(reasons), dtype=object)})


def header_of(head: str, delimiter: str = ",") -> list[str]:
    first = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    return [h.strip().strip('"') for h in first.split(delimiter)]
