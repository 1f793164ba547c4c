"""The common query answered on the server's event loop (cnkg.server.loop_server.LoopServer): over real HTTP,
every answer must be the one the request threads give (status, headers, body), a query past its deadline is stopped
and its worker killed, more queries than workers all get their answers, and requests on one connection are answered
in order."""
from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import threading
import time
import urllib.parse
from contextlib import contextmanager
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings

from cnkg.server.loop_server import LoopServer
from test_fast_path import raw_requests

FORM = "application/x-www-form-urlencoded"
JSON = "application/sparql-results+json"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"

# (method, target, headers, body, whether the loop answers it itself)
REQUESTS = [
    ("GET", "/sparql?query=ASK+%7B%7D", {}, None, True),
    ("GET", "/sparql?" + urllib.parse.urlencode({"query": "SELECT ?s ?l WHERE { ?s rdfs:label ?l } ORDER BY ?s "
                                                          "LIMIT 7"}), {"Accept": JSON}, None, True),
    ("POST", "/sparql", {"Content-Type": FORM, "Accept": "text/csv", "Origin": "https://example.org"},
     urllib.parse.urlencode({"query": "SELECT * WHERE { ?s a cnkg:Project ; rdfs:label ?l } ORDER BY ?l"}), True),
    ("POST", "/sparql", {"Content-Type": "application/sparql-query", "Accept": "text/turtle"},
     "CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s a cnkg:Project ; rdfs:label ?l }", True),
    ("POST", "/sparql", {"Content-Type": FORM, "Accept": "application/sparql-results+xml"},
     urllib.parse.urlencode({"query": 'SELECT ?l WHERE { ?s rdfs:label ?l FILTER(?l != "ünïcode ✓") } LIMIT 2'}),
     True),
    ("GET", "/sparql?" + urllib.parse.urlencode({"query": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 50"}),
     {"Accept": JSON}, None, True),                                               # truncated at MAX_ROWS
    ("GET", "/sparql?" + urllib.parse.urlencode({"query": "SELECT (<rel> AS ?x) {}"}), {"Host": "kg.example"}, None,
     True),
    # failing in a worker: the view answers, on a thread
    ("GET", "/sparql?" + urllib.parse.urlencode({"query": "SELECT * {\n ?s ?p ?o LIMIT 2"}), {}, None, False),
    ("POST", "/sparql", {"Content-Type": FORM}, urllib.parse.urlencode({"query": SLOW}), False),  # 503 timeout
    # refused before evaluation, or not the fast path's: the view answers, on a thread
    ("GET", "/sparql?query=ASK+%7B%7D", {"Accept": "image/png"}, None, False),   # 406
    ("POST", "/sparql", {"Content-Type": FORM}, "query=SELECT+*+%7B+SERVICE+%3Chttp%3A%2F%2Fx%3E+%7B%7D+%7D", False),
    ("GET", "/sparql?query=ASK+%7B%7D&format=csv", {}, None, False),
    ("GET", "/sparql?query=++", {}, None, False),                                 # an empty query: 400
]


@pytest.fixture
def graceful():
    """``graceful(app, answer_on_loop=True, threads=4)``: ``app`` under cnkg's HTTP server on a loopback port, its
    event loop answering the common query or not."""
    return partial(_graceful, LoopServer)


@contextmanager
def _graceful(server_class, app, answer_on_loop: bool = True, threads: int = 4):
    with open(os.devnull, "w") as log:
        server = server_class(app, grace=1.0, log=log, stop_workers=False, host="127.0.0.1", port=0,
                              threads=threads, answer_on_loop=answer_on_loop)
        assert (server.loop_answers is not None) == answer_on_loop
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.stop()
            thread.join(5)


def _send(port: int, method: str, target: str, headers: dict, body) -> tuple:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, target, body=body.encode("utf-8") if isinstance(body, str) else body,
                           headers=headers)
        response = connection.getresponse()
        kept = sorted((k, v) for k, v in response.getheaders() if k.lower() not in ("date", "server"))
        return response.status, kept, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method, target, headers, body, on_loop", REQUESTS,
                         ids=[str(n) for n in range(len(REQUESTS))])
def test_the_loop_answers_as_the_request_threads_do(graceful, make_app, method, target, headers, body, on_loop):
    app = make_app({"MAX_ROWS": 20, "QUERY_TIMEOUT": 0.5})
    answers = []
    for loop in (True, False):
        app.extensions["cnkg"].results.clear()
        with graceful(app, answer_on_loop=loop) as server:
            port = server.effective_port
            # a miss, then a hit (the port, in the service description's IRIs, is each server's own)
            sent = [_send_when_idle(app, port, method, target, headers, body) for _ in range(2)]
            answers.append([(status, headers_, payload.replace(str(port).encode(), b"PORT"))
                            for status, headers_, payload in sent])
            if loop:
                assert server.loop_answers.answered_here == (2 if on_loop else 0)
    assert answers[0] == answers[1]
    assert answers[0][0][0] != 500


def test_an_answer_on_the_loop_is_logged_counted_and_kept_once_written(graceful, make_app, caplog):
    """The loop writes its answer first and then does the bookkeeping (the result cache, the metrics, the access
    log): all three still happen, once per answer."""
    app = make_app()
    target = "/sparql?" + urllib.parse.urlencode({"query": "SELECT ?s WHERE { ?s a cnkg:Project } LIMIT 2"})
    with caplog.at_level(logging.INFO, logger="cnkg.access"), graceful(app) as server:
        sent = [_send_when_idle(app, server.effective_port, "GET", target, {"Accept": JSON}, None) for _ in range(2)]
        metrics = _send(server.effective_port, "GET", "/metrics", {}, None)[2].decode()
        on_loop = server.loop_answers.answered_here
    assert [dict(headers)["X-Cache"] for _, headers, _ in sent] == ["miss", "hit"]
    assert on_loop == 2
    entries = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cnkg.access"]
    entries = [e for e in entries if e["path"] == "/sparql"]
    assert [(e["status"], e["rows"]) for e in entries] == [(200, 2), (200, 2)]
    assert 'cnkg_http_requests_total{method="GET",route="/sparql",status="200"} 2.0' in metrics


def test_an_answer_larger_than_the_workers_pipe_is_read_whole(graceful, make_app):
    """Regression: uvloop leaves a pipe it watched non-blocking, and the sandbox's reader took the first empty read
    of a large answer (more than the pipe holds, 64 KiB) for a dead worker: 500, the worker killed."""
    app = make_app({"MAX_ROWS": 100_000})
    with graceful(app) as server:
        port = server.effective_port
        count = json.loads(_send(port, "GET", "/sparql?query=" + urllib.parse.quote(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"), {"Accept": JSON}, None)[2])
        triples = int(count["results"]["bindings"][0]["n"]["value"])
        for n in range(3):  # a new text each time: each evaluated by a worker
            query = f"SELECT ?s ?p ?o WHERE {{ ?s ?p ?o FILTER(?o != <urn:x-test:{n}>) }}"
            status, _, body = _send(port, "POST", "/sparql", {"Content-Type": FORM, "Accept": JSON},
                                    urllib.parse.urlencode({"query": query}))
            assert status == 200, body[:300]
            assert len(body) > 128 * 1024
            assert len(json.loads(body)["results"]["bindings"]) == triples
        assert server.loop_answers.answered_here >= 3


def _send_when_idle(app, port: int, *request) -> tuple:
    """``_send`` once a query worker is idle: after a timeout killed one, its replacement may take longer to start
    than a short deadline on a loaded machine, and the answer would be 503 busy instead of the one compared."""
    pool, deadline = app.extensions["cnkg"].sandbox, time.monotonic() + 30
    while pool.idle == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    return _send(port, *request)


def _workers(app) -> set[int]:
    pool = app.extensions["cnkg"].sandbox
    with pool._lock:
        return {worker.process.pid for worker in pool._all}


def test_a_query_past_its_deadline_is_stopped_and_its_worker_killed(graceful, make_app):
    app = make_app({"QUERY_TIMEOUT": 0.5})
    with graceful(app) as server:
        assert _send(server.effective_port, "GET", "/sparql?query=ASK+%7B%7D", {}, None)[0] == 200
        before = _workers(app)
        started = time.monotonic()
        status, headers, body = _send(server.effective_port, "POST", "/sparql", {"Content-Type": FORM},
                                      urllib.parse.urlencode({"query": SLOW}))
        took = time.monotonic() - started
    assert status == 503 and dict(headers)["Retry-After"] == "1"
    assert json.loads(body)["error"]["reason"] == "timeout"
    assert took < 5, f"answered after {took:.1f} s with a 0.5 s deadline"
    killed = before - _workers(app)
    assert killed, "the worker that ran the query is still running"
    for pid in killed:
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2]


def test_more_queries_than_workers_all_get_their_answers(graceful, make_app):
    """Queries that find no worker free wait on the loop for one (then, after a moment, on a thread): every one is
    answered, with its own answer."""
    app = make_app()
    count = 24
    results: dict[int, tuple] = {}

    def ask(n: int) -> None:
        # (each text new, so none is answered from the result cache; a few milliseconds each, so that the workers
        # are busy while the others arrive)
        query = (f"SELECT ?s WHERE {{ ?s a cnkg:Entity . ?a ?b ?c FILTER(?s != <urn:x-test:{n}>) }} GROUP BY ?s "
                 f"ORDER BY ?s LIMIT {n % 5 + 1}")
        results[n] = _send(port, "POST", "/sparql", {"Content-Type": FORM, "Accept": JSON},
                           urllib.parse.urlencode({"query": query}))

    with graceful(app, threads=8) as server:
        port = server.effective_port
        ask(-1)  # the store open in a worker
        clients = [threading.Thread(target=ask, args=(n,)) for n in range(count)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
        queued = server.loop_answers.queued_here
    assert sorted(results) == list(range(-1, count))
    for n, (status, _, body) in results.items():
        assert status == 200, body
        assert len(json.loads(body)["results"]["bindings"]) == n % 5 + 1
    assert queued >= 1, "no query waited on the loop for a worker: this test did not test that"


def test_requests_sent_together_on_one_connection_are_answered_in_order(graceful, app):
    queries = [f"SELECT ?s WHERE {{ ?s a cnkg:Entity }} ORDER BY ?s LIMIT {n}" for n in (1, 2, 3)]
    wire = b"".join(
        (f"GET /sparql?{urllib.parse.urlencode({'query': q})} HTTP/1.1\r\nHost: x\r\nAccept: {JSON}\r\n\r\n")
        .encode() for q in queries)
    with graceful(app) as server:
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=30) as sock:
            sock.sendall(wire)  # pipelined: the second and third wait while the first is answered
            received = b""
            rows = []
            while len(rows) < len(queries):
                head, _, rest = received.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), None) if _ else None
                if length is not None and len(rest) >= length:
                    assert head.startswith(b"HTTP/1.1 200")
                    rows.append(len(json.loads(rest[:length])["results"]["bindings"]))
                    received = rest[length:]
                    continue
                chunk = sock.recv(65536)
                assert chunk, "the connection closed before every answer came"
                received += chunk
    assert rows == [1, 2, 3]


def test_a_client_gone_before_its_answer_leaves_no_worker_busy(graceful, make_app):
    app = make_app({"QUERY_TIMEOUT": 1.5})
    pool = app.extensions["cnkg"].sandbox
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    with graceful(app) as server:
        body = urllib.parse.urlencode({"query": query}).encode()
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=30) as sock:
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode()
                         + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            time.sleep(0.1)  # the query is running
        deadline = time.monotonic() + 10
        while pool.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.running == 0, "a query of a client that left still holds a worker"
        assert _send(server.effective_port, "GET", "/sparql?query=ASK+%7B%7D", {}, None)[0] == 200


def test_a_query_still_running_when_the_server_closes_frees_its_worker(graceful, make_app):
    """A server that leaves the query workers running (the process-wide pool, shared) must not leave one of them
    held by a query it will never answer."""
    app = make_app({"QUERY_TIMEOUT": 30})
    pool = app.extensions["cnkg"].sandbox
    outcome: dict = {}

    def slow() -> None:
        try:
            outcome["status"] = _send(port, "POST", "/sparql", {"Content-Type": FORM},
                                      urllib.parse.urlencode({"query": SLOW}))[0]
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = exc

    with graceful(app) as server:  # (a grace period of 1 s)
        port = server.effective_port
        deadline = time.monotonic() + 30  # a worker idle, so that the query starts on the loop, not on a thread
        while pool.idle == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        client = threading.Thread(target=slow)
        client.start()
        deadline = time.monotonic() + 5
        while not server.loop_answers.waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.loop_answers.waiting, "the query did not reach a worker on the loop"
    client.join(10)
    assert pool.running == 0, "the query's worker is still held"
    assert outcome, "the client was left waiting"


@pytest.fixture(scope="module")
def both_servers(graph):
    """The same app twice over the minimal graph: one server answering the common query on its loop, the other
    answering every request on its threads (two paths through the app)."""
    from conftest import TEST_CONFIG
    from cnkg.server import create_app

    with _graceful(LoopServer, create_app(dict(TEST_CONFIG), graph=graph)) as on_loop:
        with _graceful(LoopServer, create_app(dict(TEST_CONFIG), graph=graph), answer_on_loop=False) as on_threads:
            yield on_loop.effective_port, on_threads.effective_port


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(request=raw_requests())
def test_any_request_is_answered_by_the_loop_as_by_the_threads(both_servers, request):
    answers = []
    for port in both_servers:
        status, headers, body = _send(port, request["method"], request["path"], request["headers"], request["data"])
        answers.append((status, headers, body.replace(str(port).encode(), b"PORT")))
    assert answers[0][0] == answers[1][0] and answers[0][0] != 500, answers
    if b"sd:Service" not in answers[1][2]:  # (the service description lists blank nodes in no set order)
        assert answers[0] == answers[1]
