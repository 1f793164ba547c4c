"""One-fact SPARQL updates over HTTP, with their inferences: `cnkg serve --allow-update` on the real data.

Each round inserts one lineage fact (`<x> cnkg:inspiredBy id:jaeger`), asks whether its inference is visible
(`<x> cnkg:hasAncestor id:dapper`), deletes the fact and asks again; the time of each update is from sending it
to its answer (the change, its inferences, the store and the workers' new snapshot all done), and the ASK after it
must see the change.

    python bench/bench_update.py --scales 1,10 --rounds 20

Writes bench/results/update.md and update.json.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_engine import Server
from bench_landscape import import_snapshots
from bench_startup import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TOKEN = "bench-token"


def send(port: int, body: str, update: bool) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/sparql-update" if update else "application/sparql-query",
               "Accept": "application/sparql-results+json"}
    if update:
        headers["Authorization"] = f"Bearer {TOKEN}"
    started = time.perf_counter()
    conn.request("POST", "/sparql", body.encode(), headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, data, time.perf_counter() - started


def measure(scale: int, data: Path, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = import_snapshots(scale, data, Path(tmp), CNKG_UPDATE_TOKEN=TOKEN)
        subprocess.run([sys.executable, "-m", "cnkg.cli", "build"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        port = free_port()
        server = Server("cnkg serve", [sys.executable, "-m", "cnkg.cli", "serve", "--port", str(port),
                                       "--rate-limit", "0", "--allow-update"], env, port, "/sparql")
        inserts, deletes, wrong = [], [], 0
        try:
            for i in range(rounds):
                fact = f"<https://w3id.org/cnkg/id/bench-{i}> cnkg:inspiredBy id:jaeger"
                ask = f"ASK {{ <https://w3id.org/cnkg/id/bench-{i}> cnkg:hasAncestor id:dapper }}"
                status, _, seconds = send(port, f"INSERT DATA {{ {fact} }}", True)
                inserts.append(seconds)
                wrong += status != 200 or json.loads(send(port, ask, False)[1])["boolean"] is not True
                status, _, seconds = send(port, f"DELETE DATA {{ {fact} }}", True)
                deletes.append(seconds)
                wrong += status != 200 or json.loads(send(port, ask, False)[1])["boolean"] is not False
        finally:
            server.stop()
    return {"scale": scale, "insert_ms": [1000 * s for s in inserts], "delete_ms": [1000 * s for s in deletes],
            "wrong": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "landscape")
    parser.add_argument("--scales", default="1")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    runs = [measure(int(s), args.data, args.rounds) for s in args.scales.split(",")]
    lines = ["# One-fact SPARQL updates over HTTP, inferences included", "",
             f"Run: `python bench/bench_update.py --scales {args.scales} --rounds {args.rounds}`, "
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}. "
             "`cnkg serve --allow-update` over the article plus both official snapshots (scale N: the current one "
             "listed N times); each round inserts one lineage fact, checks its inferred ancestor is visible, deletes "
             "it and checks the ancestor is gone.", "",
             "| scale | insert p50 ms | insert max ms | delete p50 ms | delete max ms | answers wrong |",
             "|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['scale']}× | {statistics.median(r['insert_ms']):.0f} | {max(r['insert_ms']):.0f} | "
                     f"{statistics.median(r['delete_ms']):.0f} | {max(r['delete_ms']):.0f} | {r['wrong']} |")
    lines += ["", "Target: a one-fact update answered, with its inferences visible, in ≤ 0.2 s at 1× and ≤ 0.5 s "
              "at 10×.", ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "update.json").write_text(json.dumps(runs, indent=2))
    (RESULTS / "update.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
