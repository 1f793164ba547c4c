"""SHACL validation of the built graph with pyshacl, reported as readable problems."""
from __future__ import annotations

from pathlib import Path

import pyshacl
from rdflib import RDFS, Graph, Namespace, URIRef

from .errors import Problem, ShapeViolation
from .namespaces import ID, ONTOLOGY_DIR, SHAPES_FILE, compact

SH = Namespace("http://www.w3.org/ns/shacl#")


def read_shapes(ontology_dir: Path = ONTOLOGY_DIR) -> Graph:
    return Graph().parse(Path(ontology_dir) / SHAPES_FILE, format="turtle")


RESOLVED_REFERENCES = URIRef("https://w3id.org/cnkg/shapes#ResolvedReferences")


def with_core_targets(shapes: Graph, data: Graph) -> Graph:
    """``shapes`` with ResolvedReferences' SPARQL target ("every entity IRI used as an object") replaced by the same
    focus nodes as core targets: ``sh:targetObjectsOf`` each predicate that has an entity IRI as an object in
    ``data`` whose objects are all entity IRIs, and ``sh:targetNode`` each entity IRI that is the object of a
    predicate that also points elsewhere (``dct:isPartOf`` links entities and source lines alike). pySHACL
    evaluates the SPARQL target with rdflib's SPARQL engine (2.3 s of 4.4 s at 1×); the core targets select the
    same nodes (tests/test_ontology.py checks both give the same report)."""
    target = shapes.value(RESOLVED_REFERENCES, SH.target)
    if target is None:
        return shapes
    entity = str(ID)
    predicates = {p for _, p, o in data if isinstance(o, URIRef) and str(o).startswith(entity)}
    mixed = {p for _, p, o in data if p in predicates and not (isinstance(o, URIRef) and str(o).startswith(entity))}
    out = Graph()
    for prefix, namespace in shapes.namespaces():
        out.bind(prefix, namespace)
    for triple in shapes:
        if triple[0] != target and triple != (RESOLVED_REFERENCES, SH.target, target):
            out.add(triple)
    for predicate in predicates - mixed:
        out.add((RESOLVED_REFERENCES, SH.targetObjectsOf, predicate))
    for predicate in mixed:
        for node in data.objects(None, predicate):
            if isinstance(node, URIRef) and str(node).startswith(entity):
                out.add((RESOLVED_REFERENCES, SH.targetNode, node))
    return out


def shape_problems(data: Graph, shapes: Graph, core_targets: bool = True) -> list[Problem]:
    """Validate ``data`` (asserted + inferred, so class membership is already materialised).

    ``inplace=True``: pySHACL otherwise copies the data graph first (5–6 s at 10×, and a second copy in memory);
    with no inference and no SHACL rules in our shapes it never writes to it."""
    if core_targets:
        shapes = with_core_targets(shapes, data)
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                           allow_warnings=True, inplace=True)
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
