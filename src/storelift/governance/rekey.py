"""Re-key stored pseudonyms with a new key: in text, in Arrow columns and inside unpickled objects.

A stored pseudonym p becomes ``psn_`` + HMAC-SHA256(new key, p)[:32 hex] (`pii.rekeyed`), the value
`pii.pseudonym` computes with the extended key chain, so data loaded after a rotation joins data
loaded before it. A pseudonym is found as a whole token: ``psn_`` and 32 lower-case hex digits with no
letter or digit on either side, whether it fills a value (customer_id) or sits inside text (JSON).
"""

from __future__ import annotations

import re
import types

import numpy as np
import pandas as pd
import pyarrow as pa

from ..data import pii

TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])" + re.escape(pii.PREFIX) + r"[0-9a-f]{32}(?![A-Za-z0-9])")
# The same shape for SQL engines (RE2 has no look-around): finds candidate columns, never rewrites.
SQL_TOKEN = pii.PREFIX + "[0-9a-f]{32}"


class Rekeyer:
    """Re-keys pseudonyms with one new key, remembering each (a customer's pseudonym recurs in many rows)."""

    def __init__(self, key: bytes):
        self.key = key
        self.mapping: dict[str, str] = {}

    def token(self, stored: str) -> str:
        new = self.mapping.get(stored)
        if new is None:
            new = self.mapping[stored] = pii.rekeyed(self.key, stored)
        return new

    def text(self, value: str) -> str:
        """`value` with every pseudonym token in it re-keyed (the same object when it holds none)."""
        if pii.PREFIX not in value:
            return value
        return TOKEN_RE.sub(lambda m: self.token(m.group(0)), value)

    def strings(self, values: list) -> tuple[list, int]:
        """The values with their string items re-keyed, and how many changed."""
        out, changed = [], 0
        for v in values:
            if isinstance(v, str):
                new = self.text(v)
                changed += new is not v and new != v
                out.append(new)
            else:
                out.append(v)
        return out, changed

    def arrow_table(self, table: pa.Table, columns: list[str] | None = None) -> tuple[pa.Table, int]:
        """`table` with its string columns (or `columns`) re-keyed, same schema; and values changed."""
        changed = 0
        for i, field in enumerate(table.schema):
            if columns is not None and field.name not in columns:
                continue
            if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
                continue
            values, n = self.strings(table.column(i).to_pylist())
            if n:
                table = table.set_column(i, field, pa.array(values, type=field.type))
                changed += n
        return table, changed


def remap_object(obj, rekeyer: Rekeyer) -> tuple[object, int]:
    """`obj` with every pseudonym inside it re-keyed, and how many strings changed.

    Walks what `traces.count_in_object` walks: containers, numpy and pandas objects, and the attributes
    of plain objects (changed in place, so shared references stay shared). Unchanged parts are kept as
    they are, so an artifact without pseudonyms comes back identical."""
    return _ObjectRemapper(rekeyer).remap(obj)


# Code, not data: never walked (a model may hold a reference to a module or a function).
_NOT_DATA = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


class _ObjectRemapper:
    def __init__(self, rekeyer: Rekeyer):
        self.rekeyer = rekeyer
        self.changed = 0
        self._memo: dict[int, tuple[object, object]] = {}

    def remap(self, obj) -> tuple[object, int]:
        return self.walk(obj), self.changed

    def walk(self, obj):
        if obj is None or isinstance(obj, (bool, int, float, complex, bytes, bytearray, np.generic)) \
                and not isinstance(obj, np.str_):
            return obj
        if isinstance(obj, str):
            new = self.rekeyer.text(obj)
            if new != obj:
                self.changed += 1
                return type(obj)(new) if isinstance(obj, np.str_) else new
            return obj
        seen = self._memo.get(id(obj))
        if seen is not None:
            return seen[1]
        self._memo[id(obj)] = (obj, obj)  # a cycle back here keeps the object itself
        new = self._walk_container(obj)
        self._memo[id(obj)] = (obj, new)
        return new

    def _values(self, values) -> tuple[list, bool]:
        out = [self.walk(v) for v in values]
        return out, any(a is not b for a, b in zip(out, values))

    def _walk_container(self, obj):
        if isinstance(obj, pd.MultiIndex):
            levels = [self.walk(level) for level in obj.levels]
            changed = any(a is not b for a, b in zip(levels, obj.levels))
            return obj.set_levels(levels) if changed else obj
        if isinstance(obj, (pd.Index, pd.Series)):
            return self._walk_pandas(obj)
        if isinstance(obj, pd.DataFrame):
            originals = [obj.iloc[:, i] for i in range(obj.shape[1])]
            columns = [self.walk(c) for c in originals]
            labels, index = self.walk(obj.columns), self.walk(obj.index)
            if all(a is b for a, b in zip(columns, originals)) and labels is obj.columns and index is obj.index:
                return obj
            out = pd.concat(columns, axis=1) if columns else obj.copy()
            out.columns, out.index = labels, index
            out.attrs = dict(obj.attrs)
            return out
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "OU":
                return obj
            flat = obj.ravel().tolist() if obj.dtype.kind == "U" else list(obj.ravel())
            values, changed = self._values(flat)
            if not changed:
                return obj
            return np.array(values, dtype=obj.dtype).reshape(obj.shape)
        if isinstance(obj, dict):
            items = [(self.walk(k), self.walk(v), k, v) for k, v in list(obj.items())]
            if any(nk is not k or nv is not v for nk, nv, k, v in items):
                obj.clear()
                obj.update((nk, nv) for nk, nv, _, _ in items)
            return obj
        if isinstance(obj, list):
            values, changed = self._values(obj)
            if changed:
                obj[:] = values
            return obj
        if isinstance(obj, (tuple, set, frozenset)):
            values, changed = self._values(list(obj))
            if not changed:
                return obj
            if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
                return type(obj)(*values)
            return type(obj)(values)
        if isinstance(obj, _NOT_DATA):
            return obj
        state = getattr(obj, "__dict__", None)
        if isinstance(state, dict):
            for name, value in list(state.items()):
                new = self.walk(value)
                if new is not value:
                    state[name] = new  # also reaches frozen dataclasses (Interactions)
        return obj

    def _walk_pandas(self, obj):
        """An Index or Series with re-keyed labels/values, same dtype and name (the object itself if none)."""
        index = None
        if isinstance(obj, pd.Series):
            index = self.walk(obj.index)
        if isinstance(obj.dtype, pd.CategoricalDtype):
            categories = self.walk(obj.dtype.categories)
            values_changed = categories is not obj.dtype.categories
            if values_changed:
                obj = obj.rename_categories(categories) if isinstance(obj, pd.Index) \
                    else obj.cat.rename_categories(categories)
        elif pd.api.types.is_numeric_dtype(obj.dtype) or pd.api.types.is_bool_dtype(obj.dtype) \
                or pd.api.types.is_datetime64_any_dtype(obj.dtype):
            values_changed = False
        else:
            raw = obj.to_numpy(dtype=object)
            values, values_changed = self._values(list(raw))
            if values_changed:
                if isinstance(obj, pd.Index):
                    obj = pd.Index(values, dtype=obj.dtype, name=obj.name)
                else:
                    obj = pd.Series(values, index=obj.index, dtype=obj.dtype, name=obj.name)
        if index is not None and index is not obj.index:
            obj = obj if values_changed else obj.copy()
            obj.index = index
        return obj
