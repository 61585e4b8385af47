"""Export a warehouse table to CSV or Parquet, redacted unless a privacy admin asks for PII.

Redacted export (the default, for everyone): PII columns (schema ``pii=True``; in a table storelift
did not define, any column named like one) and protected attributes (gender, birth_year) hold
"[redacted]" in every row, and e-mail addresses and phone numbers inside any other text (event
properties, search queries, quarantined rows, ids that are raw e-mails) are masked by their pseudonyms
as at ingest (`pii.mask_text`), or by "[redacted]" when the key cannot be loaded. Pseudonymous ids
stay, so exports still join each other.

Raw export (include_pii): only for a privacy admin, an OS user name listed in storelift.toml
``[privacy] admins = ["alice"]`` (an entry with ``@host`` matches that host only). The actor is who
the caller says it is: the CLI passes the local OS user. Every export and every refused request is
written to the audit log (table, rows, whether PII was included, who), never a value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data import pii
from ..errors import ConfigError, PrivacyError, StoreliftError
from ..schema import TABLES
from .audit_log import append_audit, local_actor

REDACTED = "[redacted]"
PROTECTED_COLUMNS = ("gender", "birth_year")
PII_COLUMN_NAMES = frozenset(c for spec in TABLES.values() for c in spec.pii_columns)
FORMATS = {".csv": "csv", ".parquet": "parquet"}
EXPORTED_ACTION = "data.exported"
REFUSED_ACTION = "data.export_refused"


class ExportError(StoreliftError):
    """A table cannot be exported as asked (unknown table, unsupported file type)."""

    exit_code = 2


class PiiAccessError(ExportError):
    """Someone who is not a privacy admin asked for an export with PII."""

    exit_code = 5


@dataclass(frozen=True)
class TableExport:
    """What an export wrote: the file, its rows and columns, whether PII was included, the columns
    redacted and how many text values had an e-mail or phone masked."""

    table: str
    path: Path
    rows: int
    columns: tuple[str, ...]
    pii_included: bool
    redacted_columns: tuple[str, ...]
    masked_values: int


def privacy_admins(ws) -> list[str]:
    """The user names in storelift.toml ``[privacy] admins`` (empty when the key is absent)."""
    path = Path(ws.root) / "storelift.toml"
    try:
        raw = tomllib.loads(path.read_text()) if path.exists() else {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file") from exc
    admins = raw.get("privacy", {}).get("admins", [])
    if not isinstance(admins, list) or not all(isinstance(a, str) and a.strip() for a in admins):
        raise ConfigError(f'{path}: [privacy] admins must be a list of user names such as ["alice"], not {admins!r}')
    return [a.strip() for a in admins]


def is_privacy_admin(actor: str, admins: list[str]) -> bool:
    """Whether `actor` (user or user@host) is listed: by user name, or exactly when the entry names a host."""
    user = actor.split("@", 1)[0]
    return any(entry == actor if "@" in entry else entry == user for entry in admins)


def pii_columns(table: str, columns: list[str]) -> list[str]:
    """The columns of `table` an export redacts: PII and protected attributes."""
    spec = TABLES.get(table)
    flagged = set(spec.pii_columns) if spec is not None else set()
    return [c for c in columns if c in flagged or c in PII_COLUMN_NAMES or c in PROTECTED_COLUMNS]


def redact_frame(frame: pd.DataFrame, table: str, mask: Callable[[str], str]) -> tuple[pd.DataFrame, list[str], int]:
    """`frame` with PII and protected columns redacted and `mask` applied to every other text value;
    returns (frame, redacted columns, text values changed)."""
    redacted = pii_columns(table, list(frame.columns))
    out = frame.copy()
    for column in redacted:
        out[column] = pd.Series(REDACTED, index=out.index, dtype=object)
    masked = 0
    for column in out.columns:
        if column in redacted or not (pd.api.types.is_object_dtype(out[column])
                                      or pd.api.types.is_string_dtype(out[column])):
            continue
        before = out[column]
        after = before.map(lambda v: mask(v) if isinstance(v, str) else v)
        changed = (before.astype(object) != after.astype(object)) & before.notna()
        masked += int(changed.sum())
        out[column] = after
    return out, redacted, masked


def text_mask(ws) -> Callable[[str], str]:
    """E-mails and phones in text replaced by their pseudonyms, or by "[redacted]" without a key."""
    try:
        key = ws.pii_key()
    except PrivacyError:
        return lambda text: pii.PHONE_RE.sub(REDACTED, pii.EMAIL_RE.sub(REDACTED, text))
    return lambda text: pii.mask_text(text, key)


def export_table(ws, table: str, out_path: Path | str, *, include_pii: bool = False,
                 actor: str | None = None) -> TableExport:
    """Write warehouse table `table` to `out_path` (.csv or .parquet), redacted unless `include_pii`
    and `actor` (default: the local user) is a privacy admin."""
    actor = actor or local_actor()
    out_path = Path(out_path)
    kind = FORMATS.get(out_path.suffix.lower())
    if kind is None:
        raise ExportError(f"out_path {out_path}: cannot tell the format from {out_path.suffix or 'no suffix'!r}; "
                          f"end the name with {' or '.join(FORMATS)}")
    wh = ws.warehouse
    if not wh.has_table(table):
        tables = ", ".join(sorted(n for n in wh.con.list_tables() if not n.startswith("_")))
        raise ExportError(f"table {table!r} is not in the warehouse; pass one of: {tables}")
    if include_pii:
        admins = privacy_admins(ws)
        if not is_privacy_admin(actor, admins):
            append_audit(ws, actor, REFUSED_ACTION, table, {"table": table, "pii_requested": True,
                                                            "reason": "not a privacy admin"})
            named = ", ".join(admins) if admins else "none are named yet"
            user = actor.split("@", 1)[0]
            raise PiiAccessError(
                f"include_pii: {actor} is not a privacy admin, so the export of {table!r} with PII is refused "
                f"(admins: {named}); export without PII, ask an admin to run it, or have the workspace owner add "
                f'your user name to {Path(ws.root) / "storelift.toml"} under [privacy], e.g. admins = ["{user}"]')

    frame = read_table(wh, table)
    redacted: list[str] = []
    masked = 0
    if not include_pii:
        frame, redacted, masked = redact_frame(frame, table, text_mask(ws))
    _write(frame, out_path, kind)
    append_audit(ws, actor, EXPORTED_ACTION, table, {
        "table": table, "rows": len(frame), "pii_included": include_pii, "redacted_columns": redacted,
        "masked_values": masked, "format": kind, "path": str(out_path.resolve()),
    })
    return TableExport(table, out_path, len(frame), tuple(frame.columns), include_pii, tuple(redacted), masked)


def read_table(wh, table: str) -> pd.DataFrame:
    """The table as pandas, whole numbers and booleans kept as such when they have nulls (not 1980.0)."""
    import pyarrow as pa

    def nullable(arrow_type):
        if pa.types.is_integer(arrow_type):
            return pd.Int64Dtype()
        if pa.types.is_boolean(arrow_type):
            return pd.BooleanDtype()
        return None

    return wh.table(table).to_pyarrow().to_pandas(types_mapper=nullable)


def _write(frame: pd.DataFrame, out_path: Path, kind: str) -> None:
    """Write through a temporary file, so an interrupted export leaves no half file under the name."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    try:
        if kind == "csv":
            frame.to_csv(tmp, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
