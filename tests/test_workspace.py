import os

import pytest

from storelift import Workspace
from storelift.errors import ConfigError, PrivacyError, WarehouseError
from storelift.warehouse import WarehouseURL


def test_init_makes_config_warehouse_and_key_outside(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    assert (ws.root / "storelift.toml").exists() and (ws.root / "warehouse.duckdb").exists()
    assert {"orders", "order_lines", "quarantine"} <= set(ws.warehouse.con.list_tables())
    key_file = ws.config.key_file
    assert not key_file.startswith(str(ws.root)), "the key must live outside the workspace"
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert len(ws.pii_key()) >= 32


def test_reopen_keeps_config(tmp_path):
    first = Workspace.init(tmp_path / "shop")
    first.close()
    again = Workspace.open(tmp_path / "shop")
    assert again.config.workspace_id == first.config.workspace_id


def test_open_a_folder_that_is_not_a_workspace(tmp_path):
    with pytest.raises(ConfigError, match="storelift init"):
        Workspace.open(tmp_path)


def test_bad_config_value_names_the_key(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    path = ws.root / "storelift.toml"
    path.write_text(path.read_text().replace("chunk_rows = 100000", 'chunk_rows = "many"'))
    with pytest.raises(ConfigError, match=r"\[ingest\] chunk_rows must be a whole number"):
        Workspace.open(ws.root)


def test_missing_key_file_is_a_clear_error(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    os.remove(ws.config.key_file)
    with pytest.raises(PrivacyError, match="STORELIFT_PII_KEY"):
        ws.pii_key()


def test_warehouse_urls():
    assert WarehouseURL.parse("duckdb://warehouse.duckdb").engine == "duckdb"
    spark = WarehouseURL.parse("pyspark://local[2]?warehouse=/tmp/w")
    assert (spark.target, spark.options) == ("local[2]", {"warehouse": "/tmp/w"})
    assert WarehouseURL.parse("postgresql://u:p@localhost:5432/shop").target.startswith("postgres://")
    with pytest.raises(WarehouseError, match="unknown engine 'mysql'"):
        WarehouseURL.parse("mysql://x")
