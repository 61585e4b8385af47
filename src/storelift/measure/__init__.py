"""KPIs, revenue aggregates, decision outcomes and ROI, as engine-portable Ibis expressions and frames."""

from .decision_outcomes import decision_outcomes
from .kpis import (
    INITIATIVE_INDICATORS, KpiError, average_order_value, cart_abandonment_rate, churn_rate, click_through_rate,
    conversion_rate, initiative_indicators, recommendation_ctr, revenue_per_session, search_to_conversion,
)
from .revenue import revenue_by_month
from .roi import (
    CostItem, RoiError, Scenario, default_scenarios, roi, roi_readout, roi_scenarios, total_cost_of_ownership,
    treatment_readout, window_outcomes,
)

__all__ = [
    "INITIATIVE_INDICATORS", "CostItem", "KpiError", "RoiError", "Scenario",
    "average_order_value", "cart_abandonment_rate", "churn_rate", "click_through_rate", "conversion_rate",
    "decision_outcomes", "default_scenarios", "initiative_indicators", "recommendation_ctr", "revenue_by_month",
    "revenue_per_session", "roi", "roi_readout", "roi_scenarios", "search_to_conversion", "total_cost_of_ownership",
    "treatment_readout", "window_outcomes",
]
