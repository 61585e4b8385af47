"""Recommendations: interactions, candidate models (Popularity, ItemKNN, EASE) and offline evaluation."""

from .evaluate import EvaluationStage, LeaveOneOutSplit, evaluate, leave_one_out, ranking_metrics, target_ranks
from .interactions import Interactions, RecommendDataError, interaction_matrix, parse_sequences
from .models import RECOMMENDATION_COLUMNS, EASE, ItemKNN, Popularity, RecommendModelError, Recommender, top_k

__all__ = [
    "RECOMMENDATION_COLUMNS",
    "EASE", "ItemKNN", "Popularity", "Recommender",
    "EvaluationStage", "Interactions", "LeaveOneOutSplit",
    "RecommendDataError", "RecommendModelError",
    "evaluate", "interaction_matrix", "leave_one_out", "parse_sequences", "ranking_metrics", "target_ranks",
    "top_k",
]
