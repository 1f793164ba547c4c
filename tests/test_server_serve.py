"""Graceful shutdown of the real ``cnkg serve`` (server/loop_server.py), as a subprocess on a free loopback port: a stop
signal closes the listening socket, lets requests in flight finish (up to --grace-period), stops the query
workers and exits 0."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc")

# ~64 million solutions to count: a few seconds of Oxigraph's time here, so the query is still running when the
# signal arrives (the test checks that it was: the answer comes after the signal)
VALUES = " ".join(str(i) for i in range(200))
SLOW_QUERY = ("SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"VALUES ?{v} {{ {VALUES} }}" for v in "abc")
              + " VALUES ?d { 1 2 3 4 5 6 7 8 } }")
SLOW_COUNT = 200 ** 3 * 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(p) for p in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


class Server:
    def __init__(self, facts: Path, *args: str):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cnkg.cli", "--facts", str(facts), "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = self.connect(timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"cnkg serve did not start: {self.process.communicate()}") from None
                time.sleep(0.05)
        # the warm workers start one after another in the background (the others only when queries need them):
        # wait until they are all up
        wanted = int(args[args.index("--warm-workers") + 1]) if "--warm-workers" in args else 1
        while len(_children(self.process.pid)) < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        self.workers = _children(self.process.pid)

    def connect(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self, signum: int) -> tuple[int, float, str]:
        """Send ``signum``; the exit code, the seconds until exit, and what it wrote to standard error."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, time.monotonic() - sent, err

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def start(minimal_facts):
    servers = []

    def start_server(*args: str) -> Server:
        servers.append(Server(minimal_facts, *args))
        return servers[-1]

    yield start_server
    for server in servers:
        server.close()


def _query_in_background(server: Server, query: str) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def ask():
        conn = server.connect()
        try:
            conn.request("POST", "/sparql", urllib.parse.urlencode({"query": query}),
                         {"Content-Type": "application/x-www-form-urlencoded",
                          "Accept": "application/sparql-results+json"})
            response = conn.getresponse()
            outcome["status"], outcome["body"] = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = exc
        finally:
            conn.close()
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=ask)
    thread.start()
    return thread, outcome


def _wait_for_gone(pids: set[int], seconds: float = 5) -> set[int]:
    deadline = time.monotonic() + seconds
    while (left := {p for p in pids if _alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_idle_server_exits_0_within_2_s_and_stops_its_workers(start, signum):
    server = start("--warm-workers", "2")
    assert len(server.workers) == 2, "the warm query workers did not start"
    code, took, err = server.stop(signum)
    assert code == 0, err
    assert took < 2.0, f"took {took:.2f} s to stop"
    # (the readiness probe's request may still count as in flight for a moment after its client has the answer:
    # the server counts it done once its answer is written)
    assert f"stopping on {signal.Signals(signum).name}" in err and "every request in flight was answered" in err
    assert not _wait_for_gone(server.workers), "query worker processes outlived the server"


def test_a_query_in_flight_is_answered_before_the_server_exits(start):
    server = start("--timeout", "60")
    thread, outcome = _query_in_background(server, SLOW_QUERY)
    time.sleep(0.5)  # the query has reached a worker
    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(ConnectionRefusedError):  # no new connections once stopping
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    _, err = server.process.communicate(timeout=60)
    thread.join(60)
    assert server.process.returncode == 0, err
    assert outcome.get("status") == 200, outcome
    assert outcome["at"] > sent, "the query finished before the signal: it did not test a query in flight"
    answer = json.loads(outcome["body"])
    assert int(answer["results"]["bindings"][0]["n"]["value"]) == SLOW_COUNT
    assert "1 request in flight" in err and "every request in flight was answered" in err
    assert not _wait_for_gone(server.workers)


def test_a_killed_server_leaves_no_query_worker_running(start):
    """A server killed outright (SIGKILL, a crash, the OOM killer) cannot stop its workers: each must notice and
    stop, even one in the middle of a query that would run for minutes."""
    server = start("--timeout", "600")
    slower = SLOW_QUERY.replace("VALUES ?d { 1 2 3 4 5 6 7 8 }", f"VALUES ?d {{ {VALUES} }}")  # minutes of work
    thread, outcome = _query_in_background(server, slower)
    deadline = time.monotonic() + 10
    while not any(_busy(pid) for pid in _children(server.process.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(server.process.pid)
    assert any(_busy(pid) for pid in workers), "no worker is running the query: this test did not test that"
    server.process.kill()
    server.process.communicate()
    thread.join(10)
    assert not _wait_for_gone(workers, seconds=5), "a query worker outlived its server"


def _busy(pid: int) -> bool:
    """Whether one of ``pid``'s threads is using the CPU (its state is R)."""
    try:
        return any((task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "R"
                   for task in Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return False


def test_the_grace_period_ends_a_query_that_runs_too_long_and_stops_its_worker(start):
    server = start("--timeout", "60", "--grace-period", "0.5")
    slower = SLOW_QUERY.replace("VALUES ?d { 1 2 3 4 5 6 7 8 }", f"VALUES ?d {{ {VALUES} }}")  # minutes of work
    thread, outcome = _query_in_background(server, slower)
    time.sleep(0.5)
    code, took, err = server.stop(signal.SIGTERM)
    thread.join(10)
    assert code == 0, err
    assert took < 3.0, f"took {took:.2f} s to stop with a 0.5 s grace period"
    assert "1 request still in flight (cut off)" in err
    # answered, not dropped: the worker was stopped, and the client is told to retry
    assert outcome.get("status") == 503, outcome
    assert json.loads(outcome["body"])["error"]["reason"] == "stopping"
    assert not _wait_for_gone(server.workers), "the worker running the query outlived the server"


def test_a_second_signal_stops_at_once(start):
    server = start("--timeout", "60", "--grace-period", "60")
    slower = SLOW_QUERY.replace("VALUES ?d { 1 2 3 4 5 6 7 8 }", f"VALUES ?d {{ {VALUES} }}")
    thread, _ = _query_in_background(server, slower)
    time.sleep(1.0)
    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    server.process.send_signal(signal.SIGINT)
    _, err = server.process.communicate(timeout=30)
    thread.join(10)
    assert server.process.returncode == 0, err
    # far inside the 60 s grace period the first signal alone would wait for (a loaded machine may take seconds)
    assert time.monotonic() - sent < 15.0
    assert "cut off" in err
    assert not _wait_for_gone(server.workers)


def _ask(server: Server) -> bool:
    conn = server.connect()
    conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}),
                 headers={"Accept": "application/sparql-results+json"})
    answer = json.loads(conn.getresponse().read())["boolean"]
    conn.close()
    return answer


def test_warm_workers_sets_the_number_of_query_worker_processes_kept_running(start):
    server = start("--workers", "3", "--warm-workers", "2")
    time.sleep(1.0)  # a pool that started more than the warm ones would have them by now
    assert len(_children(server.process.pid)) == 2
    assert _ask(server) is True
    assert len(_children(server.process.pid)) == 2
    code, _, err = server.stop(signal.SIGTERM)
    assert code == 0, err


def test_workers_start_on_demand_up_to_workers_and_retire_once_idle(start):
    """One worker warm; a query arriving while it is busy gets a worker started for it; that one stops after
    --retire-after seconds idle. (With --workers 3 this client may run two queries at once: all workers but one.)"""
    server = start("--workers", "3", "--retire-after", "1", "--timeout", "60")
    assert len(server.workers) == 1
    slow_thread, slow = _query_in_background(server, SLOW_QUERY)
    time.sleep(0.5)  # the slow query holds the warm worker
    assert _ask(server) is True
    assert not slow, "the slow query ended first: the ASK did not need a second worker"
    assert len(_children(server.process.pid)) == 2
    slow_thread.join(60)
    assert slow.get("status") == 200, slow
    deadline = time.monotonic() + 10
    while len(_children(server.process.pid)) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_children(server.process.pid)) == 1, "the worker started on demand did not retire"
    assert _ask(server) is True
    code, _, err = server.stop(signal.SIGTERM)
    assert code == 0, err


def test_a_signal_while_starting_exits_0_without_leaving_workers(minimal_facts, tmp_path):
    """Before the server accepts connections (here: while the graph is still being built) a stop signal ends the
    start-up at once, workers included."""
    env = dict(os.environ, CNKG_CACHE_DIR=str(tmp_path / "fresh-cache"))
    process = subprocess.Popen([sys.executable, "-m", "cnkg.cli", "--facts", str(minimal_facts), "serve", "--port",
                                str(_free_port())], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    deadline = time.monotonic() + 30
    while not _children(process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = _children(process.pid)
    assert workers, "no query worker started"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "SPARQL endpoint at" not in out
    assert "stopped on SIGTERM while starting" in err
    assert not _wait_for_gone(workers)


def test_a_small_answer_goes_out_in_one_write_and_a_large_one_whole(monkeypatch):
    """The status line, the headers and a one-piece body leave in one write (a head sent on its own first means two
    system calls and two TCP segments per answer); a large body still arrives whole."""
    from flask import Flask

    from cnkg.server.loop_server import Connection, LoopServer

    sends: list[bytes] = []
    original = Connection.send

    def send(self, data, threaded, wait=True):
        sends.append(bytes(data))
        return original(self, data, threaded, wait)

    monkeypatch.setattr(Connection, "send", send)
    app = Flask(__name__)
    large = b"x" * (1024 * 1024 + 1)
    app.add_url_rule("/small", "small", lambda: "a small answer")
    app.add_url_rule("/large", "large", lambda: large)
    server = LoopServer(app, grace=1.0, log=open(os.devnull, "w"), stop_workers=False, host="127.0.0.1", port=0,
                        threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=10)
        conn.request("GET", "/small")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"a small answer")
        assert len(sends) == 1 and sends[0].startswith(b"HTTP/1.1 200 OK\r\n") \
            and sends[0].endswith(b"\r\n\r\na small answer")
        conn.request("GET", "/large")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, large)
        conn.close()
    finally:
        server.stop()
        thread.join(10)
