"""Recommendations: interactions, candidate models, offline evaluation, retrieval, rules and personalization."""

from .content import ContentKNN, Hybrid
from .evaluate import EvaluationStage, LeaveOneOutSplit, evaluate, leave_one_out, ranking_metrics, target_ranks
from .explore import ThompsonSlot, simulate_regret
from .factorization import ALS, BPR
from .interactions import (
    EVENT_WEIGHTS, Interactions, RecommendDataError, interaction_matrix, parse_sequences, weighted_interactions,
)
from .models import (
    RECOMMENDATION_COLUMNS, SIMILAR_ITEM_COLUMNS, EASE, ItemKNN, Popularity, RecommendModelError, Recommender, top_k,
)
from .personalize import PERSONALIZED_COLUMNS, Personalizer, history_vector
from .retrieval import FactorRetriever, InnerProductIndex
from .rules import ItemCatalog, RecommendationRules, exposure_share
from .sequential import SASRec, event_sequences, stage_sequences
from .temporal import TemporalSplit, evaluate_temporal, temporal_split

__all__ = [
    "EVENT_WEIGHTS", "PERSONALIZED_COLUMNS", "RECOMMENDATION_COLUMNS", "SIMILAR_ITEM_COLUMNS",
    "ALS", "BPR", "ContentKNN", "EASE", "Hybrid", "ItemKNN", "Popularity", "Recommender", "SASRec",
    "EvaluationStage", "FactorRetriever", "InnerProductIndex", "Interactions", "ItemCatalog", "LeaveOneOutSplit",
    "Personalizer", "RecommendationRules", "TemporalSplit", "ThompsonSlot",
    "RecommendDataError", "RecommendModelError",
    "evaluate", "evaluate_temporal", "event_sequences", "exposure_share", "history_vector", "interaction_matrix", "leave_one_out",
    "parse_sequences", "ranking_metrics", "simulate_regret", "stage_sequences", "target_ranks", "temporal_split", "top_k", "weighted_interactions",
]
