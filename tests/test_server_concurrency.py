"""Many distinct queries at once at a freshly started server: every one answered, and every shape still answers
as it should afterwards (the rdflib parser once broke for good under its first concurrent use)."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from rdflib import Literal, URIRef

SHAPES = [
    "SELECT ?s WHERE {{ ?s a cnkg:Project }} ORDER BY ?s LIMIT {n}",
    "SELECT (COUNT(*) AS ?c) WHERE {{ ?s ?p ?o }} # {n}",
    "ASK {{ id:jaeger cnkg:hasAncestor id:dapper }} # {n}",
    "SELECT ?a WHERE {{ id:jaeger cnkg:inspiredBy+ ?a }} ORDER BY ?a # {n}",
    "SELECT ?x WHERE {{ ?x !^cnkg:inspiredBy ?o }} LIMIT {n}",
    "SELECT (EXISTS {{ ?s ?p ?o }} AS ?e) WHERE {{}} # {n}",
    "SELECT (SUBSTR(\"Kubescape\", 0, 3) AS ?sub) (2 * 3 AS ?six) WHERE {{}} # {n}",
    "SELECT ?p (COUNT(?o) AS ?c) WHERE {{ ?s ?p ?o }} GROUP BY ?p HAVING (COUNT(?o) > {n}) ORDER BY ?p",
    "SELECT ?s WHERE {{ ?s rdfs:label ?l FILTER NOT EXISTS {{ ?s cnkg:hasAncestor ?a }} }} ORDER BY ?s LIMIT {n}",
    "SELECT ?s ?l WHERE {{ VALUES ?s {{ id:jaeger id:zipkin }} OPTIONAL {{ ?s rdfs:label ?l }} }} # {n}",
    "SELECT ?g (COUNT(*) AS ?c) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g ORDER BY ?g # {n}",
    "CONSTRUCT {{ ?s cnkg:hasAncestor ?a }} WHERE {{ ?s cnkg:hasAncestor ?a }} # {n}",
    "DESCRIBE id:jaeger # {n}",
    "SELECT ?x WHERE {{ {{ SELECT ?x WHERE {{ ?x a cnkg:Project }} LIMIT {n} }} }}",
]


@pytest.fixture
def fresh_server(make_app, live_server):
    with live_server(make_app({"QUERY_TIMEOUT": 30.0}), threads=16) as base:
        yield f"{base}/sparql"


def ask(url: str, query: str) -> tuple[int, bytes]:
    body = urllib.parse.urlencode({"query": query}).encode()
    request = urllib.request.Request(url, data=body, headers={"Accept": "application/sparql-results+json, "
                                                              "application/n-triples;q=0.9"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_forty_distinct_queries_at_once(fresh_server, graph):
    queries = [shape.format(n=n) for n in range(1, 4) for shape in SHAPES]
    assert len(set(queries)) >= 40
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        answers = list(pool.map(lambda q: ask(fresh_server, q), queries))
    assert [status for status, _ in answers] == [200] * len(queries), [a for a in answers if a[0] != 200][:3]
    # afterwards every shape answers, and as the store answers it in process
    for shape in SHAPES:
        query = shape.format(n=5)
        status, body = ask(fresh_server, query)
        assert status == 200, body
        if body.startswith(b"{"):
            data = json.loads(body)
            if "boolean" in data:
                assert data["boolean"] == graph.query(query).askAnswer
            else:
                assert len(data["results"]["bindings"]) == len(list(graph.query(query)))


def test_answers_the_old_engine_got_wrong(client):
    """Regressions from the differential test: each was wrong (or a 500) when rdflib evaluated queries."""
    def one(query):
        response = client.get("/sparql", query_string={"query": query})
        assert response.status_code == 200, response.data
        return response.get_json()["results"]["bindings"]

    assert one('SELECT (SUBSTR("Kubescape", 0, 3) AS ?s) WHERE {}')[0]["s"]["value"] == "Ku"
    six = one("SELECT (2 * 3 AS ?v) WHERE {}")[0]["v"]
    assert six == {"type": "literal", "value": "6", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}
    assert one("SELECT (EXISTS { ?s ?p ?o } AS ?x) WHERE {}")[0]["x"]["value"] == "true"
    assert one("SELECT ?x WHERE { ?x !^cnkg:inspiredBy ?o } LIMIT 1")


def test_updates_racing_readers_are_seen_whole_or_not_at_all(private_graph, make_app, live_server):
    """While one client inserts and deletes a lineage fact again and again, readers only ever see it with all its
    inferences or none of them: the inferred ancestors of X number 0 or 3 (Jaeger, Zipkin, Dapper), never 1 or 2."""
    import threading

    token = "racing"
    app = make_app({"ALLOW_UPDATE": True, "UPDATE_TOKEN": token, "RESULT_CACHE_SIZE": 0}, graph=private_graph)
    fact = "<https://w3id.org/cnkg/id/racer> cnkg:inspiredBy id:jaeger"
    count = "SELECT (COUNT(?a) AS ?n) WHERE { <https://w3id.org/cnkg/id/racer> cnkg:hasAncestor ?a }"
    seen, errors = [], []
    with live_server(app, threads=8) as base:
        def writer():
            for i in range(12):
                body = f"{'INSERT' if i % 2 == 0 else 'DELETE'} DATA {{ {fact} }}".encode()
                request = urllib.request.Request(f"{base}/sparql", data=body, headers={
                    "Content-Type": "application/sparql-update", "Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=60) as response:
                    if response.status != 200:
                        errors.append(response.status)

        def reader():
            for _ in range(15):
                status, body = ask(f"{base}/sparql", count)
                if status != 200:
                    errors.append(status)
                else:
                    seen.append(int(json.loads(body)["results"]["bindings"][0]["n"]["value"]))

        threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert not errors
    assert seen and set(seen) <= {0, 3}, sorted(set(seen))


def test_a_snapshot_a_query_reads_outlives_the_updates_that_retire_it(private_graph, make_app):
    """Updates publish new snapshots and delete old ones, but never one a query is still reading."""
    app = make_app({"ALLOW_UPDATE": True, "UPDATE_TOKEN": "t"}, graph=private_graph)
    state = app.extensions["cnkg"]
    with state.current_snapshot() as reading:
        for i in range(3):  # three updates: the snapshot being read is retired, then would be deleted
            private_graph.apply(added=[(URIRef(f"urn:x-test:s{i}"), URIRef("urn:x-test:p"), Literal(i),
                                        URIRef("urn:x-test:g"))])
        assert state.snapshot != reading and reading.exists()
    assert not reading.exists()  # deleted once the query is done
    assert state.snapshot.exists()
