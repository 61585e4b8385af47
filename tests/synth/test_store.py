"""generate_store: files, manifest, determinism by seed, and errors a user can act on."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from storelift.schema import spec
from storelift.synth import SynthError, generate_store
from storelift.synth import store as store_module

TABLES = ["customers", "products", "orders", "order_lines", "refunds", "consents", "touches"]


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_manifest_lists_every_file_with_its_row_count(tmp_path):
    calls = []
    manifest = generate_store(tmp_path, customers=300, seed=1, progress=lambda *a: calls.append(a))
    assert list(manifest.columns) == ["file", "table", "format", "rows"]
    assert set(manifest.table) == set(TABLES) | {"events", "ground_truth", "ground_truth_params"}
    for row in manifest.itertuples():
        path = tmp_path / row.file
        assert path.exists(), row.file
        if row.format == "parquet":
            assert len(pd.read_parquet(path)) == row.rows
        elif row.format == "jsonl":
            assert sum(1 for _ in path.open()) == row.rows
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk["seed"] == 1 and on_disk["customers"] == 300
    assert [f["file"] for f in on_disk["files"]] == list(manifest.file)
    assert calls[-1] == ("customers", 300, 300)


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_columns_are_canonical_and_complete(tmp_path, file_format):
    generate_store(tmp_path, customers=200, seed=2, events=False, file_format=file_format)
    for table in TABLES:
        path = tmp_path / f"{table}.{file_format}"
        cols = list(pd.read_parquet(path).columns if file_format == "parquet" else pd.read_csv(path, nrows=5).columns)
        canonical = spec(table).column_names
        assert cols == [c for c in canonical if c in cols], table
        assert set(store_module.TABLE_COLUMNS[table]) == set(cols)
    assert not (tmp_path / "events.jsonl").exists()


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_same_seed_gives_byte_identical_files(tmp_path, monkeypatch, file_format):
    monkeypatch.setattr(store_module, "BLOCK_CUSTOMERS", 400)  # several blocks, as at full scale
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_store(a, customers=1_000, seed=7, file_format=file_format)
    generate_store(b, customers=1_000, seed=7, file_format=file_format)
    generate_store(c, customers=1_000, seed=8, file_format=file_format)
    files_a, files_b = _files(a), _files(b)
    assert files_a.keys() == files_b.keys()
    for name in files_a:
        assert files_a[name] == files_b[name], name
    assert files_a["orders." + file_format] != _files(c)["orders." + file_format]


def test_ids_stay_unique_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "BLOCK_CUSTOMERS", 250)
    generate_store(tmp_path, customers=1_000, seed=3, events=False)
    for table, key in [("customers", "customer_id"), ("orders", "order_id"), ("refunds", "refund_id"),
                       ("touches", "touch_id"), ("customers", "email")]:
        assert pd.read_parquet(tmp_path / f"{table}.parquet")[key].is_unique, (table, key)


def test_turning_events_off_changes_no_other_file(tmp_path):
    generate_store(tmp_path / "on", customers=300, seed=4, events=True)
    generate_store(tmp_path / "off", customers=300, seed=4, events=False)
    on, off = _files(tmp_path / "on"), _files(tmp_path / "off")
    for name in off:
        if name != "manifest.json":
            assert on[name] == off[name], name


@pytest.mark.parametrize("kwargs, field", [
    ({"customers": 0}, "customers"),
    ({"file_format": "xlsx"}, "file_format"),
    ({"start": "2024-13-01"}, "start"),
    ({"start": "2024-01-01", "end": "2024-01-15"}, "window"),
])
def test_bad_settings_raise_an_actionable_error(tmp_path, kwargs, field):
    with pytest.raises(SynthError, match=field):
        generate_store(tmp_path, **kwargs)
