"""SHACL validation of the built graph, reported as readable problems.

The shapes are compiled to SPARQL and checked by Oxigraph (:mod:`cnkg.shacl_sparql`); pySHACL is the reference,
used when the shapes use a construct the compiler does not translate, and by the tests that compare the two."""
from __future__ import annotations

import logging
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDFS, Graph, URIRef

from .errors import Problem, ShapeViolation
from .extras import require
from .namespaces import ID, ONTOLOGY_DIR, SHAPES_FILE, compact
from .shacl_sparql import SH, UnsupportedShape, Violation, compile_shapes, violations
from .store import DEFAULT, from_ox, to_ox

log = logging.getLogger(__name__)
VALIDATORS = ("sparql", "pyshacl")


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


def shape_problems(data: Graph | ox.Store, shapes: Graph, core_targets: bool = True,
                   validator: str = "sparql") -> list[Problem]:
    """Validate ``data`` (asserted + inferred, so class membership is already materialised): an rdflib graph, or
    an Oxigraph store whose default graph holds it. ``validator``: ``"sparql"`` (compiled, the default; pySHACL
    when a shape uses a construct it does not compile, with a warning naming it) or ``"pyshacl"``."""
    return _problems(*_violations(data, shapes, core_targets, validator))


def _violations(data: Graph | ox.Store, shapes: Graph, core_targets: bool, validator: str):
    """The violations (a list) and a function giving a focus node's label."""
    if validator not in VALIDATORS:
        raise ValueError(f"unknown SHACL validator {validator!r}: expected one of {', '.join(VALIDATORS)}")
    if validator == "sparql":
        try:
            checks = compile_shapes(shapes)
        except UnsupportedShape as error:
            log.warning("SHACL shapes checked with pySHACL: %s", error)
        else:
            store = data if isinstance(data, ox.Store) else as_store(data)
            return list(violations(store, checks)), lambda focus: _label(store, focus)
    graph = data if isinstance(data, Graph) else _as_graph(data)
    return (pyshacl_violations(graph, shapes, core_targets),
            lambda focus: min(graph.objects(focus, RDFS.label), key=str, default=None))


def pyshacl_violations(data: Graph, shapes: Graph, core_targets: bool = True) -> list[Violation]:
    """The reference: pySHACL's violations. ``inplace=True``: pySHACL otherwise copies the data graph first
    (5–6 s at 10×, and a second copy in memory); with no inference and no SHACL rules in our shapes it never
    writes to it."""
    require("SHACL validation with pySHACL (the reference, and the fallback for shapes the compiled checks do not "
            "translate)", "shacl", "pyshacl")
    import pyshacl  # the reference only: loaded when used

    if core_targets:
        shapes = with_core_targets(shapes, data)
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                           allow_warnings=True, inplace=True)
    if conforms:
        return []
    return [Violation(report.value(result, SH.focusNode), report.value(result, SH.resultPath),
                      report.value(result, SH.sourceConstraintComponent), report.value(result, SH.value),
                      str(report.value(result, SH.resultMessage)))
            for result in report.subjects(SH.resultSeverity, SH.Violation)]


def _problems(found, label_of) -> list[Problem]:
    problems = []
    for violation in found:
        label = label_of(violation.focus)
        who = f"{violation.focus} ({label})" if label else str(violation.focus)
        path = violation.path
        where = f" {compact(path)}" if isinstance(path, URIRef) else ""
        problems.append(Problem("SHACL shapes", None, f"{who}{where}: {violation.message}"))
    return sorted(set(problems), key=str)


def as_store(data: Graph) -> ox.Store:
    """An in-memory Oxigraph store holding ``data`` in its default graph, as :func:`shape_problems` checks it."""
    store = ox.Store()
    store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), DEFAULT) for s, p, o in data)
    return store


def _as_graph(store: ox.Store) -> Graph:
    graph = Graph()
    for quad in store.quads_for_pattern(None, None, None, DEFAULT):
        graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    return graph


def _label(store: ox.Store, focus):
    """The focus node's label (the smallest, when a violation is that it has two), or None."""
    if not isinstance(focus, URIRef):
        return None
    labels = store.quads_for_pattern(to_ox(focus), to_ox(RDFS.label), None, DEFAULT)
    return min((from_ox(quad.object) for quad in labels), key=str, default=None)


def check_shapes(data: Graph | ox.Store, shapes: Graph, validator: str = "sparql") -> None:
    found, label_of = _violations(data, shapes, True, validator)
    if found:   # the violations themselves go with the problems: a landscape import names the item and field
        raise ShapeViolation(_problems(found, label_of), violations=found)
