"""Attribution: rule-based, Markov-chain and Shapley models over customer paths, and a marketing-mix model."""

from .budget import BudgetAllocation, reallocate_budget
from .compare import MODELS, compare_attribution, share_errors
from .daily import daily_media_frame, daily_revenue, daily_spend
from .markov import markov_attribution, removal_effects, transition_matrix
from .mmm import MarketingMixModel
from .paths import AttributionError, conversions_from_orders, touch_paths
from .response import geometric_adstock, hill
from .rules import first_touch, last_touch, linear, position_based, time_decay
from .shapley import coalition_rates, shapley_attribution, shapley_values

__all__ = [
    "MODELS", "AttributionError", "BudgetAllocation", "MarketingMixModel", "coalition_rates", "compare_attribution",
    "conversions_from_orders", "daily_media_frame", "daily_revenue", "daily_spend",
    "first_touch", "geometric_adstock", "hill", "last_touch", "linear",
    "markov_attribution", "position_based", "reallocate_budget", "removal_effects", "shapley_attribution",
    "shapley_values", "share_errors", "time_decay", "touch_paths", "transition_matrix",
]
