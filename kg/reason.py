"""OWL 2 RL materialisation, kept apart in the inferred graph and cleaned of noise.

Two reasoners give the same result: ``rules`` (the default, ``cnkg.rules``: the ontology's axioms compiled into
rules, about 100x faster) and ``owlrl`` (the reference). When the input uses OWL the compiled rules do not
implement, ``rules`` warns (``ReasonerFallback``) and owlrl runs instead.

owlrl's raw closure is mostly noise for users: a reflexive owl:sameAs for every term, datatype and
annotation typings, literal-subject triples, TBox entailments. We keep the triples about resources named by an
IRI (any namespace but RDF's and OWL's own) that say something (lineage chains, inverse and symmetric edges,
typings, aligned properties).
owlrl reports inconsistencies by adding ``err:ErrorMessage`` nodes instead of raising: those become a
``ReasoningError`` naming the entities involved.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Literal as OneOf

import owlrl
from rdflib import OWL, RDF, RDFS, XSD, BNode, Dataset, Graph, URIRef

from .build import union_graph
from .errors import Problem, ReasoningError
from .namespaces import ERR, INFERRED_GRAPH, META_GRAPH
from .quadset import QuadSet
from .rules import Materialisation, Unsupported, UnsupportedConstruct, inconsistency_problem, paused_gc

REASONERS = ("rules", "owlrl")
NOT_SOURCE = (META_GRAPH, INFERRED_GRAPH)   # the graphs the reasoner does not read: provenance, and its own output

_BUILTIN = (str(OWL), str(RDF), str(RDFS), str(XSD))
_SAME_AS, _TYPE = OWL.sameAs, RDF.type   # looked up once: is_meaningful runs per triple


def owl_rl_closure(graph: Graph) -> Graph:
    """Run owlrl's OWL 2 RL rules over a copy of ``graph`` and return the raw new triples."""
    work = Graph()
    for triple in graph:
        work.add(triple)
    before = set(work)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(work)
    new = Graph()
    for triple in work:
        if triple not in before:
            new.add(triple)
    return new


def is_meaningful(triple: tuple) -> bool:
    """True for an inferred triple that a user would want to see: about any resource named by an IRI (cnkg's
    entities, or a subject an update brought in from another namespace), not about RDF's and OWL's own terms."""
    s, p, o = triple
    if not isinstance(s, URIRef) or str.startswith(s, _BUILTIN) or isinstance(o, BNode):
        return False
    if not str.startswith(p, _BUILTIN):   # first: rdflib compares terms in Python, and most predicates are ours
        return True
    if p is _TYPE or p == _TYPE:          # the compiled reasoner's rdf:type is this very object
        return isinstance(o, URIRef) and not str.startswith(o, _BUILTIN)
    if p == _SAME_AS:
        return s != o
    return False


def inconsistencies(closure: Graph, labels: Graph) -> list[Problem]:
    """owlrl's ``err:ErrorMessage`` reports, with IRIs replaced by labels."""
    problems = []
    for node in closure.subjects(RDF.type, ERR.ErrorMessage):
        for message in closure.objects(node, ERR.error):
            problems.append(inconsistency_problem(message, lambda iri: labels.value(iri, RDFS.label)))
    return problems


class ReasonerFallback(UserWarning):
    """The compiled reasoner met OWL it does not implement; owlrl ran instead (slower, same semantics)."""


def _source_triples(dataset: Dataset) -> Iterator[tuple]:
    """The triples of the ontology, curated and section graphs (a triple in several graphs once per graph)."""
    for graph in list(dataset.graphs()):   # the store, graph by graph: half the time of dataset.quads()
        if graph.identifier not in NOT_SOURCE:
            for triple, _ in dataset.store.triples((None, None, None), graph):
                yield triple


def materialisation(dataset: Dataset) -> Materialisation:
    """The compiled reasoner's closure of ``dataset``, ready for incremental ``add``/``remove``. Raises
    ``UnsupportedConstruct`` (use owlrl) or ``ReasoningError``."""
    return Materialisation(_source_triples(dataset), keep=is_meaningful)


def _located(exc: UnsupportedConstruct, graphs_of: Callable[[tuple], Iterable]) -> UnsupportedConstruct:
    """``exc`` with the named graph of each unsupported triple (``graphs_of(triple)``: the graphs holding it), so
    the message says where to look."""
    located = []
    for found in exc.found:
        graphs = sorted(g for g in graphs_of(found.triple) if g not in NOT_SOURCE)
        located.append(Unsupported(found.construct, found.triple, graphs[0] if graphs else None))
    return UnsupportedConstruct(located)


def _fallback_warning(exc: UnsupportedConstruct, graphs_of: Callable[[tuple], Iterable]) -> None:
    warnings.warn(ReasonerFallback(f"{_located(exc, graphs_of)}; reasoning with owlrl instead"), stacklevel=3)


def _check_reasoner(reasoner: str) -> None:
    if reasoner not in REASONERS:
        raise ValueError(f"unknown reasoner {reasoner!r}; expected one of {', '.join(REASONERS)}")


def reason_quads(quads: QuadSet, reasoner: OneOf["rules", "owlrl"] = "rules") -> None:
    """:func:`reason` over the build's compact dataset: its inferred graph set to the closure's kept triples.
    The compiled reasoner shares the dataset's term table, so the build holds each term once."""
    _check_reasoner(reasoner)
    if reasoner == "rules":
        with paused_gc():   # see reason()
            try:
                closure = Materialisation(quads.union(exclude=NOT_SOURCE), keep=is_meaningful, table=quads.table)
            except UnsupportedConstruct as exc:
                _fallback_warning(exc, quads.graphs_holding)
            else:
                quads.set_graph(INFERRED_GRAPH, closure.inferred())
                return
    quads.set_graph(INFERRED_GRAPH, reason(quads.to_dataset(), "owlrl"))


def reason(dataset: Dataset, reasoner: OneOf["rules", "owlrl"] = "rules") -> Graph:
    """Materialise the OWL 2 RL closure of ``dataset`` into its inferred graph and return that graph.

    ``reasoner="rules"`` falls back to owlrl, with a ``ReasonerFallback`` warning naming the construct and graph,
    when the input uses OWL the compiled rules do not implement."""
    _check_reasoner(reasoner)
    if reasoner == "rules":
        # One pause of the cyclic garbage collector for the whole step, and the closure freed before it ends: the
        # collector then never walks the closure's million small sets and tuples (they hold no cycles).
        with paused_gc():
            try:
                closure = materialisation(dataset)
            except UnsupportedConstruct as exc:
                _fallback_warning(exc, lambda triple: (g for *_, g in dataset.quads((*triple, None))))
            else:
                inferred = dataset.graph(INFERRED_GRAPH)
                inferred.remove((None, None, None))
                # into the store directly: Graph.addN re-checks each quad's terms and graph in Python (a fifth of
                # the time at 10x), and these are the compiled reasoner's own rdflib terms, for this graph
                dataset.store.addN((s, p, o, inferred) for s, p, o in closure.inferred())
                del closure
                return inferred
    source = union_graph(dataset, exclude=(META_GRAPH, INFERRED_GRAPH))  # ontology, curated and section graphs
    closure = owl_rl_closure(source)
    problems = inconsistencies(closure, source)
    if problems:
        raise ReasoningError(problems)
    inferred = dataset.graph(INFERRED_GRAPH)
    inferred.remove((None, None, None))
    for triple in closure:
        if is_meaningful(triple) and triple not in source:
            inferred.add(triple)
    return inferred

