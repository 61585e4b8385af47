"""Deterministic assignment: the same customer lands in the same arm on every call, in every process.

A unit (customer or visitor id) is hashed with the experiment's salt into one of 10,000 buckets
(SHA-256, so salts decorrelate experiments); arms own contiguous bucket ranges by weight. A global
holdout hashes with its own salt first, so the customers held out of every initiative are the same
ones whatever experiments run, and stay held out for as long as the salt is kept.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import StoreliftError

BUCKETS = 10_000
GLOBAL_HOLDOUT_SALT = "storelift-global-holdout"
HOLDOUT_ARM = "holdout"


class AssignmentError(StoreliftError, ValueError):
    """An experiment is defined in a way that cannot assign units."""


def bucket(unit_id: str, salt: str) -> int:
    """The unit's bucket in [0, BUCKETS) for this salt."""
    digest = hashlib.sha256(f"{salt}\x1f{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


@dataclass(frozen=True)
class Experiment:
    """Arms with weights, assigned by hashing the unit id with `salt` (default: the name).

    arms: (name, weight) pairs; weights are relative (e.g. (("control", 1), ("treatment", 1))).
    holdout_share: the share of units held out of this experiment altogether (arm "holdout"),
    decided by the workspace-wide holdout salt, so it is the same customers for every initiative
    that uses the same share.
    """

    name: str
    arms: tuple[tuple[str, float], ...] = (("control", 1.0), ("treatment", 1.0))
    salt: str | None = None
    holdout_share: float = 0.0

    def __post_init__(self):
        if not self.name:
            raise AssignmentError("experiment name is empty; name the experiment or initiative")
        if not self.arms:
            raise AssignmentError(f"experiment {self.name!r} has no arms; pass (name, weight) pairs")
        names = [arm for arm, _ in self.arms]
        if len(set(names)) != len(names) or HOLDOUT_ARM in names:
            raise AssignmentError(
                f"experiment {self.name!r} arms {names} repeat a name or use the reserved {HOLDOUT_ARM!r}")
        for arm, weight in self.arms:
            if not (np.isfinite(weight) and weight > 0):
                raise AssignmentError(f"experiment {self.name!r} arm {arm!r} has weight {weight!r}; pass a number > 0")
        if not (0 <= self.holdout_share < 1):
            raise AssignmentError(
                f"experiment {self.name!r} holdout_share is {self.holdout_share!r}; pass a share in [0, 1)")

    @property
    def bucket_ends(self) -> np.ndarray:
        """The exclusive upper bucket of each arm, in arm order."""
        weights = np.array([w for _, w in self.arms], dtype=np.float64)
        ends = np.round(np.cumsum(weights) / weights.sum() * BUCKETS).astype(np.int64)
        ends[-1] = BUCKETS
        return ends

    def assign(self, unit_id: str) -> str:
        """The unit's arm (or "holdout")."""
        if is_held_out(unit_id, self.holdout_share):
            return HOLDOUT_ARM
        ends = self.__dict__.get("_ends")
        if ends is None:  # computed once per experiment (frozen, so cached in __dict__)
            ends = self.__dict__["_ends"] = self.bucket_ends.tolist()
        return self.arms[bisect.bisect_right(ends, bucket(unit_id, self.salt or self.name))][0]

    def assign_many(self, unit_ids) -> pd.DataFrame:
        """Columns unit_id, arm for many units (the same answers as `assign`)."""
        ids = [str(u) for u in unit_ids]
        return pd.DataFrame({"unit_id": ids, "arm": [self.assign(u) for u in ids]})


def is_held_out(unit_id: str, share: float) -> bool:
    """Whether the unit is in the global holdout of this size (nested: a unit held out at 5% is held
    out at 10% too)."""
    return share > 0 and bucket(unit_id, GLOBAL_HOLDOUT_SALT) < round(share * BUCKETS)
