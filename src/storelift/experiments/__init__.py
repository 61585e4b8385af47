"""Experiments: deterministic assignment with a persistent global holdout, exclusive layers, readouts
(sample-ratio check, fixed-horizon and always-valid tests, CUPED, ratio metrics, Bayesian, power), and
uplift models with their curves and a targeting policy."""

from .assignment import BUCKETS, HOLDOUT_ARM, AssignmentError, Experiment, bucket, is_held_out
from .bayesian import normal_posterior, probability_to_beat, probability_to_beat_from_counts, probability_to_beat_normal
from .corrections import adjust_p_values, benjamini_hochberg, holm
from .cuped import cuped_adjust, cuped_summary, cuped_theta
from .fixed_horizon import two_proportion_test, two_proportion_test_from_counts, welch_test, welch_test_from_stats
from .inputs import AnalysisError
from .layers import Layer, LayerAssignment
from .metrics import Metric
from .power import (minimum_detectable_effect_means, minimum_detectable_effect_proportions, power_means,
                    power_proportions, sample_size_means, sample_size_proportions)
from .ratio_metrics import ratio_metric_test
from .readout import readout
from .sequential import always_valid_p_values, confidence_sequence, cumulative_looks, msprt
from .srm import designed_shares, sample_ratio_check
from .uplift import SLearner, TLearner, UpliftError, XLearner
from .uplift_effects import arm_effects
from .uplift_metrics import auuc, qini_coefficient, qini_curve, uplift_at_k, uplift_by_percentile, uplift_curve
from .uplift_policy import evaluate_policy, targeting_policy

__all__ = [
    "BUCKETS", "HOLDOUT_ARM", "AnalysisError", "AssignmentError", "Experiment", "Layer", "LayerAssignment", "Metric",
    "adjust_p_values", "always_valid_p_values", "benjamini_hochberg", "bucket", "confidence_sequence",
    "cumulative_looks", "cuped_adjust", "cuped_summary", "cuped_theta", "designed_shares", "holm", "is_held_out",
    "minimum_detectable_effect_means", "minimum_detectable_effect_proportions", "msprt", "normal_posterior",
    "power_means", "power_proportions", "probability_to_beat", "probability_to_beat_from_counts",
    "probability_to_beat_normal", "ratio_metric_test", "readout", "sample_ratio_check", "sample_size_means",
    "sample_size_proportions", "two_proportion_test", "two_proportion_test_from_counts", "welch_test",
    "welch_test_from_stats",
    "SLearner", "TLearner", "UpliftError", "XLearner", "arm_effects", "auuc", "evaluate_policy", "qini_coefficient",
    "qini_curve", "targeting_policy", "uplift_at_k", "uplift_by_percentile", "uplift_curve",
]
