"""What one query worker needs in memory: the data a worker holds (VmData, what its RLIMIT_DATA limit counts: heap,
anonymous mappings, thread stacks) idle with the store open, and at its peak during each named query, on the
article plus both official landscape snapshots (1x) and a synthetic N x landscape. The numbers behind the default
`--worker-memory` and the Kubernetes memory limit.

    python bench/bench_worker_memory.py [--data DIR] [--scales 1,10]   # -> bench/results/worker-memory.md

Each query runs in a fresh worker started without a memory limit (a worker keeps the memory it once took), sampled
every 5 ms; the idle figure is that worker's before the query. Inputs as in bench_landscape.py.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_landscape import QUERIES, ROOT, import_snapshots, run_python

RESULTS = ROOT / "bench" / "results"
# the named queries with bench_landscape's parameters, and the heaviest text anyone may post: entity-facts with
# ?entity left unbound (every fact about every entity, ordered)
UNBOUND = "entity-facts, ?entity unbound"
CASES = {**QUERIES, UNBOUND: None}

MEASURE = """
import json, sys, threading, time
import cnkg
from cnkg.sandbox import Job, Warm, _Worker

def data_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1])

graph = cnkg.load()
store = str(graph.store.path)
results = {}
for label, params in json.loads(sys.argv[1]).items():
    query = graph.named_query(label.split(",")[0])
    text = query.text if params is None else query.bound(graph.bind(query, params))
    worker = _Worker(memory=None)
    assert worker.ready(), "the worker did not start"
    worker.send(Warm(store))  # opens the store; the ping after it is answered once that is done
    worker.send(None)
    worker.poll(120) and worker.recv()
    idle = data_kib(worker.process.pid)
    peak, started = idle, time.perf_counter()
    worker.send(Job(text, store, max_rows=10_000))
    while not worker.poll(0.005):
        peak = max(peak, data_kib(worker.process.pid))
    answer = worker.recv()
    seconds = time.perf_counter() - started
    peak = max(peak, data_kib(worker.process.pid))
    worker.stop()
    results[label] = {"idle_mb": idle / 1024, "peak_mb": peak / 1024, "seconds": seconds,
                      "error": None if answer[0] == "ok" else f"{answer[1]}: {answer[2]}"}
print(json.dumps({"store": store, "results": results}))
"""

MEASURE_BUILD = """
from cnkg import cache, imports
from cnkg.pipeline import build
snapshots = imports.imported()
build(landscapes=snapshots, progress=False, store_path=cache.writable_path(cache.fingerprint(landscapes=snapshots)))
print("{}")
"""


def measure(scale: int, data: Path, work: Path) -> dict:
    env = import_snapshots(scale, data, work)
    run_python(MEASURE_BUILD, env)
    return {"scale": scale, **run_python(MEASURE, env, json.dumps(CASES))}


def report(results: list[dict]) -> str:
    lines = ["# Query worker memory", "",
             f"Run: `python bench/bench_worker_memory.py --scales {','.join(str(r['scale']) for r in results)}`, "
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}. Data held by "
             "one query worker (VmData: heap, anonymous mappings and thread stacks, what `--worker-memory` limits; "
             "the 64 MiB evaluation stack is counted whole) with the store open and idle, and its peak while "
             "answering each named query (at most 10,000 rows), each in a fresh worker, sampled every 5 ms.", "",
             "| query | " + " | ".join(f"{r['scale']}× peak MB (s)" for r in results) + " |",
             "|---|" + "---|" * len(results)]
    lines.append("| (idle, store open) | " + " | ".join(
        f"{min(v['idle_mb'] for v in r['results'].values()):.0f}" for r in results) + " |")
    for label in CASES:
        cells = []
        for r in results:
            v = r["results"][label]
            cells.append(f"{v['peak_mb']:.0f} ({v['seconds']:.1f})" + (f" error: {v['error']}" if v["error"] else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for r in results:
        peak = max(v["peak_mb"] for v in r["results"].values())
        lines.append(f"- {r['scale']}×: the highest peak is {peak:.0f} MB.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "landscape")
    parser.add_argument("--scales", default="1,10")
    args = parser.parse_args()
    results = []
    for scale in (int(s) for s in args.scales.split(",")):
        with tempfile.TemporaryDirectory(prefix=f"cnkg-bench-x{scale}-") as work:
            results.append(measure(scale, args.data, Path(work)))
            print(json.dumps(results[-1]), file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "worker-memory.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "worker-memory.md").write_text(report(results))
    print(report(results))


if __name__ == "__main__":
    main()
