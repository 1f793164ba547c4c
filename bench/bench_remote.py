"""Push the synthetic N× landscape into Oxigraph server and compare named-query latency through cnkg over it with
the embedded store.

    python bench/bench_remote.py [--data DIR] [--scales 10]   # -> bench/results/remote.md and remote.json

For each scale: import the landscape snapshots (bench_landscape.import_snapshots), build into a fresh cache, start
``oxigraph serve`` (the PyPI binary) on a free loopback port in a temporary directory, time ``cnkg.remote.push``
(chunks of 50,000 triples, counts checked with COUNT), then time every named query of bench_landscape.QUERIES
in-process: the embedded store (``cnkg.load()``) and the remote store (``cnkg.connect()``), median of 5 after one
warm-up run each.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_landscape import QUERIES, import_snapshots, measure_scales  # noqa: E402
from remote_servers import start_oxigraph  # noqa: E402

MEASURE = """
import json, statistics, sys, time
import cnkg
from cnkg import remote
gsp, query_url, queries = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
graph = cnkg.load()
report = remote.push(graph.store, gsp, query_url=query_url, progress=False)
far = cnkg.connect(query_url, timeout=300)

def timed(g, name, params):
    g.query(name, **params)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        rows = len(g.query(name, **params))
        runs.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(runs), 1), rows

latency = {}
for name, params in queries.items():
    local_ms, local_rows = timed(graph, name, params)
    remote_ms, remote_rows = timed(far, name, params)
    latency[name] = {"embedded_ms": local_ms, "remote_ms": remote_ms, "rows": local_rows,
                     "same_rows": local_rows == remote_rows}
print(json.dumps({"triples": report.triples, "graphs": len(report.graphs), "seconds": round(report.seconds, 2),
                  "triples_per_second": round(report.triples_per_second), "latency": latency}))
"""


def measure(scale: int, data: Path, work: Path) -> dict:
    env = import_snapshots(scale, data, work)
    subprocess.run([sys.executable, "-m", "cnkg.cli", "build"], cwd=ROOT, env=env, check=True, capture_output=True)
    server_dir = work / "oxigraph"
    server_dir.mkdir()
    server = start_oxigraph(server_dir)
    try:
        out = subprocess.run([sys.executable, "-c", MEASURE, server.gsp_url, server.query_url, json.dumps(QUERIES)],
                             cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    finally:
        server.stop()
    return {"scale": scale, **json.loads(out.stdout)}


def report(results: list[dict]) -> str:
    oxigraph = subprocess.run([str(Path(sys.executable).parent / "oxigraph"), "--version"], capture_output=True,
                              text=True).stdout.strip()
    lines = ["# cnkg over a remote store: push into Oxigraph server, named queries through it", "",
             f"Run: `python bench/bench_remote.py --scales {','.join(str(r['scale']) for r in results)}`, "
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores (shared with other work), Python "
             f"{sys.version.split()[0]}, {oxigraph or 'oxigraph'} on 127.0.0.1 (a fresh store, default settings). "
             "The push sends every named graph plus the union graph, in chunks of 50,000 triples, and checks every "
             "count with COUNT; triples/s is over the whole push, the checks included.", "",
             "| scale | triples sent (union included) | graphs | push s | triples/s |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['scale']}× | {r['triples']:,} | {r['graphs']} | {r['seconds']} | "
                     f"{r['triples_per_second']:,} |")
    lines += ["", "Named-query latency, in-process, median of 5 after a warm-up (milliseconds): the embedded store "
              "(`cnkg.load()`) against the same graph through `cnkg.connect()` over Oxigraph server (a SPARQL "
              "request per query, JSON results parsed into rdflib terms).", ""]
    header = "| query | " + " | ".join(f"{r['scale']}× embedded ms | {r['scale']}× remote ms (rows)" for r in results)
    lines += [header + " |", "|---" * (1 + 2 * len(results)) + "|"]
    for name in QUERIES:
        cells = []
        for r in results:
            q = r["latency"][name]
            same = "" if q["same_rows"] else " ≠"
            cells += [f"{q['embedded_ms']}", f"{q['remote_ms']} ({q['rows']}{same})"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    _, results = measure_scales(__doc__.splitlines()[0], measure, default_scales="10")
    out = ROOT / "bench" / "results"
    (out / "remote.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "remote.md").write_text(report(results))
    print(report(results))


if __name__ == "__main__":
    main()
