"""cnkg: a knowledge graph of the cloud-native ecosystem, with OWL 2 RL lineage and named SPARQL queries."""
from .errors import CnkgError, InvalidInput, Problem, ReasoningError, ShapeViolation

__version__ = "0.1.0"

# Loaded on first use (PEP 562): importing a light submodule (the query worker, cnkg.sandbox) must not pull in
# rdflib and the rest, and serving from the cache never needs the build pipeline (owlrl, pySHACL).
_LAZY = {"load": "api", "connect": "api", "KnowledgeGraph": "api", "Counts": "api", "Change": "api", "build": "pipeline"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'cnkg' has no attribute {name!r}")


__all__ = ["load", "connect", "build", "KnowledgeGraph", "Counts", "Change", "CnkgError", "InvalidInput", "Problem", "ReasoningError",
           "ShapeViolation", "__version__"]
