"""Hostile queries against the query workers: the boundary is the kernel's, not the lexer's.

Each test stands for a class of attack the hostile-input review found: a query reaching the network once the lexer
and Oxigraph's parser disagree (an escape inside an IRI), a query exhausting memory, a query nesting deeper than
the parser's stack, large distinct queries growing the server's memory, and two busy clients starving a third. The
network tests run with cnkg's own SERVICE/LOAD check switched off, so they prove what the operating system
enforces, and count the connections a loopback listener receives.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest

from cnkg import sparql_text
from cnkg.sandbox import Job, Sandbox, SandboxError
from cnkg.server import safety

# A string ten times longer at each step: 76 bytes, then ~7.6 GB at the last step (past any worker's limit).
STRING_BOMB = ('SELECT (STRLEN(?x) AS ?n) WHERE { BIND("' + "a" * 76 + '" AS ?a) '
               + " ".join(f"BIND(CONCAT({', '.join([f'?{p}'] * 10)}) AS ?{v})"
                          for p, v in zip("abcdefgh", "bcdefghx")) + " }")


class Listener:
    """A loopback TCP listener that counts the connections it accepts."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql"

    def close(self):
        self.socket.close()


@pytest.fixture
def listener():
    listening = Listener()
    yield listening
    listening.close()


@pytest.fixture
def store(tmp_path) -> str:
    path = tmp_path / "snapshot.nq"
    path.write_text("<urn:s> <urn:p> <urn:o> <urn:g> .\n<urn:s> <urn:p> <urn:o> .\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def lexer_off(monkeypatch):
    """cnkg's own SERVICE check switched off: whatever stops a connection now is the workers' confinement."""
    monkeypatch.setattr(safety, "refuse_service", lambda text: None)
    from cnkg.server import protocol

    monkeypatch.setattr(protocol, "refuse_service", lambda text: None)


# ------------------------------------------------------------------------------------------------- the network

def test_a_confined_process_can_open_no_socket_and_start_no_program():
    code = ("import socket, os\n"
            "from cnkg.confinement import confine\n"
            "confine(None)\n"
            "for attempt in (lambda: socket.socket(), lambda: socket.socketpair(),\n"
            "                lambda: socket.create_connection(('127.0.0.1', 9))):\n"
            "    try:\n"
            "        attempt(); print('allowed')\n"
            "    except PermissionError:\n"
            "        print('denied')\n"
            "try:\n"
            "    os.execv('/bin/true', ['true']); print('allowed')\n"
            "except PermissionError:\n"
            "    print('denied')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["denied"] * 4


@pytest.mark.parametrize("query", [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "ASK {{ <urn:\\u0061#> ?p ?o . SERVICE <{url}> {{ }} }}",  # the escape that desynchronised the lexer
])
def test_a_worker_never_connects_whatever_the_query(store, listener, query):
    with Sandbox(1, timeout=20) as pool:
        try:
            pool.run(Job(query.format(url=listener.url), store))
        except SandboxError as exc:
            assert exc.kind == "evaluation"
    time.sleep(0.2)
    assert listener.connections == 0


def test_load_checked_as_an_update_never_connects(store, listener):
    """The update syntax check runs the update on an empty store in a worker: LOAD there reaches nothing."""
    with Sandbox(1, timeout=20) as pool:
        pool.run(Job(f"LOAD <{listener.url}> INTO GRAPH <urn:g>", store, kind="check-update"))
    time.sleep(0.2)
    assert listener.connections == 0


def test_service_through_http_with_the_lexer_check_off_reaches_nothing(client, listener, lexer_off):
    response = client.post("/sparql", data={"query": f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"})
    assert response.status_code == 400
    assert "cannot open network connections" in response.get_json()["error"]["message"]
    time.sleep(0.2)
    assert listener.connections == 0


def test_the_escaped_iri_that_fooled_the_lexer_is_read_as_oxigraph_reads_it(client, listener):
    response = client.post("/sparql", data={"query": f"ASK {{ <urn:\\u0061#> ?p ?o . SERVICE <{listener.url}> {{ }} }}"})
    assert response.status_code == 400
    assert response.get_json()["error"]["reason"] == "service"
    assert listener.connections == 0


def test_an_escaped_iri_in_from_names_the_graph_it_decodes_to(client):
    """FROM <...\\u0061...> is the graph Oxigraph decodes, not an undeclared prefix."""
    response = client.post("/sparql", data={"query": "SELECT * FROM <urn:\\u0061bsent> WHERE { ?s ?p ?o }"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["reason"] == "dataset" and "urn:absent" in error["message"]


# ------------------------------------------------------------------------------------------------- memory

def test_a_query_past_the_memory_limit_is_stopped_and_named(store):
    with Sandbox(1, timeout=60, memory=256 * 2**20) as pool:
        with pytest.raises(SandboxError) as caught:
            pool.run(Job(STRING_BOMB, store))
        assert caught.value.kind == "memory"
        assert "256 MiB" in caught.value.message
        assert pool.run(Job("ASK { ?s ?p ?o }", store)).body.endswith(b"true}")  # a fresh worker answers


def test_a_query_past_the_memory_limit_is_a_503_naming_the_limit(make_app):
    client = make_app({"QUERY_TIMEOUT": 60}).test_client()
    response = client.post("/sparql", data={"query": STRING_BOMB})
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["reason"] == "memory" and "MiB" in error["message"] and "--worker-memory" in error["message"]
    assert client.post("/sparql", data={"query": "ASK { ?s ?p ?o }"}).status_code == 200


def test_large_distinct_queries_leave_no_tokens_behind():
    """16 distinct 1 MB queries held ~1.7 GB in the lexer's cache; now a long text lives as long as its request."""
    texts = [f"SELECT * WHERE {{ {' '.join(f'?s{i} <urn:p> ?o{i} .' for i in range(4000))} }} # {n}"
             for n in range(16)]
    sparql_text.forget_large()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for text in texts:
            assert sparql_text.tokens(text) is sparql_text.tokens(text)  # asked twice in a request: read once
        sparql_text.forget_large()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 2 * 2**20, f"{kept:,} bytes kept after the requests"


# ------------------------------------------------------------------------------------------------- nesting

def test_deep_nesting_is_a_400_before_the_parser(client):
    query = "SELECT * WHERE { " + "{ " * 10_000 + "?s ?p ?o " + "} " * 10_000 + "}"
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["reason"] == "too_complex" and "10001 levels" in error["message"]


def test_nesting_the_lexer_does_not_count_is_a_400_too(store):
    """Past the lexer (the sandbox alone), a query deeper than the worker's stack ends its worker; the pool says
    why, and the next query gets a fresh worker."""
    query = "SELECT * WHERE { " + "{ " * 40_000 + "?s ?p ?o " + "} " * 40_000 + "}"
    with Sandbox(1, timeout=60) as pool:
        with pytest.raises(SandboxError) as caught:
            pool.run(Job(query, store))
        assert caught.value.kind == "too_complex"
        assert pool.run(Job("ASK { ?s ?p ?o }", store)).body.endswith(b"true}")


def test_an_update_nesting_deeply_is_a_400(make_app, private_graph):
    # an app that allows updates takes its graph's store over: never the session's shared graph
    client = make_app({"ALLOW_UPDATE": True, "UPDATE_TOKEN": "t"}, graph=private_graph).test_client()
    update = "DELETE WHERE { " + "{ " * 2_000 + "?s ?p ?o " + "} " * 2_000 + "}"
    response = client.post("/sparql", data={"update": update}, headers={"Authorization": "Bearer t"})
    assert response.status_code == 400
    assert response.get_json()["error"]["reason"] == "too_complex"


# ------------------------------------------------------------------------------------------------- fairness

VALUES = " ".join(str(i) for i in range(200))
SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"VALUES ?{v} {{ {VALUES} }}" for v in "abc")
        + " VALUES ?d { 1 2 3 4 5 6 7 8 } }")


def test_two_busy_clients_leave_a_worker_for_a_third(store):
    outcomes: list = []

    def slow(client: str, n: int):
        try:
            outcomes.append(pool.run(Job(f"{SLOW} # {client} {n}", store), client=client, timeout=20))
        except SandboxError as exc:
            outcomes.append(exc)

    with Sandbox(4, warm=4, timeout=20) as pool:
        deadline = time.monotonic() + 30
        while pool.idle < 4 and time.monotonic() < deadline:  # every worker up
            time.sleep(0.02)
        threads = [threading.Thread(target=slow, args=(c, n)) for n in range(2) for c in ("a", "b")]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while pool.running < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        answer = pool.run(Job("ASK { ?s ?p ?o }", store), client="c", timeout=20)
        assert answer.body.endswith(b"true}")
        assert not outcomes, "a slow query ended first: the third client waited for the flood"
        for thread in threads:
            thread.join(60)
