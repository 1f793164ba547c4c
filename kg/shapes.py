"""SHACL validation of the built graph with pyshacl, reported as readable problems."""
from __future__ import annotations

from pathlib import Path

import pyshacl
from rdflib import RDFS, Graph, Namespace, URIRef

from .errors import Problem, ShapeViolation
from .namespaces import ONTOLOGY_DIR, SHAPES_FILE, compact

SH = Namespace("http://www.w3.org/ns/shacl#")


def read_shapes(ontology_dir: Path = ONTOLOGY_DIR) -> Graph:
    return Graph().parse(Path(ontology_dir) / SHAPES_FILE, format="turtle")


def shape_problems(data: Graph, shapes: Graph) -> list[Problem]:
    """Validate ``data`` (asserted + inferred, so class membership is already materialised)."""
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                           allow_warnings=True)
    if conforms:
        return []
    problems = []
    for result in report.subjects(SH.resultSeverity, SH.Violation):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage)
        label = data.value(focus, RDFS.label)
        who = f"{focus} ({label})" if label else str(focus)
        where = f" {compact(path)}" if isinstance(path, URIRef) else ""
        problems.append(Problem("SHACL shapes", None, f"{who}{where}: {message}"))
    return sorted(problems, key=str)


def check_shapes(data: Graph, shapes: Graph) -> None:
    problems = shape_problems(data, shapes)
    if problems:
        raise ShapeViolation(problems)
