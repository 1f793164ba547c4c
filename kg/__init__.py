"""cnkg: a knowledge graph of the cloud-native ecosystem, with OWL 2 RL lineage and named SPARQL queries."""
from .api import Counts, KnowledgeGraph, load
from .errors import CnkgError, InvalidInput, Problem, ReasoningError, ShapeViolation
from .pipeline import build

__version__ = "0.1.0"
__all__ = ["load", "build", "KnowledgeGraph", "Counts", "CnkgError", "InvalidInput", "Problem", "ReasoningError",
           "ShapeViolation", "__version__"]
