"""cnkg: a knowledge graph of the cloud-native ecosystem, with OWL 2 RL lineage and named SPARQL queries."""
from .api import Counts, KnowledgeGraph, load
from .errors import CnkgError, InvalidInput, Problem, ReasoningError, ShapeViolation

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "build":  # the build pipeline (owlrl, pySHACL) loads only when used: serving from cache skips it
        from .pipeline import build

        return build
    raise AttributeError(f"module 'cnkg' has no attribute {name!r}")


__all__ = ["load", "build", "KnowledgeGraph", "Counts", "CnkgError", "InvalidInput", "Problem", "ReasoningError",
           "ShapeViolation", "__version__"]
