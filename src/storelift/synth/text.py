"""Vectorized string building for the generator: ids, patterns, ISO times, JSON fragments.

Everything runs in Arrow compute kernels or numpy byte matrices, so a million ids or event lines
cost well under a second instead of a Python loop per row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SECONDS_PER_DAY = 86_400
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_LETTERS = np.frombuffer(b"ABCDEFGHJKLMNPRSTUWXYZ", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_DIGITS_2_9 = np.frombuffer(b"23456789", dtype=np.uint8)


def join(*parts) -> pa.Array:
    """Concatenate arrays and literal strings element-wise (nulls propagate)."""
    return pc.binary_join_element_wise(*parts, "")


def numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """`prefix` + zero-padded number, e.g. C0000042: sortable and unique by construction."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return join(prefix, digits)


def _matrix_to_strings(chars: np.ndarray) -> pa.Array:
    """An (n, k) uint8 matrix of ASCII codes -> n strings of length k."""
    n, k = chars.shape
    if n == 0:
        return pa.array([], pa.string())
    offsets = np.arange(0, (n + 1) * k, k, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars).tobytes()))


def hex_ids(rng: np.random.Generator, n: int, digits: int = 16, uuid_style: bool = False) -> pa.Array:
    """Random lowercase hex ids; with uuid_style, 32 digits dashed 8-4-4-4-12 like Segment messageIds."""
    digits = 32 if uuid_style else digits
    raw = np.frombuffer(rng.bytes(n * ((digits + 1) // 2)), dtype=np.uint8).reshape(n, -1)
    nibbles = np.empty((n, raw.shape[1] * 2), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 15
    chars = _HEX[nibbles[:, :digits]]
    if uuid_style:
        out = np.full((n, 36), ord("-"), dtype=np.uint8)
        for src, dst in ((0, 0), (8, 9), (12, 14), (16, 19), (20, 24)):
            width = 8 if src == 0 else (12 if src == 20 else 4)
            out[:, dst:dst + width] = chars[:, src:src + width]
        chars = out
    return _matrix_to_strings(chars)


def pattern_strings(rng: np.random.Generator, pattern: str, n: int) -> pa.Array:
    """Fill a pattern: A = capital letter, # = digit, N = digit 2-9, anything else literal."""
    cols = []
    for ch in pattern:
        if ch == "A":
            cols.append(_LETTERS[rng.integers(0, len(_LETTERS), n)])
        elif ch == "#":
            cols.append(_DIGITS[rng.integers(0, 10, n)])
        elif ch == "N":
            cols.append(_DIGITS_2_9[rng.integers(0, 8, n)])
        else:
            cols.append(np.full(n, ord(ch), dtype=np.uint8))
    return _matrix_to_strings(np.stack(cols, axis=1) if cols else np.zeros((n, 0), np.uint8))


def timestamps(epoch_s: np.ndarray) -> pa.Array:
    """Seconds since 1970 (UTC) as a naive Arrow timestamp, the canonical time type."""
    return pa.array(np.asarray(epoch_s, dtype=np.int64)).cast(pa.timestamp("s"))


@lru_cache(maxsize=1)
def _clock_strings() -> pa.Array:
    """'T00:00:00Z' .. 'T23:59:59Z', indexed by second of the day."""
    full = np.datetime_as_string(np.arange(SECONDS_PER_DAY).astype("datetime64[s]"))
    return join(pc.utf8_slice_codeunits(pa.array(full), 10), "Z")


def iso_times(epoch_s: np.ndarray) -> pa.Array:
    """ISO 8601 UTC strings with a Z, e.g. 2024-03-01T09:30:00Z, built from day and clock lookups."""
    epoch_s = np.asarray(epoch_s, dtype=np.int64)
    if len(epoch_s) == 0:
        return pa.array([], pa.string())
    day = epoch_s // SECONDS_PER_DAY
    first = int(day.min())
    days = pa.array(np.datetime_as_string(np.arange(first, int(day.max()) + 1).astype("datetime64[D]")))
    return join(days.take(pa.array(day - first)), _clock_strings().take(pa.array(epoch_s - day * SECONDS_PER_DAY)))


def json_strings(values: Sequence[str]) -> pa.Array:
    """Each value as a quoted, escaped JSON string literal (for small lookup tables)."""
    return pa.array([json.dumps(v) for v in values], pa.string())


def numbers(values: np.ndarray) -> pa.Array:
    """Numbers as their shortest JSON text (2 decimals for money already rounded)."""
    return pc.cast(pa.array(values), pa.string())


def join_groups(fragments: pa.Array, offsets: np.ndarray, separator: str = ",") -> pa.Array:
    """Join consecutive runs of `fragments` (run i is offsets[i]:offsets[i+1]) with `separator`."""
    lists = pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), fragments)
    return pc.binary_join(lists, separator)
