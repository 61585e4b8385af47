"""What every audit check shares: the check-row format, the table set and small formatting helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import pandas as pd

CHECK_COLUMNS = ["area", "table", "check", "status", "value", "detail"]
STATUSES = ("pass", "warn", "fail", "n/a")
AREAS = ("completeness", "consistency", "timeliness", "duplicates", "orphans", "consent", "pii", "volume")

Tables = Mapping[str, ibis.Table]


def as_timestamp(as_of: dt.date | dt.datetime | str | pd.Timestamp | None) -> pd.Timestamp:
    """`as_of` as a naive UTC timestamp; None means now. A bare date means the end of that day."""
    if as_of is None:
        return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    is_date = isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime)
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    if is_date:
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    return ts


def timestamp_literal(ts: pd.Timestamp) -> ibis.Scalar:
    return ibis.literal(ts.to_pydatetime(), type="timestamp")


def loaded(tables: Tables, name: str) -> ibis.Table | None:
    """The table if it is in `tables`, else None."""
    return tables.get(name)


def nan_as_null(table: ibis.Table) -> ibis.Table:
    """`table` with NaN in float columns read as NULL: Spark keeps a pandas NaN as NaN, which SQL
    counts as a present value and which poisons sums."""
    floats = {name: table[name].isnan().ifelse(ibis.null(dtype), table[name])
              for name, dtype in table.schema().items() if dtype.is_floating()}
    return table.mutate(**floats) if floats else table


class TableSet(Mapping[str, ibis.Table]):
    """Canonical tables by name, counting each table's rows once: an audit reads one snapshot."""

    def __init__(self, tables: Mapping[str, ibis.Table]):
        self._tables = {name: nan_as_null(table) for name, table in tables.items()}
        self._rows: dict[str, int] = {}

    @classmethod
    def of(cls, tables: Mapping[str, ibis.Table]) -> "TableSet":
        return tables if isinstance(tables, TableSet) else cls(tables)

    def __getitem__(self, name: str) -> ibis.Table:
        return self._tables[name]

    def __iter__(self):
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def count_all(self) -> dict[str, int]:
        """Rows of every table, measured with one query (a union of counts)."""
        missing = [name for name in self._tables if name not in self._rows]
        if missing:
            counts = ibis.union(*[
                self._tables[name].aggregate(table=ibis.literal(name), n=self._tables[name].count())
                for name in missing
            ], distinct=False).execute()
            self._rows.update({str(k): int(v) for k, v in zip(counts["table"], counts["n"])})
        return {name: self._rows[name] for name in self._tables}

    def rows(self, name: str) -> int:
        """Rows in table `name` (0 when it is not loaded)."""
        if name not in self._rows:
            table = self._tables.get(name)
            self._rows[name] = 0 if table is None else int(table.count().execute())
        return self._rows[name]


def one_row(expr: ibis.Table) -> dict:
    """The single row of an aggregate as a dict of Python values (NaN/NaT -> None).

    Spark returns NULL for a conditional count over no matching rows, so counts read `or 0`."""
    frame = expr.execute()
    return {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].items()}


def check_row(area, table, check, status, value, detail) -> dict:
    assert status in STATUSES, status
    return {"area": area, "table": table, "check": check, "status": status,
            "value": float("nan") if value is None else float(value), "detail": detail}


def frame(rows: list[dict]) -> pd.DataFrame:
    """Check rows as a DataFrame with CHECK_COLUMNS (empty but typed when there are none)."""
    out = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    return out.astype({"area": str, "table": str, "check": str, "status": str, "value": float, "detail": str})


def pct(share: float | None) -> str:
    if share is None or pd.isna(share):
        return "n/a"
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share:.1%}"


def grade(share: float, warn_above: float, fail_above: float | None) -> str:
    if fail_above is not None and share > fail_above:
        return "fail"
    return "warn" if share > warn_above else "pass"


def not_loaded(area: str, table: str, check: str, what: str) -> dict:
    return check_row(area, table, check, "n/a", None, f"{table} is empty or not loaded; {what}")


