"""Customer intelligence: RFM segments, clusters, cohorts, lifetime value, churn and propensity."""

from .bgnbd import BetaGeo
from .churn import ChurnModel, evaluate_churn, recency_baseline
from .clusters import CustomerClusters
from .clv import customer_lifetime_value
from .clv_explain import clv_drivers, clv_partial_dependence, clv_reasons
from .clv_data import rfm_summary, rfm_summary_frame
from .clv_fit import ModelDataError
from .cohorts import cohort_activity, retention_matrix
from .features import FEATURE_DESCRIPTIONS, CustomerModelError, customer_features, future_labels
from .gamma_gamma import GammaGamma
from .rfm import SEGMENT_RULES, CustomerDataError, pareto_curve, rfm_grid, rfm_table, segment_summary, top_share
from .scoring import CustomerScores, score_customers
from .spend import SpendModel, evaluate_spend
from .transactions import customer_orders

__all__ = [
    "SEGMENT_RULES", "FEATURE_DESCRIPTIONS",
    "BetaGeo", "ChurnModel", "CustomerClusters", "CustomerScores", "GammaGamma", "SpendModel",
    "CustomerDataError", "CustomerModelError", "ModelDataError",
    "clv_drivers", "clv_partial_dependence", "clv_reasons",
    "cohort_activity", "customer_features", "customer_lifetime_value", "customer_orders", "evaluate_churn",
    "evaluate_spend", "future_labels", "pareto_curve", "recency_baseline", "retention_matrix", "rfm_grid",
    "rfm_summary", "rfm_summary_frame", "rfm_table", "score_customers", "segment_summary", "top_share",
]
