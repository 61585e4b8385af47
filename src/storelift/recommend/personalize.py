"""One recommendation list for one customer or visitor: consent, cold start, rules and a reason per item.

`Personalizer` wraps a fitted model with its id maps and the catalog. For each request it decides
which source may be used, in this order:
1. no personalization consent -> the popular list (the customer's own data is not read at all);
2. a customer the model was fitted on -> the model's scores from their history;
3. a new customer or anonymous session with events -> the model folded in on those events, no retrain;
4. nothing known -> the popular list (the cold-start fallback).
Then the rules drop what may not be shown (seen or recently bought items, out-of-stock items),
apply the diversity caps, back-fill from the popular list when too few remain, and every item gets a
reason in words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .interactions import Interactions, RecommendDataError
from .models import Popularity, Recommender, RecommendModelError
from .rules import ItemCatalog, RecommendationRules, apply_caps, recently_bought

PERSONALIZED_COLUMNS = ("rank", "item_id", "score", "source", "personalized", "reason")


def history_vector(interactions: Interactions, item_ids, weights=None) -> sp.csr_matrix:
    """A 1 x n_items history row from item ids (unknown ids are skipped; repeats add up)."""
    columns = interactions.items.get_indexer(pd.Index(list(item_ids)))
    values = np.ones(len(columns), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    known = columns >= 0
    row = sp.csr_matrix((values[known], (np.zeros(known.sum(), dtype=np.int64), columns[known])),
                        shape=(1, interactions.n_items), dtype=np.float32)
    row.sum_duplicates()
    return row


class Personalizer:
    """Recommendations for one customer at a time with consent, cold start and business rules applied.

    model: a fitted Recommender whose rows and columns are those of `interactions`; it must offer
    `score_history` to fold in new visitors (Popularity, ItemKNN, EASE do). popular: the
    non-personalized fallback, fitted on the same matrix when not given.
    """

    def __init__(self, model: Recommender, interactions: Interactions, catalog: ItemCatalog,
                 rules: RecommendationRules | None = None, popular: Popularity | None = None):
        if not hasattr(model, "n_items_"):
            raise RecommendModelError(f"{type(model).__name__} is not fitted; fit it on interactions.matrix first")
        if model.n_items_ != interactions.n_items or len(catalog.items) != interactions.n_items:
            raise RecommendModelError(
                f"the model scores {model.n_items_} items, the interactions hold {interactions.n_items} and the "
                f"catalog {len(catalog.items)}; build all three from the same item map")
        self.model = model
        self.interactions = interactions
        self.catalog = catalog
        self.rules = rules or RecommendationRules()
        self.popular = popular or Popularity().fit(interactions.matrix)

    def recommend(self, customer_id=None, k: int = 10, *, consent: bool = True, session_items=(),
                  purchases: pd.DataFrame | None = None, now=None) -> pd.DataFrame:
        """Top-k items for a customer (or an anonymous visitor: customer_id None) as a DataFrame.

        consent: whether the customer allows personalization; without it only the popular list is
        used and neither history, session nor purchases are read. session_items: item ids of this
        visit's events, newest last (folded in for customers the model has not seen). purchases:
        item_id, purchased_at rows of what the customer bought (excluded for rules.repurchase_days
        before `now`). Columns: rank, item_id, score, source (model class name, "session", or
        "popular"), personalized (bool), reason.
        """
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise RecommendModelError(f"k is {k!r}; pass a positive integer number of items")
        session_items = check_session_items(session_items)
        now = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else now
        excluded = np.flatnonzero(~self.catalog.in_stock) if self.rules.exclude_out_of_stock else np.empty(0, np.int64)
        history = None
        if not consent:
            source, scores = "popular", None
        else:
            known = customer_id is not None and customer_id in self.interactions.users
            if known:
                row = int(self.interactions.user_rows([customer_id])[0])
                history = self.interactions.matrix[row]
                session = history_vector(self.interactions, session_items)
                scores = None
                if session.nnz:
                    try:
                        scores = self.model.score_history(history + session)[0]
                        history = history + session
                    except RecommendModelError:  # cannot fold in: the customer's fitted history alone
                        pass
                if scores is None:
                    scores = self.model.scores([row])[0]
                source = type(self.model).__name__
            elif len(session_items):
                history = history_vector(self.interactions, session_items)
                source, scores = "popular", None
                if history.nnz:
                    try:
                        source, scores = "session", self.model.score_history(history)[0]
                    except RecommendModelError:  # a model that cannot fold in (BPR): the popular list
                        pass
            else:
                source, scores = "popular", None
            bought = recently_bought(purchases, self.interactions.items, now, self.rules.repurchase_days)
            seen = history.indices if (history is not None and self.rules.exclude_seen) else np.empty(0, np.int64)
            excluded = np.union1d(excluded, np.union1d(bought, seen))
        return self._ranked(scores, source, excluded, history, k)

    def _ranked(self, scores, source: str, excluded: np.ndarray, history, k: int) -> pd.DataFrame:
        popular = self.popular.item_scores_.astype(np.float64)
        allowed = np.ones(self.interactions.n_items, dtype=bool)
        allowed[excluded.astype(np.int64)] = False
        chosen: list[int] = []
        sources: list[str] = []
        values: list[float] = []
        if scores is not None:
            scores = np.asarray(scores, dtype=np.float64)
            candidates = np.flatnonzero(allowed & np.isfinite(scores) & (scores > 0))
            order = candidates[np.lexsort((candidates, -scores[candidates]))]
            for column in apply_caps(order, self.catalog, self.rules, k):
                chosen.append(int(column)), sources.append(source), values.append(float(scores[column]))
        if len(chosen) < k:  # back-fill from the popular list, under the same rules and caps
            allowed[np.asarray(chosen, dtype=np.int64)] = False
            candidates = np.flatnonzero(allowed)
            order = np.concatenate([np.asarray(chosen, dtype=np.int64),
                                    candidates[np.lexsort((candidates, -popular[candidates]))]])
            for column in apply_caps(order, self.catalog, self.rules, k)[len(chosen):]:
                chosen.append(int(column)), sources.append("popular"), values.append(float(popular[column]))
        reasons = [self._reason(column, src, history) for column, src in zip(chosen, sources)]
        return pd.DataFrame({
            "rank": np.arange(1, len(chosen) + 1),
            "item_id": self.interactions.items[np.asarray(chosen, dtype=np.int64)],
            "score": values,
            "source": sources,
            "personalized": [src != "popular" for src in sources],
            "reason": reasons,
        }, columns=list(PERSONALIZED_COLUMNS))

    def _reason(self, column: int, source: str, history) -> str:
        if source == "popular" or history is None or history.nnz == 0:
            category = self.catalog.category[column]
            return f"popular in {category.split(' > ')[-1]}" if category else "popular with shoppers now"
        because = self._strongest_history_item(column, history)
        if because is None:
            return "matches your recent activity" if source == "session" else "matches your purchase history"
        return f"because you showed interest in {self.catalog.label(because)}"

    def _strongest_history_item(self, column: int, history: sp.csr_matrix) -> int | None:
        """The history item that pushes `column` up most: its weight x its item-item link to `column`."""
        similarities = getattr(self.model, "_item_similarities", None)
        if similarities is None:
            return None
        links = np.asarray(similarities(np.array([column]))[0], dtype=np.float64)
        strength = history.data.astype(np.float64) * links[history.indices]
        strength[~np.isfinite(strength)] = -np.inf
        best = int(np.argmax(strength))
        return int(history.indices[best]) if strength[best] > 0 else None


def check_session_items(session_items) -> list:
    """session_items as a list of ids; a bare string is refused (it would be read letter by letter)."""
    if isinstance(session_items, (str, bytes)):
        raise RecommendDataError(f"session_items is the string {session_items!r}; pass a list of item ids")
    return list(session_items)
