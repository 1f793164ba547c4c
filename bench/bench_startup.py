"""Time from launching `cnkg serve` (graph in the cache) to the first answered SPARQL query.

    python bench/bench_startup.py          # 5 runs -> bench/results/startup.md

The graph is built into the cache first, so this measures a cached start: interpreter, imports, cache load,
named-query parsing, app creation, the HTTP server's start, first query.
"""
from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of a process, and of it with its children (the query workers), in MB."""
    def one(p: int) -> float:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    return one(pid), one(pid) + sum(one(c) for c in _children(pid))


def serving_memory(env: dict, burst: int = 8, retire_after: float = 2.0) -> dict:
    """Resident memory (MB) of a cached ``cnkg serve`` over its life: the server alone and with its workers after the
    first answer (the warm workers only), right after ``burst`` concurrent queries from two client addresses (so the
    pool grows to its maximum: one client may hold all workers but one), and once the workers started for the burst
    have idled ``retire_after`` seconds and stopped (``--retire-after``, short here so the bench does not wait 30 s)."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cnkg.cli", "serve", "--port", str(port), "--retire-after",
                               str(retire_after)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)

    def ask(query: str, source: str = "127.0.0.1") -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}))
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"{query!r}: HTTP {response.status}")

    try:
        deadline = time.perf_counter() + 120
        while True:
            try:
                ask("ASK { ?s ?p ?o }")
                break
            except OSError:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the server did not answer within 120 s") from None
                time.sleep(0.01)
        time.sleep(1.0)  # the warm workers are up
        first = rss_mb(server.pid)
        # every query reads the whole store (a full scan), each a different text (no answer from the result cache)
        threads = [threading.Thread(target=ask, args=(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o }} # {i}",
                                                      f"127.0.0.{1 + i % 2}")) for i in range(burst)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        busy = rss_mb(server.pid)
        workers = len(_children(server.pid))
        time.sleep(retire_after + 2.0)
        idle = rss_mb(server.pid)
        return {"server": first[0], "first": first[1], "burst": busy[1], "burst_workers": workers,
                "retired": idle[1], "retired_workers": len(_children(server.pid))}
    finally:
        server.terminate()
        server.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def start_to_first_answer(env: dict, rss: bool = False):
    """Seconds from launch to the first answered query (and, with ``rss``, the server's memory then)."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "cnkg.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    try:
        deadline = started + 30
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    response.read()
                    elapsed = time.perf_counter() - started
                    if not rss:
                        return elapsed
                    time.sleep(1.0)  # let every worker finish starting
                    return elapsed, rss_mb(server.pid)
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("the server did not answer within 30 s")
    finally:
        server.terminate()
        server.wait()


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, CNKG_CACHE_DIR=cache)
        subprocess.run([sys.executable, "-m", "cnkg.cli", "build"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        times = [start_to_first_answer(env) for _ in range(runs)]
    lines = ["# Cached start of `cnkg serve` to the first answered query", "",
             f"Run: `python bench/bench_startup.py` ({runs} runs, article graph in the cache), "
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}.", "",
             "| median s | min s | max s |", "|---|---|---|",
             f"| {statistics.median(times):.2f} | {min(times):.2f} | {max(times):.2f} |", "",
             "Target: ≤ 1 s.", ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "startup.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
