"""Behavioural customer clusters (k-means or a Gaussian mixture) with readable cluster profiles.

The model is fitted on a random sample and applied to every customer, so a million customers take
seconds. k is chosen by silhouette (Rousseeuw 1987) for k-means and by BIC (Schwarz 1978) for
mixtures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from .rfm import CustomerDataError

DEFAULT_FEATURES = ("recency_days", "frequency", "monetary", "mean_order_value", "tenure_days")
SILHOUETTE_SAMPLE = 2000  # silhouette is quadratic in rows: score each k on this many sampled customers
SELECTION_SAMPLE = 10_000  # each candidate k is fitted on at most this many sampled customers
NOTABLE_SD = 0.5  # a cluster mean this many standard deviations from the overall mean sets it apart
# words for a cluster whose mean is above / below the overall mean of a feature
FEATURE_WORDS = {
    "recency_days": ("lapsed", "recent"),
    "frequency": ("frequent", "infrequent"),
    "monetary": ("high spend", "low spend"),
    "mean_order_value": ("large orders", "small orders"),
    "tenure_days": ("long-standing", "new"),
}


def _words(feature: str) -> tuple[str, str]:
    return FEATURE_WORDS.get(feature, (f"high {feature}", f"low {feature}"))


class CustomerClusters:
    """Cluster customers on behavioural features and describe each cluster.

    Parameters: method ("kmeans" or "gmm"), k ("auto" or a number of clusters), k_range (the
    smallest and largest k tried when k="auto"), random_state, sample_size (rows the model is
    fitted on), features (numeric columns; default recency_days, frequency, monetary,
    mean_order_value, tenure_days from rfm_table), log_features ("auto": non-negative columns
    with skew above 1, or a list of columns) that are log1p-transformed before standard scaling.

    Fitted attributes: features_, log_features_, k_, labels_ (cluster of each fitted row, 0 = the
    largest cluster), scores_ (k with silhouette or bic), profiles_ (one row per cluster: cluster,
    name, description, customers, share, then the mean of each feature), model_, scaler_.
    """

    def __init__(self, method: str = "kmeans", k="auto", k_range: tuple[int, int] = (2, 8),
                 random_state: int = 0, sample_size: int = 20_000, features=None, log_features="auto"):
        self.method = method
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.sample_size = sample_size
        self.features = features
        self.log_features = log_features

    # -- validation ----------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.method not in ("kmeans", "gmm"):
            raise CustomerDataError(f"method={self.method!r}; pass 'kmeans' or 'gmm'")
        if self.k != "auto" and not (isinstance(self.k, (int, np.integer)) and self.k >= 2):
            raise CustomerDataError(f"k={self.k!r}; pass 'auto' or a whole number of clusters of at least 2")
        low, high = self.k_range
        if self.k == "auto" and not (2 <= low <= high):
            raise CustomerDataError(f"k_range={self.k_range!r}; pass (smallest, largest) with 2 <= smallest <= largest")
        if self.sample_size < 2:
            raise CustomerDataError(f"sample_size={self.sample_size}; pass at least a few thousand rows")

    def _matrix(self, frame: pd.DataFrame, features: list[str]) -> np.ndarray:
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise CustomerDataError(
                f"the frame has no column(s) {', '.join(map(repr, missing))}; pass rfm_table(...) output "
                "or choose columns with features=[...]")
        not_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
        if not_numeric:
            raise CustomerDataError(
                f"column(s) {', '.join(map(repr, not_numeric))} are not numeric; leave them out of features=[...]")
        values = frame[features].to_numpy(dtype="float64")
        if not np.isfinite(values).all():
            bad = [c for c in features if not np.isfinite(frame[c].to_numpy(dtype="float64")).all()]
            raise CustomerDataError(
                f"column(s) {', '.join(map(repr, bad))} have missing or infinite values; fill or drop those rows")
        return values

    def _transform(self, values: np.ndarray) -> np.ndarray:
        out = values.copy()
        for i, feature in enumerate(self.features_):
            if feature in self.log_features_:
                out[:, i] = np.log1p(np.clip(out[:, i], 0.0, None))
        return out

    def _choose_log_features(self, frame: pd.DataFrame) -> list[str]:
        if self.log_features != "auto":
            unknown = [c for c in self.log_features if c not in self.features_]
            if unknown:
                raise CustomerDataError(f"log_features names {unknown}, which are not in features {self.features_}")
            return list(self.log_features)
        return [c for c in self.features_ if frame[c].min() >= 0 and frame[c].skew() > 1.0]

    # -- fitting -------------------------------------------------------------------------
    def _model(self, k: int, n_init: int = 4):
        if self.method == "kmeans":
            return KMeans(n_clusters=k, n_init=n_init, random_state=self.random_state)
        return GaussianMixture(n_components=k, covariance_type="full", n_init=max(1, n_init // 2),
                               random_state=self.random_state)

    def _score_k(self, scaled: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        low, high = self.k_range
        high = min(high, len(scaled) - 1)
        if high < low:
            raise CustomerDataError(f"{len(scaled)} customers are too few for k_range={self.k_range}; pass more data")
        rows = []
        fitted_on = scaled[rng.choice(len(scaled), size=min(len(scaled), SELECTION_SAMPLE), replace=False)]
        probe = scaled[rng.choice(len(scaled), size=min(len(scaled), SILHOUETTE_SAMPLE), replace=False)]
        for k in range(low, high + 1):
            model = self._model(k, n_init=2).fit(fitted_on)
            if self.method == "kmeans":
                labels = model.predict(probe)
                score = silhouette_score(probe, labels) if len(set(labels)) > 1 else -1.0
                rows.append({"k": k, "silhouette": float(score)})
            else:
                rows.append({"k": k, "bic": float(model.bic(fitted_on))})
        return pd.DataFrame(rows)

    def fit(self, frame: pd.DataFrame) -> "CustomerClusters":
        """Choose k (if "auto"), fit on a sample of `frame`, label every row and profile the clusters."""
        self._check_params()
        self.features_ = list(self.features or DEFAULT_FEATURES)
        values = self._matrix(frame, self.features_)
        if len(values) < 3:
            raise CustomerDataError(f"the frame has {len(values)} rows; clustering needs at least a few customers")
        self.log_features_ = self._choose_log_features(frame)
        rng = np.random.default_rng(self.random_state)
        sample = rng.choice(len(values), size=min(len(values), self.sample_size), replace=False)
        transformed = self._transform(values)
        self.scaler_ = StandardScaler().fit(transformed[sample])
        scaled_sample = self.scaler_.transform(transformed[sample])
        if self.k == "auto":
            self.scores_ = self._score_k(scaled_sample, rng)
            best = (self.scores_["silhouette"].idxmax() if self.method == "kmeans"
                    else self.scores_["bic"].idxmin())
            self.k_ = int(self.scores_.loc[best, "k"])
        else:
            if self.k > len(sample):
                raise CustomerDataError(f"k={self.k} is more than the {len(sample)} customers; pass a smaller k")
            self.k_ = int(self.k)
            self.scores_ = pd.DataFrame({"k": [self.k_]})
        self.model_ = self._model(self.k_).fit(scaled_sample)
        raw = self.model_.predict(self.scaler_.transform(transformed))
        # number clusters by size, largest first, so labels do not depend on the solver's order
        counts = np.bincount(raw, minlength=self.k_)
        order = np.argsort(-counts, kind="stable")
        self._relabel = np.empty(self.k_, dtype="int64")
        self._relabel[order] = np.arange(self.k_)
        self.labels_ = self._relabel[raw]
        self.profiles_ = self._profiles(frame, self.scaler_.transform(transformed), self.labels_)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The cluster of each row of `frame` (same numbering as labels_ and profiles_)."""
        if not hasattr(self, "model_"):
            raise CustomerDataError("this CustomerClusters is not fitted yet; call fit(frame) first")
        values = self._matrix(frame, self.features_)
        return self._relabel[self.model_.predict(self.scaler_.transform(self._transform(values)))]

    # -- profiles ------------------------------------------------------------------------
    def _profiles(self, frame: pd.DataFrame, scaled: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
        means = frame[self.features_].groupby(labels).mean().reindex(range(self.k_))
        centres = pd.DataFrame(scaled, columns=self.features_).groupby(labels).mean().reindex(range(self.k_))
        overall = scaled.mean(axis=0)
        sizes = np.bincount(labels, minlength=self.k_)
        rows = []
        for cluster in range(self.k_):
            deviations = centres.loc[cluster].to_numpy() - overall
            rank = np.argsort(-np.abs(deviations), kind="stable")
            notable = [(self.features_[i], deviations[i]) for i in rank if abs(deviations[i]) >= NOTABLE_SD]
            words = [_words(f)[0 if d > 0 else 1] for f, d in notable]
            name = ", ".join(words[:2]).capitalize() if words else "Typical"
            description = ("; ".join(f"{w} ({d:+.1f} sd {f})" for w, (f, d) in zip(words, notable))
                           if words else "close to the overall average on every feature")
            rows.append({"cluster": cluster, "name": name, "description": description,
                         "customers": int(sizes[cluster]), "share": sizes[cluster] / len(labels)})
        out = pd.DataFrame(rows)
        taken = out["name"].duplicated(keep=False)
        out.loc[taken, "name"] = [f"{n} ({c})" for n, c in zip(out.loc[taken, "name"], out.loc[taken, "cluster"])]
        return pd.concat([out, means.reset_index(drop=True)], axis=1)
