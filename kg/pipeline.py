"""The build pipeline: read and check facts, build named graphs, reason, validate shapes."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Dataset

from .build import build_dataset, union_graph
from .namespaces import FACTS_DIR, META_GRAPH, ONTOLOGY_DIR
from .ontology import Vocabulary, read_ontology
from .reason import reason
from .records import FactSet, read_facts
from .shapes import check_shapes, read_shapes


@dataclass
class BuildReport:
    dataset: Dataset
    facts: FactSet
    seconds: dict[str, float] = field(default_factory=dict)


def build(facts_dir: Path = FACTS_DIR, ontology_dir: Path = ONTOLOGY_DIR, validate_shapes: bool = True) -> BuildReport:
    """Run the whole pipeline; raises ``InvalidInput`` (or a subclass) before anything is returned."""
    seconds = {}
    start = time.perf_counter()
    ontology = read_ontology(ontology_dir)
    facts = read_facts(Vocabulary(ontology), facts_dir)
    dataset = build_dataset(facts, ontology)
    seconds["load"] = time.perf_counter() - start

    start = time.perf_counter()
    reason(dataset)
    seconds["reason"] = time.perf_counter() - start

    if validate_shapes:
        start = time.perf_counter()
        check_shapes(union_graph(dataset, exclude=(META_GRAPH,)), read_shapes(ontology_dir))
        seconds["shapes"] = time.perf_counter() - start
    return BuildReport(dataset, facts, seconds)
