"""The model artifacts one worker serves, swapped for newer versions without a restart.

`ServedModels` reads the newest `models/recommend-*` folder (model, interactions, catalog, and the
item index when the fit saved one) and the newest `models/customers-*/customer_scores.parquet`.
Requests read whatever is loaded; a check for newer folders runs at most every `check_every_s`, and
a newer version is loaded in a background thread and then swapped in with one assignment, so no
request waits for a load or sees half a model. A version that fails to load is logged and skipped;
the previous one keeps serving.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..artifacts import CUSTOMER_SCORES_SNAPSHOT, ITEM_INDEX_FILE, load_models, newest_version

log = logging.getLogger("storelift.api")

RECOMMEND_PREFIX = "recommend-"
CUSTOMERS_PREFIX = "customers-"


@dataclass(frozen=True)
class ServedRecommender:
    """One loaded recommendation artifact."""

    version: str
    personalizer: object  # storelift.recommend.Personalizer
    item_rows: dict  # item id -> column, for similar items and session events

    def similar(self, item_id: str, k: int) -> list[dict] | None:
        """The k items most like `item_id`, under the stock rule and caps (None: an unknown item)."""
        row = self.item_rows.get(item_id)
        return None if row is None else self.personalizer.similar_records(row, k)


@dataclass(frozen=True)
class ServedScores:
    """One customers-* snapshot: a row per customer, looked up by id."""

    version: str
    frame: pd.DataFrame  # indexed by customer_id

    def profile(self, customer_id: str) -> dict | None:
        try:
            row = self.frame.loc[customer_id]
        except KeyError:
            return None
        return {k: _json_value(v) for k, v in row.items()}


def _json_value(value):
    """A frame cell as a JSON value: missing -> None, times as ISO text, numpy scalars as Python ones."""
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def load_recommender(models_dir: Path, version: str) -> ServedRecommender:
    from ..recommend import InnerProductIndex, Personalizer

    _, saved = load_models(models_dir, version)
    index_path = models_dir / version / ITEM_INDEX_FILE
    index = InnerProductIndex.load(index_path) if index_path.is_file() else None
    personalizer = Personalizer.from_artifact(saved, index=index)
    warm_up(personalizer)
    items = saved["interactions"].items
    return ServedRecommender(version, personalizer, dict(zip(items.astype(str), range(len(items)))))


WARM_SEGMENTS = 100  # popular lists ranked at load; further segments are ranked by their first request


def warm_up(personalizer) -> None:
    """One list for a known customer, one for a visitor and one per popular segment (up to
    WARM_SEGMENTS), so that lookups built on first use (the customer index's hash table: about 0.2 s
    at a million customers; a segment's ranked list) are built at load, before the model is frozen
    out of the collector and swapped in, not by the first request."""
    users = personalizer.interactions.users
    if len(users):
        personalizer.recommend_records(users[0], 1)
    personalizer.recommend_records(None, 1)
    for label in list(getattr(personalizer.popular, "segment_labels_", []))[:WARM_SEGMENTS]:
        personalizer.recommend_records(None, 1, context=label)


def load_scores(models_dir: Path, version: str) -> ServedScores:
    frame = pd.read_parquet(models_dir / version / CUSTOMER_SCORES_SNAPSHOT)
    frame["customer_id"] = frame["customer_id"].astype(str)
    return ServedScores(version, frame.set_index("customer_id"))


class ServedModels:
    """The recommendation model and customer scores a worker answers with; reloads newer versions."""

    def __init__(self, models_dir: Path | str, check_every_s: float = 2.0):
        self.models_dir = Path(models_dir)
        self.check_every_s = check_every_s
        self.recommender: ServedRecommender | None = None
        self.scores: ServedScores | None = None
        self._checked_at = -np.inf
        self._loading = threading.Lock()
        self._failed: set[str] = set()

    def load_now(self) -> "ServedModels":
        """Load the newest versions in this thread (at start-up, before the first request)."""
        self._reload()
        self._checked_at = time.monotonic()
        return self

    def refresh(self) -> None:
        """Start loading newer versions in the background if any appeared (cheap when none did)."""
        now = time.monotonic()
        if now - self._checked_at < self.check_every_s:
            return
        self._checked_at = now
        if self._newer_available() and self._loading.acquire(blocking=False):
            threading.Thread(target=self._reload_and_release, name="storelift-model-reload", daemon=True).start()

    def _newer_available(self) -> bool:
        rec = newest_version(self.models_dir, RECOMMEND_PREFIX)
        scores = newest_version(self.models_dir, CUSTOMERS_PREFIX, CUSTOMER_SCORES_SNAPSHOT)
        current_rec = self.recommender.version if self.recommender else None
        current_scores = self.scores.version if self.scores else None
        return (rec not in (None, current_rec) and rec not in self._failed) or \
            (scores not in (None, current_scores) and scores not in self._failed)

    def _reload_and_release(self) -> None:
        try:
            self._reload()
        finally:
            self._loading.release()

    def _reload(self) -> None:
        for prefix, required, attr, loader in (
                (RECOMMEND_PREFIX, "manifest.json", "recommender", load_recommender),
                (CUSTOMERS_PREFIX, CUSTOMER_SCORES_SNAPSHOT, "scores", load_scores)):
            version = newest_version(self.models_dir, prefix, required)
            current = getattr(self, attr)
            if version is None or version in self._failed or (current and current.version == version):
                continue
            started = time.perf_counter()
            try:
                loaded = loader(self.models_dir, version)
            except Exception as exc:  # a broken artifact must not take the service down
                self._failed.add(version)
                log.error(json.dumps({"event": "model_load_failed", "version": version, "error": str(exc)[:300]}))
                continue
            setattr(self, attr, loaded)  # one assignment: requests see the old or the new, never a mix
            # a model holds millions of long-lived objects (ids, maps); keep the cyclic collector from
            # walking them on every full collection, which stalls requests for tens of milliseconds
            gc.collect()
            gc.freeze()
            log.info(json.dumps({"event": "model_loaded", "version": version,
                                 "seconds": round(time.perf_counter() - started, 2)}))
