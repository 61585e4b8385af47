"""Bayesian readouts: the probability a treatment beats control and the expected loss of choosing it.

Conversion uses the Beta-Binomial model (a Beta(prior_successes, prior_failures) prior per arm);
P(p_treatment > p_control) is computed exactly by the finite sum for Beta variables with an integer
parameter (E. Miller, "Formulas for Bayesian A/B Testing", 2015) or by seeded Monte Carlo. Revenue
and ratio metrics use a normal approximation of the difference with a flat prior. Expected loss is
what is given up, in the metric's units, if the chosen arm is in fact worse: E[max(control - arm, 0)].

Result columns: n_control, n_treatment, control_value, treatment_value (posterior means for
conversion, sample values otherwise), probability_to_beat, expected_loss (of shipping the arm),
expected_loss_control (of keeping control), method ("exact", "monte carlo" or "normal");
frame-level functions add `arm` first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .fixed_horizon import welch_test, with_arms
from .inputs import AnalysisError, arm_mask, arms_against_control, require_binary, require_columns, require_positive

MAX_EXACT_TERMS = 5_000_000


def _is_integer(value: float) -> bool:
    return abs(value - round(value)) < 1e-9


def _sum_greater(a: float, b: float, c: int, d: float) -> float:
    """P(Beta(c, d) > Beta(a, b)) for integer c, as a sum of c terms in log space."""
    i = np.arange(c, dtype=np.float64)
    log_terms = special.betaln(a + i, b + d) - np.log(d + i) - special.betaln(1 + i, d) - special.betaln(a, b)
    return float(np.exp(special.logsumexp(log_terms)))


def _exact_greater(a: float, b: float, c: float, d: float) -> float | None:
    """P(Beta(c, d) > Beta(a, b)) by the shortest exact sum the parameters allow; None when none is short."""
    options = []  # (terms, evaluate): four forms by symmetry, p > q <=> 1 - p < 1 - q
    if _is_integer(c):
        options.append((c, lambda: _sum_greater(a, b, round(c), d)))
    if _is_integer(a):
        options.append((a, lambda: 1 - _sum_greater(c, d, round(a), b)))
    if _is_integer(b):
        options.append((b, lambda: _sum_greater(d, c, round(b), a)))
    if _is_integer(d):
        options.append((d, lambda: 1 - _sum_greater(b, a, round(d), c)))
    if not options:
        return None
    terms, evaluate = min(options, key=lambda option: option[0])
    if terms > MAX_EXACT_TERMS:
        return None
    return min(max(evaluate(), 0.0), 1.0)


def probability_to_beat_from_counts(successes_control: int, trials_control: int, successes_treatment: int,
                                    trials_treatment: int, prior_successes: float = 1.0,
                                    prior_failures: float = 1.0, draws: int | None = None,
                                    seed: int = 0) -> pd.DataFrame:
    """One row: the Beta-Binomial probability that the treatment's rate beats control's, and expected losses.

    draws: Monte Carlo draws per arm; None computes exactly where the posterior parameters allow
    (always with the default uniform prior) and falls back to 1,000,000 seeded draws otherwise.
    """
    require_positive(prior_successes, "prior_successes", "1 (a uniform prior)")
    require_positive(prior_failures, "prior_failures", "1 (a uniform prior)")
    counts = [successes_control, trials_control, successes_treatment, trials_treatment]
    if not all(_is_integer(float(v)) and v >= 0 for v in counts) or successes_control > trials_control \
            or successes_treatment > trials_treatment:
        raise AnalysisError(f"counts {counts} are not whole numbers with 0 <= successes <= trials; pass counts per arm")
    a, b = prior_successes + successes_control, prior_failures + trials_control - successes_control
    c, d = prior_successes + successes_treatment, prior_failures + trials_treatment - successes_treatment
    mean_control, mean_treatment = a / (a + b), c / (c + d)
    exact = None if draws is not None else [_exact_greater(a, b, c, d), _exact_greater(a + 1, b, c, d),
                                            _exact_greater(a, b, c + 1, d)]
    if exact is not None and None not in exact:
        # E[max(A - B, 0)] = E[A; A > B] - E[B; A > B], each a size-biased Beta probability
        beats = exact[0]
        loss = mean_control * (1 - exact[1]) - mean_treatment * (1 - exact[2])
        method = "exact"
    else:
        if draws is not None and (not _is_integer(float(draws)) or draws < 1):
            raise AnalysisError(f"draws is {draws!r}; pass a whole number of Monte Carlo draws, e.g. 200_000")
        rng = np.random.default_rng(seed)
        size = int(draws or 1_000_000)
        control, treatment = rng.beta(a, b, size), rng.beta(c, d, size)
        beats = float(np.mean(treatment > control))
        loss = float(np.mean(np.maximum(control - treatment, 0.0)))
        method = "monte carlo"
    loss = max(loss, 0.0)
    return pd.DataFrame({
        "n_control": [int(trials_control)], "n_treatment": [int(trials_treatment)],
        "control_value": [mean_control], "treatment_value": [mean_treatment], "probability_to_beat": [beats],
        "expected_loss": [loss], "expected_loss_control": [max(loss + mean_treatment - mean_control, 0.0)],
        "method": [method],
    })


def probability_to_beat(frame: pd.DataFrame, arm_col: str, metric: str, control: str = "control",
                        treatments: Sequence[str] | None = None, prior_successes: float = 1.0,
                        prior_failures: float = 1.0, draws: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Beta-Binomial readout of a 0/1 `metric` for each treatment arm against control, one row per arm."""
    require_columns(frame, [arm_col, metric])
    arms = arms_against_control(frame, arm_col, control, treatments)
    values = require_binary(frame, metric)
    in_control = arm_mask(frame, arm_col, control)
    rows = []
    for arm in arms:
        in_arm = arm_mask(frame, arm_col, arm)
        rows.append(probability_to_beat_from_counts(
            int(values[in_control].sum()), int(in_control.sum()), int(values[in_arm].sum()), int(in_arm.sum()),
            prior_successes, prior_failures, draws, seed))
    return with_arms(arms, rows)


def normal_posterior(difference, std_error) -> pd.DataFrame:
    """probability_to_beat, expected_loss and expected_loss_control for a difference ~ N(difference, std_error^2).

    Arrays broadcast to one row each; a flat prior, so the posterior is the sampling distribution.
    """
    d = np.asarray(difference, dtype=np.float64).ravel()
    se = np.broadcast_to(np.asarray(std_error, dtype=np.float64), d.shape)
    if (se < 0).any() or not np.isfinite(se).all():
        raise AnalysisError("std_error has a negative or missing value; pass standard errors >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, d / se, np.sign(d) * np.inf)
        beats = np.where(se > 0, stats.norm.cdf(z), np.where(d > 0, 1.0, np.where(d < 0, 0.0, 0.5)))
        density = np.where(se > 0, se * stats.norm.pdf(z), 0.0)
        loss = np.where(se > 0, density - d * stats.norm.cdf(-z), np.maximum(-d, 0.0))
    return pd.DataFrame({"probability_to_beat": beats, "expected_loss": loss, "expected_loss_control": loss + d})


def probability_to_beat_normal(frame: pd.DataFrame, arm_col: str, metric: str, control: str = "control",
                               treatments: Sequence[str] | None = None) -> pd.DataFrame:
    """Normal-approximation readout of a per-unit mean (e.g. revenue per user), one row per treatment arm."""
    tests = welch_test(frame, arm_col, metric, control, treatments)
    posterior = normal_posterior(tests.difference.to_numpy(), tests.std_error.to_numpy())
    result = tests[["arm", "n_control", "n_treatment", "control_value", "treatment_value"]].copy()
    for column in posterior.columns:
        result[column] = posterior[column].to_numpy()
    result["method"] = "normal"
    return result
