"""Explore/exploit for one slot of a placement: Thompson sampling over candidate items (Bernoulli clicks).

A list is mostly exploitation (the model's best items); one slot, optionally, tries items whose
click rate is still uncertain, so new or under-shown products get a fair chance and the slot learns
which of them work. Each item keeps a Beta(1 + clicks, 1 + impressions - clicks) posterior; the
slot shows the candidate with the highest draw (Thompson 1933; Chapelle & Li 2011).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .models import RecommendModelError

SLOT_COLUMNS = ("item_id", "impressions", "clicks", "posterior_mean")


@dataclass
class ThompsonSlot:
    """Click statistics per item for one placement slot; `choose` draws, `update` records the outcome."""

    prior_clicks: float = 1.0
    prior_misses: float = 1.0
    random_state: int | None = None
    impressions: dict = field(default_factory=dict)
    clicks: dict = field(default_factory=dict)

    def __post_init__(self):
        if not (self.prior_clicks > 0 and self.prior_misses > 0):
            raise RecommendModelError(
                f"prior_clicks={self.prior_clicks!r}, prior_misses={self.prior_misses!r}; both must be > 0 "
                "(1 and 1 is the uniform prior)")
        self._rng = np.random.default_rng(self.random_state)

    def choose(self, candidates) -> object:
        """The candidate item id with the highest posterior draw of its click rate."""
        candidates = list(candidates)
        if not candidates:
            raise RecommendModelError("candidates is empty; pass the item ids this slot may show")
        shown = np.array([self.impressions.get(c, 0) for c in candidates], dtype=np.float64)
        hits = np.array([self.clicks.get(c, 0) for c in candidates], dtype=np.float64)
        draws = self._rng.beta(self.prior_clicks + hits, self.prior_misses + shown - hits)
        return candidates[int(np.argmax(draws))]

    def update(self, item_id, clicked: bool) -> None:
        """Record one impression of `item_id` and whether it was clicked."""
        self.impressions[item_id] = self.impressions.get(item_id, 0) + 1
        self.clicks[item_id] = self.clicks.get(item_id, 0) + int(bool(clicked))

    def summary(self) -> pd.DataFrame:
        """item_id, impressions, clicks, posterior_mean (expected click rate), best first."""
        items = list(self.impressions)
        shown = np.array([self.impressions[i] for i in items], dtype=np.float64)
        hits = np.array([self.clicks.get(i, 0) for i in items], dtype=np.float64)
        mean = (self.prior_clicks + hits) / (self.prior_clicks + self.prior_misses + shown)
        frame = pd.DataFrame({"item_id": items, "impressions": shown.astype(np.int64),
                              "clicks": hits.astype(np.int64), "posterior_mean": mean}, columns=list(SLOT_COLUMNS))
        return frame.sort_values("posterior_mean", ascending=False, ignore_index=True)


def simulate_regret(true_rates: dict, rounds: int, random_state: int = 0, slot: ThompsonSlot | None = None) -> pd.DataFrame:
    """Play the slot against known click rates; per round: item shown, clicked, cumulative regret
    (best rate minus the shown item's rate, summed). For reporting how fast the slot learns."""
    if rounds < 1 or not true_rates:
        raise RecommendModelError("simulate_regret needs rounds >= 1 and at least one item rate")
    rng = np.random.default_rng(random_state)
    slot = slot or ThompsonSlot(random_state=random_state)
    best = max(true_rates.values())
    chosen, clicked, regret = [], [], []
    total = 0.0
    for _ in range(rounds):
        item = slot.choose(true_rates)
        hit = bool(rng.random() < true_rates[item])
        slot.update(item, hit)
        total += best - true_rates[item]
        chosen.append(item), clicked.append(hit), regret.append(total)
    return pd.DataFrame({"round": np.arange(1, rounds + 1), "item_id": chosen, "clicked": clicked,
                         "cumulative_regret": regret})
