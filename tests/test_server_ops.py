"""Operations: Prometheus metrics, the JSON access log, /-/versions and per-client rate limiting."""
from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cnkg.server import create_app
from cnkg.server.ratelimit import TokenBucket


SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def samples(client) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value, parsed with prometheus_client's own parser."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(response.data.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(metrics, name, **labels) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_and_latency(client):
    for _ in range(3):
        assert client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200
    m = samples(client)
    assert value(m, "cnkg_http_requests_total", route="/sparql", method="GET", status="200") == 3
    assert value(m, "cnkg_http_request_duration_seconds_count", route="/sparql") == 3
    assert value(m, "cnkg_http_request_duration_seconds_bucket", route="/sparql", le="+Inf") == 3
    assert value(m, "cnkg_http_request_duration_seconds_sum", route="/sparql") > 0
    assert value(m, "cnkg_query_timeouts_total") == 0


def test_metrics_graph_size(client, graph):
    m = samples(client)
    assert value(m, "cnkg_graph_triples") == len(graph.dataset)
    assert value(m, "cnkg_graph_entities") == graph.counts().entities
    assert value(m, "cnkg_graph_named_graphs") == sum(1 for g in graph.dataset.graphs() if len(g))


def test_each_app_has_its_own_registry(graph, client):
    client.get("/sparql", query_string={"query": "ASK {}"})
    other = create_app(graph=graph).test_client()
    assert value(samples(other), "cnkg_http_requests_total", route="/sparql", method="GET", status="200") == 0


def test_timeouts_are_counted(graph):
    client = create_app({"QUERY_TIMEOUT": 0.3}, graph=graph).test_client()
    assert client.get("/sparql", query_string={"query": SLOW}).status_code == 503
    m = samples(client)
    assert value(m, "cnkg_query_timeouts_total") == 1
    assert value(m, "cnkg_http_requests_total", route="/sparql", method="GET", status="503") == 1


@pytest.mark.parametrize("query, reason", [
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", "service"),
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "update"),
    ("SELECT * FROM <http://127.0.0.1:9/x> WHERE { ?s ?p ?o }", "dataset"),
    ("SELEKT", "syntax"),
])
def test_rejected_queries_are_counted(client, query, reason):
    assert client.get("/sparql", query_string={"query": query}).status_code in (400, 403)
    m = samples(client)
    assert value(m, "cnkg_queries_rejected_total", reason=reason) == 1
    assert sum(v for (name, _), v in m.items() if name == "cnkg_queries_rejected_total") == 1


def test_access_log_is_one_json_line_per_request(client, caplog):
    query = "SELECT ?p WHERE { ?p a cnkg:Project }"
    with caplog.at_level(logging.INFO, logger="cnkg.access"):
        client.get("/sparql", query_string={"query": query}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
        client.get("/nope")
    lines = [r for r in caplog.records if r.name == "cnkg.access"]
    assert len(lines) == 2
    first, second = (json.loads(r.getMessage()) for r in lines)
    assert first["method"] == "GET" and first["path"] == "/sparql" and first["status"] == 200
    assert first["client"] == "10.1.2.3" and first["rows"] == 2
    assert first["query_length"] == len(query) and len(first["query_sha256"]) == 16
    assert query not in lines[0].getMessage()  # the query itself is not logged
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert second["status"] == 404 and "query_sha256" not in second


def test_versions(client):
    response = client.get("/-/versions")
    assert response.status_code == 200
    body = response.get_json()
    assert {"python", "cnkg", "rdflib", "owlrl", "flask", "uvloop", "httptools"} <= set(body)
    assert body["python"]["version"].count(".") == 2
    assert body["rdflib"].split(".")[0] == "7"


def test_rate_limit_answers_429_with_retry_after(graph):
    client = create_app({"RATE_LIMIT_PER_MINUTE": 3}, graph=graph).test_client()
    ask = {"query": "ASK {}"}
    assert [client.get("/sparql", query_string=ask).status_code for _ in range(3)] == [200] * 3
    response = client.get("/sparql", query_string=ask)
    assert response.status_code == 429
    assert response.get_json()["error"]["status"] == 429
    assert "3 queries per minute" in response.get_json()["error"]["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 20  # one token comes back every 60/3 s
    # per client: another address is not affected; neither are the ops endpoints
    other = client.get("/sparql", query_string=ask, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/queries").status_code == 429  # canned queries share the bucket
    assert value(samples(client), "cnkg_queries_rejected_total", reason="rate_limit") >= 1


def test_rate_limit_zero_disables(graph):
    client = create_app({"RATE_LIMIT_PER_MINUTE": 0}, graph=graph).test_client()
    assert all(client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200 for _ in range(20))


def test_token_bucket_refills():
    now = [0.0]
    bucket = TokenBucket(2, period=60.0, clock=lambda: now[0])
    assert bucket.take("a") == 0 and bucket.take("a") == 0
    assert bucket.take("a") == pytest.approx(30.0)
    now[0] = 30.0
    assert bucket.take("a") == 0
    assert bucket.take("b") == 0  # buckets are per key


def test_a_ten_megabyte_body_gets_413_not_a_reset(tmp_path, minimal_facts):
    """Regression: cnkg serve dropped the connection on a 10 MB body (waitress's own cap was twice the app's)."""
    import http.client
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, CNKG_CACHE_DIR=str(tmp_path / "cache"), CNKG_DATA_DIR=str(tmp_path / "data"))
    server = subprocess.Popen([sys.executable, "-m", "cnkg.cli", "--facts", str(minimal_facts), "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/sparql", b"query=" + b"x" * (10 * 1024 * 1024),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        assert response.status == 413
        assert b"request body too large" in response.read()
    finally:
        server.terminate()
        server.wait(10)
