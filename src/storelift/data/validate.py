"""Validation of adapter output against the canonical schema, row by row, with reasons a person reads.

`coerce_and_check(frame, spec)` converts each column to its canonical type and returns the typed
frame plus a table of problems (`_line`, reason). A value that cannot be converted, a missing
required field, a negative price, an unknown currency or an impossible date each give a reason
naming the column, the value and the fix.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..schema import EARLIEST_TIME, ISO_CURRENCIES, TableSpec

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def utc_now() -> pd.Timestamp:
    """Now, as the naive UTC timestamp the warehouse stores."""
    return pd.Timestamp.now("UTC").tz_localize(None)


def is_blank(values: pd.Series) -> pd.Series:
    """True where a value is missing: null, NaN or an empty string."""
    isna = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return isna | values.astype(str).str.strip().eq("")
    return isna


def parse_times(values: pd.Series, source_timezone: str = "UTC") -> pd.Series:
    """Timestamps to naive UTC. Strings with an offset keep it; those without are in `source_timezone`."""
    if pd.api.types.is_datetime64_any_dtype(values):
        ts = values
        if ts.dt.tz is None:
            ts = ts.dt.tz_localize(source_timezone, ambiguous=False, nonexistent="shift_forward")
        return ts.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    text = values.astype(object).where(~is_blank(values), None)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    present = text.notna()
    if not present.any():
        return out
    s = text[present].astype(str).str.strip()
    aware = s.str.contains(_TZ_SUFFIX)
    if aware.any():
        parsed = pd.to_datetime(s[aware], errors="coerce", utc=True, format="ISO8601")
        out.loc[parsed.index] = parsed.dt.tz_localize(None).astype("datetime64[us]")
    naive = s[~aware]
    if len(naive):
        parsed = pd.to_datetime(naive, errors="coerce", format="ISO8601")
        bad = parsed.isna()
        if bad.any():  # a second chance for non-ISO layouts such as 12/1/2010 8:26
            parsed.loc[bad] = pd.to_datetime(naive[bad], errors="coerce", format="mixed")
        local = parsed.dt.tz_localize(source_timezone, ambiguous=False, nonexistent="shift_forward")
        out.loc[local.index] = local.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    return out


def _to_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        s = str(v).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        return pd.NA

    return values.map(one).astype("boolean")


def _to_string(values: pd.Series) -> pd.Series:
    """Trimmed text, empty as missing; ids read as floats (17850.0) become "17850"."""
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & np.isfinite(values) & (values == np.floor(values))
        text = values.astype("string")
        text[whole] = values[whole].astype("int64").astype("string")
        return text
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def coerce_and_check(
    frame: pd.DataFrame,
    spec: TableSpec,
    source_names: dict[str, str] | None = None,
    source_timezone: str = "UTC",
    allowed_events: frozenset[str] | None = None,
    now: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed copy of `frame` (canonical columns + `_line`) and its problems as (`_line`, reason) rows."""
    names = source_names or {}
    now = now or utc_now()
    latest = now + pd.Timedelta(days=1)
    problems: list[pd.DataFrame] = []
    lines = frame["_line"]

    def flag(mask: pd.Series, message) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            bad_lines = lines[mask]
            raw_values = frame.loc[mask, col.name] if col.name in frame else pd.Series([None] * int(mask.sum()))
            texts = [message(v) for v in raw_values]
            problems.append(pd.DataFrame({"_line": bad_lines.to_numpy(), "reason": texts}))

    out = {"_line": lines}
    for col in spec.columns:
        label = f"'{col.name}'" if names.get(col.name, col.name) == col.name else f"'{names[col.name]}' ({col.name})"
        if col.name not in frame.columns:
            if col.required:
                flag(pd.Series(True, index=frame.index), lambda v, l=label: f"required column {l} is missing from the source; add it")
            out[col.name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
            continue
        raw = frame[col.name]
        blank = is_blank(raw)
        if col.dtype == "string":
            typed = _to_string(raw)
        elif col.dtype in ("float64", "int64"):
            numeric = pd.to_numeric(raw.where(~blank, None), errors="coerce")
            flag(~blank & numeric.isna(), lambda v, l=label: f"{l} is {v!r}, not a number; fix the value")
            if col.dtype == "int64":
                fractional = numeric.notna() & (numeric != np.floor(numeric.fillna(0)))
                flag(fractional, lambda v, l=label: f"{l} is {v!r}, not a whole number; fix the value")
                numeric = numeric.where(~fractional)
                typed = numeric.round().astype("Int64")
            else:
                finite = numeric.isna() | np.isfinite(numeric.astype(float))
                flag(~finite, lambda v, l=label: f"{l} is {v!r}, not a finite number; fix the value")
                typed = numeric.astype("float64").where(finite)
            if col.min_value is not None:
                below = typed < col.min_value if col.min_inclusive else typed <= col.min_value
                op = "at least" if col.min_inclusive else "more than"
                flag(below, lambda v, l=label, op=op, m=col.min_value: f"{l} is {v!r}; it must be {op} {m:g}")
        elif col.dtype == "boolean":
            typed = _to_bool(raw)
            flag(~blank & typed.isna(), lambda v, l=label: f"{l} is {v!r}, not true/false; use true or false")
        elif col.dtype == "timestamp":
            typed = parse_times(raw, source_timezone)
            flag(~blank & typed.isna(), lambda v, l=label: f"{l} is {v!r}, not a date/time; use ISO 8601 such as 2024-03-01T12:00:00Z")
            impossible = typed.notna() & ((typed < pd.Timestamp(EARLIEST_TIME)) | (typed > latest))
            flag(impossible, lambda v, l=label: f"{l} is {v!r}, an impossible date (before {EARLIEST_TIME} or in the future); fix the date")
        else:  # pragma: no cover - schema only uses the types above
            raise ValueError(col.dtype)
        if col.required:
            flag(blank, lambda v, l=label: f"required {l} is empty; fill it in")
        if col.is_currency:
            upper = typed.astype(object).where(typed.notna(), None).map(lambda v: v if v is None else str(v).upper())
            unknown = upper.notna() & ~upper.isin(ISO_CURRENCIES)
            flag(unknown, lambda v, l=label: f"{l} is {v!r}, not an ISO 4217 currency code; use e.g. GBP, EUR or USD")
            typed = upper
        if col.allowed is not None:
            bad = typed.notna() & ~typed.isin(col.allowed)
            flag(bad, lambda v, l=label, a=col.allowed: f"{l} is {v!r}; allowed values are {', '.join(sorted(a))}")
        if col.name == "event" and allowed_events is not None:
            bad = typed.notna() & ~typed.isin(allowed_events)
            flag(bad, lambda v, l=label: f"{l} is {v!r}, not a Segment e-commerce event name; rename it to a spec "
                                         "event or list it in [ingest] custom_events in storelift.toml")
        out[col.name] = typed
    typed_frame = pd.DataFrame(out, index=frame.index)
    found = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(
        {"_line": pd.Series(dtype="int64"), "reason": pd.Series(dtype=object)})
    return typed_frame, found
