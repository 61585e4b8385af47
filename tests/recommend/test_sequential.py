"""SASRec on a planted successor rule, sequence helpers, fold-in, parameter errors and determinism."""

import pickle

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="SASRec needs the recommend extra (torch)")

from support import ordered_visits_artifact  # noqa: E402

from storelift.errors import StoreliftError  # noqa: E402
from storelift.recommend import (  # noqa: E402
    InnerProductIndex, Personalizer, Popularity, RecommendDataError, RecommendModelError, SASRec, evaluate,
    evaluate_temporal, leave_one_out, parse_sequences, target_ranks, temporal_split,
)
from storelift.recommend.sequential import (  # noqa: E402
    evaluate_sequential, evaluate_temporal_sequential, event_sequences, evidence_sequences,
    fit_with_early_stopping, sequence_matrix, stage_sequences,
)

N_ITEMS = 12


def successor_sequences(n_users=120, seed=0):
    """Each user walks the cycle 0 -> 1 -> ... -> 11 -> 0 from a random start: the next item is always
    the current one + 1 (mod 12), and every item is equally popular overall."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(N_ITEMS) + np.arange(rng.integers(4, 9))) % N_ITEMS for _ in range(n_users)]


TINY = dict(max_len=8, hidden=16, blocks=1, heads=1, dropout=0.0, batch_size=32, learning_rate=1e-2,
            random_state=0, num_threads=1)


def tiny(**params):
    return SASRec(**{**TINY, "epochs": 20, **params})


def hit_at_1(scores, targets):
    return float((scores.argmax(axis=1) == targets).mean())


@pytest.fixture(scope="module")
def planted():
    sequences = successor_sequences()
    history = [s[:-1] for s in sequences]
    targets = np.array([s[-1] for s in sequences])
    return history, targets, tiny().fit(history, N_ITEMS)


def test_sasrec_learns_the_planted_successor(planted):
    history, targets, model = planted
    users = np.arange(len(history))
    assert hit_at_1(model.scores(users), targets) > 0.9


def test_an_order_blind_model_cannot_learn_the_successor(planted):
    history, targets, _ = planted
    popularity = Popularity().fit(sequence_matrix(history, N_ITEMS))
    assert hit_at_1(popularity.scores(np.arange(len(history))), targets) < 0.3


def test_fold_in_scores_an_unseen_session_without_retraining(planted):
    _, _, model = planted
    sessions = [np.array([3, 4, 5]), np.array([10, 11]), np.array([7])]
    assert model.scores_for_sequences(sessions).argmax(axis=1).tolist() == [6, 0, 8]


def test_a_pickled_model_scores_the_same(planted):
    _, _, model = planted
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.scores([0, 1]), model.scores([0, 1]))
    np.testing.assert_array_equal(restored.scores_for_sequences([[3, 4]]), model.scores_for_sequences([[3, 4]]))


def test_scores_work_with_target_ranks_and_recommend_excludes_history(planted):
    history, targets, model = planted
    users = np.arange(len(history))
    ranks = target_ranks(model, model.matrix_, users, targets)
    assert (ranks == 0).mean() > 0.9
    recs = model.recommend([0], k=3, exclude=model.matrix_)
    assert not set(recs.item_row) & set(history[0].tolist())


def test_early_stopping_keeps_the_best_validation_epoch():
    sequences = successor_sequences()
    targets = np.array([s[-1] for s in sequences])
    model = tiny(epochs=30, patience=2).fit([s[:-1] for s in sequences], N_ITEMS, validation_targets=targets)
    history = model.history_
    assert {"epoch", "loss", "fit_s", "validation_ndcg10"} <= set(history.columns)
    assert model.best_epoch_ == int(history.loc[history.validation_ndcg10.idxmax(), "epoch"])
    assert model.epochs_trained_ <= 30


def test_same_seed_gives_the_same_scores():
    sequences = successor_sequences(n_users=40)
    first = tiny(epochs=3, dropout=0.2).fit(sequences, N_ITEMS).scores(np.arange(5))
    again = tiny(epochs=3, dropout=0.2).fit(sequences, N_ITEMS).scores(np.arange(5))
    other = tiny(epochs=3, dropout=0.2, random_state=1).fit(sequences, N_ITEMS).scores(np.arange(5))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_sampled_softmax_also_learns_the_successor():
    sequences = successor_sequences()
    model = tiny(loss="sampled", negatives=4).fit([s[:-1] for s in sequences], N_ITEMS)
    targets = np.array([s[-1] for s in sequences])
    assert hit_at_1(model.scores(np.arange(len(sequences))), targets) > 0.8


def category_sequences(n_users=120, seed=0):
    """12 categories of 10 items; each user buys 3 of the first 5 items of one category. Items 5-9 of a
    category are never bought: only their category (item_features) says what they are like."""
    rng = np.random.default_rng(seed)
    categories = np.repeat(np.arange(12), 10)
    bought = np.arange(120) % 10 < 5
    sequences = [rng.choice(np.flatnonzero((categories == rng.integers(12)) & bought), 3, replace=False)
                 for _ in range(n_users)]
    return sequences, categories, bought


def test_item_features_rank_never_bought_items_of_the_sessions_category_first():
    sequences, categories, bought = category_sequences()
    sessions = [[item] for item in np.flatnonzero(bought)[::3]]

    def same_category_share(model):  # of the top 5 among never-bought items
        scores = model.scores_for_sequences(sessions)
        scores[:, bought] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :5]
        return float((categories[top] == categories[np.array(sessions)]).mean())

    plain = same_category_share(tiny(epochs=30).fit(sequences, 120))
    labelled = tiny(epochs=30, item_features=[f"c{c}" for c in categories]).fit(sequences, 120)
    assert plain < 0.25 < 0.5 < same_category_share(labelled)  # chance is 1 in 12
    restored = pickle.loads(pickle.dumps(labelled))
    np.testing.assert_array_equal(restored.scores_for_sequences(sessions), labelled.scores_for_sequences(sessions))
    with pytest.raises(RecommendModelError, match="item_features has 2 labels for 120 items"):
        tiny(item_features=["a", "b"]).fit(sequences, 120)


@pytest.mark.parametrize("params, named", [
    ({"hidden": 0}, "hidden"), ({"max_len": 2.5}, "max_len"), ({"dropout": 1.0}, "dropout"),
    ({"loss": "bpr"}, "loss"), ({"hidden": 10, "heads": 3}, "heads"), ({"learning_rate": -1.0}, "learning_rate"),
    ({"weight_decay": -0.1}, "weight_decay"), ({"patience": 0}, "patience"),
])
def test_bad_parameters_raise_naming_them(params, named):
    with pytest.raises(RecommendModelError, match=named):
        tiny(**params).fit(successor_sequences(n_users=5), N_ITEMS)


def test_bad_inputs_raise_actionable_errors(planted):
    with pytest.raises(RecommendModelError, match="outside"):
        tiny().fit([np.array([0, 12])], N_ITEMS)
    with pytest.raises(RecommendModelError, match="validation_targets"):
        tiny().fit(successor_sequences(n_users=5), N_ITEMS, validation_targets=[1, 2])
    with pytest.raises(StoreliftError, match="not fitted"):
        tiny().scores([0])
    with pytest.raises(RecommendModelError, match="empty"):
        planted[2].scores_for_sequences([[]])
    with pytest.raises(RecommendModelError, match="user_rows"):
        planted[2].scores([10_000])


# --- sequences from events ------------------------------------------------------------------------

def test_event_sequences_follow_time_order_and_the_id_maps():
    events = pd.DataFrame({"user_id": ["b", "a", "a", "a"], "item_id": ["q", "r", "p", "q"], "position": [0, 2, 0, 1]})
    sequences = event_sequences(events, pd.Index(["a", "b", "c"]), pd.Index(["p", "q", "r"]))
    assert [s.tolist() for s in sequences] == [[0, 1, 2], [1], []]
    with pytest.raises(RecommendDataError, match="item ids"):
        event_sequences(events, pd.Index(["a", "b"]), pd.Index(["p", "q"]))


def test_stage_sequences_hold_out_the_split_items():
    events = parse_sequences(["a 1 2 3 4 x", "b 2 3 1", "c 1 2"])
    split = leave_one_out(events)
    items = split.items
    as_ids = lambda seqs: [items[s].tolist() for s in seqs]  # noqa: E731
    assert as_ids(stage_sequences(events, split, "validation")) == [["1", "2", "3"], ["2"], ["1", "2"]]
    assert as_ids(stage_sequences(events, split, "test")) == [["1", "2", "3", "4"], ["2", "3"], ["1", "2"]]
    # the validation-stage history equals the split's train matrix, so exclusion agrees with evaluate
    matrix = sequence_matrix(stage_sequences(events, split, "validation"), len(items))
    assert (matrix != split.train).nnz == 0
    with pytest.raises(RecommendDataError, match="same events"):
        stage_sequences(parse_sequences(["a 1 2 3 x 4", "b 2 3 1", "c 1 2"]), split, "test")


def test_evidence_sequences_count_weighted_events_in_time_order_and_a_repeat_once():
    at = pd.Timestamp("2024-05-01")
    evidence = pd.DataFrame({
        "user_id": ["a", "a", "a", "a", "a", "b", "b", "z"],
        "item_id": ["q", "p", "p", "p", "r", "q", "r", "p"],
        "event": ["Product Viewed", "Product Viewed", "Product Added", "purchase", "Newsletter Opened",
                  "purchase", "Product Viewed", "purchase"],
        "occurred_at": [at + pd.Timedelta(hours=h) for h in (2, 0, 1, 3, 4, 0, 9, 0)],
    })
    users, items = pd.Index(["a", "b", "c"]), pd.Index(["p", "q", "r"])
    sequences = evidence_sequences(evidence, users, items, now=at + pd.Timedelta(hours=5))
    # a: p (viewed, added), q, then p bought; the newsletter has no weight; z is not in the map
    assert [s.tolist() for s in sequences] == [[0, 1, 0], [1], []]
    # b's view of r came after `now`
    later = evidence_sequences(evidence, users, items)
    assert later[1].tolist() == [1, 2]
    with pytest.raises(RecommendDataError, match="occurred_at"):
        evidence_sequences(evidence.drop(columns="occurred_at"), users, items)
    in_utc = evidence.assign(occurred_at=evidence.occurred_at.dt.tz_localize("UTC"))
    assert [s.tolist() for s in evidence_sequences(in_utc, users, items, now=at + pd.Timedelta(hours=5))] == \
        [[0, 1, 0], [1], []]


def test_early_stopping_then_a_refit_on_the_whole_sequences():
    sequences = successor_sequences()
    model = fit_with_early_stopping(sequences, N_ITEMS, max_epochs=12, patience=2, **TINY)
    assert 1 <= model.epochs <= 12 and model.epochs_trained_ == model.epochs
    # refitted on whole sequences: each user's newest item is part of what it read
    assert all(kept.tolist() == s[-(model.max_len + 1):].tolist() for kept, s in zip(model.sequences_, sequences))
    successors = np.array([(s[-1] + 1) % N_ITEMS for s in sequences])
    assert (target_ranks(model, model.matrix_, np.arange(len(sequences)), successors) == 0).mean() > 0.9


def test_the_saved_sequences_refit_the_same_model():
    """What erasure relies on: refitting from `sequences_` alone reproduces the fit."""
    sequences = [np.arange(n) % N_ITEMS for n in (14, 12, 5, 3)] + successor_sequences(n_users=30)
    model = tiny(max_len=6, epochs=3).fit(sequences, N_ITEMS)
    again = tiny(max_len=6, epochs=3).fit(model.sequences_, N_ITEMS)
    np.testing.assert_array_equal(again.scores(np.arange(8)), model.scores(np.arange(8)))


def test_evaluate_sequential_gives_the_columns_of_evaluate():
    rng = np.random.default_rng(1)
    lines = [f"u{u} " + " ".join(str((start + i) % N_ITEMS) for i in range(6))
             for u, start in enumerate(rng.integers(0, N_ITEMS, 80))]
    events = parse_sequences(lines)
    split = leave_one_out(events)
    row = evaluate_sequential(split, events, "test", max_epochs=15, patience=3, **TINY)
    assert row.columns.tolist() == evaluate(Popularity(), split, "test").columns.tolist()
    assert row.model.iat[0] == "SASRec" and row.n_users.iat[0] == 80
    assert row["HIT@5"].iat[0] > 0.9


# --- served: the Personalizer reads the visit in order -------------------------------------------

def ordered_store():
    return Personalizer.from_artifact(ordered_visits_artifact())


def test_a_sequential_model_serves_a_visit_by_the_order_of_its_items():
    personalizer = ordered_store()
    xy = personalizer.recommend(None, k=1, session_items=["x", "y"])
    yx = personalizer.recommend(None, k=1, session_items=["y", "x"])
    assert xy.item_id.tolist() == ["after-xy"] and yx.item_id.tolist() == ["after-yx"]
    assert xy.source.tolist() == ["session"] and xy.personalized.all()
    # a known customer: their fitted sequence, then this visit's items
    known = personalizer.recommend("c0", k=3, session_items=["x"])
    assert known.source.iat[0] == "SASRec" and not {"x", "y", "after-yx"} & set(known.item_id)
    sequence = np.concatenate([personalizer.model.sequences_[0], [personalizer.interactions.items.get_loc("x")]])
    expected = personalizer.model.scores_for_sequences([sequence])[0]
    assert known.score.iat[0] == pytest.approx(float(np.max(np.delete(expected, sequence))))
    # consent withdrawn: the popular list, the visit not read
    assert personalizer.recommend("c0", k=2, consent=False, session_items=["x", "y"]).source.eq("popular").all()


def test_a_sequential_model_must_hold_a_sequence_per_customer():
    personalizer = ordered_store()
    short = tiny(epochs=1).fit(personalizer.model.sequences_[:5], personalizer.interactions.n_items)
    with pytest.raises(RecommendModelError, match="sequences"):
        Personalizer(short, personalizer.interactions, personalizer.catalog)


def test_states_and_item_vectors_give_the_scores(planted):
    _, _, model = planted
    sessions = [np.array([3, 4, 5]), np.array([7])]
    np.testing.assert_allclose(model.sequence_states(sessions) @ model.item_factors_.T,
                               model.scores_for_sequences(sessions), rtol=1e-5, atol=1e-5)
    assert "_item_vectors" not in pickle.loads(pickle.dumps(model)).__dict__  # derived, not saved


def test_an_item_index_serves_a_sequential_model_the_same_lists():
    plain = ordered_store()
    index = InnerProductIndex("exact").fit(plain.model.item_factors_)
    indexed = Personalizer(plain.model, plain.interactions, plain.catalog, index=index)
    for customer, session in (("c0", []), ("c3", ["x"]), (None, ["y", "x"]), (None, ["x", "y"])):
        expected = plain.recommend(customer, k=3, session_items=session)
        got = indexed.recommend(customer, k=3, session_items=session)
        assert got.item_id.tolist() == expected.item_id.tolist()
        np.testing.assert_allclose(got.score, expected.score, rtol=1e-4, atol=1e-5)


def test_items_link_by_their_vectors_for_similar_items_and_reasons(planted):
    _, _, model = planted
    similar = model.similar_items([3], k=2)
    assert similar.columns.tolist() == ["item_row", "rank", "similar_item_row", "score"]
    vectors = model.item_factors_ / np.linalg.norm(model.item_factors_, axis=1, keepdims=True)
    cosine = vectors @ vectors[3]
    cosine[3] = -np.inf
    assert similar.similar_item_row.tolist() == np.argsort(-cosine)[:2].tolist()
    # served: a personal item's reason names the history item it links to most
    personalizer = ordered_store()
    recs = personalizer.recommend("c1", k=1, session_items=["x"])
    assert recs.reason.iat[0].startswith("because you showed interest in ")


@pytest.mark.parametrize("features", [False, True])
def test_one_sequences_state_in_numpy_equals_the_networks(features):
    rng = np.random.default_rng(3)
    sequences = [rng.integers(0, N_ITEMS, rng.integers(2, 14)) for _ in range(60)]
    labels = [None if i % 5 == 0 else f"cat{i % 3}" for i in range(N_ITEMS)] if features else None
    model = SASRec(max_len=8, hidden=16, blocks=2, heads=2, dropout=0.2, epochs=2, num_threads=1,
                   item_features=labels).fit(sequences, N_ITEMS)
    probes = [np.array([4]), np.array([1, 1, 2]), rng.integers(0, N_ITEMS, 20)]  # the last longer than max_len
    batched = model.sequence_states(probes + [np.array([0, 1])])[:len(probes)]  # through torch
    one_by_one = np.vstack([model.sequence_states([probe]) for probe in probes])  # through numpy
    np.testing.assert_allclose(one_by_one, batched, rtol=1e-4, atol=1e-5)
    # the scores of one sequence (numpy) and of a batch (torch) agree too
    np.testing.assert_allclose(model.scores_for_sequences(probes[2:]), model.scores_for_sequences(probes)[2:],
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model.scores([7]), model.scores([7, 8])[:1], rtol=1e-4, atol=1e-4)


def test_evaluate_temporal_sequential_gives_the_columns_of_evaluate_temporal_and_a_fallback():
    rng = np.random.default_rng(2)
    start = pd.Timestamp("2024-01-01")
    rows = []
    for u in range(60):
        first = int(rng.integers(0, 25))
        for step in range(6):  # the successor rule over 25 items, a day apart; u59 starts after the cutoff
            day = step + (10 if u == 59 else 0)
            rows.append((f"u{u}", str((first + step) % 25), "purchase", start + pd.Timedelta(days=day)))
    evidence = pd.DataFrame(rows, columns=["user_id", "item_id", "event", "occurred_at"])
    split = temporal_split(evidence, start + pd.Timedelta(days=4))
    row = evaluate_temporal_sequential(split, evidence, max_epochs=15, patience=3, **TINY)
    assert row.columns.tolist() == evaluate_temporal(Popularity(), split).columns.tolist()
    assert row.model.iat[0] == "SASRec" and row.n_users.iat[0] == 60  # u59 too, on the popular list
    assert row["HR@10"].iat[0] > 0.9


def test_early_stopping_reports_each_epoch_of_both_stages():
    lines = []
    model = fit_with_early_stopping(successor_sequences(n_users=40), N_ITEMS, max_epochs=6, patience=2,
                                    progress=lines.append, **TINY)
    choosing = [line for line in lines if line.startswith("choosing the epoch count: epoch ")]
    training = [line for line in lines if line.startswith("training on all: epoch ")]
    assert len(choosing) + len(training) == len(lines) and 1 <= len(choosing) <= 6
    assert all("validation NDCG@10" in line for line in choosing)
    assert training == [line for line in training if f"/{model.epochs}, loss " in line]
    assert len(training) == model.epochs
