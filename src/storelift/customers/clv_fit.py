"""Maximum likelihood on log-parameters for the lifetime-value models: a fit that does not die.

L-BFGS-B with an analytic gradient first; if it stalls, Nelder-Mead then L-BFGS-B again, from each
starting point in turn; the best finite optimum wins. The covariance is the inverse of the Hessian
of the total negative log-likelihood (central differences of the analytic gradient), carried from
the log scale to the natural scale by the delta method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import StoreliftError

GRADIENT_TOLERANCE = 1e-5  # on the mean negative log-likelihood per customer
LOG_BOUND = 30.0


class ModelDataError(StoreliftError, ValueError):
    """The data cannot support the model; the message names the column or row and the fix."""


@dataclass
class MleFit:
    """Optimum on the optimisation scale, its covariance there, and how the search went."""

    x: np.ndarray
    covariance: np.ndarray
    diagnostics: dict


ObjectiveFn = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _lbfgs(fun: ObjectiveFn, x0: np.ndarray, bounds) -> optimize.OptimizeResult:
    return optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                             options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20})


def _nelder_mead(fun: ObjectiveFn, x0: np.ndarray) -> optimize.OptimizeResult:
    return optimize.minimize(lambda x: fun(x)[0], x0, method="Nelder-Mead",
                             options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12, "adaptive": True})


def _grad_norm(fun: ObjectiveFn, x: np.ndarray) -> float:
    value, grad = fun(x)
    return float(np.linalg.norm(grad)) if np.isfinite(value) else float("inf")


def hessian(fun: ObjectiveFn, x: np.ndarray, grad_at_x: np.ndarray | None = None) -> np.ndarray:
    """Symmetrized finite-difference Hessian of fun's analytic gradient: central differences, or
    forward differences from `grad_at_x` (half the evaluations, for large data)."""
    k = len(x)
    out = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(x[j]))
        up = x.copy()
        up[j] += h
        if grad_at_x is not None:
            out[:, j] = (fun(up)[1] - grad_at_x) / h
            continue
        down = x.copy()
        down[j] -= h
        out[:, j] = (fun(up)[1] - fun(down)[1]) / (2 * h)
    return (out + out.T) / 2


def refine_with_metric(fun: ObjectiveFn, x0: np.ndarray, metric: np.ndarray, max_steps: int = 40,
                       tol: float = 1e-9) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Newton-like steps x - metric^-1 grad with a fixed metric (the Hessian of a subsample's fit),
    halving a step that does not lower the objective. Near the optimum each step costs one evaluation
    and shrinks the error by about the relative difference between the two Hessians. Stops when the
    gradient is below `tol` or the decrease a step promises is below the objective's rounding."""
    x = np.asarray(x0, float)
    value, grad = fun(x)
    steps = 0
    for steps in range(1, max_steps + 1):
        if np.linalg.norm(grad) <= tol:
            break
        step = np.linalg.solve(metric, grad)
        if 0.5 * float(grad @ step) <= 1e-14 * max(1.0, abs(value)):
            break
        for _ in range(8):
            candidate = np.clip(x - step, -LOG_BOUND, LOG_BOUND)
            new_value, new_grad = fun(candidate)
            if np.isfinite(new_value) and new_value <= value:
                break
            step = step / 2
        else:
            break
        x, value, grad = candidate, new_value, new_grad
    return x, value, grad, steps


def minimize_warm(fun: ObjectiveFn, subsample_fun: ObjectiveFn, starts: list[np.ndarray], n_log: int,
                  total_weight: float) -> MleFit:
    """minimize_robustly for large data: fit a subsample, then refine on all rows from there, using
    the subsample's Hessian as the metric; the result is the full-data optimum (same gradient test)."""
    sub = minimize_robustly(subsample_fun, starts, n_log, total_weight=1.0)
    metric = hessian(subsample_fun, sub.x)
    if not np.all(np.isfinite(metric)) or np.linalg.eigvalsh(metric).min() <= 0:
        return minimize_robustly(fun, [sub.x, *starts], n_log, total_weight)
    x, value, grad, steps = refine_with_metric(fun, sub.x, metric)
    if not (np.isfinite(value) and np.linalg.norm(grad) <= GRADIENT_TOLERANCE):
        return minimize_robustly(fun, [x, *starts], n_log, total_weight)
    return _finish(fun, x, value, grad, total_weight, sub.diagnostics["iterations"] + steps,
                   f"{sub.diagnostics['methods']} on a subsample + {steps} metric steps on all rows",
                   "gradient below tolerance on all rows")


def _finish(fun: ObjectiveFn, x: np.ndarray, value: float, grad: np.ndarray, total_weight: float,
            iterations: int, methods: str, message: str) -> MleFit:
    """Covariance from the Hessian at the optimum (forward differences), and the diagnostics."""
    k = len(x)
    h_total = hessian(fun, x, grad_at_x=grad) * total_weight
    eig = np.linalg.eigvalsh(h_total)
    condition = float(eig.max() / eig.min()) if eig.min() > 0 else float("inf")
    cov = np.linalg.inv(h_total) if eig.min() > 0 else np.full((k, k), np.nan)
    grad_norm = float(np.linalg.norm(grad))
    diagnostics = {
        "converged": bool(grad_norm <= GRADIENT_TOLERANCE),
        "iterations": iterations,
        "log_likelihood": float(-value * total_weight),
        "gradient_norm": grad_norm,
        "hessian_condition": condition,
        "methods": methods,
        "message": message,
    }
    return MleFit(np.asarray(x, float), cov, diagnostics)


def minimize_robustly(fun: ObjectiveFn, starts: list[np.ndarray], n_log: int, total_weight: float) -> MleFit:
    """Minimize a mean negative log-likelihood; the first n_log coordinates are log-parameters.

    Never raises on non-convergence: diagnostics["converged"] says whether the gradient vanished.
    """
    k = len(starts[0])
    bounds = [(-LOG_BOUND, LOG_BOUND)] * n_log + [(None, None)] * (k - n_log)
    best, iterations, methods, message = None, 0, [], ""
    for x0 in starts:
        tried = [("L-BFGS-B", _lbfgs(fun, np.asarray(x0, float), bounds))]
        res = tried[-1][1]
        if not (np.isfinite(res.fun) and _grad_norm(fun, res.x) <= GRADIENT_TOLERANCE):
            x_nm = res.x if np.isfinite(res.fun) else np.asarray(x0, float)
            tried.append(("Nelder-Mead", _nelder_mead(fun, x_nm)))
            tried.append(("L-BFGS-B", _lbfgs(fun, np.clip(tried[-1][1].x, -LOG_BOUND, LOG_BOUND), bounds)))
        for name, r in tried:
            iterations += int(getattr(r, "nit", 0) or 0)
            methods.append(name)
            if np.isfinite(r.fun) and (best is None or r.fun < best.fun):
                best, message = r, str(r.message)
        if best is not None and _grad_norm(fun, best.x) <= GRADIENT_TOLERANCE:
            break
    if best is None:
        raise ModelDataError("the log-likelihood is not finite at any starting point; check the data for "
                             "extreme values (e.g. recency or T in seconds instead of weeks)")
    grad_norm = _grad_norm(fun, best.x)
    h_total = hessian(fun, best.x) * total_weight
    eig = np.linalg.eigvalsh(h_total)
    condition = float(eig.max() / eig.min()) if eig.min() > 0 else float("inf")
    try:
        cov = np.linalg.inv(h_total) if eig.min() > 0 else np.full((k, k), np.nan)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    diagnostics = {
        "converged": bool(grad_norm <= GRADIENT_TOLERANCE),
        "iterations": iterations,
        "log_likelihood": float(-best.fun * total_weight),
        "gradient_norm": grad_norm,
        "hessian_condition": condition,
        "methods": "+".join(methods),
        "message": message,
    }
    return MleFit(np.asarray(best.x, float), cov, diagnostics)


def natural_covariance(log_params: np.ndarray, log_cov: np.ndarray, names: list[str], n_log: int) -> pd.DataFrame:
    """Delta method: d exp(u) = exp(u) du on the log coordinates, identity on the others."""
    scale = np.ones(len(log_params))
    scale[:n_log] = np.exp(log_params[:n_log])
    return pd.DataFrame(log_cov * np.outer(scale, scale), index=names, columns=names)


def confidence_table(params: pd.Series, covariance: pd.DataFrame, log_params: np.ndarray, log_cov: np.ndarray,
                     n_log: int, level: float = 0.95) -> pd.DataFrame:
    """coef, se (delta method), lower, upper; intervals on the log scale for positive parameters."""
    from scipy.stats import norm

    z = norm.ppf(0.5 + level / 2)
    se_log = np.sqrt(np.diag(log_cov))
    se = np.sqrt(np.diag(covariance.to_numpy()))
    lower = np.where(np.arange(len(params)) < n_log, np.exp(log_params - z * se_log), log_params - z * se_log)
    upper = np.where(np.arange(len(params)) < n_log, np.exp(log_params + z * se_log), log_params + z * se_log)
    return pd.DataFrame({"coef": params.to_numpy(), "se": se, "lower": lower, "upper": upper}, index=params.index)
