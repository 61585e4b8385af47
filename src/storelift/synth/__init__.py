"""A synthetic online store with known ground truth, for tests, demos and benchmarks."""

from .bias import PlantedBias
from .store import SynthError, generate_store
from .truth import TruthParams

__all__ = ["PlantedBias", "SynthError", "TruthParams", "generate_store"]
