"""SASRec: a self-attentive next-item model over each customer's item sequence (Kang & McAuley 2018).

A causal transformer reads the items in time order and scores every catalog item as the next one.
Trained with the full softmax cross-entropy over all items at every position (SASRec+ of Klenitskiy
& Vasilev, RecSys 2023, far stronger than the original one-negative BCE under full ranking), or a
sampled softmax for large catalogs. A new visitor is scored from their first events without
retraining: the model only reads the sequence (`scores_for_sequences`). With `item_features` (one
label per item, e.g. its category) an item is its own embedding plus its label's, shared by every
item with that label: items seldom bought borrow what their category's items taught the model.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .evaluate import DEFAULT_KS, LeaveOneOutSplit, result_row, target_ranks
from .interactions import EVENT_WEIGHTS, RecommendDataError
from .models import ItemVectorLinks, Recommender, RecommendModelError, optional_module
from .sequential_numpy import numpy_weights, sequence_state

LOSSES = ("ce", "sampled")
PAD = 0  # token 0 pads; item row r is token r + 1


def event_sequences(
    events: pd.DataFrame, users: pd.Index, items: pd.Index, *,
    user_col: str = "user_id", item_col: str = "item_id", order_col: str = "position",
) -> list[np.ndarray]:
    """Each user's item rows in time order, one array per entry of `users` (empty when it has no events).

    `users` / `items` are the id maps of an `Interactions` or `LeaveOneOutSplit`; an unknown id raises.
    """
    missing = [c for c in (user_col, item_col, order_col) if c not in events.columns]
    if missing:
        raise RecommendDataError(
            f"events lack column(s) {missing}; have {list(events.columns)}; "
            "pass user_col=/item_col=/order_col= (order_col orders a user's events in time)")
    ordered = events.sort_values([user_col, order_col], kind="stable")
    user_rows = pd.Index(users).get_indexer(ordered[user_col])
    item_rows = pd.Index(items).get_indexer(ordered[item_col])
    for rows, kind in ((user_rows, "user"), (item_rows, "item")):
        if (rows < 0).any():
            column = user_col if kind == "user" else item_col
            unknown = ordered[column].to_numpy()[rows < 0][:5].tolist()
            raise RecommendDataError(
                f"{kind} ids {unknown} are not in the id map; build the map from these events")
    order = np.argsort(user_rows, kind="stable")
    counts = np.bincount(user_rows, minlength=len(users))
    return np.split(item_rows[order].astype(np.int64), np.cumsum(counts)[:-1])


def stage_sequences(events: pd.DataFrame, split: LeaveOneOutSplit, stage: str, **columns) -> list[np.ndarray]:
    """What a sequential model fits on in a leave-one-out stage, aligned to `split.users`.

    validation: every evaluated user's sequence without its last two items; test: without the last.
    Users with fewer than 3 events keep their whole sequence, as in the split's train matrix.
    """
    if stage not in ("validation", "test"):
        raise RecommendDataError(f"stage is {stage!r}; pass 'validation' or 'test'")
    full = event_sequences(events, split.users, split.items, **columns)
    held = 2 if stage == "validation" else 1
    out = []
    for sequence, validation, test in zip(full, split.validation_items, split.test_items):
        if test < 0:
            out.append(sequence)
            continue
        if sequence.size < 3 or sequence[-1] != test or sequence[-2] != validation:
            raise RecommendDataError(
                "events do not match the split (a user's last items differ from its held-out items); "
                "pass the same events frame that leave_one_out was given")
        out.append(sequence[:-held])
    return out


def evidence_sequences(evidence: pd.DataFrame, users: pd.Index, items: pd.Index, now=None,
                       weights: dict[str, float] | None = None) -> list[np.ndarray]:
    """Each user's item rows in time order from purchase and event evidence (columns user_id, item_id,
    event, occurred_at), one array per entry of `users`: what SASRec fits on in a workspace.

    Only events that carry a weight (see EVENT_WEIGHTS) and happened by `now` count, as in
    `weighted_interactions`; rows of users or items outside the id maps are left out; a repeat of the
    item just before it (a view, then its add-to-cart, then its purchase) is one step, not three.
    """
    missing = [c for c in ("user_id", "item_id", "event", "occurred_at") if c not in evidence.columns]
    if missing:
        raise RecommendDataError(f"evidence lacks column(s) {missing}; build it with recommend.sources.evidence")
    weights = EVENT_WEIGHTS if weights is None else weights
    times = pd.to_datetime(evidence["occurred_at"])
    keep = evidence["event"].map(weights).fillna(0).to_numpy() > 0
    if now is not None:
        now = pd.Timestamp(now)
        if getattr(times.dt, "tz", None) is not None and now.tzinfo is None:
            now = now.tz_localize(times.dt.tz)  # as weighted_interactions reads a naive `now`
        keep &= (times <= now).to_numpy()
    user_rows = pd.Index(users).get_indexer(evidence["user_id"])
    item_rows = pd.Index(items).get_indexer(evidence["item_id"])
    keep &= (user_rows >= 0) & (item_rows >= 0)
    frame = pd.DataFrame({"user": user_rows[keep], "item": item_rows[keep], "at": times[keep].to_numpy()})
    frame = frame.sort_values(["user", "at", "item"], kind="stable")
    user, item = frame["user"].to_numpy(), frame["item"].to_numpy()
    step = np.ones(len(frame), dtype=bool)
    step[1:] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    user, item = user[step], item[step].astype(np.int64)
    counts = np.bincount(user, minlength=len(users))
    return np.split(item, np.cumsum(counts)[:-1])


def sequence_matrix(sequences, n_items: int) -> sp.csr_matrix:
    """Binary users x items matrix of the items in each sequence (the history to exclude)."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    columns = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) if lengths.sum() else \
        np.empty(0, np.int64)
    rows = np.repeat(np.arange(len(sequences)), lengths)
    matrix = sp.csr_matrix((np.ones(columns.size, np.float32), (rows, columns)), shape=(len(sequences), n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _torch():
    return optional_module("torch", "SASRec")


def _network(torch, n_items: int, max_len: int, hidden: int, blocks: int, heads: int, dropout: float,
             feature_codes: np.ndarray | None = None):
    """The SASRec network: item (+ item feature) and reversed-position embeddings, pre-norm causal
    attention blocks. feature_codes: one code per token (0 = none; padding and items without a label)."""
    nn, functional = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention_norm = nn.LayerNorm(hidden, eps=1e-8)
            self.query, self.key_value = nn.Linear(hidden, hidden), nn.Linear(hidden, 2 * hidden)
            self.project = nn.Linear(hidden, hidden)
            self.feed_norm = nn.LayerNorm(hidden, eps=1e-8)
            self.feed = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                                      nn.Linear(hidden, hidden), nn.Dropout(dropout))

        def forward(self, x, allowed, keep):
            batch, length, _ = x.shape
            split = (batch, length, heads, hidden // heads)
            normed = self.attention_norm(x)
            query = self.query(normed).view(split).transpose(1, 2)
            key, value = (t.reshape(split).transpose(1, 2) for t in self.key_value(x).chunk(2, dim=-1))
            attended = functional.scaled_dot_product_attention(
                query, key, value, attn_mask=allowed, dropout_p=dropout if self.training else 0.0)
            x = normed + self.project(attended.transpose(1, 2).reshape(batch, length, hidden))
            normed = self.feed_norm(x)
            return (normed + self.feed(normed)) * keep

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            self.items = nn.Embedding(n_items + 1, hidden, padding_idx=PAD)
            n_features = 0 if feature_codes is None else int(feature_codes.max()) + 1
            self.features = nn.Embedding(n_features, hidden, padding_idx=0) if n_features > 1 else None
            if self.features is not None:  # a buffer: saved with the weights
                self.register_buffer("feature_codes", torch.from_numpy(feature_codes.astype(np.int64)))
            self.positions = nn.Embedding(max_len, hidden)
            self.dropout = nn.Dropout(dropout)
            self.blocks = nn.ModuleList(Block() for _ in range(blocks))
            self.final_norm = nn.LayerNorm(hidden, eps=1e-8)
            for weight in self.parameters():
                if weight.dim() > 1:
                    nn.init.xavier_normal_(weight)
            with torch.no_grad():
                self.items.weight[PAD].zero_()
                if self.features is not None:
                    self.features.weight[0].zero_()

        def embed(self, tokens):
            """Each token's vector: its item's embedding, plus its feature's when items have features."""
            vectors = self.items(tokens)
            return vectors if self.features is None else vectors + self.features(self.feature_codes[tokens])

        def item_table(self):
            """Every item's vector (rows = item rows), the output layer tied to the input embedding."""
            if self.features is None:
                return self.items.weight[1:]
            return self.embed(torch.arange(1, n_items + 1, device=self.items.weight.device))

        def forward(self, tokens):
            """tokens: left-padded (batch, length); returns (batch, length, hidden) states."""
            length = tokens.shape[1]
            keep = (tokens != PAD).unsqueeze(-1)
            # position counted back from the newest item, so left padding never shifts it
            reversed_positions = torch.arange(length - 1, -1, -1, device=tokens.device)
            x = self.embed(tokens) * math.sqrt(hidden) + self.positions(reversed_positions)
            x = self.dropout(x) * keep
            causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).tril()
            # a real item attends to earlier real items; a padding slot only to itself (no empty rows)
            allowed = (causal & keep.transpose(1, 2)) | torch.eye(length, dtype=torch.bool, device=tokens.device)
            allowed = allowed.unsqueeze(1)
            for block in self.blocks:
                x = block(x, allowed, keep)
            return self.final_norm(x)

        def item_logits(self, states):
            return states @ self.item_table().T

    return Network()


class SASRec(ItemVectorLinks, Recommender):
    """Self-attentive sequential recommendation (Kang & McAuley, ICDM 2018), CE-trained (SASRec+).

    `fit(sequences, n_items)` takes each user's item rows in time order (see `stage_sequences`);
    `scores(user_rows)` are next-item logits after each user's fitted sequence. Items link (similar
    items, explanations) by the cosine of their output vectors, `item_factors_`. With
    `validation_targets`, training stops early on validation NDCG@10 and keeps the best epoch.
    item_features: one label per item row (None/NaN for none), e.g. the category, added to the item's
    embedding.
    """

    def __init__(self, max_len: int = 50, hidden: int = 64, blocks: int = 2, heads: int = 1,
                 dropout: float = 0.3, epochs: int = 200, batch_size: int = 128, learning_rate: float = 1e-3,
                 weight_decay: float = 0.0, loss: str = "ce", negatives: int = 1000, patience: int = 10,
                 random_state: int = 0, num_threads: int = 2, verbose: bool = False, item_features=None):
        self.max_len = max_len
        self.hidden = hidden
        self.blocks = blocks
        self.heads = heads
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.loss = loss
        self.negatives = negatives
        self.patience = patience
        self.random_state = random_state
        self.num_threads = num_threads
        self.verbose = verbose
        self.item_features = item_features

    def _check_params(self) -> None:
        positive = {"max_len": self.max_len, "hidden": self.hidden, "blocks": self.blocks, "heads": self.heads,
                    "epochs": self.epochs, "batch_size": self.batch_size, "negatives": self.negatives,
                    "patience": self.patience, "num_threads": self.num_threads}
        for name, value in positive.items():
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise RecommendModelError(f"{name} is {value!r}; pass a positive integer")
        if self.hidden % self.heads:
            raise RecommendModelError(
                f"hidden={self.hidden} is not divisible by heads={self.heads}; pick heads dividing hidden")
        if not 0.0 <= self.dropout < 1.0:
            raise RecommendModelError(f"dropout is {self.dropout!r}; pass a number in [0, 1) (e.g. 0.3)")
        if not self.learning_rate > 0 or not math.isfinite(self.learning_rate):
            raise RecommendModelError(f"learning_rate is {self.learning_rate!r}; pass a positive number (e.g. 1e-3)")
        if not self.weight_decay >= 0 or not math.isfinite(self.weight_decay):
            raise RecommendModelError(f"weight_decay is {self.weight_decay!r}; pass a number >= 0")
        if self.loss not in LOSSES:
            raise RecommendModelError(f"loss is {self.loss!r}; pass one of {LOSSES}")

    def fit(self, sequences, n_items: int, *, validation_targets=None, progress=None) -> "SASRec":
        """Train on each user's item-row sequence; `validation_targets` (item row per user, -1 = none)
        turns on early stopping by validation NDCG@10 with `patience` epochs. `progress`, when given,
        is called with each epoch's row of `history_` as it ends."""
        self._check_params()
        torch = _torch()
        if not isinstance(n_items, (int, np.integer)) or n_items < 1:
            raise RecommendModelError(f"n_items is {n_items!r}; pass the catalog size (e.g. split.items.size)")
        sequences = self._as_sequences(sequences, n_items)
        if not any(len(s) >= 2 for s in sequences):
            raise RecommendModelError("no sequence has 2 items; SASRec learns from (item, next item) pairs")
        targets = None
        if validation_targets is not None:
            targets = np.asarray(validation_targets, dtype=np.int64)
            if targets.shape != (len(sequences),) or targets.max(initial=-1) >= n_items:
                raise RecommendModelError(
                    f"validation_targets needs one item row (< {n_items}) or -1 per sequence; "
                    f"got shape {targets.shape} for {len(sequences)} sequences")
        self.n_items_ = int(n_items)
        self._item_vectors = self._numpy_weights = None
        self.__dict__.pop("_item_norms", None)
        self.feature_codes_ = self._feature_codes(n_items)
        # the window each sequence trains on (max_len inputs and their next items): enough to score
        # the user and to refit without a user (erasure) from the saved model alone
        self.sequences_ = [s[-(self.max_len + 1):] for s in sequences]
        self.matrix_ = sequence_matrix(sequences, self.n_items_)
        threads = torch.get_num_threads()
        torch.set_num_threads(int(self.num_threads))
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.random_state)
                self._train(torch, sequences, targets, progress)
        finally:
            torch.set_num_threads(threads)
        return self

    def _feature_codes(self, n_items: int) -> np.ndarray | None:
        """Token -> feature code (0 = none) from `item_features`, or None without features."""
        if self.item_features is None:
            return None
        labels = pd.Series(list(self.item_features), dtype=object)
        if len(labels) != n_items:
            raise RecommendModelError(
                f"item_features has {len(labels)} labels for {n_items} items; pass one label per item row "
                "(None for an item without one)")
        codes, _ = pd.factorize(labels, use_na_sentinel=True)
        return np.concatenate([[0], codes + 1]).astype(np.int64)  # token 0 pads; -1 (no label) -> 0

    def _as_sequences(self, sequences, n_items: int) -> list[np.ndarray]:
        out = [np.asarray(s, dtype=np.int64).ravel() for s in sequences]
        for row, sequence in enumerate(out):
            if sequence.size and (sequence.min() < 0 or sequence.max() >= n_items):
                raise RecommendModelError(
                    f"sequence {row} holds item rows outside [0, {n_items}); map store ids with "
                    "Interactions.item_rows or event_sequences")
        return out

    def _train(self, torch, sequences, targets, progress=None) -> None:
        rng = np.random.default_rng(self.random_state)
        self.network_ = _network(torch, self.n_items_, self.max_len, self.hidden, self.blocks, self.heads,
                                 self.dropout, self.feature_codes_)
        optimizer = torch.optim.AdamW(self.network_.parameters(), lr=self.learning_rate, betas=(0.9, 0.98),
                                      weight_decay=self.weight_decay)
        # one training example per user: inputs s[:-1] predict s[1:] at every position at once
        windows = [s[-(self.max_len + 1):] + 1 for s in sequences if len(s) >= 2]  # tokens
        lengths = np.array([len(w) - 1 for w in windows])
        evaluated = np.flatnonzero(targets >= 0) if targets is not None else np.empty(0, np.int64)
        history, best, best_state, waited = [], -1.0, None, 0
        for epoch in range(1, self.epochs + 1):
            started = time.perf_counter()
            self.network_.train()
            total, count = 0.0, 0
            for batch in _length_batches(lengths, self.batch_size, rng):
                inputs, labels = _pad([windows[i][:-1] for i in batch]), _pad([windows[i][1:] for i in batch])
                inputs, labels = torch.from_numpy(inputs), torch.from_numpy(labels)
                real = labels != PAD
                states = self.network_(inputs)[real]
                loss = self._loss(torch, states, labels[real] - 1, rng)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total, count = total + loss.item() * int(real.sum()), count + int(real.sum())
            row = {"epoch": epoch, "loss": total / count, "fit_s": time.perf_counter() - started}
            if evaluated.size:
                started = time.perf_counter()
                row["validation_ndcg10"] = self._validation_ndcg(torch, evaluated, targets[evaluated])
                row["validation_s"] = time.perf_counter() - started
            history.append(row)
            if progress is not None:
                progress(row)
            if self.verbose:
                print(", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
                      flush=True)
            if evaluated.size:
                if row["validation_ndcg10"] > best:
                    best, waited = row["validation_ndcg10"], 0
                    best_state, self.best_epoch_ = copy.deepcopy(self.network_.state_dict()), epoch
                else:
                    waited += 1
                    if waited >= self.patience:
                        break
        if best_state is not None:
            self.network_.load_state_dict(best_state)
        else:
            self.best_epoch_ = len(history)
        self.network_.eval()
        self.history_ = pd.DataFrame(history)
        self.epochs_trained_ = len(history)

    def _loss(self, torch, states, labels, rng):
        functional = torch.nn.functional
        if self.loss == "ce" or self.negatives >= self.n_items_:
            return functional.cross_entropy(self.network_.item_logits(states), labels)
        # sampled softmax: the true item against `negatives` uniform items shared by the batch
        negatives = torch.from_numpy(rng.integers(0, self.n_items_, self.negatives))
        table = self.network_.item_table()
        positive = (states * table[labels]).sum(-1, keepdim=True)
        negative = states @ table[negatives].T
        negative = negative.masked_fill(negatives.unsqueeze(0) == labels.unsqueeze(1), float("-inf"))
        logits = torch.cat([positive, negative], dim=1)
        return functional.cross_entropy(logits, torch.zeros(len(labels), dtype=torch.long))

    def _validation_ndcg(self, torch, user_rows, target_rows, chunk: int = 2048) -> float:
        """Mean NDCG@10 of the validation items, history excluded (rank = items scored strictly higher;
        exact ties between learned logits do not occur in practice, and the test uses target_ranks)."""
        order = np.argsort([len(self.sequences_[r]) for r in user_rows], kind="stable")  # less padding
        user_rows, target_rows = user_rows[order], target_rows[order]
        gains = []
        for start in range(0, len(user_rows), chunk):
            rows, targets = user_rows[start:start + chunk], target_rows[start:start + chunk]
            scores = self._logits(torch, [self.sequences_[r] for r in rows])
            history = self.matrix_[rows]
            scores[np.repeat(np.arange(len(rows)), np.diff(history.indptr)), history.indices] = -np.inf
            target_scores = scores[np.arange(len(rows)), targets][:, None]
            ranks = (scores > target_scores).sum(1)
            hit = (ranks < 10) & np.isfinite(target_scores[:, 0])
            gains.append(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0))
        return float(np.concatenate(gains).mean())

    def _logits(self, torch, sequences, chunk: int = 1024) -> np.ndarray:
        out = np.empty((len(sequences), self.n_items_), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(sequences), chunk):
                last = self._last_states(torch, sequences[start:start + chunk])
                out[start:start + len(last)] = self.network_.item_logits(last).numpy()
        return out

    def _last_states(self, torch, sequences):
        """The network's state at each sequence's newest position (a torch tensor; call under no_grad)."""
        if self.network_.training:  # eval() walks every module: not on each request
            self.network_.eval()
        tokens = torch.from_numpy(_pad([s[-self.max_len:] + 1 for s in sequences]))
        return self.network_(tokens)[:, -1]

    def scores(self, user_rows) -> np.ndarray:
        """Next-item logits after each user's fitted sequence (dense float32 users x items)."""
        rows = self._check_rows(user_rows)
        if any(len(self.sequences_[r]) == 0 for r in rows):
            empty = [int(r) for r in rows if len(self.sequences_[r]) == 0][:5]
            raise RecommendModelError(
                f"user rows {empty} had no items at fit time; score them with Popularity instead")
        if len(rows) == 1:  # a request: the state in numpy (see sequence_states)
            return self.sequence_states([self.sequences_[rows[0]]]) @ self.item_factors_.T
        return self._scored(lambda torch: self._logits(torch, [self.sequences_[r] for r in rows]))

    def sequence_states(self, sequences) -> np.ndarray:
        """The network's state after each sequence (n x hidden, float32): a next-item score is its inner
        product with the item's vector in `item_factors_`, so an item index can search with it."""
        self._check_fitted()
        sequences = self._as_sequences(sequences, self.n_items_)
        if any(s.size == 0 for s in sequences):
            raise RecommendModelError("a sequence is empty; SASRec needs at least one item (use Popularity)")
        if len(sequences) == 1:  # a request: numpy, without torch's per-operation overhead
            if getattr(self, "_numpy_weights", None) is None:
                self._numpy_weights = numpy_weights(self.network_.state_dict())
            state = sequence_state(self._numpy_weights, sequences[0][-self.max_len:] + 1, hidden=self.hidden,
                                   heads=self.heads, blocks=self.blocks)
            return state[None, :].astype(np.float32, copy=False)

        def states(torch):
            with torch.no_grad():
                return self._last_states(torch, sequences).numpy().astype(np.float32)
        return self._scored(states)

    @property
    def item_factors_(self) -> np.ndarray:
        """Every item's output vector (n_items x hidden, float32; with item features, the item's plus its
        label's), derived from the weights once and not pickled."""
        if not hasattr(self, "network_"):
            raise AttributeError("item_factors_: SASRec is not fitted")
        if getattr(self, "_item_vectors", None) is None:
            torch = _torch()
            with torch.no_grad():
                self._item_vectors = self.network_.item_table().numpy().astype(np.float32, copy=True)
        return self._item_vectors

    def scores_for_sequences(self, sequences) -> np.ndarray:
        """Next-item logits for new item-row sequences (e.g. a visitor's session so far), no retraining."""
        self._check_fitted()
        sequences = self._as_sequences(sequences, self.n_items_)
        if any(s.size == 0 for s in sequences):
            raise RecommendModelError("a sequence is empty; SASRec needs at least one item (use Popularity)")
        if len(sequences) == 1:  # a request: the state in numpy (see sequence_states)
            return self.sequence_states(sequences) @ self.item_factors_.T
        return self._scored(lambda torch: self._logits(torch, sequences))

    def __getstate__(self) -> dict:
        """Pickle the weights, not the network class (it is built inside a function, torch being optional)."""
        state = self.__dict__.copy()
        for derived in ("_item_vectors", "_item_norms", "_numpy_weights"):
            state.pop(derived, None)
        if "network_" in state:
            state["network_"] = {k: v.clone() for k, v in state["network_"].state_dict().items()}
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if isinstance(state.get("network_"), dict):
            torch = _torch()
            self.network_ = _network(torch, self.n_items_, self.max_len, self.hidden, self.blocks, self.heads,
                                     self.dropout, state.get("feature_codes_"))
            self.network_.load_state_dict(state["network_"])
            self.network_.eval()

    def _scored(self, compute) -> np.ndarray:
        torch = _torch()
        threads = torch.get_num_threads()
        torch.set_num_threads(int(self.num_threads))
        try:
            return compute(torch)
        finally:
            torch.set_num_threads(threads)


def fit_with_early_stopping(sequences, n_items: int, *, max_epochs: int = 100, patience: int = 5,
                            progress=None, **params) -> SASRec:
    """A SASRec trained on whole sequences for as many epochs as served best on each sequence's last item.

    First each sequence of 3 or more items lends its last item as a validation target (the model
    trains on the rest, stopping after `patience` epochs without a better NDCG@10); then a fresh
    model with the best epoch count trains on the whole sequences, so the newest step counts too.
    Without any sequence long enough to hold one out, it trains `min(max_epochs, 20)` epochs.
    `params` go to SASRec (hidden, dropout, item_features, ...); `progress`, when given, is called
    with a line of text after each epoch of either stage.
    """
    sequences = [np.asarray(s, dtype=np.int64).ravel() for s in sequences]
    long_enough = np.array([s.size >= 3 for s in sequences], dtype=bool)
    epochs = min(max_epochs, 20)
    if long_enough.any():
        targets = np.array([s[-1] if ok else -1 for s, ok in zip(sequences, long_enough)], dtype=np.int64)
        trimmed = [s[:-1] if ok else s for s, ok in zip(sequences, long_enough)]
        probe = SASRec(**params, epochs=max_epochs, patience=patience)
        probe.fit(trimmed, n_items, validation_targets=targets, progress=_epoch_lines(progress, "choosing the epoch count"))
        epochs = int(probe.best_epoch_)
    return SASRec(**params, epochs=epochs, patience=patience).fit(
        sequences, n_items, progress=_epoch_lines(progress, "training on all", epochs))


def _epoch_lines(progress, stage: str, epochs: int | None = None):
    """An epoch callback for SASRec.fit that hands `progress` one line of text; None without progress."""
    if progress is None:
        return None

    def report(row: dict) -> None:
        of = f"/{epochs}" if epochs else ""
        scored = f", validation NDCG@10 {row['validation_ndcg10']:.4f}" if "validation_ndcg10" in row else ""
        progress(f"{stage}: epoch {row['epoch']}{of}, loss {row['loss']:.3f}{scored}")
    return report


def evaluate_sequential(split: LeaveOneOutSplit, sequences: pd.DataFrame, stage: str = "validation", *,
                        ks=DEFAULT_KS, max_epochs: int = 100, **params) -> pd.DataFrame:
    """SASRec under the leave-one-out protocol of `evaluate`: one row with the same columns.

    sequences: the frame `leave_one_out` was given (user_id, item_id, position). The model fits on
    the stage's sequences (`stage_sequences`) with `fit_with_early_stopping` (so the epoch count is
    chosen on the item before the held-out one, never on it) and ranks the held-out item.
    """
    chosen = split.stage(stage)
    fitted_on = stage_sequences(sequences, split, stage)
    started = time.perf_counter()
    model = fit_with_early_stopping(fitted_on, len(split.items), max_epochs=max_epochs, **params)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    ranks = target_ranks(model, chosen.fit_matrix, chosen.user_rows, chosen.target_rows)
    return result_row("SASRec", stage, ranks, fit_s, time.perf_counter() - started, ks)


def evaluate_temporal_sequential(split, evidence: pd.DataFrame, *, max_epochs: int = 100,
                                 **params) -> pd.DataFrame:
    """SASRec under the temporal-split protocol of `evaluate_temporal`: one row with the same columns.

    split: a `temporal_split` of `evidence` (user_id, item_id, event, occurred_at). The model fits with
    `fit_with_early_stopping` on each user's items before the cutoff; a user with none gets the
    popular list before the cutoff, as a served customer without history would.
    """
    from .temporal import temporal_result_row

    started = time.perf_counter()
    sequences = evidence_sequences(evidence[pd.to_datetime(evidence["occurred_at"]) < split.cutoff],
                                   split.users, split.items)
    if not any(len(s) for s in sequences):
        raise RecommendDataError("no evidence before the cutoff; pick a later cutoff")
    model = fit_with_early_stopping(sequences, len(split.items), max_epochs=max_epochs, **params)
    scorer = _WithPopularFallback(model, np.asarray(split.train.sum(axis=0), dtype=np.float32).ravel())
    return temporal_result_row("SASRec", scorer, split, time.perf_counter() - started)


class _WithPopularFallback:
    """A fitted SASRec's scores, and a popularity ranking for users whose sequence was empty at fit time."""

    def __init__(self, model: SASRec, popularity: np.ndarray):
        self.model, self.popularity = model, popularity

    def scores(self, user_rows) -> np.ndarray:
        rows = np.asarray(user_rows, dtype=np.int64)
        out = np.tile(self.popularity, (len(rows), 1))
        known = np.array([len(self.model.sequences_[r]) > 0 for r in rows], dtype=bool)
        if known.any():
            out[known] = self.model.scores(rows[known])
        return out


def _pad(sequences) -> np.ndarray:
    """Left-pad token sequences (item rows + 1 are passed in) with PAD to the longest one."""
    width = max(len(s) for s in sequences)
    out = np.full((len(sequences), width), PAD, dtype=np.int64)
    for i, sequence in enumerate(sequences):
        if len(sequence):
            out[i, width - len(sequence):] = sequence
    return out


def _length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator):
    """Shuffled batches of similar lengths (less padding): sort shuffled pools of 50 batches by length."""
    order = rng.permutation(len(lengths))
    pool = 50 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    for index in rng.permutation(len(batches)):
        yield batches[index]
