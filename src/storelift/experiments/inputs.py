"""Checks on what an experiment analysis is given, so a bad input fails with the fix in the message."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import StoreliftError


class AnalysisError(StoreliftError, ValueError):
    """An experiment readout cannot be computed from the data or parameters it was given."""


def require_columns(frame: pd.DataFrame, columns: Sequence[str], parameter: str = "frame") -> None:
    """Raise when `frame` lacks any of `columns`, listing the ones it has."""
    if not isinstance(frame, pd.DataFrame):
        raise AnalysisError(f"{parameter} is a {type(frame).__name__}; pass a pandas DataFrame with one row per unit")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AnalysisError(
            f"{parameter} has no column {missing[0]!r}; its columns are {list(frame.columns)}; "
            "rename the column or pass the right name")


def require_numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The column as float64, or an error naming the column and the first bad row."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        row = frame.index[int(np.argmax(bad))]
        raise AnalysisError(
            f"column {column!r} row {row!r} is {frame[column].loc[row]!r}, not a finite number; "
            "fill or drop missing values before the readout (e.g. revenue 0 for units without orders)")
    return values


def require_binary(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The column as 0.0/1.0, or an error naming the first value that is neither."""
    values = require_numeric(frame, column)
    bad = (values != 0) & (values != 1)
    if bad.any():
        row = frame.index[int(np.argmax(bad))]
        raise AnalysisError(
            f"column {column!r} row {row!r} is {values[bad][0]!r}; a conversion column holds 0 or 1 "
            "(or True/False); use a mean metric for counts or amounts")
    return values


def require_alpha(alpha: float, parameter: str = "alpha") -> float:
    """A significance level strictly between 0 and 1."""
    if not (isinstance(alpha, (int, float, np.floating)) and 0 < alpha < 1):
        raise AnalysisError(f"{parameter} is {alpha!r}; pass a level between 0 and 1, e.g. 0.05")
    return float(alpha)


def require_positive(value: float, parameter: str, example: str) -> float:
    """A finite number > 0."""
    if not (isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value) and value > 0):
        raise AnalysisError(f"{parameter} is {value!r}; pass a number > 0, e.g. {example}")
    return float(value)


def arms_against_control(frame: pd.DataFrame, arm_col: str, control: str,
                         treatments: Sequence[str] | None = None) -> list[str]:
    """The arms to compare with `control`, in first-seen order, after checking both are present."""
    require_columns(frame, [arm_col])
    seen = [str(a) for a in pd.unique(frame[arm_col].astype(str))]
    if control not in seen:
        raise AnalysisError(
            f"control arm {control!r} is not in column {arm_col!r} (arms there: {seen}); "
            "pass control= one of them")
    others = [a for a in seen if a != control] if treatments is None else [str(t) for t in treatments]
    for arm in others:
        if arm not in seen or arm == control:
            raise AnalysisError(
                f"treatment arm {arm!r} is not a non-control arm of column {arm_col!r} (arms there: {seen}); "
                "pass treatments= arms other than the control")
    if not others:
        raise AnalysisError(f"column {arm_col!r} holds only the control arm {control!r}; nothing to compare")
    return others


def arm_mask(frame: pd.DataFrame, arm_col: str, arm: str) -> np.ndarray:
    """Boolean mask of the rows in `arm`, requiring at least two units (a variance needs two)."""
    mask = (frame[arm_col].astype(str) == arm).to_numpy()
    if mask.sum() < 2:
        raise AnalysisError(f"arm {arm!r} has {int(mask.sum())} unit(s); an analysis needs at least 2 per arm")
    return mask
