"""Red team, update semantics (issue 22): what a SPARQL update means must not depend on how cnkg reads it.

Each test failed on the code before its fix: blank-node labels shared across requests, a constant IRI of the
internal placeholder scheme rewritten or dropped, counts and version bumps for changes that did not happen, writes
to the inferred graph reported as done, no inferences outside the ``id:`` namespace, and a 500 page, 404 diagram
and 400 lineage query for an entity added by an update.
"""
from __future__ import annotations

import pytest

from cnkg.namespaces import INFERRED_GRAPH

from test_server_update import assert_error, ask, make_client, post_update

INFERRED = f"<{INFERRED_GRAPH}>"
SELECT = {"Accept": "application/sparql-results+json"}


@pytest.fixture
def client(private_graph):
    return make_client(private_graph)


def applied(response) -> dict:
    assert response.status_code == 200, response.data
    return response.get_json()


def rows(client, query: str) -> list[dict]:
    response = client.get("/sparql", query_string={"query": query}, headers=SELECT)
    assert response.status_code == 200, response.data
    return [{k: v["value"] for k, v in row.items()} for row in response.get_json()["results"]["bindings"]]


def version(client) -> int:
    return client.get("/healthz").get_json()["graph_version"]


# ---------------------------------------------------------------------------------------------- blank nodes

def test_blank_node_labels_are_fresh_in_each_request(client):
    """SPARQL 1.1 Update §3.1.1: INSERT DATA inserts fresh blank nodes; ``_:b`` of two requests are two nodes."""
    applied(post_update(client, 'INSERT DATA { _:b <urn:x-test:p> "one" }'))
    applied(post_update(client, 'INSERT DATA { _:b <urn:x-test:p> "two" }'))
    found = rows(client, "SELECT ?s ?o WHERE { ?s <urn:x-test:p> ?o }")
    assert len(found) == 2 and found[0]["s"] != found[1]["s"], found


def test_one_label_is_one_node_within_a_data_block(client):
    applied(post_update(client, 'INSERT DATA { _:b <urn:x-test:p> "one" . _:b <urn:x-test:q> "two" }'))
    assert len(rows(client, "SELECT ?s WHERE { ?s <urn:x-test:p> \"one\" ; <urn:x-test:q> \"two\" }")) == 1


def test_a_label_reused_in_a_second_data_block_of_one_request_is_400(client):
    """The grammar's rule (W3C syntax-update-54, refused by Oxigraph's parser too): nothing is applied."""
    before = version(client)
    response = post_update(client, 'INSERT DATA { _:b <urn:x-test:p> "one" } ; INSERT DATA { _:b <urn:x-test:p> "two" }')
    assert_error(response, 400, "_:b", "two data blocks")
    assert version(client) == before and not ask(client, "?s <urn:x-test:p> ?o")


# ---------------------------------------------------------------------------------------------- placeholders

@pytest.mark.parametrize("iri", ["urn:x-cnkg-variable:o", "urn:x-cnkg-variable:s"])
def test_a_constant_iri_of_any_scheme_stays_itself_in_a_template(client, iri):
    """Template variables were IRIs ``urn:x-cnkg-variable:NAME``: a constant of that scheme was taken for a
    variable (dropped when unbound, replaced when bound)."""
    applied(post_update(client, f"INSERT {{ <urn:x-test:a> <urn:x-test:p> <{iri}> }} WHERE {{}}"))
    applied(post_update(client, f"INSERT {{ <urn:x-test:b> <urn:x-test:p> <{iri}> }} WHERE {{ BIND(1 AS ?o) }}"))
    found = {(r["s"], r["o"]) for r in rows(client, "SELECT ?s ?o WHERE { ?s <urn:x-test:p> ?o }")}
    assert found == {("urn:x-test:a", iri), ("urn:x-test:b", iri)}


def test_variables_still_fill_templates_in_every_position(client):
    body = applied(post_update(client, "INSERT { GRAPH ?g { ?s ?p ?o } } WHERE { BIND(<urn:x-test:g> AS ?g) "
                                       "BIND(<urn:x-test:s> AS ?s) BIND(<urn:x-test:p> AS ?p) BIND(3 AS ?o) }"))
    assert body["triples_added"] == 1
    assert ask(client, "GRAPH <urn:x-test:g> { <urn:x-test:s> <urn:x-test:p> 3 }")


# ---------------------------------------------------------------------------------------------- honest counts

def test_counts_and_version_say_what_changed(client):
    first = applied(post_update(client, "INSERT DATA { <urn:x-test:a> <urn:x-test:b> <urn:x-test:c> }"))
    assert first["triples_added"] == 1
    again = applied(post_update(client, "INSERT DATA { <urn:x-test:a> <urn:x-test:b> <urn:x-test:c> }"))
    assert (again["triples_added"], again["graph_version"]) == (0, first["graph_version"])
    missing = applied(post_update(client, "DELETE DATA { <urn:x-test:a> <urn:x-test:b> <urn:x-test:nothing> }"))
    assert (missing["triples_removed"], missing["graph_version"]) == (0, first["graph_version"])


def test_deleting_an_inferred_triple_without_a_graph_reports_nothing_when_it_still_holds(client):
    """Jaeger's ancestor Dapper is inferred (hasAncestor, from inspiredBy): a delete without a graph leaves the
    asserted graphs, and the reasoner keeps what it still derives. Before: 1 removed and a new version, nothing
    removed."""
    before = version(client)
    body = applied(post_update(client, "DELETE DATA { id:jaeger cnkg:hasAncestor id:dapper }"))
    assert (body["triples_removed"], body["inferred_removed"], body["graph_version"]) == (0, 0, before)
    assert ask(client, "id:jaeger cnkg:hasAncestor id:dapper")


# ---------------------------------------------------------------------------------------------- the inferred graph

@pytest.mark.parametrize("update", [
    f"DELETE DATA {{ GRAPH {INFERRED} {{ id:jaeger cnkg:hasAncestor id:dapper }} }}",
    f"INSERT DATA {{ GRAPH {INFERRED} {{ id:jaeger cnkg:hasAncestor id:zipkin }} }}",
    f"DELETE WHERE {{ GRAPH {INFERRED} {{ id:jaeger cnkg:hasAncestor ?a }} }}",
    f"DELETE WHERE {{ GRAPH {INFERRED} {{ <urn:x-test:none> ?p ?o }} }}",   # matches nothing: refused all the same
    f"WITH {INFERRED} DELETE {{ ?s ?p ?o }} WHERE {{ ?s cnkg:hasAncestor ?o BIND(cnkg:hasAncestor AS ?p) }}",
    f"DELETE {{ GRAPH ?g {{ id:jaeger cnkg:hasAncestor id:dapper }} }} WHERE {{ GRAPH ?g {{ id:jaeger ?p ?o }} }}",
    f"DROP GRAPH {INFERRED}",
    f"CLEAR SILENT GRAPH {INFERRED}",
    f"MOVE {INFERRED} TO <urn:x-test:copy>",
    f"COPY <urn:x-test:copy> TO {INFERRED}",
])
def test_writing_the_inferred_graph_is_400_and_changes_nothing(client, update):
    before = version(client)
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    size = rows(client, count)
    assert_error(post_update(client, update), 400, str(INFERRED_GRAPH), "kept by the reasoner")
    assert version(client) == before and rows(client, count) == size
    assert ask(client, "id:jaeger cnkg:hasAncestor id:dapper")


def test_drop_all_leaves_the_inferred_graph_to_the_reasoner(client):
    """ALL names no graph: the asserted ones go, and the inferences with them, counted as inferred."""
    body = applied(post_update(client, "DROP ALL"))
    assert body["triples_removed"] > 0 and body["inferred_removed"] > 0
    assert not ask(client, "id:jaeger cnkg:hasAncestor id:dapper")


def test_copy_from_the_inferred_graph_only_reads_it(client):
    body = applied(post_update(client, f"COPY {INFERRED} TO <urn:x-test:copy>"))
    assert body["triples_added"] > 0
    assert ask(client, "GRAPH <urn:x-test:copy> { id:jaeger cnkg:hasAncestor id:dapper }")


# ---------------------------------------------------------------------------------------------- any subject

def test_inferences_for_a_subject_outside_the_id_namespace(client):
    body = applied(post_update(client, "INSERT DATA { <https://example.org/tracer> cnkg:inspiredBy id:jaeger }"))
    assert body["inferred_added"] > 0
    assert ask(client, "<https://example.org/tracer> cnkg:hasAncestor id:dapper")
    applied(post_update(client, "DELETE DATA { <https://example.org/tracer> cnkg:inspiredBy id:jaeger }"))
    assert not ask(client, "<https://example.org/tracer> cnkg:hasAncestor id:dapper")


# ---------------------------------------------------------------------------------------------- pages of new entities

NEW = 'INSERT DATA { id:newtrace a cnkg:Project ; rdfs:label "Newtrace" ; cnkg:inspiredBy id:jaeger }'


def test_an_entity_added_by_update_has_its_page_diagram_and_lineage(client):
    applied(post_update(client, NEW))
    page = client.get("/id/newtrace", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"Newtrace" in page.data and b"<svg" in page.data
    svg = client.get("/lineage/Newtrace.svg")
    assert svg.status_code == 200 and b"Dapper" in svg.data
    lineage = client.get("/queries/lineage", query_string={"project": "Newtrace"}, headers=SELECT)
    assert lineage.status_code == 200, lineage.data
    assert "Dapper" in {b.get("name", {}).get("value") for b in lineage.get_json()["results"]["bindings"]}
    assert any(h["label"] == "Newtrace" for h in client.get("/search", query_string={"q": "newtr"},
                                                                headers={"Accept": "application/json"})
               .get_json()["hits"])


def test_an_unnamed_entity_added_by_update_has_its_page(client):
    applied(post_update(client, "INSERT DATA { id:unnamed cnkg:inspiredBy id:jaeger }"))
    page = client.get("/id/unnamed", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"<svg" in page.data
    assert client.get("/lineage/unnamed.svg").status_code == 200


def test_a_removed_entity_is_gone_from_names(client):
    applied(post_update(client, NEW))
    assert client.get("/lineage/Newtrace.svg").status_code == 200
    applied(post_update(client, NEW.replace("INSERT", "DELETE")))
    assert client.get("/lineage/Newtrace.svg").status_code == 404
    assert client.get("/id/newtrace", headers={"Accept": "text/html"}).status_code == 404
