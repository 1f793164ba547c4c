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

from bench_landscape import QUERIES, StepFailed, import_snapshots, measure_scales, run_measured  # noqa: E402
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
    """One scale; a step that fails (memory, time) is recorded with its time and peak RSS, not raised."""
    steps: dict = {}
    try:
        env = import_snapshots(scale, data, work, steps)
        steps["build"], _ = run_measured("build", [sys.executable, "-m", "cnkg.cli", "build"], env,
                                         work / "build.log")
        server_dir = work / "oxigraph"
        server_dir.mkdir()
        server = start_oxigraph(server_dir)
        try:
            steps["push and queries"], out = run_measured(
                "push and queries", [sys.executable, "-c", MEASURE, server.gsp_url, server.query_url,
                                     json.dumps(QUERIES)], env, work / "measure.log")
            steps["oxigraph server"] = {"peak_mb": round(_peak_rss_kb(server.process.pid) / 1024)}
        finally:
            server.stop()
    except StepFailed as failed:
        return {"scale": scale, "steps": {**steps, failed.step: failed.stats}, "failed": failed.step,
                "error": failed.output[-2000:]}
    return {"scale": scale, "steps": steps, **json.loads(out.strip().splitlines()[-1])}


def _peak_rss_kb(pid: int) -> int:
    """A running process's peak resident set (VmHWM), in KiB; 0 when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine() -> str:
    """What else the machine was doing when the run started: the load average and the memory available."""
    available = next((int(line.split()[1]) >> 20 for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemAvailable:")), None)
    total = next((int(line.split()[1]) >> 20 for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:")), None)
    return f"load average {os.getloadavg()[0]:.1f} and {available} of {total} GB of memory available at the start"


def report(results: list[dict], command: str, started: str) -> str:
    oxigraph = subprocess.run([str(Path(sys.executable).parent / "oxigraph"), "--version"], capture_output=True,
                              text=True).stdout.strip()
    done = [r for r in results if "failed" not in r]
    lines = ["# cnkg over a remote store: push into Oxigraph server, named queries through it", "",
             f"Run: `{command}`, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {started}; Python "
             f"{sys.version.split()[0]}, {oxigraph or 'oxigraph'} on 127.0.0.1 (a fresh store, default settings). "
             "Scale N is the official current landscape.yml with every item listed N times (bench_landscape."
             "synthetic), imported with the 2018 snapshot (with `--max-size` when over 16 MiB), built by `cnkg "
             "build` into a fresh cache, then pushed from the cached store. The push sends every named graph plus "
             "the union graph, in chunks of 50,000 triples, and checks every count with COUNT; triples/s is over "
             "the whole push, the checks included.", "",
             "Each step in a fresh process; wall time and peak RSS (the process's own, from its rusage):", "",
             "| scale | landscape file MB | import s (peak MB) | build s (peak MB) | push and queries s (peak MB) "
             "| Oxigraph server peak MB | result |", "|---|---|---|---|---|---|---|"]
    for r in results:
        steps = r["steps"]
        current = next((v for k, v in steps.items() if k.startswith("import ")), None)   # the N× file first

        def cell(step):
            return f"{step['seconds']} ({step['peak_mb']:,})" if step and "seconds" in step else "–"
        result = f"failed in {r['failed']} (exit {steps[r['failed']]['exit']})" if "failed" in r else "done"
        server = steps.get("oxigraph server", {}).get("peak_mb")
        size = f"{current['bytes'] / 1e6:.1f}" if current else "–"
        lines.append(f"| {r['scale']}× | {size} | {cell(current)} | {cell(steps.get('build'))} | "
                     f"{cell(steps.get('push and queries'))} | {f'{server:,}' if server else '–'} | {result} |")
    lines += ["", "| scale | triples sent (union included) | graphs | push s | triples/s |", "|---|---|---|---|---|"]
    for r in done:
        lines.append(f"| {r['scale']}× | {r['triples']:,} | {r['graphs']} | {r['seconds']} | "
                     f"{r['triples_per_second']:,} |")
    lines += ["", "Named-query latency, in-process, median of 5 after a warm-up (milliseconds): the embedded store "
              "(`cnkg.load()`) against the same graph through `cnkg.connect()` over Oxigraph server (a SPARQL "
              "request per query, JSON results parsed into rdflib terms).", ""]
    header = "| query | " + " | ".join(f"{r['scale']}× embedded ms | {r['scale']}× remote ms (rows)" for r in done)
    lines += [header + " |", "|---" * (1 + 2 * len(done)) + "|"]
    for name in QUERIES:
        cells = []
        for r in done:
            q = r["latency"][name]
            same = "" if q["same_rows"] else " ≠"
            cells += [f"{q['embedded_ms']}", f"{q['remote_ms']} ({q['rows']}{same})"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for r in results:
        if "failed" in r:
            lines += ["", f"{r['scale']}× failed in {r['failed']}; the end of its output:", "", "```",
                      r["error"].strip()[-1500:], "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    started = machine()
    args, results = measure_scales(__doc__.splitlines()[0], measure, default_scales="10")
    command = f"python bench/bench_remote.py --scales {args.scales} --data DIR"   # DIR: the official snapshots
    out = ROOT / "bench" / "results"
    (out / "remote.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "remote.md").write_text(report(results, command, started))
    print(report(results, command, started))


if __name__ == "__main__":
    main()
