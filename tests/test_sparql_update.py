"""Updates read without rdflib (cnkg.sparql_update, WHERE clauses by Oxigraph) make the same change as a second
implementation on rdflib's SPARQL algebra (tests/update_oracle.py): operations applied in order, each seeing what the
ones before it did."""
from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import URIRef

from cnkg.server.update import UPDATES_GRAPH
from cnkg.sparql_update import RefusedLoad, UpdateRefused, change
from cnkg.store import TripleStore
from update_oracle import apply, parse_update

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
    # several operations with WHERE clauses: each sees the changes of the ones before it
    "INSERT DATA { id:jaeger <urn:x-test:tag> 'a' } ; INSERT { ?s <urn:x-test:tag2> ?t } WHERE { ?s <urn:x-test:tag> ?t }",
    "DELETE WHERE { ?s cnkg:inspiredBy ?o } ; INSERT { ?s <urn:x-test:orphan> true } WHERE { ?s a cnkg:Project "
    "FILTER NOT EXISTS { ?s cnkg:inspiredBy ?any } }",
    "PREFIX ex: <urn:x-test:> INSERT { ?s ex:n 1 } WHERE { ?s rdfs:label ?l } ; DELETE { ?s ex:n 1 } "
    "INSERT { ?s ex:n 2 } WHERE { ?s ex:n 1 }",
    "INSERT DATA { GRAPH <urn:x-test:g> { <urn:x-test:a> <urn:x-test:b> 1 } } ; CLEAR GRAPH <urn:x-test:g> ; "
    "INSERT { GRAPH <urn:x-test:h> { ?s ?p ?o } } WHERE { GRAPH <urn:x-test:g> { ?s ?p ?o } }",
    "INSERT DATA { <urn:x-test:a> <urn:x-test:b> _:x } ; INSERT { ?o <urn:x-test:back> ?s } "
    "WHERE { ?s <urn:x-test:b> ?o }",
    # a BASE declared in the request resolves the WHERE clause's relative IRIs as it does the templates'
    "BASE <https://w3id.org/cnkg/id/> INSERT { ?s <urn:x-test:seen> ?o } WHERE { ?s cnkg:inspiredBy <dapper> ; "
    "cnkg:inspiredBy ?o }",
    "WITH <urn:x-test:w> INSERT { ?s <urn:x-test:seen> 1 } WHERE { ?s cnkg:inspiredBy ?o } ; "
    "WITH <urn:x-test:w> DELETE { ?s <urn:x-test:seen> 1 } WHERE { ?s <urn:x-test:seen> 1 }",
]


def rows(graph):
    """A ``select`` callback on the graph's store, with the earlier operations' overlay applied to a copy."""
    def select(query, default, named, overlay):
        store = graph.store
        if overlay is not None:
            store = TripleStore(ox.Store())
            store.ox.bulk_extend(graph.store.ox.quads_for_pattern(None, None, None, None))
            store.apply(overlay.removed, overlay.added)
        result = store.select(query, default_graph=None if default is None else [URIRef(g) for g in default],
                              named_graphs=None if named is None else [URIRef(g) for g in named])
        return [{str(k): v for k, v in row.items()} for row in result.bindings]

    return select


def canonical(quads):
    """Quads with blank nodes replaced by a marker (they are fresh on both sides)."""
    from rdflib import BNode

    return sorted(tuple("_:" if isinstance(t, BNode) else str(t) for t in q) for q in quads)


@pytest.mark.parametrize("text", UPDATES)
def test_the_same_change_as_the_rdflib_oracle(private_graph, text):
    checked = parse_update(text, "http://localhost/sparql", [], [])
    expected = apply(private_graph.dataset, checked, [], [])
    ours = change(text, "http://localhost/sparql", private_graph.store, UPDATES_GRAPH, rows(private_graph))
    assert ours is not None
    assert canonical(ours.added) == canonical(expected.added)
    assert canonical(ours.removed) == canonical(expected.removed)


def test_refusals_and_requests_for_the_parser(private_graph):
    store, select = private_graph.store, rows(private_graph)
    with pytest.raises(RefusedLoad, match="LOAD <http://127.0.0.1:9/x> is not allowed"):
        change("INSERT DATA { <urn:a> <urn:b> 1 } ; LOAD <http://127.0.0.1:9/x>", None, store, UPDATES_GRAPH, select)
    for text in ("CLEAR DEFAULT", "ADD DEFAULT TO <urn:x-test:g>"):
        with pytest.raises(UpdateRefused, match="DEFAULT is not supported"):
            change(text, None, store, UPDATES_GRAPH, select)
    # not a sequence of operations: the caller asks Oxigraph's parser where it is wrong
    for text in ("INSERT DATA { <urn:a> <urn:b> 1 } DELETE WHERE { ?s ?p ?o }", "INSERT { ?s ?p ?o }",
                 "SELECT * WHERE { ?s ?p ?o }"):
        assert change(text, None, store, UPDATES_GRAPH, select) is None
