"""The current state: which value of a time-varying fact holds now, shown alone in the default graph.

A property the ontology types ``cnkg:TimeVaryingProperty`` (a project's stage, an item's landscape places) states
something that changes: the article says Jaeger was incubating in 2018, today's landscape.yml that it is
graduated. Every source's graph keeps what it stated, as it stated it; the default graph — what a query without
``GRAPH`` or ``FROM`` reads — holds, for each subject and time-varying property, only the values of the latest
dated source that gives that property for that subject (:func:`superseded`). So ``?p cnkg:hasStage ?s`` answers
once per project, with today's stage, while ``GRAPH ?g { ... }``, ``FROM <graph>`` and the dated lifecycle events
still tell the history.

A source's date is its ``dct:date`` (an article section takes its document's). On the same day a landscape
snapshot, the official record, wins over an article. Graphs without a date (curated names, the ontology, the
reasoner's) never supersede anything; what the reasoner derived only from a superseded fact (a super-property's
triple, ``dct:subject`` from ``cnkg:inLandscapeCategory``) leaves the default graph with it.

Updates keep the view exact (:func:`follow`): after a change, the default graph holds what a fresh build of the
changed quads would. What is current depends only on the subject's triples of the time-varying properties and
their relatives, the sources' dates and the ontology's typings, so a change that touches none of these costs a
look at its own quads; one that touches a subject's stage recomputes that subject; one that re-dates a source or
changes which properties vary recomputes every subject.
"""
from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, RDFS, URIRef
from rdflib.namespace import DCTERMS

from .namespaces import CNKG, INFERRED_GRAPH, META_GRAPH, ONTOLOGY_GRAPH
from .quadset import QuadSet
from .terms import IntTriple


def time_varying(quads: QuadSet) -> set[URIRef]:
    """The properties the ontology declares time-varying."""
    ontology = quads.graphs.get(ONTOLOGY_GRAPH, set())
    table = quads.table
    kind, typed = table.id(CNKG.TimeVaryingProperty), table.id(RDF.type)
    if kind is None:
        return set()
    return {table.terms[s] for s, p, o in ontology if p == typed and o == kind}


def graph_dates(quads: QuadSet) -> dict:
    """Named graph -> (date, rank): the date of the source it holds the statements of, and 1 for a landscape
    snapshot (on the same day it outranks an article), else 0. Graphs without a dated source are left out."""
    meta = quads.graphs.get(META_GRAPH, set())
    table = quads.table
    ids = {name: table.id(term) for name, term in (("source", DCTERMS.source), ("date", DCTERMS.date),
                                                     ("part", DCTERMS.isPartOf), ("type", RDF.type),
                                                     ("snapshot", CNKG.LandscapeSnapshot))}
    source, date, part, typed, snapshot = (ids[k] for k in ("source", "date", "part", "type", "snapshot"))
    if source is None or date is None:
        return {}
    dates, parents, snapshots, sources = {}, {}, set(), {}
    for s, p, o in meta:
        if p == date:
            dates[s] = str(table.terms[o])
        elif p == part:
            parents[s] = o
        elif p == typed and o == snapshot:
            snapshots.add(s)
        elif p == source:
            sources[s] = o
    found = {}
    for graph, src in sources.items():
        day = dates.get(src) or dates.get(parents.get(src))
        if day:
            found[table.terms[graph]] = (day, 1 if src in snapshots else 0)
    return found


def superseded(quads: QuadSet, dates: dict | None = None) -> set[IntTriple]:
    """The triples (interned, as in ``quads``) the default graph leaves out: a value of a time-varying property
    that the latest dated source giving that property for that subject does not give, and a super-property's
    triple that the reasoner derived from such values alone. ``dates``: :func:`graph_dates` of the dataset, when
    the caller has them (else read from ``quads``)."""
    properties = {quads.table.id(p) for p in time_varying(quads)} - {None}
    if not properties:
        return set()
    dates = graph_dates(quads) if dates is None else dates
    latest: dict[tuple[int, int], tuple[tuple, set[int]]] = {}     # (subject, property) -> (when, values)
    for name, when in dates.items():
        for s, p, o in quads.graphs.get(name, ()):
            if p in properties:
                best = latest.get((s, p))
                if best is None or when > best[0]:
                    latest[(s, p)] = (when, {o})
                elif when == best[0]:
                    best[1].add(o)
    hidden = set()
    for triples in quads.graphs.values():
        for s, p, o in triples:
            best = latest.get((s, p)) if p in properties else None
            if best is not None and o not in best[1]:
                hidden.add((s, p, o))
    if hidden:
        hidden |= _derived_only(quads, hidden)
    return hidden


def _closure(pairs) -> dict:
    """Property -> every property it is a sub-property of, directly or not (itself left out), from the pairs
    ``(sub, super)``."""
    supers: dict = {}
    for sub, sup in pairs:
        if sub != sup:
            supers.setdefault(sub, set()).add(sup)
    changed = True
    while changed:                                  # the transitive closure (a handful of properties)
        changed = False
        for p, above in supers.items():
            more = set().union(*(supers.get(q, set()) for q in above)) - above - {p}
            if more:
                above |= more
                changed = True
    return supers


def _derived_only(quads: QuadSet, hidden: set[IntTriple]) -> set[IntTriple]:
    """The reasoner's super-property triples ``(s, q, o)`` of hidden ones that nothing visible supports: no graph
    but the reasoner's states them, and no visible ``(s, p, o)`` has ``p`` a sub-property of ``q``."""
    sub_of = quads.table.id(RDFS.subPropertyOf)
    supers = _closure((s, o) for s, p, o in quads.graphs.get(ONTOLOGY_GRAPH, ()) if p == sub_of)
    candidates = {(s, q, o) for s, p, o in hidden for q in supers.get(p, ())}
    if not candidates:
        return set()
    graphs = quads.graphs.items()       # looked up per candidate: no copy of the whole dataset (5 M triples at 100x)

    def held(triple, skip=None) -> bool:
        return any(triple in triples for name, triples in graphs if name != skip)

    found = set()
    for s, q, o in candidates:
        if held((s, q, o), skip=INFERRED_GRAPH):
            continue
        if any((s, p, o) not in hidden and held((s, p, o)) for p, above in supers.items() if q in above):
            continue
        found.add((s, q, o))
    return found


# ---------------------------------------------------------------------------------------------- under change

_DATING = (DCTERMS.source, DCTERMS.date, DCTERMS.isPartOf)   # what graph_dates reads, with the snapshots' typing


@dataclass(frozen=True)
class Basis:
    """What the current view depends on besides the time-varying statements themselves."""
    triples: frozenset    # the ontology's cnkg:TimeVaryingProperty typings and rdfs:subPropertyOf triples
    varying: frozenset    # the time-varying properties
    related: frozenset    # those, their super-properties and these' sub-properties: a triple with any other property
    #                       is never hidden, and its change never changes what is
    dates: dict           # graph_dates(): named graph -> (date, rank) of its source


def basis(reader) -> Basis:
    """The basis as ``reader`` (a store) holds it now."""
    found = [q[:3] for q in reader.quads((None, RDF.type, CNKG.TimeVaryingProperty, ONTOLOGY_GRAPH))]
    found += [q[:3] for q in reader.quads((None, RDFS.subPropertyOf, None, ONTOLOGY_GRAPH))]
    meta = QuadSet()
    for pattern in [(None, p, None, META_GRAPH) for p in _DATING] + \
            [(None, RDF.type, CNKG.LandscapeSnapshot, META_GRAPH)]:
        meta.graph(META_GRAPH).addN(q[:3] for q in reader.quads(pattern))
    return _basis(found, graph_dates(meta))


def _basis(triples, dates: dict) -> Basis:
    triples = frozenset(triples)
    varying = {s for s, p, o in triples if p == RDF.type and o == CNKG.TimeVaryingProperty}
    supers = _closure((s, o) for s, p, o in triples if p == RDFS.subPropertyOf)
    above = varying.union(*(supers.get(p, set()) for p in varying))
    related = above | {p for p, sups in supers.items() if sups & above}
    return Basis(triples, frozenset(varying), frozenset(related), dates)


def _shapes_vocabulary(quad) -> bool:
    s, p, o, g = quad
    return g == ONTOLOGY_GRAPH and (p == RDFS.subPropertyOf or (p == RDF.type and o == CNKG.TimeVaryingProperty))


def _dates_a_source(quad) -> bool:
    s, p, o, g = quad
    return g == META_GRAPH and (p in _DATING or (p == RDF.type and o == CNKG.LandscapeSnapshot))


def follow(reader, removed, added, known: Basis | None = None) -> tuple[Basis, set, set]:
    """What the default graph must lose and gain, after ``removed`` and ``added`` (quads ``(s, p, o, graph)``, rdflib
    terms) were applied to the named graphs of ``reader`` (a store: ``quads`` reads its named graphs, ``triples``
    its default graph), to hold what a fresh build of the same quads would: ``(basis, lose, gain)``, the two last
    sets of triples. ``known``: the basis before the change (read again from ``reader`` when None or changed)."""
    changed = [tuple(q) for q in removed] + [tuple(q) for q in added]
    reshaped = {q[:3] for q in changed if _shapes_vocabulary(q)}
    redated = any(_dates_a_source(q) for q in changed)
    now = known if known is not None and not reshaped and not redated else basis(reader)
    if reshaped or redated:
        # every subject: with the properties related before the change too (a superset of the old triples)
        properties = now.related | _basis(now.triples | reshaped, {}).related
        subjects = [None]
    else:
        properties = now.related
        subjects = list({q[0] for q in changed if q[1] in properties})
        if not subjects:
            return now, set(), set()
    quads = QuadSet()
    quads.graph(ONTOLOGY_GRAPH).addN(now.triples)
    stated, shown = set(), set()
    for p in properties:
        for s in subjects:
            for *triple, graph in reader.quads((s, p, None, None)):
                quads.graph(graph).add(tuple(triple))
                stated.add(tuple(triple))
            shown.update(reader.triples((s, p, None)))
    terms = quads.table.terms
    wanted = stated - {(terms[s], terms[p], terms[o]) for s, p, o in superseded(quads, now.dates)}
    return now, shown - wanted, wanted - shown
