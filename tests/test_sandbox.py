"""The query worker pool (cnkg.sandbox.Sandbox): warm workers kept running, more started when every worker is busy
(up to the maximum), the extra ones stopped once idle; one client never holds every worker."""
from __future__ import annotations

import threading
import time

import pytest

from cnkg.sandbox import Job, Sandbox, SandboxError

VALUES = " ".join(str(i) for i in range(200))
# ~64 million solutions to count: seconds of one core here, so it is still running while the test looks
SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"VALUES ?{v} {{ {VALUES} }}" for v in "abc")
        + " VALUES ?d { 1 2 3 4 5 6 7 8 } }")
# ~1 million: tens of milliseconds, so that queries started together overlap
MEDIUM = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"VALUES ?{v} {{ {VALUES[:290]} }}" for v in "abc") + " }"


@pytest.fixture
def store(tmp_path) -> str:
    path = tmp_path / "snapshot.nq"
    path.write_text("<urn:s> <urn:p> <urn:o> <urn:g> .\n<urn:s> <urn:p> <urn:o> .\n", encoding="utf-8")
    return str(path)


def _until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _ask(pool: Sandbox, store: str, client: str | None = None, timeout: float | None = None) -> bool:
    return pool.run(Job("ASK { ?s ?p ?o }", store), timeout=timeout, client=client).body.endswith(b"true}")


def _in_background(pool: Sandbox, job: Job, outcome: list, **options) -> threading.Thread:
    def run():
        try:
            outcome.append(pool.run(job, **options))
        except SandboxError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_only_the_warm_workers_start(store):
    with Sandbox(4, warm=2) as pool:
        assert _until(lambda: pool.workers == 2)
        time.sleep(0.5)  # a pool that started all four would have more by now
        assert pool.workers == 2 and pool.idle == 2
        assert _ask(pool, store)
        assert pool.workers == 2


def test_a_query_finding_every_worker_busy_starts_another(store):
    with Sandbox(3, warm=1, retire_after=60) as pool:
        assert _until(lambda: pool.idle == 1)
        slow: list = []
        thread = _in_background(pool, Job(SLOW, store), slow, timeout=30)
        assert _until(lambda: pool.idle == 0)
        started = time.monotonic()
        assert _ask(pool, store)
        took = time.monotonic() - started
        assert not slow, "the slow query ended first: the ASK did not need a new worker"
        assert pool.workers == 2
        print(f"ASK answered by a worker started for it in {took:.3f} s")
    thread.join(10)
    assert isinstance(slow[0], SandboxError) and slow[0].kind == "stopped"


def test_workers_beyond_the_warm_ones_retire_once_idle(store):
    with Sandbox(4, warm=1, retire_after=0.5) as pool:
        most = [0]
        watching = threading.Event()

        def watch():
            while not watching.is_set():
                most[0] = max(most[0], pool.workers)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        barrier = threading.Barrier(6)
        answers: list = []

        def burst(i):
            barrier.wait()
            answers.append(pool.run(Job(f"{MEDIUM} # {i}", store), timeout=30))

        threads = [threading.Thread(target=burst, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(answers) == 6 and all(a.rows == 1 for a in answers)
        assert _until(lambda: most[0] == 4), f"the pool grew to {most[0]} workers, not its maximum of 4"
        assert _until(lambda: pool.workers == 1, 10), f"{pool.workers} workers still running"
        watching.set()
        watcher.join()
        assert most[0] <= 4
        assert _ask(pool, store)


def test_a_worker_stopped_at_the_timeout_is_replaced_only_to_keep_the_warm_count(store):
    with Sandbox(4, warm=1) as pool:
        with pytest.raises(SandboxError) as caught:
            pool.run(Job(SLOW, store), timeout=0.3)
        assert caught.value.kind == "timeout"
        assert _until(lambda: pool.idle == 1)
        time.sleep(0.3)
        assert pool.workers == 1
        assert _ask(pool, store)


def test_one_client_cannot_hold_every_worker_while_the_pool_grows(store):
    """A client flooding slow queries holds at most all workers but one (started on demand); another client's
    query gets the last one while the flood still runs."""
    with Sandbox(3, warm=1, retire_after=60) as pool:
        flood: list = []
        threads = [_in_background(pool, Job(f"{SLOW} # {i}", store), flood, client="greedy", timeout=8)
                   for i in range(4)]
        assert _until(lambda: pool.running == 2)
        time.sleep(0.2)
        assert pool.running == 2, "the greedy client holds more than all workers but one"
        started = time.monotonic()
        assert _ask(pool, store, client="other", timeout=8)
        took = time.monotonic() - started
        assert not flood, "a slow query ended first: the other client did not get through during the flood"
        assert pool.workers == 3
        print(f"the other client's ASK was answered in {took:.3f} s during the flood")
    for thread in threads:
        thread.join(10)


def test_closing_stops_a_query_waiting_for_a_worker(store):
    pool = Sandbox(1, warm=1)
    outcomes: list = []
    first = _in_background(pool, Job(SLOW, store), outcomes, timeout=30)
    assert _until(lambda: pool.idle == 0)
    waiting: list = []
    second = _in_background(pool, Job("ASK {}", store), waiting, timeout=30)
    assert _until(lambda: pool.running == 2)
    started = time.monotonic()
    pool.close()
    second.join(5)
    first.join(5)
    assert time.monotonic() - started < 5
    assert waiting[0].kind == "stopped" and outcomes[0].kind == "stopped"


def test_prepare_opens_the_store_ahead_and_a_bad_one_breaks_nothing(store, tmp_path):
    with Sandbox(2, warm=1) as pool:
        pool.prepare(str(tmp_path / "missing.nq"))  # the worker cannot open it: the query that reads it reports it
        with pytest.raises(SandboxError) as caught:
            pool.run(Job("ASK { ?s ?p ?o }", str(tmp_path / "missing.nq")))
        assert caught.value.kind == "evaluation"
        pool.prepare(store)
        assert _ask(pool, store)
        assert pool.workers == 1


def test_a_large_answer_crosses_to_the_server_whole_and_in_the_format_asked(store):
    """Megabytes of answer (many pipe buffers' worth) arrive whole, after a store-opening message sent just before
    (two messages back to back on one pipe), and the JSON is what json.dumps writes for the same results."""
    import json

    from cnkg.sandbox import evaluate

    rows = " ".join(f'("é \\" \\\\ {i}"@en <urn:x{i}>)' for i in range(30_000))
    job = Job(f"SELECT ?l ?x ?none WHERE {{ VALUES (?l ?x) {{ {rows} }} }}", store, max_rows=25_000)
    with Sandbox(1, warm=1) as pool:
        pool.prepare(store)  # a store-opening message, then the job, on the same pipe
        answer = pool.run(job, timeout=60)
    assert answer.rows == 25_000 and answer.truncated
    assert len(answer.body) > 2_000_000
    assert answer.body == evaluate(job).body
    expected = {"head": {"vars": ["l", "x", "none"]}, "results": {"bindings": [
        {"l": {"type": "literal", "value": f'é " \\ {i}', "xml:lang": "en"}, "x": {"type": "uri", "value": f"urn:x{i}"}}
        for i in range(25_000)]}}
    assert answer.body == json.dumps(expected, ensure_ascii=False).encode("utf-8")
