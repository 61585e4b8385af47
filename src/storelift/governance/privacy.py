"""Differentially private aggregate reports: noisy customer counts and sums of a value per segment, each
figure released with the epsilon it spent and the accuracy it carries (Dwork, McSherry, Nissim & Smith
2006, "Calibrating Noise to Sensitivity in Private Data Analysis"). OpenDP's Laplace mechanisms draw the
noise and its accuracy helpers give the 95% error bound.

Privacy unit: one customer with all of their rows (adding or removing a customer changes at most one
segment's figure). Contribution bounding, done before any noise:
- every row is put in the bin of its segment, or in one extra bin when its segment is not in `segments`;
- a customer with rows in several bins is kept in one: the bin with most of their rows, ties going to the
  segment listed first in `segments` (the extra bin last);
- a sum adds only the customer's rows in that bin (missing values count as 0) and clamps the customer's
  total into `bounds`, so one customer moves one segment's sum by at most max(|lo|, |hi|).
The segments are public and passed in (a segment list read off the data would itself leak); a listed
segment with no customers is still released, with noise. Customers in the extra bin are left out of the
segments; how many (or how much they sum to) is released, noisily, in the frame's attrs at no extra epsilon,
since each customer sits in exactly one bin. Rows without a customer id belong to no one and are ignored.

Columns of a release (RELEASE_COLUMNS, after one column per `by`):
  statistic          "customers" (counts) or "sum of <value>" (sums)
  value              the noisy figure (counts stay whole numbers and may be negative; unbiased)
  epsilon            privacy loss this release spent
  noise_scale        Laplace scale b of the noise added to each figure
  sensitivity        the most one customer can move the vector of figures (L1)
  accuracy_95        half-width: |noise| <= accuracy_95 with probability at least 95%
  relative_accuracy  accuracy_95 / |value|; NaN when |value| <= accuracy_95 (the figure is within its noise)
attrs: epsilon, statistic, privacy_unit, and dropped_customers / dropped_customers_accuracy_95 (counts) or
dropped_sum / dropped_sum_accuracy_95 (sums). The true figures are never returned.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .privacy_budget import DifferentialPrivacyError, check_epsilon

RELEASE_COLUMNS = ["statistic", "value", "epsilon", "noise_scale", "sensitivity", "accuracy_95",
                   "relative_accuracy"]
ALPHA = 0.05  # accuracy_95: the error bound that holds with probability 1 - ALPHA
# A float sum is correctly rounded (math.fsum); its rounding adds at most one ulp of the largest possible
# sum to the sensitivity, which needs an upper limit on the number of customers.
CUSTOMER_LIMIT = 2**32


def _opendp():
    try:
        import opendp.prelude as dp
    except ImportError as error:  # pragma: no cover - depends on the install
        raise DifferentialPrivacyError("differentially private reports need OpenDP; install the governance "
                                       "extra: pip install 'storelift[governance]'") from error
    dp.enable_features("contrib")
    return dp


def check_bounds(bounds) -> tuple[float, float]:
    """(lo, hi) as floats, or an error naming `bounds` when they are not two finite numbers with lo < hi."""
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise DifferentialPrivacyError(
            f"bounds is {bounds!r}; pass (lo, hi), two finite numbers with lo < hi, chosen from what you know "
            "about the value (not from this data: bounds read off the data leak it)")
    return lo, hi


def _segment_keys(frame: pd.DataFrame, by, segments) -> tuple[list[str], list]:
    """The `by` columns and the segments as lookup keys (tuples when `by` names several columns)."""
    columns = [by] if isinstance(by, str) else list(by)
    missing = [c for c in columns if c not in frame.columns]
    if not columns or missing:
        raise DifferentialPrivacyError(f"by names {missing or by!r}, not columns of the frame; pick from "
                                       f"{list(frame.columns)}")
    keys = [] if segments is None or isinstance(segments, str) else list(segments)
    if not keys:
        raise DifferentialPrivacyError(
            f"segments is {segments!r}; pass the public list of segments to release (e.g. the RFM segment names), "
            "not one read off the data")
    if not isinstance(by, str):
        keys = [k if isinstance(k, tuple) else (k,) for k in keys]
        if any(len(k) != len(columns) for k in keys):
            raise DifferentialPrivacyError(f"segments must be tuples of {len(columns)} values, one per by column "
                                           f"{columns}")
    if len(set(keys)) != len(keys):
        raise DifferentialPrivacyError("segments lists a segment twice; pass each segment once")
    return columns, keys


def _customer_bins(frame: pd.DataFrame, by, segments, customer_col: str, value: str | None = None):
    """One row per customer: `bin` (index into segments; len(segments) = not listed) and, for sums, `total`."""
    columns, keys = _segment_keys(frame, by, segments)
    if customer_col not in frame.columns:
        raise DifferentialPrivacyError(f"customer_col {customer_col!r} is not a column of the frame; pass the column "
                                       "that identifies a customer (the privacy unit)")
    position = {k: i for i, k in enumerate(keys)}
    if isinstance(by, str):
        found = frame[by].astype(object).map(position).to_numpy(dtype="float64", na_value=np.nan)
    else:
        found = np.array([position.get(k, np.nan) for k in zip(*(frame[c] for c in columns))], dtype="float64")
    rows = pd.DataFrame({"customer": frame[customer_col].to_numpy(),
                         "bin": np.nan_to_num(found, nan=len(keys)).astype("int64")})
    if value is not None:
        rows["v"] = frame[value].to_numpy(dtype="float64", na_value=np.nan)
    rows = rows[rows["customer"].notna()]
    if len(rows) and rows["customer"].nunique() > CUSTOMER_LIMIT:
        raise DifferentialPrivacyError(f"more than {CUSTOMER_LIMIT:,} customers; release a sample or split it")
    grouped = rows.groupby(["customer", "bin"], sort=False)
    per = grouped.size().rename("rows").to_frame()
    if value is not None:
        per["total"] = grouped["v"].sum()
    per = per.reset_index().sort_values(["rows", "bin"], ascending=[False, True], kind="stable")
    return columns, keys, per.drop_duplicates("customer", keep="first")


def _laplace(true_values: list, d_in, epsilon: float, integer: bool) -> tuple[list, float, float]:
    """OpenDP Laplace noise on a vector whose L1 distance between neighbours is at most d_in: the
    smallest scale that spends no more than `epsilon`, the noisy vector, and the 95% accuracy."""
    dp = _opendp()
    atom = dp.atom_domain(T="i64") if integer else dp.atom_domain(T=float, nan=False)
    space = (dp.vector_domain(atom), dp.l1_distance(T="i64" if integer else float))

    def mechanism(scale):
        return dp.m.make_laplace(*space, scale=scale)

    scale = d_in / epsilon
    for _ in range(8):  # d_in / epsilon is exact up to rounding; step up until OpenDP's map agrees
        if mechanism(scale).map(d_in) <= epsilon:
            break
        scale = math.nextafter(scale, math.inf)
    else:
        scale = dp.binary_search_param(mechanism, d_in=d_in, d_out=epsilon, T=float)
    noisy = mechanism(scale)(true_values)
    to_accuracy = dp.discrete_laplacian_scale_to_accuracy if integer else dp.laplacian_scale_to_accuracy
    return noisy, scale, float(to_accuracy(scale, ALPHA))


def _release_frame(columns, keys, statistic, noisy, epsilon, scale, sensitivity, accuracy) -> pd.DataFrame:
    if len(columns) == 1:
        labels = pd.DataFrame({columns[0]: [k[0] if isinstance(k, tuple) else k for k in keys]})
    else:
        labels = pd.DataFrame(keys, columns=columns)
    values = pd.Series(noisy, dtype="int64" if statistic == "customers" else "float64")
    magnitude = values.abs().astype("float64")
    relative = (accuracy / magnitude).where(magnitude > accuracy)
    out = labels.assign(statistic=statistic, value=values, epsilon=epsilon, noise_scale=scale,
                        sensitivity=float(sensitivity), accuracy_95=accuracy,
                        relative_accuracy=relative)
    return out[columns + RELEASE_COLUMNS]


def private_counts(frame: pd.DataFrame, by, segments, epsilon: float, *, customer_col: str = "customer_id",
                   budget=None) -> pd.DataFrame:
    """Noisy number of customers per listed segment (discrete Laplace, sensitivity 1). `budget`: anything
    with charge(epsilon, what), e.g. an EpsilonBudget or WorkspaceBudget, charged before the noise is drawn.
    Columns: the `by` columns, then RELEASE_COLUMNS."""
    epsilon = check_epsilon(epsilon)
    columns, keys, per = _customer_bins(frame, by, segments, customer_col)
    counts = np.bincount(per["bin"].to_numpy(), minlength=len(keys) + 1)
    if budget is not None:
        budget.charge(epsilon, f"customer counts by {', '.join(columns)} ({len(keys)} segments)")
    noisy, scale, accuracy = _laplace([int(c) for c in counts], 1, epsilon, integer=True)
    out = _release_frame(columns, keys, "customers", noisy[:-1], epsilon, scale, 1, accuracy)
    out.attrs = {"epsilon": epsilon, "statistic": "customers", "privacy_unit": customer_col,
                 "dropped_customers": int(noisy[-1]), "dropped_customers_accuracy_95": accuracy}
    return out


def private_sums(frame: pd.DataFrame, by, value: str, segments, epsilon: float, bounds, *,
                 customer_col: str = "customer_id", budget=None) -> pd.DataFrame:
    """Noisy sum of `value` per listed segment, each customer's total clamped into `bounds` (Laplace,
    sensitivity max(|lo|, |hi|)). `budget` as for private_counts. Columns: the `by` columns, then
    RELEASE_COLUMNS."""
    epsilon = check_epsilon(epsilon)
    lo, hi = check_bounds(bounds)
    if value not in frame.columns or not pd.api.types.is_numeric_dtype(frame[value]) \
            or pd.api.types.is_bool_dtype(frame[value]):
        raise DifferentialPrivacyError(f"value {value!r} must be a numeric column of the frame; pick from "
                                       f"{[c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]}")
    columns, keys, per = _customer_bins(frame, by, segments, customer_col, value)
    totals = np.clip(np.nan_to_num(per["total"].to_numpy(dtype="float64"), nan=0.0, posinf=hi, neginf=lo), lo, hi)
    order = np.argsort(per["bin"].to_numpy(), kind="stable")
    edges = np.searchsorted(per["bin"].to_numpy()[order], np.arange(len(keys) + 2))
    sums = [math.fsum(totals[order[start:end]]) for start, end in zip(edges[:-1], edges[1:])]
    sensitivity = max(abs(lo), abs(hi))
    d_in = sensitivity + math.ulp(CUSTOMER_LIMIT * sensitivity)  # the rounding of a correctly rounded sum
    if budget is not None:
        budget.charge(epsilon, f"sum of {value} by {', '.join(columns)} ({len(keys)} segments, "
                               f"bounds {lo:g} to {hi:g})")
    noisy, scale, accuracy = _laplace(sums, d_in, epsilon, integer=False)
    statistic = f"sum of {value}"
    out = _release_frame(columns, keys, statistic, noisy[:-1], epsilon, scale, sensitivity, accuracy)
    out.attrs = {"epsilon": epsilon, "statistic": statistic, "privacy_unit": customer_col, "bounds": (lo, hi),
                 "dropped_sum": float(noisy[-1]), "dropped_sum_accuracy_95": accuracy}
    return out
