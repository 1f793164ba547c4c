"""Differential checks: a named query's answer from Oxigraph (how cnkg answers) against rdflib's evaluation of the
same query over the same data (how cnkg answered before), compared as multisets of rows."""
from __future__ import annotations

from collections import Counter

from rdflib import XSD, Dataset, Literal
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.sparql import prepareQuery

import cnkg
from cnkg.namespaces import PREFIXES


def _plain(term):
    # rdflib keeps "x"^^xsd:string apart from "x"; RDF 1.1 (and Oxigraph) make them one term
    if isinstance(term, Literal) and term.datatype == XSD.string:
        return Literal(str(term))
    return term


def rows(result) -> Counter:
    if result.type == "ASK":
        return Counter([result.askAnswer])
    return Counter(tuple(_plain(row.get(var)) for var in result.vars) for row in result.bindings)


def current_dataset(graph: cnkg.KnowledgeGraph) -> Dataset:
    """The store's graphs as an rdflib Dataset whose default graph is the store's own (the union less the
    superseded values of time-varying facts, cnkg.current), not rdflib's plain union."""
    dataset = Dataset(default_union=False)
    dataset.addN((s, p, o, dataset.graph(g)) for s, p, o, g in graph.store.quads())
    default = dataset.graph(DATASET_DEFAULT_GRAPH_ID)
    for triple in graph.store.triples():
        default.add(triple)
    return dataset


def differences(graph: cnkg.KnowledgeGraph) -> dict[str, str]:
    found = {}
    data = current_dataset(graph)
    for name, query in sorted(graph.queries.items()):
        try:
            bindings = graph.bind(query, {})
        except cnkg.InvalidInput:  # its default needs data this graph lacks (a landscape snapshot): not runnable
            continue
        oxigraph = rows(graph.query(query))
        rdflib = rows(data.query(prepareQuery(query.text, initNs=PREFIXES), initBindings=bindings))
        if not oxigraph and rdflib and all(all(cell is None for cell in row) for row in rdflib):
            continue  # GROUP BY over no solutions: no group (W3C agg-empty-group-*); rdflib's one empty row is its bug
        if oxigraph != rdflib:
            found[name] = f"Oxigraph {sum(oxigraph.values())} rows, rdflib {sum(rdflib.values())}; only in " \
                          f"Oxigraph: {list((oxigraph - rdflib))[:2]}; only in rdflib: {list((rdflib - oxigraph))[:2]}"
    return found


