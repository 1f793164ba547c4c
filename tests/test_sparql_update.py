"""Updates read without rdflib's parser (cnkg.sparql_update) make the same change as rdflib's evaluation did:
data and graph operations applied in order, and one DELETE/INSERT ... WHERE."""
from __future__ import annotations

import pytest
from rdflib import URIRef

from cnkg.server.update import UPDATES_GRAPH, apply, parse_update
from cnkg.sparql_update import data_change, modify_change

UPDATES = [
    "INSERT DATA { <urn:x-test:a> <urn:x-test:b> 'c' . GRAPH <urn:x-test:g> { <urn:x-test:a> <urn:x-test:b> 1 } }",
    "DELETE DATA { id:jaeger cnkg:inspiredBy id:dapper }",
    "INSERT { ?p <urn:x-test:flag> true } WHERE { ?p a cnkg:Project }",
    "DELETE { ?s cnkg:integratesWith ?o } WHERE { ?s cnkg:integratesWith ?o }",
    "DELETE WHERE { ?s rdfs:label \"Jaeger\" }",
    "WITH <urn:x-test:g> INSERT { ?s <urn:x-test:seen> ?o } WHERE { ?s cnkg:inspiredBy ?o }",
    "PREFIX ex: <urn:x-test:> DELETE { ?s rdfs:label ?l } INSERT { ?s ex:name ?l } WHERE { ?s rdfs:label ?l "
    "FILTER(STRSTARTS(?l, 'Z')) }",
    "INSERT { GRAPH ?g { ?s <urn:x-test:copy> ?o } } WHERE { GRAPH ?g { ?s cnkg:inspiredBy ?o } }",
    "INSERT { ?s <urn:x-test:made> [ <urn:x-test:by> ?o ] } WHERE { ?s cnkg:developedBy ?o }",
    "INSERT { ?s <urn:x-test:nothing> ?unbound } WHERE { ?s a cnkg:Project }",
    "CLEAR GRAPH <https://w3id.org/cnkg/graph/mini/two>",
    "DROP SILENT GRAPH <urn:x-test:none>",
    "COPY <https://w3id.org/cnkg/graph/mini/one> TO <urn:x-test:copy>",
    "ADD <https://w3id.org/cnkg/graph/mini/two> TO GRAPH <https://w3id.org/cnkg/graph/mini/one>",
    "MOVE GRAPH <https://w3id.org/cnkg/graph/mini/two> TO <urn:x-test:moved>",
    "CREATE SILENT GRAPH <https://w3id.org/cnkg/graph/mini/one>",
    "INSERT DATA { GRAPH <urn:x-test:g> { <urn:x-test:a> <urn:x-test:b> 1 } } ; "
    "COPY <urn:x-test:g> TO <urn:x-test:h> ; DELETE DATA { GRAPH <urn:x-test:g> { <urn:x-test:a> <urn:x-test:b> 1 } }",
    "CLEAR NAMED",
]


def rows(graph):
    def select(query, default, named):
        result = graph.store.select(query, default_graph=None if default is None else [URIRef(g) for g in default],
                                    named_graphs=None if named is None else [URIRef(g) for g in named])
        return [{str(k): v for k, v in row.items()} for row in result.bindings]

    return select


def canonical(quads):
    """Quads with blank nodes replaced by a marker (they are fresh on both sides)."""
    from rdflib import BNode

    return sorted(tuple("_:" if isinstance(t, BNode) else str(t) for t in q) for q in quads)


@pytest.mark.parametrize("text", UPDATES)
def test_the_same_change_as_rdflib(private_graph, text):
    checked = parse_update(text, "http://localhost/sparql", [], [])
    expected = apply(private_graph.dataset, checked, [], [])
    store = private_graph.store
    ours = data_change(text, "http://localhost/sparql", store, UPDATES_GRAPH) or \
        modify_change(text, "http://localhost/sparql", store, UPDATES_GRAPH, rows(private_graph))
    assert ours is not None
    assert canonical(ours.added) == canonical(expected.added)
    assert canonical(ours.removed) == canonical(expected.removed)


def test_other_requests_are_left_to_the_general_path(private_graph):
    for text in ("CLEAR DEFAULT", "INSERT DATA { <urn:a> <urn:b> 1 } ; DELETE WHERE { ?s ?p ?o }",
                 "LOAD <http://127.0.0.1:9/x>"):
        assert data_change(text, None, private_graph.store, UPDATES_GRAPH) is None
        assert modify_change(text, None, private_graph.store, UPDATES_GRAPH, rows(private_graph)) is None
