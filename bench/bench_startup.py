"""Time from launching `cnkg serve` (graph in the cache) to the first answered SPARQL query.

    python bench/bench_startup.py          # 5 runs -> bench/results/startup.md

The graph is built into the cache first, so this measures a cached start: interpreter, imports, cache load,
named-query parsing, app creation, waitress start, first query.
"""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
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

    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        children = []
    return one(pid), one(pid) + sum(one(c) for c in children)


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
