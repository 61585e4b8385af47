"""Uplift evaluation on a randomized test set: Qini and uplift curves, AUUC, Qini coefficient, uplift@k.

Customers are ranked by predicted uplift (highest first). After the first k customers, with N_T(k)
and N_C(k) treated and control customers among them and Y_T(k), Y_C(k) their summed outcomes:

    Qini curve    Q(k) = Y_T(k) - Y_C(k) * N_T(k) / N_C(k)              (Radcliffe 2007)
    uplift curve  U(k) = (Y_T(k) / N_T(k) - Y_C(k) / N_C(k)) * k        (Rzepakowski & Jaroszewicz 2012)

with a term taken as 0 while its group is still empty, and points only at the end of each run of tied
scores (so tied customers are never split). Areas use the trapezoid rule over k = 0..n. The normalized
scores follow scikit-uplift's `qini_auc_score` and `uplift_auc_score`:

    score = (area(model) - area(random)) / (area(perfect) - area(random))

where random targeting is the straight line from (0, 0) to (n, curve(n)) and the perfect curve ranks
treated responders first and control responders last (Qini; negative effects allowed), or treated
responders then control non-responders first (uplift curve). 1 is a perfect ranking, 0 is random.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .uplift import UpliftError, check_treatment, check_vector


def _inputs(y, uplift, treatment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = check_vector(y, "y")
    uplift = check_vector(uplift, "uplift")
    treatment = check_treatment(treatment, len(y))
    if len(uplift) != len(y):
        raise UpliftError(f"uplift has {len(uplift)} values but y has {len(y)}; pass one score per customer")
    return y, uplift, treatment


def _cumulative(y: np.ndarray, score: np.ndarray, treatment: np.ndarray):
    """Cumulative counts and outcome sums at the end of each run of tied scores, best score first."""
    order = np.argsort(-score, kind="mergesort")
    y, score, t = y[order], score[order], treatment[order]
    ends = np.r_[np.flatnonzero(np.diff(score) != 0), len(score) - 1]
    n_all = (ends + 1).astype(np.float64)
    n_t = np.cumsum(t)[ends]
    n_c = n_all - n_t
    y_t = np.cumsum(y * t)[ends]
    y_c = np.cumsum(y * (1 - t))[ends]
    return n_all, n_t, n_c, y_t, y_c


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def _qini_points(y, score, treatment) -> tuple[np.ndarray, np.ndarray]:
    n_all, n_t, n_c, y_t, y_c = _cumulative(y, score, treatment)
    return np.r_[0.0, n_all], np.r_[0.0, y_t - y_c * _ratio(n_t, n_c)]


def _uplift_points(y, score, treatment) -> tuple[np.ndarray, np.ndarray]:
    n_all, n_t, n_c, y_t, y_c = _cumulative(y, score, treatment)
    return np.r_[0.0, n_all], np.r_[0.0, (_ratio(y_t, n_t) - _ratio(y_c, n_c)) * n_all]


def _curve_frame(x: np.ndarray, values: np.ndarray, name: str) -> pd.DataFrame:
    n = x[-1]
    return pd.DataFrame({"targeted": x.astype(np.int64), "share": x / n, name: values,
                         "random": values[-1] * x / n})


def qini_curve(y, uplift, treatment) -> pd.DataFrame:
    """The Qini curve: columns targeted (customers), share, qini (incremental outcome), random."""
    y, uplift, treatment = _inputs(y, uplift, treatment)
    return _curve_frame(*_qini_points(y, uplift, treatment), "qini")


def uplift_curve(y, uplift, treatment) -> pd.DataFrame:
    """The uplift (gain) curve: columns targeted, share, uplift (incremental outcome), random."""
    y, uplift, treatment = _inputs(y, uplift, treatment)
    return _curve_frame(*_uplift_points(y, uplift, treatment), "uplift")


def _perfect_qini_score(y: np.ndarray, treatment: np.ndarray) -> np.ndarray:
    return y * treatment - y * (1 - treatment)


def _perfect_uplift_score(y: np.ndarray, treatment: np.ndarray) -> np.ndarray:
    if not np.isin(y, (0.0, 1.0)).all():
        raise UpliftError("y holds values other than 0 and 1; the normalized AUUC needs a binary outcome "
                          "(pass normalize=False for the raw area, or use qini_coefficient)")
    control_responders = np.sum(y * (1 - treatment))
    treated_responders = np.sum(y * treatment)
    tie_break = y if control_responders > treated_responders else treatment
    return 2.0 * (y == treatment) + tie_break


def _normalized(points, y, uplift, treatment, perfect_score) -> float:
    x, values = points(y, uplift, treatment)
    random_area = x[-1] * values[-1] / 2
    px, pvalues = points(y, perfect_score(y, treatment), treatment)
    span = np.trapezoid(pvalues, px) - random_area
    if span == 0:
        raise UpliftError("y gives a perfect ranking no better than random (no responders, or the same "
                          "response in both arms everywhere); the normalized score is undefined")
    return float((np.trapezoid(values, x) - random_area) / span)


def qini_coefficient(y, uplift, treatment, normalize: bool = True) -> float:
    """Area between the Qini curve and random targeting over that of the perfect ranking (1 perfect, 0 random).

    normalize=False returns the raw area under the Qini curve (incremental outcome x customers).
    """
    y, uplift, treatment = _inputs(y, uplift, treatment)
    if not normalize:
        return float(np.trapezoid(*_qini_points(y, uplift, treatment)[::-1]))
    return _normalized(_qini_points, y, uplift, treatment, _perfect_qini_score)


def auuc(y, uplift, treatment, normalize: bool = True) -> float:
    """Area under the uplift curve, normalized like scikit-uplift's uplift_auc_score (binary y).

    normalize=False returns the raw area (incremental outcome x customers), for any numeric outcome.
    """
    y, uplift, treatment = _inputs(y, uplift, treatment)
    if not normalize:
        return float(np.trapezoid(*_uplift_points(y, uplift, treatment)[::-1]))
    return _normalized(_uplift_points, y, uplift, treatment, _perfect_uplift_score)


def _check_share(k: float, parameter: str = "k") -> float:
    if not (isinstance(k, (int, float, np.floating)) and 0 < k <= 1):
        raise UpliftError(f"{parameter} is {k!r}; pass the share of customers to target, in (0, 1], e.g. 0.3")
    return float(k)


def uplift_at_k(y, uplift, treatment, k: float = 0.3, strategy: str = "overall") -> float:
    """Treated minus control mean outcome among the top share k by predicted uplift.

    strategy "overall" takes the top floor(k * n) customers of both arms together; "by_group" takes the
    top floor(k * n_arm) of each arm separately (scikit-uplift 0.5's two strategies).
    """
    y, uplift, treatment = _inputs(y, uplift, treatment)
    k = _check_share(k)
    order = np.argsort(uplift, kind="mergesort")[::-1]  # among tied scores the later row first, as scikit-uplift
    y, t = y[order], treatment[order]
    if strategy == "overall":
        top = slice(0, int(len(y) * k))
        y_t, y_c = y[top][t[top] == 1], y[top][t[top] == 0]
    elif strategy == "by_group":
        treated, control = y[t == 1], y[t == 0]
        y_t = treated[: int(len(treated) * k)]
        y_c = control[: int(len(control) * k)]
    else:
        raise UpliftError(f"strategy is {strategy!r}; pass 'overall' or 'by_group'")
    if len(y_t) == 0 or len(y_c) == 0:
        raise UpliftError(f"k={k} leaves no {'treated' if len(y_t) == 0 else 'control'} customers in the top "
                          "group; pass a larger k")
    return float(y_t.mean() - y_c.mean())


def uplift_by_percentile(y, uplift, treatment, bins: int = 10) -> pd.DataFrame:
    """Observed uplift per band of predicted uplift (band 1 = highest predictions).

    Columns: band, customers, treated, control, treated_rate, control_rate, uplift, uplift_se, mean_predicted.
    """
    y, uplift, treatment = _inputs(y, uplift, treatment)
    if not (isinstance(bins, (int, np.integer)) and 1 <= bins <= len(y)):
        raise UpliftError(f"bins is {bins!r}; pass a whole number between 1 and the number of customers")
    order = np.argsort(-uplift, kind="mergesort")
    band = np.empty(len(y), dtype=np.int64)
    band[order] = np.arange(len(y)) * bins // len(y) + 1
    frame = pd.DataFrame({"band": band, "y": y, "t": treatment, "pred": uplift})
    rows = []
    for b, g in frame.groupby("band", sort=True):
        yt, yc = g.y[g.t == 1], g.y[g.t == 0]
        mt = yt.mean() if len(yt) else np.nan
        mc = yc.mean() if len(yc) else np.nan
        se = np.sqrt(yt.var(ddof=1) / len(yt) + yc.var(ddof=1) / len(yc)) if min(len(yt), len(yc)) > 1 else np.nan
        rows.append({"band": int(b), "customers": len(g), "treated": len(yt), "control": len(yc),
                     "treated_rate": mt, "control_rate": mc, "uplift": mt - mc, "uplift_se": se,
                     "mean_predicted": g.pred.mean()})
    return pd.DataFrame(rows)
