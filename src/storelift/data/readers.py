"""Streaming readers: a source file in bounded chunks of records, each with its line and raw text.

A record that cannot even be split into fields (broken quoting, a truncated last line, wrong
field count, invalid JSON) is not dropped: it comes back in ``RawChunk.unreadable`` with a reason,
and ingest puts it in quarantine.
"""

from __future__ import annotations

import csv
import json
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
import pyarrow.parquet as pq

from ..errors import IngestError

# A quoted field may span lines; past this many lines an open quote is taken to be broken.
MAX_RECORD_LINES = 50

Progress = Callable[[int, int], None]  # (done, total) in bytes or rows


@dataclass
class Unreadable:
    line: int
    raw: str
    reason: str


@dataclass
class RawChunk:
    """Records of one chunk: `frame` has the source fields plus `_line` and `_raw` (None = build from fields)."""

    frame: pd.DataFrame
    unreadable: list[Unreadable] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.frame) + len(self.unreadable)


def _open_text(path: Path):
    return open(path, "r", encoding="utf-8-sig", errors="replace", newline="")


def _records(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str | None, str]]:
    """Join physical lines into CSV records by quote parity.

    Yields (first_line, record_text, problem) where problem is "" for a good record or a reason;
    an unbalanced quote quarantines its first line only and re-reads the lines after it.
    """
    pending: deque[tuple[int, str]] = deque()
    source = iter(lines)
    while True:
        if not pending:
            nxt = next(source, None)
            if nxt is None:
                return
            pending.append(nxt)
        start, first = pending[0]
        if first.count('"') % 2 == 0:
            pending.popleft()
            yield start, first, ""
            continue
        # Open quote: take more lines until the quotes balance.
        used = 1
        quotes = first.count('"')
        closed = False
        while used < MAX_RECORD_LINES:
            if used >= len(pending):
                nxt = next(source, None)
                if nxt is None:
                    break
                pending.append(nxt)
            quotes += pending[used][1].count('"')
            used += 1
            if quotes % 2 == 0:
                closed = True
                break
        if closed:
            text = "".join(pending[i][1] for i in range(used))
            for _ in range(used):
                pending.popleft()
            yield start, text, ""
        else:
            pending.popleft()
            yield start, first, "a quoted field is never closed (unbalanced '\"'); fix the quoting on this line"


def _physical_lines(fh, progress: Progress | None, total: int) -> Iterator[tuple[int, str]]:
    done = 0
    for number, line in enumerate(fh, 1):
        done += len(line)
        if progress is not None and number % 50_000 == 0:
            progress(done, total)
        yield number, line
    if progress is not None:
        progress(total, total)


def _strip_eol(text: str) -> str:
    return text.rstrip("\r\n")


def read_delimited(
    path: Path,
    chunk_rows: int,
    delimiter: str = ",",
    whitespace: bool = False,
    progress: Progress | None = None,
) -> Iterator[RawChunk]:
    """CSV (or whitespace-separated) file with a header line, in chunks of string-valued records."""
    path = Path(path)
    total = os.path.getsize(path)
    with _open_text(path) as fh:
        lines = _physical_lines(fh, progress, total)
        records = _records(lines) if not whitespace else ((n, l, "") for n, l in lines)
        header = None
        for _, text, problem in records:
            if text.strip():
                if problem:
                    raise IngestError(f"{path}: line 1 (the header) has broken quoting; fix the header line")
                header = _split(text, delimiter, whitespace)
                break
        if header is None:
            raise IngestError(f"{path}: the file is empty; expected a header line")
        header = [h.strip() for h in header]
        if len(set(header)) != len(header):
            dup = sorted({h for h in header if header.count(h) > 1})
            raise IngestError(f"{path}: header repeats column(s) {dup}; rename them so each is unique")
        batch: list[tuple[int, str]] = []
        bad: list[Unreadable] = []
        for start, text, problem in records:
            if not text.strip():
                continue  # blank lines are not records
            if problem:
                bad.append(Unreadable(start, _strip_eol(text), problem))
            else:
                batch.append((start, text))
            if len(batch) + len(bad) >= chunk_rows:
                yield _parse_batch(batch, bad, header, delimiter, whitespace, path)
                batch, bad = [], []
        if batch or bad:
            yield _parse_batch(batch, bad, header, delimiter, whitespace, path)


def _split(text: str, delimiter: str, whitespace: bool) -> list[str]:
    if whitespace:
        return text.split()
    return next(csv.reader([text], delimiter=delimiter, strict=True))


def _split_all(batch, delimiter: str, whitespace: bool) -> list:
    """Fields of every record, parsed in one pass; a record that fails gets its csv.Error instead."""
    texts = [t for _, t in batch]
    if whitespace:
        return [t.split() for t in texts]
    try:
        parsed = list(csv.reader(texts, delimiter=delimiter, strict=True))
        if len(parsed) == len(texts):
            return parsed
    except csv.Error:
        pass
    out = []
    for t in texts:
        try:
            out.append(_split(t, delimiter, False))
        except csv.Error as exc:
            out.append(exc)
    return out


def _parse_batch(batch, bad, header, delimiter, whitespace, path) -> RawChunk:
    width = len(header)
    rows, lines, raws = [], [], []
    for (start, text), fields in zip(batch, _split_all(batch, delimiter, whitespace)):
        if isinstance(fields, csv.Error):
            bad.append(Unreadable(start, _strip_eol(text), f"cannot be parsed as CSV ({fields}); fix the quoting"))
            continue
        if len(fields) != width:
            what = "fewer" if len(fields) < width else "more"
            bad.append(Unreadable(
                start, _strip_eol(text),
                f"has {len(fields)} fields, {what} than the header's {width}: a truncated line, "
                "a stray delimiter or broken quoting; fix the line",
            ))
            continue
        rows.append(fields)
        lines.append(start)
        raws.append(_strip_eol(text))
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header, dtype=object)
    frame["_line"] = pd.Series(lines, dtype="int64")
    frame["_raw"] = pd.Series(raws, dtype=object)
    bad.sort(key=lambda u: u.line)
    return RawChunk(frame, bad)


def read_lines(path: Path, chunk_rows: int, progress: Progress | None = None) -> Iterator[RawChunk]:
    """A file with no header, one record per non-blank line, in the `_text` column."""
    path = Path(path)
    total = os.path.getsize(path)
    texts, numbers = [], []
    with _open_text(path) as fh:
        for number, line in _physical_lines(fh, progress, total):
            if line.strip():
                texts.append(_strip_eol(line))
                numbers.append(number)
            if len(texts) >= chunk_rows:
                yield RawChunk(pd.DataFrame({"_text": texts, "_line": numbers, "_raw": texts}))
                texts, numbers = [], []
    if texts:
        yield RawChunk(pd.DataFrame({"_text": texts, "_line": numbers, "_raw": texts}))


def read_jsonl(path: Path, chunk_rows: int, progress: Progress | None = None) -> Iterator[RawChunk]:
    """JSON lines: one object per line, in the `_obj` column."""
    path = Path(path)
    total = os.path.getsize(path)
    objs, lines, raws, bad = [], [], [], []
    with _open_text(path) as fh:
        for number, line in _physical_lines(fh, progress, total):
            text = _strip_eol(line)
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                bad.append(Unreadable(number, text, f"is not valid JSON ({exc.msg} at column {exc.colno}); "
                                                    "fix the line or re-export it"))
            else:
                if isinstance(obj, dict):
                    objs.append(obj)
                    lines.append(number)
                    raws.append(text)
                else:
                    bad.append(Unreadable(number, text, "is JSON but not an object; each line must be one {...} message"))
            if len(objs) + len(bad) >= chunk_rows:
                yield _json_chunk(objs, lines, raws, bad)
                objs, lines, raws, bad = [], [], [], []
    if objs or bad:
        yield _json_chunk(objs, lines, raws, bad)


def _json_chunk(objs, lines, raws, bad) -> RawChunk:
    frame = pd.DataFrame({"_obj": pd.Series(objs, dtype=object), "_line": pd.Series(lines, dtype="int64"),
                          "_raw": pd.Series(raws, dtype=object)})
    return RawChunk(frame, list(bad))


def read_parquet(path: Path, chunk_rows: int, progress: Progress | None = None) -> Iterator[RawChunk]:
    """Parquet in record batches; `_line` is the 1-based row number, `_raw` is built on demand."""
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise IngestError(f"{path}: not a readable Parquet file ({exc})") from exc
    total = pf.metadata.num_rows
    done = 0
    for batch in pf.iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        frame["_line"] = pd.RangeIndex(done + 1, done + 1 + len(frame)).to_numpy()
        frame["_raw"] = None
        done += len(frame)
        if progress is not None:
            progress(done, total)
        yield RawChunk(frame, [])


def raw_text(row: pd.Series) -> str:
    """The raw form of a record: its text when read from text, else its fields as JSON."""
    raw = row.get("_raw")
    if isinstance(raw, str):
        return raw
    fields = {k: v for k, v in row.items() if not str(k).startswith("_")}
    return json.dumps(fields, default=str, ensure_ascii=False)
