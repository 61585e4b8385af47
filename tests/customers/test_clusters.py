"""CustomerClusters: recovers well-separated groups, profiles them in words, and rejects bad input."""

import numpy as np
import pandas as pd
import pytest

from storelift.customers.clusters import CustomerClusters
from storelift.customers.rfm import CustomerDataError

FEATURES = ["recency_days", "frequency", "monetary", "mean_order_value", "tenure_days"]


def blobs(sizes, centres, seed=0) -> tuple[pd.DataFrame, np.ndarray]:
    """Gaussian groups of customers around the given feature centres (one row of FEATURES each)."""
    rng = np.random.default_rng(seed)
    parts, truth = [], []
    for group, (n, centre) in enumerate(zip(sizes, centres)):
        centre = np.asarray(centre, dtype="float64")
        parts.append(rng.normal(centre, 0.05 * centre, size=(n, len(centre))))
        truth.append(np.full(n, group))
    return pd.DataFrame(np.vstack(parts), columns=FEATURES), np.concatenate(truth)


# the third group differs from the second only in spend
CENTRES = [(20, 10, 1000, 100, 400), (200, 2, 60, 30, 300), (200, 2, 400, 200, 300)]


def same_partition(labels, truth) -> bool:
    pairs = pd.crosstab(labels, truth)
    return bool(((pairs > 0).sum(axis=1) == 1).all() and ((pairs > 0).sum(axis=0) == 1).all())


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_well_separated_groups_recover_the_true_k(method):
    frame, truth = blobs([600, 400, 300], CENTRES)
    model = CustomerClusters(method=method, k_range=(2, 6)).fit(frame)
    assert model.k_ == 3
    assert same_partition(model.labels_, truth)
    assert list(model.scores_["k"]) == [2, 3, 4, 5, 6]
    assert list(model.profiles_["customers"]) == [600, 400, 300]  # numbered largest first


def test_profile_names_the_feature_that_sets_a_cluster_apart():
    frame, truth = blobs([600, 400, 300], CENTRES)
    model = CustomerClusters(k=3).fit(frame)
    profiles = model.profiles_.set_index("cluster")
    best = profiles.loc[model.labels_[truth == 0][0]]
    assert best["name"].startswith(("Frequent", "High spend", "Recent"))
    assert "frequent" in best["description"] and "high spend" in best["description"]
    assert "recent" in best["description"]
    cheap = profiles.loc[model.labels_[truth == 1][0]]
    assert "low spend" in cheap["description"]
    assert profiles["name"].is_unique
    assert profiles["share"].sum() == pytest.approx(1.0)
    assert best["monetary"] == pytest.approx(1000, rel=0.02)


def test_predict_on_new_rows_agrees_with_the_fitted_labels():
    frame, _ = blobs([600, 400, 300], CENTRES, seed=1)
    model = CustomerClusters(k=3, sample_size=500).fit(frame)
    np.testing.assert_array_equal(model.predict(frame), model.labels_)
    fresh, fresh_truth = blobs([50, 50, 50], CENTRES, seed=2)
    assert same_partition(model.predict(fresh), fresh_truth)


def test_any_numeric_columns_can_be_clustered():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"visits": np.r_[rng.normal(5, 0.5, 200), rng.normal(50, 5, 200)],
                          "label": ["x"] * 400})
    model = CustomerClusters(k=2, features=["visits"]).fit(frame)
    assert sorted(model.profiles_["customers"]) == [200, 200]
    assert set(model.profiles_["name"]) == {"High visits", "Low visits"}


def test_skewed_money_and_counts_are_log_transformed():
    frame, _ = blobs([600, 400, 300], CENTRES)
    frame["monetary"] = np.random.default_rng(4).lognormal(4, 1.5, size=len(frame))
    model = CustomerClusters(k=2).fit(frame)
    assert "monetary" in model.log_features_
    assert "recency_days" not in CustomerClusters(k=2, log_features=[]).fit(frame).log_features_


def test_bad_input_names_the_column_or_parameter_and_the_fix():
    frame, _ = blobs([60, 40, 30], CENTRES)
    with pytest.raises(CustomerDataError, match="'tenure_days'.*features="):
        CustomerClusters().fit(frame.drop(columns=["tenure_days"]))
    with pytest.raises(CustomerDataError, match="method='dbscan'"):
        CustomerClusters(method="dbscan").fit(frame)
    with pytest.raises(CustomerDataError, match="k=1"):
        CustomerClusters(k=1).fit(frame)
    with pytest.raises(CustomerDataError, match="0 rows"):
        CustomerClusters().fit(frame.iloc[0:0])
    broken = frame.copy()
    broken.loc[3, "monetary"] = np.nan
    with pytest.raises(CustomerDataError, match="'monetary'.*missing"):
        CustomerClusters().fit(broken)
    with pytest.raises(CustomerDataError, match="not fitted"):
        CustomerClusters().predict(frame)
