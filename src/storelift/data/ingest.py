"""Ingest: read a source in chunks, validate every record, pseudonymize PII, quarantine bad records,
append only what is new.

Each source record ends in exactly one bucket, so ``read = loaded + quarantined + duplicate``
always holds. A record is *loaded* when one of its fact rows (an order line, refund, event...)
is new or fills an empty column of a stored customer, product or order, a *duplicate* when it
adds nothing (loading a file twice adds nothing),
and *quarantined* when anything about it is wrong. An interrupted ingest leaves whole chunks
behind; running it again completes it without doubling anything.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import IngestError
from ..schema import SEGMENT_EVENTS, TABLES
from ..warehouse import Warehouse
from . import pii
from .formats import registry
from .formats.base import Adapter, IngestContext
from .readers import Progress, RawChunk, raw_text
from .refunds import link_refunds
from .validate import coerce_and_check, utc_now


@dataclass
class IngestReport:
    """What one ingest did; the counts reconcile to the source records."""

    ingest_id: str
    source_file: str
    format: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_added: dict[str, int] = field(default_factory=dict)  # new or gap-filling rows per canonical table
    rows_filled: dict[str, int] = field(default_factory=dict)  # stored rows whose empty columns were filled
    refunds_linked: int = 0
    seconds: float = 0.0

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.rows_duplicate

    def as_dict(self) -> dict:
        return asdict(self) | {"reconciles": self.reconciles}


@dataclass
class IngestOptions:
    """Workspace settings that shape an ingest."""

    chunk_rows: int = 100_000
    source_timezone: str = "UTC"
    keep_raw_pii: bool = False
    pii_key: bytes | None = None
    custom_events: tuple[str, ...] = ()


def ingest_file(
    warehouse: Warehouse,
    path: Path | str,
    options: IngestOptions,
    fmt: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Load one file into the warehouse and return its reconciled counts."""
    path = Path(path)
    if not path.exists():
        raise IngestError(f"{path}: no such file; check the path")
    if not options.keep_raw_pii and options.pii_key is None:
        raise IngestError("no pseudonymization key: set STORELIFT_PII_KEY or opt in to raw PII in storelift.toml")
    adapter = registry.get(fmt) if fmt else registry.detect(path)
    warehouse.ensure_tables()
    report = IngestReport(uuid.uuid4().hex, str(path.resolve()), adapter.name)
    ctx = IngestContext(source=f"{adapter.name}:{path.name}", source_timezone=adapter.timezone or options.source_timezone)
    allowed_events = SEGMENT_EVENTS | frozenset(options.custom_events)
    started = utc_now()
    t0 = time.perf_counter()
    for chunk in adapter.read(path, options.chunk_rows, progress):
        _ingest_chunk(warehouse, adapter, chunk, ctx, options, allowed_events, report)
    for name, spec in TABLES.items():
        if spec.fillable:
            filled = warehouse.apply_fills(name)
            if filled:
                report.rows_filled[name] = filled
    if report.rows_added.get("refunds", 0):
        report.refunds_linked = link_refunds(warehouse)
    report.seconds = time.perf_counter() - t0
    warehouse.insert("ingest_runs", pd.DataFrame([{
        "ingest_id": report.ingest_id, "source_file": report.source_file, "format": report.format,
        "started_at": started, "finished_at": utc_now(),
        "rows_read": report.rows_read, "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined, "rows_duplicate": report.rows_duplicate,
    }]))
    return report


def _ingest_chunk(warehouse, adapter: Adapter, chunk: RawChunk, ctx, options, allowed_events, report) -> None:
    frame = chunk.frame
    report.rows_read += chunk.records
    reasons: dict[int, list[str]] = {}
    raws: dict[int, str] = {u.line: u.raw for u in chunk.unreadable}
    for u in chunk.unreadable:
        reasons.setdefault(u.line, []).append(u.reason)

    mapped = adapter.map(frame, ctx) if len(frame) else None
    typed: dict[str, pd.DataFrame] = {}
    if mapped is not None:
        found = [mapped.problems] if mapped.problems is not None else []
        for name, table_frame in mapped.tables.items():
            t, probs = coerce_and_check(
                table_frame, TABLES[name], mapped.source_names.get(name),
                mapped.source_timezone or ctx.source_timezone, allowed_events,
            )
            typed[name] = t
            found.append(probs)
        for probs in found:
            for line, reason in zip(probs["_line"].to_numpy(), probs["reason"]):
                bucket = reasons.setdefault(int(line), [])
                if reason not in bucket:
                    bucket.append(reason)
    if reasons and len(frame):
        bad_rows = frame[frame["_line"].isin(list(reasons))]
        for _, row in bad_rows.iterrows():
            raws.setdefault(int(row["_line"]), raw_text(row))
    _quarantine(warehouse, report, reasons, raws, adapter, frame, options)

    bad = set(reasons)
    loaded_lines: set[int] = set()
    fact_lines: set[int] = set()
    for name in TABLES:  # canonical order: dimensions before facts
        if name not in typed:
            continue
        good = typed[name]
        if bad:
            good = good[~good["_line"].isin(bad)]
        if good.empty:
            continue
        if name not in adapter.fact_tables:
            # reference rows repeated within the chunk (an order header on each of its lines) merge
            # into one, each column taking its first non-null value
            good = good.groupby(list(TABLES[name].key), sort=False, dropna=False).first().reset_index()
        good = _pseudonymize(good, name, options, adapter.pseudonymized_columns)
        good = good.assign(source=ctx.source) if "source" in TABLES[name].column_names else good
        is_new = warehouse.insert_new(name, good)
        report.rows_added[name] = report.rows_added.get(name, 0) + int(is_new.sum())
        if name in adapter.fact_tables:
            fact_lines.update(good["_line"].tolist())
            loaded_lines.update(good.loc[is_new, "_line"].tolist())
    good_records = len(frame) - len(bad & set(frame["_line"].tolist()))
    no_fact = good_records - len(fact_lines)  # records that carry only reference data count as loaded
    report.rows_loaded += len(loaded_lines) + no_fact
    report.rows_duplicate += len(fact_lines - loaded_lines)
    report.rows_quarantined += len(reasons)


def _pseudonymize(frame: pd.DataFrame, table: str, options: IngestOptions,
                  id_columns: dict[str, str] | None = None) -> pd.DataFrame:
    """PII columns, and the adapter's ids made of PII (`id_columns`: column -> PII kind), as pseudonyms."""
    kinds = {c: c for c in TABLES[table].pii_columns} | dict(id_columns or {})
    columns = {c: kind for c, kind in kinds.items() if c in frame.columns}
    free_text = "properties" in frame.columns  # event properties may carry an e-mail or phone
    if options.keep_raw_pii or not (columns or free_text):
        return frame
    frame = frame.copy()
    for c, kind in columns.items():
        frame[c] = pii.pseudonymize(frame[c], options.pii_key, kind)
    if free_text:
        frame["properties"] = frame["properties"].map(
            lambda v: pii.mask_text(v, options.pii_key) if isinstance(v, str) else v)
    return frame


def _quarantine(warehouse, report, reasons, raws, adapter, frame, options) -> None:
    if not reasons:
        return
    now = utc_now()
    rows = []
    for line in sorted(reasons):
        raw = raws.get(line, "")
        if not options.keep_raw_pii:
            raw = _mask(raw, line, adapter, frame, options.pii_key)
        rows.append({
            "ingest_id": report.ingest_id, "source_file": report.source_file, "line": line, "raw": raw,
            "reason": f"line {line}: " + "; ".join(reasons[line]), "quarantined_at": now,
        })
    warehouse.insert_new("quarantine", pd.DataFrame(rows))


def _mask(raw: str, line: int, adapter: Adapter, frame: pd.DataFrame, key: bytes) -> str:
    """Raw text with the record's PII fields and any e-mail or phone number replaced by pseudonyms."""
    if adapter.pii_fields and len(frame):
        match = frame[frame["_line"] == line]
        if len(match):
            row = match.iloc[0]
            for field_name in adapter.pii_fields:
                value = row.get(field_name)
                if isinstance(value, str) and value.strip():
                    raw = raw.replace(value, pii.pseudonym(key, "text", value))
    return pii.mask_text(raw, key)
