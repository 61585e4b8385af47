"""The planted bias: only the chosen group's orders lose their customer, at the chosen share; the truth
records which; and nothing else in the store moves (its draws come from a stream of their own)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from storelift.synth import generate_store
from storelift.synth.bias import PlantedBias

CHANGED = {"orders.parquet", "refunds.parquet", "manifest.json", "ground_truth/truth.json",
           "ground_truth/unlinked_orders.parquet"}


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    generate_store(root / "plain", customers=1500, seed=9)
    generate_store(root / "biased", customers=1500, seed=9, planted_bias=PlantedBias("female", "gender", 0.6))
    return root / "plain", root / "biased"


def test_only_orders_refunds_and_the_truth_change(stores):
    plain, biased = (_files(root) for root in stores)
    assert set(biased) - set(plain) == {"ground_truth/unlinked_orders.parquet"}
    for name in plain:
        if name not in CHANGED:
            assert plain[name] == biased[name], name
    assert plain["orders.parquet"] != biased["orders.parquet"]


def test_unlinked_orders_are_the_groups_at_the_planted_share(stores):
    plain, biased = stores
    customers = pd.read_parquet(plain / "customers.parquet")
    true_orders = pd.read_parquet(plain / "orders.parquet")
    recorded = pd.read_parquet(biased / "orders.parquet")
    unlinked = pd.read_parquet(biased / "ground_truth" / "unlinked_orders.parquet")
    assert (recorded["order_id"] == true_orders["order_id"]).all()
    lost = recorded["customer_id"].isna()
    assert set(recorded.loc[lost, "order_id"]) == set(unlinked["order_id"])
    owners = true_orders.set_index("order_id").loc[unlinked["order_id"], "customer_id"].to_numpy()
    assert (owners == unlinked["customer_id"].to_numpy()).all()  # the truth names the real customer
    gender = true_orders.merge(customers[["customer_id", "gender"]], on="customer_id")["gender"]
    is_female = (gender == "female").to_numpy()
    assert not lost[~is_female].any()
    n = is_female.sum()
    assert abs(lost[is_female].mean() - 0.6) < 4 * np.sqrt(0.6 * 0.4 / n)
    refunds = pd.read_parquet(biased / "refunds.parquet")
    assert set(refunds.loc[refunds["customer_id"].isna(), "order_id"]) <= set(unlinked["order_id"])


def test_truth_json_records_what_was_planted(stores):
    plain, biased = stores
    assert "planted_bias" not in json.loads((plain / "ground_truth" / "truth.json").read_text())
    planted = json.loads((biased / "ground_truth" / "truth.json").read_text())["planted_bias"]
    unlinked = pd.read_parquet(biased / "ground_truth" / "unlinked_orders.parquet")
    assert planted["group"] == "female" and planted["attribute"] == "gender" and planted["unlinked_share"] == 0.6
    assert planted["unlinked_orders"] == len(unlinked) > 0
    customers = pd.read_parquet(plain / "customers.parquet")
    assert planted["customers_in_group"] == int((customers["gender"] == "female").sum())
    manifest = json.loads((biased / "manifest.json").read_text())
    assert manifest["planted_bias"] == {"group": "female", "attribute": "gender", "unlinked_share": 0.6}
    assert "ground_truth/unlinked_orders.parquet" in [f["file"] for f in manifest["files"]]


def test_an_age_band_can_be_the_planted_group(tmp_path):
    generate_store(tmp_path, customers=400, seed=2, events=False,
                   planted_bias=PlantedBias("45+", "age_band", 1.0))
    customers = pd.read_parquet(tmp_path / "customers.parquet")
    unlinked = pd.read_parquet(tmp_path / "ground_truth" / "unlinked_orders.parquet")
    age = 2023 - customers.set_index("customer_id")["birth_year"]  # whole years at the window's start
    assert (age.loc[unlinked["customer_id"].unique()] >= 45).all()
    recorded = pd.read_parquet(tmp_path / "orders.parquet").dropna(subset=["customer_id"])
    assert (age.loc[recorded["customer_id"].unique()] < 45).all()  # share 1.0: every order of the group lost


@pytest.mark.parametrize("kwargs, message", [
    ({"attribute": "country"}, "attribute"),
    ({"unlinked_share": 0.0}, "unlinked_share"),
    ({"attribute": "age_band", "group": "old"}, "age band"),
])
def test_bad_settings_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PlantedBias(**kwargs)
