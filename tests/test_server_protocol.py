"""The /sparql endpoint: SPARQL 1.1 Protocol query operation, safety, limits, service description, health."""
from __future__ import annotations

import io
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.query import Result

import cnkg
from cnkg.cli import _parser
from cnkg.namespaces import GRAPH, ONTOLOGY_GRAPH
from cnkg.server import create_app

from paths import MINIMAL_FACTS

SRJ, SRX = "application/sparql-results+json", "application/sparql-results+xml"
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
# a four-way cross product: on the minimal graph (~500 triples) this runs for hours
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def get(client, query, headers=None, **params):
    return client.get("/sparql", query_string={"query": query, **params}, headers=headers or {})


def count(response) -> int:
    assert response.status_code == 200, response.data
    return int(response.get_json()["results"]["bindings"][0]["n"]["value"])


def assert_error(response, status, *fragments):
    assert response.status_code == status, response.data
    assert response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    for fragment in fragments:
        assert fragment in body["error"]["message"]
    return body["error"]["message"]


# ---------------------------------------------------------------- the three ways to send a query

def test_get_select_returns_json_results(client, graph):
    response = get(client, COUNT)
    assert response.content_type == f"{SRJ}; charset=utf-8"
    assert count(response) == len(graph.dataset)
    assert response.headers["X-Result-Rows"] == "1"
    assert "X-Result-Truncated" not in response.headers


def test_head_has_the_get_answers_headers_and_no_body(client):
    """Regression: HEAD /sparql?query=... was taken for a POST without a Content-Type (415)."""
    for target in ("/sparql?query=ASK+%7B%7D", "/sparql"):  # a query; the service description
        get, head = client.get(target), client.head(target)
        assert get.status_code == head.status_code == 200, head.data
        assert head.data == b"" and head.headers["Content-Type"] == get.headers["Content-Type"]
        assert int(head.headers["Content-Length"]) == len(get.data)


def test_post_form(client, graph):
    response = client.post("/sparql", data={"query": COUNT},
                           content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert count(response) == len(graph.dataset)


@pytest.mark.parametrize("content_type", ["application/sparql-query", "application/sparql-query; charset=utf-8"])
def test_post_direct_utf8_round_trip(client, content_type):
    query = 'SELECT ?x WHERE { VALUES ?x { "ünïcödé ✓" } }'
    response = client.post("/sparql", data=query.encode("utf-8"), content_type=content_type)
    assert response.status_code == 200
    assert response.get_json()["results"]["bindings"][0]["x"]["value"] == "ünïcödé ✓"


def test_predeclared_prefixes(client):
    response = get(client, "SELECT ?p WHERE { ?p a cnkg:Project } ORDER BY ?p")
    assert [b["p"]["value"] for b in response.get_json()["results"]["bindings"]] == [
        "https://w3id.org/cnkg/id/jaeger", "https://w3id.org/cnkg/id/prometheus"]


# ---------------------------------------------------------------- content negotiation

@pytest.mark.parametrize("accept, media_type", [
    (None, SRJ), ("*/*", SRJ), (SRX, SRX), ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    (f"{SRJ};q=0.5, {SRX}", SRX), ("application/json", SRJ),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", SRX),
])
def test_select_negotiation(client, accept, media_type):
    response = get(client, "SELECT ?p WHERE { ?p a cnkg:Project }", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.content_type == f"{media_type}; charset=utf-8"
    if media_type in (SRJ, SRX):
        parsed = Result.parse(io.BytesIO(response.data), format="json" if media_type == SRJ else "xml")
        assert len(parsed) == 2


def test_csv_and_tsv_bodies(client):
    query = 'SELECT ?p ?l WHERE { ?p a cnkg:Project ; rdfs:label ?l } ORDER BY ?p'
    csv = get(client, query, format="csv").data.decode().splitlines()
    assert csv[0] == "p,l" and csv[1] == "https://w3id.org/cnkg/id/jaeger,Jaeger"
    tsv = get(client, query, format="tsv").data.decode().splitlines()
    assert tsv[0] == "?p\t?l"
    assert tsv[1].startswith("<https://w3id.org/cnkg/id/jaeger>\t\"Jaeger\"")


@pytest.mark.parametrize("query, columns", [
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 2", ["s", "p", "o"]),
    ("PREFIX ex: <http://example.org/> SELECT DISTINCT * WHERE { ?s a cnkg:Project ; ?year ?x ; rdfs:label ?name }",
     ["s", "year", "x", "name"]),
    # a variable named only in a comment or a string does not count; $v is ?v
    ("# ?name first?\nSELECT * { $s rdfs:label ?name FILTER(?name != '?s') } LIMIT 1", ["s", "name"]),
    ("SELECT * WHERE { { SELECT ?o ?s WHERE { ?s ?p ?o } LIMIT 1 } }", ["o", "s"]),
    ("SELECT * WHERE { ?s rdfs:label ?b BIND(STRLEN(?b) AS ?a) } LIMIT 1", ["s", "b", "a"]),
    ("SELECT ?p ?o ?s WHERE { ?s ?p ?o } LIMIT 1", ["p", "o", "s"]),    # a projection's own order stays
    ('SELECT * { VALUES (?z ?a) { ("last" "first") } }', ["z", "a"]),
])
@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_select_star_columns_come_in_the_querys_order(client, query, columns, fmt):
    """Oxigraph sorts the columns of SELECT * by name (?s ?p ?o as o, p, s); every client gets the order the query
    names them in, the head and each row alike."""
    response = get(client, query, format=fmt)
    assert response.status_code == 200, response.data
    if fmt == "json":
        body = response.get_json()
        assert body["head"]["vars"] == columns
        assert all(list(b) == [c for c in columns if c in b] for b in body["results"]["bindings"])
        if columns == ["z", "a"]:
            assert body["results"]["bindings"][0]["z"]["value"] == "last"
    elif fmt == "xml":
        assert [v for v in re.findall(r'<variable name="([^"]+)"/>', response.data.decode())] == columns
    else:
        header, *rows = response.data.decode().splitlines()
        names = header.replace("?", "").split("," if fmt == "csv" else "\t")
        assert names == columns
        if columns == ["z", "a"]:   # the row's cells follow the header
            assert rows[0].replace('"', "").split("," if fmt == "csv" else "\t") == ["last", "first"]


@pytest.mark.parametrize("accept, fmt", [(SRJ, "json"), (SRX, "xml")])
def test_ask(client, accept, fmt):
    response = get(client, "ASK { ?p a cnkg:Project }", headers={"Accept": accept})
    assert response.content_type == f"{accept}; charset=utf-8"
    assert Result.parse(io.BytesIO(response.data), format=fmt).askAnswer is True


RDF_TYPES = [("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
             ("application/rdf+xml", "xml"), ("application/trig", "trig"), ("application/n-quads", "nquads")]


@pytest.mark.parametrize("media_type, rdflib_format", RDF_TYPES)
def test_construct_in_every_rdf_format(client, media_type, rdflib_format):
    response = get(client, "CONSTRUCT WHERE { ?p a cnkg:Project }", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.content_type == f"{media_type}; charset=utf-8"
    parsed = Graph().parse(data=response.data, format=rdflib_format)
    assert set(parsed.subjects()) == {cnkg.namespaces.ID.jaeger, cnkg.namespaces.ID.prometheus}


def test_construct_prefers_turtle_and_honours_q(client):
    assert get(client, "CONSTRUCT WHERE { ?s a cnkg:Project }").content_type == "text/turtle; charset=utf-8"
    response = get(client, "CONSTRUCT WHERE { ?s a cnkg:Project }",
                   headers={"Accept": "text/turtle;q=0.9, application/rdf+xml;q=1"})
    assert response.content_type == "application/rdf+xml; charset=utf-8"


def test_describe(client):
    response = get(client, "DESCRIBE id:jaeger", headers={"Accept": "text/turtle"})
    assert response.content_type == "text/turtle; charset=utf-8"
    parsed = Graph().parse(data=response.data, format="turtle")
    assert (cnkg.namespaces.ID.jaeger, None, None) in parsed


def test_format_parameter_overrides_accept(client):
    response = get(client, COUNT, headers={"Accept": SRJ}, format="xml")
    assert response.content_type == f"{SRX}; charset=utf-8"
    response = get(client, "CONSTRUCT WHERE { ?s a cnkg:Project }", format="nt")
    assert response.content_type == "application/n-triples; charset=utf-8"


def test_bad_format_parameter(client):
    assert_error(get(client, COUNT, format="yaml"), 400, "unknown format='yaml'")
    assert_error(get(client, "CONSTRUCT WHERE { ?s ?p ?o }", format="csv"), 406, "cannot express a CONSTRUCT")


@pytest.mark.parametrize("query, accept", [(COUNT, "image/png"), (COUNT, "text/turtle"),
                                           ("CONSTRUCT WHERE { ?s ?p ?o }", SRJ)])
def test_406_when_nothing_acceptable(client, query, accept):
    response = get(client, query, headers={"Accept": accept})
    assert response.status_code == 406
    assert response.get_json()["error"]["status"] == 406  # errors stay JSON even when JSON was not asked for


# ---------------------------------------------------------------- errors

def test_malformed_query_gives_line_and_column(client):
    message = assert_error(get(client, "SELECT ?x\nWHERE { ?x ?y }"), 400, "malformed SPARQL")
    assert "line 2" in message and "column" in message


def test_unknown_prefix_is_400(client):
    assert_error(get(client, "SELECT * WHERE { ?s nope:x ?o }"), 400, "nope")


def test_error_as_text_for_text_only_clients(client):
    response = get(client, "SELEKT", headers={"Accept": "text/plain"})
    assert response.status_code == 400
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.data.decode().startswith("400 malformed SPARQL")


def test_two_queries(client):
    response = client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D")
    assert_error(response, 400, "exactly one 'query'")
    response = client.post("/sparql?query=ASK%7B%7D", data="ASK {}", content_type="application/sparql-query")
    assert_error(response, 400, "given twice")


def test_missing_or_empty_query(client):
    assert_error(client.post("/sparql", data={"format": "json"}), 400, "missing query")
    assert_error(get(client, "  "), 400, "empty")


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_405_with_allow(client, method):
    response = getattr(client, method)("/sparql", data="ASK {}")
    assert_error(response, 405, "allowed")
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/sparql-query; charset=UTF-16"])
def test_wrong_post_content_type_415(client, content_type):
    body = "ASK {}".encode("utf-16") if content_type and "16" in content_type else b"query=ASK%20%7B%7D"
    headers = {"Content-Type": content_type} if content_type else {}
    assert_error(client.post("/sparql", data=body, headers=headers), 415)


def test_invalid_utf8_body_400(client):
    response = client.post("/sparql", data=b"ASK { \xff }", content_type="application/sparql-query")
    assert_error(response, 400, "not valid UTF-8")


def test_body_over_limit_413(graph):
    client = create_app({"MAX_BODY_BYTES": 100}, graph=graph).test_client()
    query = "ASK {} #" + "x" * 200
    assert_error(client.post("/sparql", data=query, content_type="application/sparql-query"), 413, "100 bytes")
    assert_error(client.post("/sparql", data={"query": query}), 413)


# ---------------------------------------------------------------- read-only and no outbound connections

@pytest.mark.parametrize("send", [
    lambda c: c.post("/sparql", data={"update": "CLEAR ALL"}),
    lambda c: c.post("/sparql", data="DROP ALL", content_type="application/sparql-update"),
    lambda c: c.get("/sparql", query_string={"update": "CLEAR ALL"}),
    lambda c: get(c, "INSERT DATA { <urn:a> <urn:b> <urn:c> }"),
    lambda c: c.post("/sparql", data="LOAD <http://127.0.0.1:9/x>", content_type="application/sparql-query"),
])
def test_updates_are_refused(client, graph, send):
    before = len(graph.dataset)
    assert_error(send(client), 403, "read-only endpoint")
    assert len(graph.dataset) == before


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE <http://127.0.0.1:9/> { ?s ?q ?r } } }",
    "ASK { FILTER EXISTS { SELECT ?s { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } } }",
    "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } VALUES ?endpoint { <http://127.0.0.1:9/> } }",
])
def test_service_is_refused_without_connecting(client, no_connections, query):
    with socket.create_server(("127.0.0.1", 0)) as listener:  # a real target: nothing may reach it either
        listener.settimeout(0.2)
        target = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        assert_error(get(client, query.replace("http://127.0.0.1:9/", target)), 400, "SERVICE", "not allowed")
        with pytest.raises(TimeoutError):
            listener.accept()
    assert no_connections == []


def test_from_unknown_graph_is_refused(client, no_connections):
    assert_error(get(client, "SELECT * FROM <http://127.0.0.1:9/data.ttl> WHERE { ?s ?p ?o }"), 400,
                 "FROM <http://127.0.0.1:9/data.ttl> is not a graph of this endpoint")
    assert_error(get(client, "SELECT * FROM NAMED <http://127.0.0.1:9/g> WHERE { ?s ?p ?o }"), 400, "FROM NAMED")
    assert no_connections == []


# ---------------------------------------------------------------- the dataset

def test_from_our_graph_restricts_the_default_graph(client, graph):
    response = get(client, f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY_GRAPH}> WHERE {{ ?s ?p ?o }}")
    assert count(response) == len(graph.dataset.graph(ONTOLOGY_GRAPH))


def test_from_in_any_case_restricts_the_default_graph(client, graph):
    """The worker looks for FROM clauses only in texts that spell FROM: in any letter case."""
    response = get(client, f"select (count(*) as ?n) fRoM <{ONTOLOGY_GRAPH}> where {{ ?s ?p ?o }}")
    assert count(response) == len(graph.dataset.graph(ONTOLOGY_GRAPH))


def test_default_graph_uri(client, graph):
    assert count(get(client, COUNT, **{"default-graph-uri": str(ONTOLOGY_GRAPH)})) == \
        len(graph.dataset.graph(ONTOLOGY_GRAPH))
    response = client.post("/sparql", data={"query": COUNT, "default-graph-uri": "http://127.0.0.1:9/x"})
    assert_error(response, 400, "is not a graph of this endpoint")  # never fetched, as FROM <...> is not


def test_protocol_dataset_wins_over_from(client, graph):
    query = f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY_GRAPH}> WHERE {{ ?s ?p ?o }}"
    one = GRAPH["mini/one"]
    assert count(get(client, query, **{"default-graph-uri": str(one)})) == len(list(graph.store.quads((None, None, None, one))))


def test_a_graph_parameter_naming_no_graph_of_ours_is_refused_as_from_is(client):
    """default-graph-uri / named-graph-uri and FROM / FROM NAMED agree: a graph we do not hold is a 400."""
    for params in ({"default-graph-uri": "http://127.0.0.1:9/remote"}, {"named-graph-uri": "urn:not-ours"}):
        assert_error(get(client, COUNT, **params), 400, "is not a graph of this endpoint")
    assert_error(get(client, "SELECT * FROM <http://127.0.0.1:9/remote> WHERE { ?s ?p ?o }"), 400,
                 "is not a graph of this endpoint")


def test_named_graph_uri(client):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    one = str(GRAPH["mini/one"])
    response = get(client, query, **{"named-graph-uri": [one]})
    assert [b["g"]["value"] for b in response.get_json()["results"]["bindings"]] == [one]
    # with only named graphs given, the default graph is empty
    assert count(get(client, COUNT, **{"named-graph-uri": one})) == 0


def test_without_dataset_default_graph_is_the_union_and_graphs_are_named(client, app):
    response = get(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    names = {b["g"]["value"] for b in response.get_json()["results"]["bindings"]}
    assert names == {str(g) for g in app.extensions["cnkg"].graph_names}


# ---------------------------------------------------------------- limits

def test_row_limit_sets_truncation_headers(graph):
    client = create_app({"MAX_ROWS": 5}, graph=graph).test_client()
    response = get(client, "SELECT * WHERE { ?s ?p ?o }")
    assert len(response.get_json()["results"]["bindings"]) == 5
    assert response.headers["X-Result-Truncated"] == "true" and response.headers["X-Result-Limit"] == "5"
    response = get(client, "CONSTRUCT WHERE { ?s ?p ?o }", headers={"Accept": "application/n-triples"})
    assert len(Graph().parse(data=response.data, format="nt")) == 5
    assert response.headers["X-Result-Truncated"] == "true"
    response = get(client, "SELECT ?p WHERE { ?p a cnkg:Project }")
    assert "X-Result-Truncated" not in response.headers


def test_slow_query_times_out_with_503(graph):
    client = create_app({"QUERY_TIMEOUT": 0.5}, graph=graph).test_client()
    assert_error(get(client, SLOW), 503, "timed out", "0.5 s")
    assert count(get(client, COUNT)) == len(graph.dataset)  # the server is fine afterwards


# ---------------------------------------------------------------- service description, health, CORS

def test_service_description_turtle(client, graph):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.content_type == "text/turtle; charset=utf-8"
    sd = Graph().parse(data=response.data, format="turtle")
    service = URIRef("http://localhost/sparql")
    assert (service, SD.endpoint, service) in sd
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in sd
    assert (service, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/OWL-RDF-Based")) in sd
    assert (service, SD.defaultSupportedEntailmentProfile, URIRef("http://www.w3.org/ns/owl-profile/RL")) in sd
    assert (service, SD.resultFormat, URIRef("http://www.w3.org/ns/formats/SPARQL_Results_TSV")) in sd
    assert (service, SD.supportedLanguage, SD.SPARQL11Update) not in sd
    triples = {int(t) for t in sd.objects(None, VOID.triples)}
    # the default graph is the union of the named graphs: a triple stated in two of them counts once
    assert len({t for g in graph.dataset.graphs() for t in g}) in triples
    assert Literal(graph.counts().entities) in set(sd.objects(None, VOID.entities))
    names = set(sd.objects(None, SD.name))
    assert ONTOLOGY_GRAPH in names and GRAPH["mini/one"] in names
    assert sum(1 for _ in sd.objects(None, SD.namedGraph)) == len(names) == sum(1 for g in graph.dataset.graphs()
                                                                                  if len(g))


def test_service_description_negotiation(client):
    response = client.get("/sparql", headers={"Accept": "text/turtle, application/rdf+xml;q=0.5"})
    assert response.content_type == "text/turtle; charset=utf-8"
    response = client.get("/sparql", headers={"Accept": "application/ld+json"})
    assert response.content_type == "application/ld+json; charset=utf-8"
    assert len(Graph().parse(data=response.data, format="json-ld")) > 10
    assert client.get("/sparql").content_type == "text/turtle; charset=utf-8"
    assert client.get("/sparql", headers={"Accept": "image/png"}).status_code == 406


def test_browser_gets_the_query_page(client):
    # the web UI (tests/test_ui.py); without JavaScript it is still a form that GETs /sparql
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.content_type == "text/html; charset=utf-8"
    page = response.data.decode()
    assert '<form id="query-form" action="/sparql" method="get">' in page and 'name="query"' in page
    # the form's empty format means "negotiate", not an error
    assert get(client, "ASK {}", format="").status_code == 200


def test_healthz(client, graph):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "triples": len(graph.dataset),
                                   "graphs": sum(1 for g in graph.dataset.graphs() if len(g))}


def test_cors_any_origin_without_credentials(client):
    response = get(client, "ASK {}", headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = client.options("/sparql", headers={"Origin": "https://example.org",
                                                   "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_cli_serve_binds_localhost_by_default():
    args = _parser().parse_args(["serve"])
    assert (args.host, args.port, args.timeout) == ("127.0.0.1", 8000, 10.0)


# ---------------------------------------------------------------- the real server

def test_the_server_serves_and_a_slow_query_does_not_block_others(graph, live_server):
    app = create_app({"QUERY_TIMEOUT": 3.0}, graph=graph)
    with live_server(app, threads=4) as url:
        _serves_a_fast_query_during_a_slow_one(f"{url}/sparql")


def _serves_a_fast_query_during_a_slow_one(base: str) -> None:
    def fetch(query, accept=SRJ):
        request = urllib.request.Request(f"{base}?{urllib.parse.urlencode({'query': query})}",
                                         headers={"Accept": accept})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers["Content-Type"], response.read(), time.monotonic()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read(), time.monotonic()

    status, content_type, body, _ = fetch("SELECT ?p WHERE { ?p a cnkg:Project }")
    assert (status, content_type) == (200, f"{SRJ}; charset=utf-8")
    assert len(json.loads(body)["results"]["bindings"]) == 2

    slow = {}
    slow_thread = threading.Thread(target=lambda: slow.update(result=fetch(SLOW)))
    started = time.monotonic()
    slow_thread.start()
    time.sleep(0.3)  # let the slow query start evaluating
    status, _, body, ask_done = fetch("ASK { ?p a cnkg:Project }")
    slow_thread.join(30)
    status_slow, type_slow, body_slow, slow_done = slow["result"]

    assert status == 200 and json.loads(body)["boolean"] is True
    assert ask_done < slow_done  # the ASK was answered while the slow query was still running
    assert status_slow == 503 and type_slow == "application/json; charset=utf-8"
    assert "timed out" in json.loads(body_slow)["error"]["message"]
    print(f"ASK answered {ask_done - started - 0.3:.3f}s after sending, during a slow query stopped at "
          f"{slow_done - started:.2f}s")


def test_repeated_query_is_answered_from_the_result_cache():
    """The graph is read-only while served: the same query, format and dataset give the same bytes."""
    import cnkg
    from cnkg.server import create_app
    app = create_app({"RATE_LIMIT_PER_MINUTE": 0}, graph=cnkg.load(MINIMAL_FACTS, use_cache=False))
    client = app.test_client()
    query = {"query": "SELECT ?s WHERE { ?s cnkg:hasAncestor id:dapper } ORDER BY ?s"}
    first = client.get("/sparql", query_string=query, headers={"Accept": "text/csv"})
    second = client.get("/sparql", query_string=query, headers={"Accept": "text/csv"})
    other_format = client.get("/sparql", query_string=query, headers={"Accept": "application/sparql-results+json"})
    assert first.headers["X-Cache"] == "miss" and second.headers["X-Cache"] == "hit"
    assert second.data == first.data and b"zipkin" in first.data
    assert other_format.headers["X-Cache"] == "miss" and other_format.mimetype == "application/sparql-results+json"
    off = create_app({"RATE_LIMIT_PER_MINUTE": 0, "RESULT_CACHE_SIZE": 0}, graph=app.extensions["cnkg"].graph)
    for _ in range(2):
        assert off.test_client().get("/sparql", query_string=query).headers["X-Cache"] == "miss"


def test_result_cache_is_bounded():
    from cnkg.server.result_cache import ResultCache
    from cnkg.server.evaluation import Payload
    cache = ResultCache(2)
    for key in "abc":
        cache.put(key, Payload(key.encode(), 1, False))
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c").body == b"c"


def test_one_client_cannot_take_every_query_worker(make_app):
    """Regression: two slow queries filled both query slots, so another client's trivial ASK waited and got 503."""
    import threading

    from cnkg.sandbox import DEFAULT_WORKERS

    app = make_app({"QUERY_TIMEOUT": 4.0, "RESULT_CACHE_SIZE": 0})
    sandbox = app.extensions["cnkg"].sandbox  # shared by every app in this process: let earlier tests' work end
    for _ in range(300):
        if not sandbox.running:
            break
        time.sleep(0.1)
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } # "
    greedy = [threading.Thread(target=lambda i=i: app.test_client().get(
        "/sparql", query_string={"query": slow + str(i)}, environ_base={"REMOTE_ADDR": "10.0.0.1"}))
        for i in range(DEFAULT_WORKERS + 2)]
    for thread in greedy:
        thread.start()
    try:
        other = app.test_client().get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"},
                                      environ_base={"REMOTE_ADDR": "10.0.0.2"})
        assert other.status_code == 200, other.data
        # answered while the greedy client's first queries all still ran (not when the timeout freed their workers):
        # the pool keeps one worker warm and started the others on demand, the last one for this query
        assert sum(thread.is_alive() for thread in greedy) >= DEFAULT_WORKERS - 1
        assert sandbox.workers <= sandbox.size
    finally:
        for thread in greedy:
            thread.join(30)
