"""Erasing a customer from a recommendation artifact: every model in it is refitted without them."""

import numpy as np
import pandas as pd
import pytest

from storelift.artifacts import load_models, save_models
from storelift.governance.erase_files import refit_recommender
from storelift.recommend import ItemCatalog, ItemKNN, Personalizer, Popularity, interaction_matrix


def test_a_segmented_artifact_is_refitted_without_the_customer_and_still_serves(tmp_path):
    rows = [("de-1", "a"), ("de-1", "b"), ("de-2", "a"), ("fr-1", "c"), ("fr-1", "b"), ("fr-2", "c")]
    interactions = interaction_matrix(pd.DataFrame(rows, columns=["user_id", "item_id"]), binary=True)
    labels = [str(u)[:2].upper() for u in interactions.users]
    popular = Popularity(segments=labels, shrinkage=0).fit(interactions.matrix)
    catalog = ItemCatalog.from_products(pd.DataFrame({"product_id": ["a", "b", "c"]}), interactions.items)
    save_models(tmp_path, "recommend-itemknn-1", {
        "model": ItemKNN(neighbors=5).fit(interactions.matrix), "interactions": interactions, "catalog": catalog,
        "popular": popular})

    done = refit_recommender(tmp_path / "recommend-itemknn-1", {"fr-1"}, "20260101T000000")

    assert done["action"] == "refitted without the customer"
    version, saved = load_models(tmp_path, prefix="recommend-")
    assert "erased" in version and "fr-1" not in set(saved["interactions"].users)
    refitted = saved["popular"]
    assert refitted.segments == ["DE", "DE", "FR"] and refitted.user_segments_.size == 3
    # fr-1 bought b and c; only fr-2's c is left in FR's list
    assert refitted.segment_scores("FR").tolist() == [0.0, 0.0, 1.0]
    recs = Personalizer.from_artifact(saved).recommend(None, k=1, context="FR")
    assert recs.item_id.tolist() == ["c"] and recs.reason.tolist() == ["popular with FR shoppers"]


def test_a_sequential_artifact_is_refitted_from_the_other_customers_sequences(tmp_path):
    pytest.importorskip("torch", reason="SASRec needs the recommend extra (torch)")
    from storelift.recommend import SASRec, event_sequences

    rows = [(f"c{u}", item, position) for u in range(30)
            for position, item in enumerate(["a", "b", "c"] if u % 2 else ["c", "b", "a"])]
    rows += [("gone", item, position) for position, item in enumerate(["a", "c", "d"])]
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "position"])
    interactions = interaction_matrix(events, binary=True)
    model = SASRec(max_len=4, hidden=8, blocks=1, epochs=2, num_threads=1).fit(
        event_sequences(events, interactions.users, interactions.items), interactions.n_items)
    catalog = ItemCatalog.from_products(pd.DataFrame({"product_id": list(interactions.items)}), interactions.items)
    save_models(tmp_path, "recommend-sasrec-1", {"model": model, "interactions": interactions, "catalog": catalog})

    done = refit_recommender(tmp_path / "recommend-sasrec-1", {"gone"}, "20260101T000000")

    assert done["action"] == "refitted without the customer", done
    _, saved = load_models(tmp_path, prefix="recommend-")
    refitted = saved["model"]
    assert len(refitted.sequences_) == 30 == saved["interactions"].n_users
    # only the erased customer ever reached d: the refit never saw it follow anything
    kept = [s.tolist() for s in refitted.sequences_]
    d = int(interactions.items.get_loc("d"))
    assert kept == [s.tolist() for s, user in zip(model.sequences_, interactions.users) if user != "gone"]
    assert all(d not in s for s in kept)
    assert not np.array_equal(refitted.scores([0]), model.scores([0]))
    recs = Personalizer.from_artifact(saved).recommend("c1", k=1, session_items=["a"])
    assert recs.source.tolist() == ["SASRec"]
