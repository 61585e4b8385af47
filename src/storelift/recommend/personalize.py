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

"The popular list" is the popular model's list for the request's `context` when that names one of
its segments (a visitor's country, say: popular in context), else, with consent, the customer's own
segment's list, else the overall list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .exposure import weighted_scores
from .interactions import Interactions, RecommendDataError
from .models import Popularity, Recommender, RecommendModelError
from .rules import ItemCatalog, RecommendationRules, apply_caps, recently_bought

PERSONALIZED_COLUMNS = ("rank", "item_id", "score", "source", "personalized", "reason")


def history_vector(interactions: Interactions, item_ids, weights=None) -> sp.csr_matrix:
    """A 1 x n_items history row from item ids (unknown ids are skipped; repeats add up)."""
    return history_row(interactions.items.get_indexer(pd.Index(list(item_ids))), interactions.n_items, weights)


def history_row(columns: np.ndarray, n_items: int, weights=None) -> sp.csr_matrix:
    """A 1 x n_items history row from item columns (-1, an unknown item, is skipped; repeats add up)."""
    values = np.ones(len(columns), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    known = columns >= 0
    row = sp.csr_matrix((values[known], (np.zeros(known.sum(), dtype=np.int64), columns[known])),
                        shape=(1, n_items), dtype=np.float32)
    row.sum_duplicates()
    return row


class HistoryRow:
    """A customer's fitted history: item columns and weights, as the matrix holds them. Cheaper than a
    1 x n_items sparse matrix, which the serving path builds only to fold in a session."""

    __slots__ = ("indices", "data", "n_items")

    def __init__(self, indices: np.ndarray, data: np.ndarray, n_items: int):
        self.indices, self.data, self.n_items = indices, data, n_items

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def to_csr(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.data, self.indices, np.array([0, len(self.indices)])), shape=(1, self.n_items))


class Personalizer:
    """Recommendations for one customer at a time with consent, cold start and business rules applied.

    model: a fitted Recommender whose rows and columns are those of `interactions`; new visitors are
    folded in through its `score_history` (every matrix model does; one that cannot leaves them on
    the popular list), or, for a sequential model (SASRec), from the visit's items in their order.
    popular: the non-personalized fallback, fitted on the same matrix when not given; a Popularity
    fitted with segments gives per-segment lists (by request context, or the customer's segment with
    consent). index: an `InnerProductIndex` over a factor model's (or SASRec's) item vectors; known
    customers' candidates (and, for SASRec, a visit's) then come from it (approximate, a few hundred
    items) instead of scoring the whole catalog.
    """

    def __init__(self, model: Recommender, interactions: Interactions, catalog: ItemCatalog,
                 rules: RecommendationRules | None = None, popular: Popularity | None = None,
                 index=None, item_weights: np.ndarray | None = None):
        if not hasattr(model, "n_items_"):
            raise RecommendModelError(f"{type(model).__name__} is not fitted; fit it on interactions.matrix first")
        if model.n_items_ != interactions.n_items or len(catalog.items) != interactions.n_items:
            raise RecommendModelError(
                f"the model scores {model.n_items_} items, the interactions hold {interactions.n_items} and the "
                f"catalog {len(catalog.items)}; build all three from the same item map")
        self._sequential = hasattr(model, "scores_for_sequences")
        if self._sequential and len(model.sequences_) != interactions.n_users:
            raise RecommendModelError(
                f"the sequential model holds {len(model.sequences_)} customers' sequences, the interactions "
                f"{interactions.n_users} customers; build the sequences with the interactions' id maps "
                "(recommend.sequential.evidence_sequences)")
        self.model = model
        self.interactions = interactions
        self.catalog = catalog
        self.rules = rules or RecommendationRules()
        self.popular = popular or Popularity().fit(interactions.matrix)
        popular_users = len(getattr(self.popular, "user_segments_", ()))
        if self.popular.n_items_ != interactions.n_items or popular_users not in (0, interactions.n_users):
            raise RecommendModelError(
                f"the popular model was fitted on {popular_users} users x "
                f"{self.popular.n_items_} items, the interactions hold {interactions.n_users} x "
                f"{interactions.n_items}; fit it on interactions.matrix")
        if index is not None and (not (hasattr(model, "user_factors_") or self._sequential)
                                  or index.n_items_ != interactions.n_items):
            raise RecommendModelError(
                "index needs a factor model (ALS, BPR) or SASRec and one vector per item of the interactions; "
                "build it with InnerProductIndex().fit(model.item_factors_)")
        self.index = index
        if item_weights is not None and (len(item_weights) != interactions.n_items or not np.all(item_weights > 0)):
            raise RecommendModelError(f"item_weights has {len(item_weights)} entries; pass one positive weight per "
                                      f"item of the interactions ({interactions.n_items}), e.g. from VendorBalance")
        self.item_weights = None if item_weights is None else np.asarray(item_weights, dtype=np.float32)
        self._popular_scores = self._weighted(self.popular.item_scores_)
        self._popular_order = ranked_once(self._popular_scores)
        self._segment_lists: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._item_ids = np.asarray(interactions.items, dtype=object)  # indexing an Index per call is slow
        # id -> column for a visit's items: a dict lookup, not an Index built and searched per request
        self._item_column = dict(zip(self._item_ids.tolist(), range(interactions.n_items)))
        self._sellable = catalog.in_stock.copy() if self.rules.exclude_out_of_stock else \
            np.ones(interactions.n_items, dtype=bool)

    def recommend(self, customer_id=None, k: int = 10, *, consent: bool = True, session_items=(),
                  purchases: pd.DataFrame | None = None, now=None, context=None) -> pd.DataFrame:
        """Top-k items for a customer (or an anonymous visitor: customer_id None) as a DataFrame.

        consent: whether the customer allows personalization; without it only the popular list is
        used and neither history, session nor purchases are read. session_items: item ids of this
        visit's events, newest last (folded in for customers the model has not seen). purchases:
        item_id, purchased_at rows of what the customer bought (excluded for rules.repurchase_days
        before `now`). context: a label of the request (e.g. the storefront's country); when the
        popular model has a segment by that name, its list is the popular list. Columns: rank,
        item_id, score, source (model class name, "session", or "popular"), personalized (bool),
        reason.
        """
        records = self.recommend_records(customer_id, k, consent=consent, session_items=session_items,
                                         purchases=purchases, now=now, context=context)
        return pd.DataFrame.from_records(records, columns=list(PERSONALIZED_COLUMNS))

    def recommend_records(self, customer_id=None, k: int = 10, *, consent: bool = True, session_items=(),
                          purchases: pd.DataFrame | None = None, now=None, context=None) -> list[dict]:
        """`recommend` as a list of plain dicts (one per item, the same keys as its columns): the
        serving path, which skips building a DataFrame."""
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise RecommendModelError(f"k is {k!r}; pass a positive integer number of items")
        session_items = check_session_items(session_items)
        allowed = self._sellable.copy()
        history, candidates, row = None, None, None
        if not consent:
            source, scores = "popular", None
        else:
            row = self._user_row(customer_id)
            if row is not None:
                history = self._history_row(row)
                session_columns = self._session_columns(session_items)
                session = history_row(session_columns, self.interactions.n_items) if session_items else None
                scores, candidates = None, None
                if session is not None and session.nnz:
                    try:
                        combined = history.to_csr() + session
                        scores, candidates = self._folded_in(combined, row, session_columns, k)
                        history = combined
                    except RecommendModelError:  # cannot fold in: the customer's fitted history alone
                        pass
                if scores is None and self.index is not None:
                    scores, candidates = self._retrieved(self._query(row), history, k)
                elif scores is None:
                    scores = self.model.scores([row])[0]
                source = type(self.model).__name__
            elif len(session_items):
                session_columns = self._session_columns(session_items)
                history = history_row(session_columns, self.interactions.n_items)
                source, scores = "popular", None
                if history.nnz:
                    try:
                        scores, candidates = self._folded_in(history, None, session_columns, k)
                        source = "session"
                    except RecommendModelError:  # a model that cannot fold in: the popular list
                        pass
            else:
                source, scores = "popular", None
            if purchases is not None and len(purchases):
                now = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else now
                allowed[recently_bought(purchases, self.interactions.items, now, self.rules.repurchase_days)] = False
            if history is not None and self.rules.exclude_seen:
                allowed[history.indices] = False
        return self._ranked(scores, source, allowed, history, k, candidates, self._segment(context, row))

    def _session_columns(self, session_items: list) -> np.ndarray:
        """The visit's item columns in order, -1 for an id the model does not know."""
        column = self._item_column.get
        try:
            return np.fromiter((column(item, -1) for item in session_items), dtype=np.int64,
                               count=len(session_items))
        except TypeError:
            raise RecommendDataError(f"session_items holds a value that is not an item id: {session_items!r}; "
                                     "pass a list of item ids") from None

    def _folded_in(self, history: sp.csr_matrix, row: int | None, session_columns: np.ndarray,
                   k: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(scores, candidate columns or None for all) from evidence the model was not fitted on: a
        sequential model reads the customer's fitted sequence (if any) followed by this visit's items
        in order, a repeat of the item just before it counting once, as in training (searched in the
        index when there is one); any other model reads the history row."""
        if not self._sequential:
            return self.model.score_history(history)[0], None
        fitted = self.model.sequences_[row] if row is not None else np.empty(0, dtype=np.int64)
        sequence = np.concatenate([fitted, session_columns[session_columns >= 0]]).astype(np.int64)
        sequence = sequence[np.r_[True, sequence[1:] != sequence[:-1]]]
        if self.index is not None:
            return self._retrieved(self.model.sequence_states([sequence])[0], history, k)
        return self.model.scores_for_sequences([sequence])[0], None

    def _query(self, row: int) -> np.ndarray:
        """A known customer's vector for the index: their factors, or a sequential model's state after
        their fitted sequence."""
        if self._sequential:
            return self.model.sequence_states([self.model.sequences_[row]])[0]
        return self.model.user_factors_[row]

    def _segment(self, context, row: int | None) -> int:
        """The popular model's segment for this request: the one `context` names, else the (consenting,
        known) customer's own; -1 for the overall list."""
        if len(getattr(self.popular, "segment_labels_", ())) == 0:
            return -1
        named = self.popular.segment_position(context) if context is not None else -1
        if named >= 0:
            return named
        return int(self.popular.user_segments_[row]) if row is not None else -1

    def _popular_list(self, segment: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, columns best first) of the overall popular list or of one segment's, each ranked once."""
        if segment < 0:
            return self._popular_scores, self._popular_order
        if segment not in self._segment_lists:
            scores = self._weighted(self.popular.segment_scores_[segment])
            self._segment_lists[segment] = (scores, ranked_once(scores))
        return self._segment_lists[segment]

    def _user_row(self, customer_id) -> int | None:
        """The customer's row in the fitted matrix, None for an id the model has not seen."""
        if customer_id is None:
            return None
        try:
            return int(self.interactions.users.get_loc(customer_id))
        except (KeyError, TypeError):
            return None

    def _retrieved(self, query: np.ndarray, history, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores of the index's best candidates for a customer's or visit's vector (others -inf), and
        those item columns: enough for k after the rules in all but unusual lists; when the rules leave
        fewer, the popular list fills in. history: what was seen (a HistoryRow or a 1-row CSR)."""
        fetch = 2 * k + 16
        seen = np.sort(history.indices).astype(np.int64) if self.rules.exclude_seen else np.empty(0, np.int64)
        rows, values = self.index.search(query, fetch, exclude=[seen])
        scores = np.full(self.interactions.n_items, -np.inf, dtype=np.float32)
        found = rows[0] >= 0
        scores[rows[0][found]] = values[0][found]
        return scores, rows[0][found]

    def _history_row(self, row: int) -> HistoryRow:
        """The customer's fitted row, as views into the matrix."""
        matrix = self.interactions.matrix
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        return HistoryRow(matrix.indices[start:end], matrix.data[start:end], matrix.shape[1])

    @classmethod
    def from_artifact(cls, saved: dict, rules: RecommendationRules | None = None, index=None) -> "Personalizer":
        """A Personalizer from a saved recommendation artifact (model, interactions, catalog and, when the
        fit balanced vendor exposure, item_weights; when it fitted segments, their popular model)."""
        return cls(saved["model"], saved["interactions"], saved["catalog"], rules=rules, index=index,
                   popular=saved.get("popular"), item_weights=saved.get("item_weights"))

    def _weighted(self, scores):
        return scores if self.item_weights is None else weighted_scores(np.asarray(scores), self.item_weights)

    def _ranked(self, scores, source: str, allowed: np.ndarray, history, k: int, candidates=None,
                segment: int = -1) -> list[dict]:
        popular, popular_order = self._popular_list(segment)
        chosen = np.empty(0, dtype=np.int64)
        sources: list[str] = []
        values: list[float] = []
        if scores is not None:
            scores = self._weighted(np.asarray(scores))
            chosen = capped_top(scores, allowed, k, self.catalog, self.rules, positive_only=True,
                                candidates=candidates)
            sources += [source] * len(chosen)
            values += scores[chosen].astype(np.float64).tolist()
        if len(chosen) < k:  # back-fill from the popular list, under the same rules and caps
            allowed[chosen] = False
            filled = capped_top(popular, allowed, k, self.catalog, self.rules, positive_only=False, before=chosen,
                                ranked=popular_order)
            sources += ["popular"] * len(filled)
            values += popular[filled].astype(np.float64).tolist()
            chosen = np.concatenate([chosen, filled])
        reasons = self._reasons(chosen, sources, history, segment)
        return [{"rank": rank, "item_id": item_id, "score": value, "source": src, "personalized": src != "popular",
                 "reason": reason}
                for rank, (item_id, value, src, reason) in
                enumerate(zip(self._item_ids[chosen].tolist(), values, sources, reasons), 1)]

    def similar_records(self, item_row: int, k: int = 10) -> list[dict]:
        """The k items most linked to one item (by the model's item links), in stock and under the
        caps: rank, item_id, score, reason. Empty for a model that does not link items."""
        if not hasattr(self.model, "_item_similarities"):
            return []
        links = np.asarray(self.model._item_links(np.array([item_row]), np.arange(self.interactions.n_items))[0],
                           dtype=np.float64)
        allowed = self._sellable.copy()
        allowed[item_row] = False
        top = capped_top(links, allowed, k, self.catalog, self.rules, positive_only=True)
        label = self.catalog.label(item_row)
        return [{"rank": rank, "item_id": item_id, "score": float(links[column]), "reason": f"similar to {label}"}
                for rank, (item_id, column) in enumerate(zip(self._item_ids[top].tolist(), top), 1)]

    def _reasons(self, chosen: np.ndarray, sources: list[str], history, segment: int = -1) -> list[str]:
        """A reason per chosen item: the history item that pushed it up most, or why it is popular."""
        personal = [i for i, src in enumerate(sources) if src != "popular"]
        because = {}
        if personal and history is not None and history.nnz and hasattr(self.model, "_item_similarities"):
            links = np.asarray(self.model._item_links(chosen[personal], history.indices), dtype=np.float64)
            strength = links * history.data.astype(np.float64)[None, :]
            strength[~np.isfinite(strength)] = -np.inf
            best = strength.argmax(axis=1)
            for i, row, top in zip(personal, best, strength[np.arange(len(personal)), best]):
                because[i] = int(history.indices[row]) if top > 0 else None
        reasons = []
        for i, (column, src) in enumerate(zip(chosen, sources)):
            if src == "popular" and segment >= 0:
                reasons.append(f"popular with {self.popular.segment_labels_[segment]} shoppers")
            elif src == "popular" or history is None or history.nnz == 0:
                category = self.catalog.category[column]
                reasons.append(f"popular in {category.split(' > ')[-1]}" if category else "popular with shoppers now")
            elif because.get(i) is None:
                reasons.append("matches your recent activity" if src == "session" else "matches your purchase history")
            else:
                reasons.append(f"because you showed interest in {self.catalog.label(because[i])}")
        return reasons


def ranked_once(scores: np.ndarray) -> np.ndarray:
    """Every column best first, ties to the lower column: a list that does not change between
    requests (the popular ones), sorted once so a request reads only its head."""
    return np.lexsort((np.arange(len(scores)), -np.asarray(scores, dtype=np.float64)))


def best_first(values: np.ndarray, allowed: np.ndarray, size: int, positive_only: bool,
               candidates: np.ndarray | None = None, ranked: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """At least `size` (when there are) allowed columns with the highest finite values, best first,
    ties to the lower column; and whether that is every eligible column. Partial selection first, so
    a 100k-item catalog costs a partition, not a sort; `candidates` (item columns) limits the look to
    those, e.g. what an index retrieved; `ranked` is every column already in that order (a list that
    does not change between requests, like the popular one), so only its head is read."""
    if ranked is not None:
        return _best_of_ranked(values, allowed, size, positive_only, ranked)
    if candidates is None:
        eligible = allowed & np.isfinite(values)
        if positive_only:
            eligible &= values > 0
        candidates = np.flatnonzero(eligible)
    else:
        candidates = np.unique(np.asarray(candidates, dtype=np.int64))
        picked = values[candidates]
        keep = allowed[candidates] & np.isfinite(picked)
        candidates = candidates[keep & (picked > 0) if positive_only else keep]
    complete = candidates.size <= size
    if not complete:
        picked = values[candidates]
        cut = np.partition(picked, candidates.size - size)[candidates.size - size]
        candidates = candidates[picked >= cut]  # ties at the cut stay, so the order below is exact
    return candidates[np.lexsort((candidates, -values[candidates]))], complete


def _best_of_ranked(values, allowed, size: int, positive_only: bool, ranked: np.ndarray) -> tuple[np.ndarray, bool]:
    found, have, start, chunk = [], 0, 0, max(4 * size, 256)
    while start < ranked.size and have < size:
        part = ranked[start:start + chunk]
        picked = values[part]
        keep = allowed[part] & np.isfinite(picked)
        if positive_only:
            keep &= picked > 0
        found.append(part[keep])
        have += int(keep.sum())
        start += chunk
        chunk *= 4
    columns = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
    return columns.astype(np.int64, copy=False), start >= ranked.size


def capped_top(values: np.ndarray, allowed: np.ndarray, k: int, catalog: ItemCatalog, rules: RecommendationRules,
               *, positive_only: bool, before: np.ndarray | None = None,
               candidates: np.ndarray | None = None, ranked: np.ndarray | None = None) -> np.ndarray:
    """The best allowed columns by `values` that the diversity caps let through after `before` (items
    already in the list, which count toward the caps), up to k - len(before)."""
    before = np.empty(0, dtype=np.int64) if before is None else before
    size = 4 * k + 16
    while True:
        order, complete = best_first(values, allowed, size, positive_only, candidates, ranked)
        kept = apply_caps(np.concatenate([before, order]), catalog, rules, k)[len(before):]
        if complete or len(before) + len(kept) == k:
            return kept.astype(np.int64)
        size *= 4  # the caps rejected too many: look further down the list


def check_session_items(session_items) -> list:
    """session_items as a list of ids; a bare string is refused (it would be read letter by letter)."""
    if isinstance(session_items, (str, bytes)):
        raise RecommendDataError(f"session_items is the string {session_items!r}; pass a list of item ids")
    return list(session_items)
