"""Sustained load on `cnkg serve`: 32 clients for 60 s, mixing canned queries, fresh ad-hoc queries and entity pages.

The server reads the article plus both official landscape snapshots (scale 1). Each client (a thread with its own
keep-alive connection) picks, request after request, a canned query with its defaults (`/queries/<name>`, JSON), a
query text nobody has sent before (`/sparql`), or an entity page (`/id/<slug>`, HTML). Reported: status counts,
p50/p99 latency per kind, throughput, and the server's resident memory (with its query workers) every 5 s.

    python bench/bench_load.py                     # 32 clients, 60 s
    python bench/bench_load.py --clients 8 --seconds 20

Writes bench/results/load.md and load.json. The load generator shares the machine with the server.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import pyoxigraph as ox

from bench_engine import Server, fresh_queries
from bench_landscape import import_snapshots
from bench_startup import free_port, rss_mb

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CANNED = ["projects-by-stage", "lineage", "integrations", "entity-facts", "article-then-and-now", "stage-as-of",
          "landscape-growth", "projects-by-category"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "landscape")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = import_snapshots(1, args.data, work)
        import subprocess

        subprocess.run([sys.executable, "-m", "cnkg.cli", "build"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        store = next((work / "cache").glob("kg-*.oxigraph"))
        reader = ox.Store.read_only(str(store))
        slugs = [row["e"].value.rsplit("/id/", 1)[1] for row in reader.query(
            "SELECT DISTINCT ?e WHERE { ?e a <https://w3id.org/cnkg/ontology#Project> } ORDER BY ?e")]
        del reader
        fresh = fresh_queries(store, 30_000)
        port = free_port()
        server = Server("cnkg serve", [sys.executable, "-m", "cnkg.cli", "serve", "--port", str(port),
                                       "--rate-limit", "0"], env, port, "/sparql")
        try:
            result = run(port, server, slugs, fresh, args.clients, args.seconds)
        finally:
            server.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(result, indent=2))
    text = report(result, args)
    (RESULTS / "load.md").write_text(text)
    print(text)


def run(port: int, server: Server, slugs: list[str], fresh: list[str], clients: int, seconds: float) -> dict:
    latencies: dict[str, list[float]] = {"canned": [], "fresh": [], "page": []}
    statuses: Counter = Counter()
    lock = threading.Lock()
    counter = iter(range(len(fresh)))
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[tuple[str, float, int]] = []
        while time.monotonic() < stop:
            kind = rng.choice(["canned", "fresh", "page"])
            if kind == "canned":
                method, path, body = "GET", f"/queries/{rng.choice(CANNED)}?format=json", None
            elif kind == "fresh":
                with lock:
                    text = fresh[next(counter)]
                method, path, body = "POST", "/sparql", urllib.parse.urlencode({"query": text})
            else:
                method, path, body = "GET", f"/id/{rng.choice(slugs)}", None
            headers = {"Accept": "text/html" if kind == "page" else "application/sparql-results+json"}
            if body:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            started = time.perf_counter()
            try:
                conn.request(method, path, body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append((kind, time.perf_counter() - started, status))
        with lock:
            for kind, latency, status in mine:
                latencies[kind].append(latency)
                statuses[status] += 1

    memory = []
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        memory.append((round(time.monotonic() - began), *rss_mb(server.proc.pid)))
        time.sleep(5)
    for thread in threads:
        thread.join()
    total = sum(len(v) for v in latencies.values())

    def pct(values, q):
        values = sorted(values)
        return 1000 * values[min(len(values) - 1, int(q * len(values)))] if values else 0.0

    return {"clients": clients, "seconds": seconds, "requests": total, "per_second": total / seconds,
            "statuses": {str(k): v for k, v in statuses.items()},
            "latency": {kind: {"count": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99),
                               "max_ms": 1000 * max(v, default=0)} for kind, v in latencies.items()},
            "memory": memory}


def report(r: dict, args) -> str:
    lines = ["# Sustained load on `cnkg serve`", "",
             f"Run: `python bench/bench_load.py --clients {args.clients} --seconds {args.seconds:g}`, "
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}. The article "
             "plus both official snapshots (45k triples); each client mixes canned queries, fresh ad-hoc queries and "
             "entity pages; the load generator shares the 2 cores with the server and its workers.", "",
             f"{r['requests']:,} requests, {r['per_second']:.0f} per second; statuses: "
             + ", ".join(f"{k}: {v:,}" for k, v in sorted(r["statuses"].items())) + ".", "",
             "| kind | requests | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|"]
    for kind, v in r["latency"].items():
        lines.append(f"| {kind} | {v['count']:,} | {v['p50_ms']:.1f} | {v['p99_ms']:.1f} | {v['max_ms']:.0f} |")
    lines += ["", "Server memory over the run (s: MB for the server process, MB with its query workers): "
              + "; ".join(f"{t} s: {a:.0f} ({b:.0f})" for t, a, b in r["memory"]) + ".", "",
              "Target (issue: hostile and clumsy input): 0 errors, p99 ≤ 1 s, RSS flat after warm-up.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
