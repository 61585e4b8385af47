"""What a readout measures: conversion (a 0/1 per unit), a per-unit mean, or a ratio of per-unit sums."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .inputs import AnalysisError, require_columns

KINDS = ("proportion", "mean", "ratio")


@dataclass(frozen=True)
class Metric:
    """One metric of a readout, computed from columns of a one-row-per-unit frame.

    kind "proportion": `column` holds 0/1 (converted or not); "mean": `column` is averaged over
    units (revenue per user), optionally CUPED-adjusted by the pre-period `covariate`; "ratio":
    sum(`column`) / sum(`denominator`) per arm (average order value = revenue / orders).
    """

    name: str
    kind: str
    column: str
    denominator: str | None = None
    covariate: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise AnalysisError(f"metric {self.name!r} kind is {self.kind!r}; pass one of {list(KINDS)}")
        if (self.kind == "ratio") != (self.denominator is not None):
            raise AnalysisError(
                f"metric {self.name!r}: a ratio needs a denominator column and other kinds take none; "
                "use Metric.ratio(numerator, denominator) for ratios")
        if self.covariate is not None and self.kind != "mean":
            raise AnalysisError(
                f"metric {self.name!r}: a CUPED covariate applies to mean metrics only; drop covariate= "
                "or use Metric.mean")

    @classmethod
    def proportion(cls, column: str, name: str | None = None) -> "Metric":
        """A conversion rate from a 0/1 column."""
        return cls(name or column, "proportion", column)

    @classmethod
    def mean(cls, column: str, covariate: str | None = None, name: str | None = None) -> "Metric":
        """A mean per unit, CUPED-adjusted when a pre-period `covariate` column is given."""
        return cls(name or column, "mean", column, covariate=covariate)

    @classmethod
    def ratio(cls, numerator: str, denominator: str, name: str | None = None) -> "Metric":
        """sum(numerator) / sum(denominator) per arm, e.g. revenue / orders for average order value."""
        return cls(name or f"{numerator}_per_{denominator}", "ratio", numerator, denominator=denominator)

    @property
    def columns(self) -> list[str]:
        """The frame columns this metric reads."""
        return [c for c in (self.column, self.denominator, self.covariate) if c is not None]


def as_metrics(frame: pd.DataFrame, metrics) -> list[Metric]:
    """Metric objects from Metrics or column names (a 0/1 column is a proportion, any other a mean)."""
    if isinstance(metrics, (str, Metric)):
        metrics = [metrics]
    result = []
    for metric in metrics:
        if isinstance(metric, str):
            require_columns(frame, [metric])
            values = pd.to_numeric(frame[metric], errors="coerce")
            is_binary = bool(values.notna().all() and np.isin(values.to_numpy(dtype=np.float64), (0.0, 1.0)).all())
            metric = Metric.proportion(metric) if is_binary else Metric.mean(metric)
        if not isinstance(metric, Metric):
            raise AnalysisError(f"metrics holds {metric!r}; pass column names or Metric objects")
        require_columns(frame, metric.columns)
        result.append(metric)
    if not result:
        raise AnalysisError("metrics is empty; pass at least one column name or Metric")
    names = [m.name for m in result]
    if len(set(names)) != len(names):
        raise AnalysisError(f"metric names repeat: {names}; give each Metric its own name=")
    return result
