"""Mutually exclusive experiments: a layer gives each unit to at most one of its experiments.

Experiments that touch the same surface (two hero-banner tests, two prices for one product) must
not see the same units, or their effects mix. A layer hashes the unit with its own salt into
buckets; each experiment owns a contiguous bucket range sized by its traffic share, and units
outside every range are in no experiment of the layer. Inside its range an experiment assigns
arms with its own salt, so arms stay balanced. Experiments in different layers overlap freely.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .assignment import BUCKETS, AssignmentError, Experiment, bucket


class LayerAssignment(NamedTuple):
    """Where a layer puts a unit: the experiment's name and arm, both None outside every experiment."""

    experiment: str | None
    arm: str | None


@dataclass(frozen=True)
class Layer:
    """Experiments with traffic shares that sum to at most 1, exclusive by hash of `salt` (default: the name).

    allocations: (experiment, share) pairs, e.g. ((Experiment("banner-a"), 0.5), (Experiment("banner-b"), 0.3)).
    A share is of all units; the remaining share is in none of the layer's experiments.
    """

    name: str
    allocations: tuple[tuple[Experiment, float], ...]
    salt: str | None = None

    def __post_init__(self):
        if not self.name:
            raise AssignmentError("layer name is empty; name the layer after the surface it owns, e.g. 'home-hero'")
        if not self.allocations:
            raise AssignmentError(f"layer {self.name!r} has no experiments; pass (Experiment, share) pairs")
        for experiment, _ in self.allocations:
            if not isinstance(experiment, Experiment):
                raise AssignmentError(
                    f"layer {self.name!r} got {experiment!r} where an Experiment belongs; "
                    "pass (Experiment, share) pairs")
        names = [e.name for e, _ in self.allocations]
        if len(set(names)) != len(names):
            raise AssignmentError(f"layer {self.name!r} lists an experiment twice: {names}; list each once")
        for experiment, share in self.allocations:
            if not (np.isfinite(share) and 0 < share <= 1):
                raise AssignmentError(
                    f"layer {self.name!r} experiment {experiment.name!r} has share {share!r}; pass a share in (0, 1]")
            if (experiment.salt or experiment.name) == self.layer_salt:
                raise AssignmentError(
                    f"layer {self.name!r} and its experiment {experiment.name!r} hash with the same salt "
                    f"{self.layer_salt!r}, so arms would split the layer's buckets unevenly; give the layer "
                    "or the experiment another salt")
        total = sum(share for _, share in self.allocations)
        if total > 1 + 1e-9:
            raise AssignmentError(
                f"layer {self.name!r} shares sum to {total:g}; make them sum to at most 1")

    @property
    def layer_salt(self) -> str:
        """The salt that decides which experiment of the layer a unit is in."""
        return self.salt or f"layer:{self.name}"

    @property
    def bucket_ends(self) -> np.ndarray:
        """The exclusive upper bucket of each experiment's range, in allocation order."""
        shares = np.array([share for _, share in self.allocations], dtype=np.float64)
        return np.minimum(np.round(np.cumsum(shares) * BUCKETS), BUCKETS).astype(np.int64)

    def experiment_for(self, unit_id: str) -> Experiment | None:
        """The layer's experiment this unit is in, or None when it is in none of them."""
        ends = self.__dict__.get("_ends")
        if ends is None:  # computed once per layer (frozen, so cached in __dict__)
            ends = self.__dict__["_ends"] = self.bucket_ends.tolist()
        position = bisect.bisect_right(ends, bucket(unit_id, self.layer_salt))
        return self.allocations[position][0] if position < len(ends) else None

    def assign(self, unit_id: str) -> LayerAssignment:
        """The unit's experiment and arm (arm "holdout" for units in the global holdout)."""
        experiment = self.experiment_for(unit_id)
        if experiment is None:
            return LayerAssignment(None, None)
        return LayerAssignment(experiment.name, experiment.assign(unit_id))

    def assign_many(self, unit_ids) -> pd.DataFrame:
        """Columns unit_id, experiment, arm (both missing for units in no experiment), as `assign` gives them."""
        ids = [str(u) for u in unit_ids]
        pairs = [self.assign(u) for u in ids]
        return pd.DataFrame({"unit_id": ids, "experiment": [p.experiment for p in pairs],
                             "arm": [p.arm for p in pairs]})
