"""Experiments: deterministic assignment with a persistent global holdout."""

from .assignment import BUCKETS, HOLDOUT_ARM, AssignmentError, Experiment, bucket, is_held_out

__all__ = ["BUCKETS", "HOLDOUT_ARM", "AssignmentError", "Experiment", "bucket", "is_held_out"]
