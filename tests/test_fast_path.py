"""The common /sparql request is answered in front of Flask (cnkg.server.fast_path): every answer it gives must be
the one Flask's view gives (status, every header, body), every request it passes on must be answered as before,
and each query is evaluated once, counted once and logged once. A fuzz test sends generated requests, valid and
not, both ways and requires the same answers."""
from __future__ import annotations

import json
import logging
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cnkg.server import evaluation
from cnkg.server.fast_path import FastQueries

FORM = "application/x-www-form-urlencoded"
JSON = "application/sparql-results+json"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"

# (method, query text, how it is sent, request headers, extra environ): requests the fast path answers itself
ANSWERED = [
    ("GET", "ASK {}", "url", {}, {}),
    ("GET", "SELECT ?s ?label WHERE { ?s rdfs:label ?label } ORDER BY ?s LIMIT 7", "url", {"Accept": JSON}, {}),
    ("GET", "SELECT * WHERE { ?s a cnkg:Project ; rdfs:label ?l } ORDER BY ?l LIMIT 5", "url",
     {"Accept": "text/csv"}, {}),
    ("POST", "SELECT ?s ?l WHERE { ?s rdfs:label ?l } ORDER BY ?l LIMIT 4", "form",
     {"Accept": "text/tab-separated-values", "Origin": "https://example.org"}, {}),
    ("POST", "SELECT ?s WHERE { ?s a cnkg:Project } ORDER BY ?s LIMIT 3", "form",
     {"Accept": "application/sparql-results+xml"}, {}),
    ("POST", "CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s a cnkg:Project ; rdfs:label ?l }", "direct",
     {"Accept": "text/turtle"}, {}),
    ("POST", "DESCRIBE <https://w3id.org/cnkg/id/kubernetes>", "direct",
     {"Accept": "application/n-triples", "Content-Type": "application/sparql-query; charset=UTF-8"}, {}),
    ("POST", 'SELECT ?l WHERE { ?s rdfs:label ?l FILTER(?l != "ünïcode ✓") } ORDER BY ?l LIMIT 2', "form",
     {"Accept": JSON}, {}),
    # the base IRI comes from the request's URL: host, port and the app's mount point
    ("GET", "SELECT (<relative> AS ?x) (STR(<>) AS ?base) {}", "url", {"Host": "kg.example.org:8443"},
     {"SCRIPT_NAME": "/mounted"}),
    ("POST", "SELECT (<relative#x> AS ?x) {}", "form", {"Accept": "text/csv", "Host": "example.net"},
     {"wsgi.url_scheme": "https"}),
    ("GET", "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 50", "url", {"Accept": JSON}, {}),  # truncated at MAX_ROWS
]


def _request(method: str, query: str, how: str, headers: dict, environ: dict) -> dict:
    if how == "url":
        return {"method": method, "path": "/sparql?" + urllib.parse.urlencode({"query": query}), "headers": headers,
                "environ_overrides": environ}
    if how == "form":
        return {"method": method, "path": "/sparql", "data": urllib.parse.urlencode({"query": query}),
                "headers": {"Content-Type": FORM, **headers}, "environ_overrides": environ}
    return {"method": method, "path": "/sparql", "data": query.encode("utf-8"),
            "headers": {"Content-Type": "application/sparql-query", **headers}, "environ_overrides": environ}


def _send(app, request: dict, *, through_flask: bool):
    """The response to ``request`` with the fast path in front (or taken away), and whether Flask saw it."""
    fast = app.wsgi_app
    assert isinstance(fast, FastQueries)
    seen = []

    def flask_app(environ, start_response):
        seen.append(environ["PATH_INFO"])
        return fast.wsgi_app(environ, start_response)

    app.wsgi_app = fast.wsgi_app if through_flask else FastQueries(app, flask_app)
    try:
        response = app.test_client().open(request["path"], method=request["method"], data=request.get("data"),
                                          headers=request["headers"],
                                          environ_overrides=request["environ_overrides"])
        return response, bool(seen) or through_flask
    finally:
        app.wsgi_app = fast


def _snapshot(response) -> tuple:
    return response.status_code, sorted(response.headers.items()), response.get_data()


@pytest.mark.parametrize("method, query, how, headers, environ", ANSWERED,
                         ids=[f"{m}-{h}-{n}" for n, (m, _, h, _, _) in enumerate(ANSWERED)])
def test_the_fast_path_answers_as_the_view_does(make_app, method, query, how, headers, environ):
    app = make_app({"MAX_ROWS": 20})
    state = app.extensions["cnkg"]
    request = _request(method, query, how, headers, environ)
    answers = []
    for through_flask in (False, True, False, True):
        if len(answers) < 2:
            state.results.clear()  # a miss each way, then a hit each way
        response, flask_saw_it = _send(app, request, through_flask=through_flask)
        assert through_flask or not flask_saw_it, "the fast path passed a request it should answer to Flask"
        assert response.status_code == 200, response.get_data()
        answers.append(_snapshot(response))
    assert answers[0] == answers[1]
    assert answers[2] == answers[3]
    assert dict(answers[2][1])["X-Cache"] == "hit"


PASSED_ON = [
    ("GET", "/sparql?query=ASK+%7B%7D&format=csv", {}, None),                # another parameter
    ("GET", "/sparql?query=++", {}, None),                                   # an empty query: 400
    ("HEAD", "/sparql?query=ASK+%7B%7D", {}, None),
    ("POST", "/sparql", {"Content-Type": FORM}, b"query=ASK+%7B%7D&default-graph-uri=urn%3Ax"),  # 400: not ours
    ("POST", "/sparql", {"Content-Type": "application/sparql-query; charset=latin-1"}, b"ASK {}"),  # 415
    ("POST", "/sparql", {"Content-Type": "text/plain"}, b"ASK {}"),          # 415
    ("POST", "/sparql", {"Content-Type": "application/sparql-query"}, b"ASK {} \xff"),  # not UTF-8: 400
    ("POST", "/sparql", {"Content-Type": FORM}, b"query=SELECT+*+%7B+SERVICE+%3Chttp%3A%2F%2Fx%3E+%7B%7D+%7D"),
    ("POST", "/sparql", {"Content-Type": FORM}, b"query=INSERT+DATA+%7B%3Ca%3E+%3Cb%3E+%3Cc%3E%7D"),  # 403
    ("POST", "/sparql?query=ASK+%7B%7D", {"Content-Type": "application/sparql-query"}, b"ASK {}"),  # twice
    ("GET", "/sparql?query=ASK+%7B%7D", {"Accept": "image/png"}, None),      # 406
    ("GET", "/sparql?query=SELEKT+*+%7B%7D", {}, None),                      # no query form: the engine's error
    ("GET", "/sparql?query=SELECT+*+%7B+%3Fs+%3Fp+%3Fo+LIMIT+2", {}, None),  # evaluated: a syntax error, 400
]


@pytest.mark.parametrize("method, path, headers, body", PASSED_ON, ids=[str(n) for n in range(len(PASSED_ON))])
def test_requests_passed_on_or_failing_are_answered_as_before(app, method, path, headers, body):
    request = {"method": method, "path": path, "data": body, "headers": headers, "environ_overrides": {}}
    fast, _ = _send(app, request, through_flask=False)
    app.extensions["cnkg"].results.clear()
    slow, _ = _send(app, request, through_flask=True)
    assert _snapshot(fast) == _snapshot(slow)
    assert fast.status_code != 500


def _count_evaluations(monkeypatch) -> list[str]:
    runs: list[str] = []
    original = evaluation.run

    def counted(state, text, **kwargs):
        runs.append(text)
        return original(state, text, **kwargs)

    monkeypatch.setattr(evaluation, "run", counted)
    return runs


def test_a_query_failing_in_a_worker_is_evaluated_once_and_answered_by_the_view(make_app, monkeypatch):
    runs = _count_evaluations(monkeypatch)
    app = make_app({"QUERY_TIMEOUT": 0.5})
    client = app.test_client()
    response = client.post("/sparql", data={"query": SLOW}, headers={"Accept": JSON})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert json.loads(response.data)["error"]["reason"] == "timeout"
    assert runs == [SLOW]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "cnkg_query_timeouts_total 1.0" in metrics
    assert 'cnkg_http_requests_total{method="POST",route="/sparql",status="503"} 1.0' in metrics

    runs.clear()
    response = client.get("/sparql", query_string={"query": "SELECT * {\n ?s ?p ?o LIMIT 2"})
    body = json.loads(response.data)["error"]
    assert response.status_code == 400 and body["reason"] == "syntax" and "line 2" in body["message"]
    assert len(runs) == 1


def test_an_unexpected_failure_is_a_500_in_the_servers_shape(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(evaluation, "run", broken)
    response = app.test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert response.status_code == 500
    assert json.loads(response.data)["error"]["reason"] == "internal"


def test_a_request_takes_one_rate_limit_token_whoever_answers_it(make_app):
    client = make_app({"RATE_LIMIT_PER_MINUTE": 2}).test_client()
    refused = client.get("/sparql", query_string={"query": "SELECT * { SERVICE <http://x/> {} }"})
    assert refused.status_code == 400  # refused before evaluation: passed on to Flask, one token taken
    assert client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200
    limited = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_the_access_log_and_metrics_are_the_views(app, caplog):
    request = _request("POST", "SELECT ?s WHERE { ?s a cnkg:Project } LIMIT 2", "form", {"Accept": JSON}, {})
    entries = []
    for through_flask in (False, True):
        app.extensions["cnkg"].results.clear()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="cnkg.access"):
            _send(app, request, through_flask=through_flask)
        (record,) = [r for r in caplog.records if r.name == "cnkg.access"]
        entry = json.loads(record.getMessage())
        assert entry.pop("duration_ms") >= 0
        entries.append(entry)
    assert entries[0] == entries[1]
    assert entries[0]["rows"] == 2 and entries[0]["status"] == 200 and len(entries[0]["query_sha256"]) == 16
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'cnkg_http_requests_total{method="POST",route="/sparql",status="200"} 2.0' in metrics
    assert 'cnkg_http_request_duration_seconds_count{route="/sparql"} 2.0' in metrics


def test_a_body_above_the_fast_paths_size_is_read_by_flask_whole(app):
    padding = "#" + "x" * (80 * 1024) + "\n"
    response = app.test_client().post("/sparql", data={"query": padding + "ASK {}"}, headers={"Accept": JSON})
    assert response.status_code == 200 and json.loads(response.data) == {"head": {}, "boolean": True}


def test_anything_unexpected_in_the_fast_paths_checks_is_left_to_the_view(app, monkeypatch):
    from cnkg.server import fast_path

    def broken(*args, **kwargs):
        raise RecursionError("deep")

    monkeypatch.setattr(fast_path, "check", broken)
    response = app.test_client().get("/sparql", query_string={"query": "ASK {}"}, headers={"Accept": JSON})
    assert response.status_code == 200 and json.loads(response.data) == {"head": {}, "boolean": True}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_untrusted_host_is_refused_as_flask_refuses_it(make_app, method):
    client = make_app({"TRUSTED_HOSTS": ["kg.example.org"]}).test_client()
    if method == "GET":
        refused = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Host": "evil.example"})
        allowed = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Host": "kg.example.org"})
    else:
        refused = client.post("/sparql", data={"query": "ASK {}"}, headers={"Host": "evil.example"})
        allowed = client.post("/sparql", data={"query": "ASK {}"}, headers={"Host": "kg.example.org"})
    assert refused.status_code == 400 and allowed.status_code == 200


# Pieces of URL-encoded parameters and of bodies, valid and not, for the differential fuzz below
PARAMETER_PIECES = ["query=", "ASK+%7B%7D", "SELECT+*+%7B%3Fs+%3Fp+%3Fo%7D+LIMIT+2", "%FF", "%", "%2", "&", "&&",
                    "=", "+", "format=csv", "query=SELECT", "default-graph-uri=urn%3Ax", "update=CLEAR+ALL",
                    "%E2%9C%93", "&query=ASK+%7B%7D", "#", "%00", "query=SELECT+%3Fs+%7B%3Fs+a+cnkg%3AProject%7D",
                    "QUERY=ASK+%7B%7D", "&format=csv", "&default-graph-uri=urn%3Ax", "&named-graph-uri=urn%3Ay", "&x=1"]
BODY_PIECES = [b"ASK {}", b"SELECT * { ?s ?p ?o } LIMIT 3", b"\xff", b"\xc3\xa9", b" ", b"SERVICE <http://x/> {}",
               b"INSERT DATA { <a> <b> <c> }", b"{", b"}", b"query=ASK+%7B%7D", b"# comment\n", b"\x00"]
CONTENT_TYPES = [FORM, "application/sparql-query", "application/sparql-query; charset=latin-1",
                 f"{FORM}; charset=utf-8", "APPLICATION/SPARQL-QUERY", "text/plain", None]
ACCEPTS = [None, JSON, "text/csv", "image/png", "*/*", "text/turtle, */*;q=0.1"]


@st.composite
def raw_requests(draw) -> dict:
    method = draw(st.sampled_from(["GET", "POST"]))
    params = "".join(draw(st.lists(st.sampled_from(PARAMETER_PIECES), max_size=5)))
    headers = {}
    accept = draw(st.sampled_from(ACCEPTS))
    if accept is not None:
        headers["Accept"] = accept
    if method == "GET":
        return {"method": method, "path": "/sparql?" + params, "data": None, "headers": headers,
                "environ_overrides": {}}
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = (params.encode("ascii") if draw(st.booleans())
            else b"".join(draw(st.lists(st.sampled_from(BODY_PIECES), max_size=5))))
    query_string = "".join(draw(st.lists(st.sampled_from(PARAMETER_PIECES), max_size=1)))
    return {"method": method, "path": "/sparql" + (f"?{query_string}" if query_string else ""), "data": body,
            "headers": headers, "environ_overrides": {}}


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(request=raw_requests())
def test_any_request_is_answered_as_the_view_answers_it(app, request):
    fast, _ = _send(app, request, through_flask=False)
    app.extensions["cnkg"].results.clear()
    slow, _ = _send(app, request, through_flask=True)
    app.extensions["cnkg"].results.clear()
    assert fast.status_code == slow.status_code and fast.status_code != 500, (fast.data, slow.data)
    if b"sd:Service" not in slow.get_data():  # (the service description lists blank nodes in no set order)
        assert _snapshot(fast) == _snapshot(slow)
