"""Fresh (never seen) ad-hoc SPARQL queries over HTTP: `cnkg serve` against `oxigraph serve-read-only`, side by side.

Both servers read the same store: the on-disk Oxigraph store `cnkg build` writes to the cache (the article plus
both official landscape snapshots at scale 1; the current snapshot listed N times at scale N, as in
bench_landscape.py). Every request carries a query text no server has seen before (the templates below, each
instantiated with a different entity, letter or limit), so cnkg's result cache never answers; both get the
identical text, and before timing every query's row count is compared between the two. Clients are Python
threads on the same machine (one keep-alive connection each, form POST, Accept SPARQL JSON).

    python bench/bench_engine.py                          # scale 1, 1, 4 and 8 clients, 300 requests a level, 3 rounds
    python bench/bench_engine.py --scales 1,10 --requests 300
    python bench/bench_engine.py --rewrite-overhead          # what cnkg.query_rewrite adds, in-process

Needs `pip install oxigraph` (the Oxigraph server binary). Writes bench/results/engine.md and engine.json.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from importlib import metadata
from pathlib import Path

import pyoxigraph as ox

from bench_landscape import import_snapshots
from bench_startup import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LEVELS = (1, 4, 8)
WARM_UP_PER_CLIENT = 10
LIMIT_CYCLE = 50  # the timed texts' LIMIT goes round 5 .. 4 + this (see fresh_queries)
PREFIXES = ("PREFIX cnkg: <https://w3id.org/cnkg/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "PREFIX stage: <https://w3id.org/cnkg/id/stage/>\n")
TEMPLATES = [
    "SELECT ?p ?o WHERE {{ <{e}> ?p ?o }} LIMIT {k}",
    "SELECT ?a ?name WHERE {{ <{e}> cnkg:hasAncestor ?a . ?a rdfs:label ?name }}",
    "ASK {{ <{e}> a cnkg:Project }} # {k}",
    "SELECT ?s ?l WHERE {{ ?s rdfs:label ?l FILTER(STRSTARTS(LCASE(?l), \"{c}\")) }} LIMIT {k}",
    "SELECT ?name WHERE {{ ?p cnkg:hasStage stage:graduated ; rdfs:label ?name }} ORDER BY ?name LIMIT {k}",
    "SELECT ?c (COUNT(?i) AS ?n) WHERE {{ ?i cnkg:inLandscapeCategory ?c }} GROUP BY ?c ORDER BY DESC(?n) LIMIT {k}",
    "SELECT ?o WHERE {{ <{e}> cnkg:integratesWith ?o }} # {k}",
]


def build(scale: int, data: Path, work: Path) -> Path:
    env = import_snapshots(scale, data, work)
    subprocess.run([sys.executable, "-m", "cnkg.cli", "build"], cwd=ROOT, env=env, check=True, capture_output=True)
    return work


def fresh_queries(store_path: Path, count: int, limit_cycle: int | None = None) -> list[str]:
    """``count`` distinct query texts over entities that exist in the store. The templates' LIMIT grows along the
    list, or, with ``limit_cycle``, goes round 5 .. 4 + limit_cycle (texts further on then cost no more)."""
    store = ox.Store.read_only(str(store_path))
    entities = [row["e"].value for row in store.query(
        "SELECT DISTINCT ?e WHERE { ?e a <https://w3id.org/cnkg/ontology#Entity> } ORDER BY ?e")]
    del store
    queries, i = [], 0
    while len(queries) < count:
        template = TEMPLATES[i % len(TEMPLATES)]
        entity = entities[(i * 7919) % len(entities)]
        letter = "abcdefghijklmnopqrstuvwxyz"[i % 26]
        k = i // len(TEMPLATES) if limit_cycle is None else (i // len(TEMPLATES)) % limit_cycle
        queries.append(PREFIXES + template.format(e=entity, k=5 + k, c=letter) + f"\n# {i}")
        i += 1
    assert len(set(queries)) == len(queries)
    return queries


class Server:
    def __init__(self, name: str, command: list[str], env: dict, port: int, path: str):
        self.name, self.port, self.path = name, port, path
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            try:
                status, _ = post(http.client.HTTPConnection("127.0.0.1", port, timeout=5), path, "ASK {}")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} did not start")

    def rss_mb(self) -> float:
        """Resident memory of the server process and its children (cnkg's query workers)."""
        pids = [self.proc.pid]
        try:
            pids += [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            pass
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def post(conn: http.client.HTTPConnection, path: str, query: str) -> tuple[int, bytes]:
    body = urllib.parse.urlencode({"query": query})
    conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                      "Accept": "application/sparql-results+json"})
    response = conn.getresponse()
    return response.status, response.read()


def rows(body: bytes) -> int:
    data = json.loads(body)
    return 1 if "boolean" in data else len(data["results"]["bindings"])


def load(server: Server, queries: list[str], clients: int) -> dict:
    """Each client sends its own share of the queries; latency per request, throughput overall."""
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()

    def client(share: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        mine = []
        for query in share:
            started = time.perf_counter()
            status, _ = post(conn, server.path, query)
            mine.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(queries[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"p50_ms": 1000 * statistics.median(latencies), "p90_ms": 1000 * latencies[int(0.9 * len(latencies))],
            "p99_ms": 1000 * latencies[int(0.99 * len(latencies)) - 1], "qps": len(latencies) / elapsed,
            "errors": len(errors)}


def measure(scale: int, data: Path, requests: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = build(scale, data, Path(tmp))
        store = next((work / "cache").glob("kg-*.oxigraph"))
        env = dict(os.environ, CNKG_DATA_DIR=str(work / "data"), CNKG_CACHE_DIR=str(work / "cache"), CI="1")
        port_c, port_o = free_port(), free_port()
        binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
        cnkg = Server("cnkg serve", [sys.executable, "-m", "cnkg.cli", "serve", "--port", str(port_c),
                                     "--rate-limit", "0"], env, port_c, "/sparql")
        try:
            oxigraph = Server("oxigraph serve-read-only", [binary, "serve-read-only", "--location", str(store),
                                                           "--bind", f"127.0.0.1:{port_o}"], env, port_o, "/query")
        except BaseException:
            cnkg.stop()
            raise
        try:
            check = fresh_queries(store, len(TEMPLATES) * 3)
            mismatched = []
            for query in check:  # same answers first (row counts), on texts not used below
                a = post(http.client.HTTPConnection("127.0.0.1", port_c, timeout=60), "/sparql", query)
                b = post(http.client.HTTPConnection("127.0.0.1", port_o, timeout=60), "/query", query)
                if a[0] != 200 or b[0] != 200 or rows(a[1]) != rows(b[1]):
                    mismatched.append(query.splitlines()[-1])
            results: dict[str, list[dict]] = {}
            offset = len(check)
            for rnd in range(rounds):
                for level, clients in enumerate(LEVELS):
                    # both servers get the same new texts at each level and round (a text is new to each server;
                    # the templates' LIMIT goes round 5 .. 54, so every round runs queries of the same cost), the
                    # one going first alternating from level to level and from round to round
                    warm = WARM_UP_PER_CLIENT * clients
                    queries = fresh_queries(store, offset + warm + requests, LIMIT_CYCLE)[offset:]
                    offset += warm + requests
                    for server in (cnkg, oxigraph) if (rnd + level) % 2 == 0 else (oxigraph, cnkg):
                        # first an untimed burst at this concurrency (recorded apart as "cold" in the first
                        # round): cnkg's query-worker pool starts a worker per concurrent query up to its size
                        # (each start costs a fresh Python process's imports), and keeps them until idle for
                        # --retire-after; the timed run is the steady state
                        cold = load(server, queries[:warm], clients)
                        if rnd == 0:
                            results[f"{server.name}|{clients}|cold"] = [cold]
                        timed = load(server, queries[warm:], clients)
                        timed["load"] = os.getloadavg()[0]
                        results.setdefault(f"{server.name}|{clients}", []).append(timed)
            rss = {server.name: server.rss_mb() for server in (cnkg, oxigraph)}
        finally:
            cnkg.stop()
            oxigraph.stop()
    return {"scale": scale, "rounds": rounds, "results": results, "rss_mb": rss, "mismatched": mismatched}


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(runs: list[dict], requests: int) -> str:
    versions = {p: metadata.version(p) for p in ("pyoxigraph", "oxigraph", "flask", "uvloop", "httptools")}
    rounds = runs[0]["rounds"]
    lines = ["# Fresh ad-hoc queries over HTTP: cnkg against Oxigraph's own server", "",
             f"Run: `python bench/bench_engine.py --scales {','.join(str(r['scale']) for r in runs)} --requests "
             f"{requests} --rounds {rounds}`, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores "
             f"({platform.machine()}), Python {sys.version.split()[0]}, "
             f"{', '.join(f'{k} {v}' for k, v in versions.items())}. Both servers read the same on-disk store; every "
             f"request is a query text neither has seen (so no result cache answers); {requests} requests per server, "
             f"client count and round; {rounds} rounds, interleaved (the server going first alternates by level and "
             "round); medians over the rounds (p50 and queries/s of each round in brackets); the load generator "
             "shares the machine.", "",
             "| scale | clients | server | p50 ms | p90 ms | p99 ms | queries/s | errors | p50 ratio cnkg / Oxigraph "
             "| load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        for clients in LEVELS:
            c = run["results"][f"cnkg serve|{clients}"]
            o = run["results"][f"oxigraph serve-read-only|{clients}"]
            for name, r in (("cnkg serve", c), ("oxigraph serve-read-only", o)):
                ratio = f"{_median(c, 'p50_ms') / _median(o, 'p50_ms'):.2f}×" if name == "cnkg serve" else ""
                lines.append(f"| {run['scale']}× | {clients} | {name} | {_median(r, 'p50_ms'):.2f} "
                             f"({', '.join(format(x['p50_ms'], '.2f') for x in r)}) | {_median(r, 'p90_ms'):.2f} | "
                             f"{_median(r, 'p99_ms'):.2f} | {_median(r, 'qps'):.0f} "
                             f"({', '.join(format(x['qps'], '.0f') for x in r)}) | {sum(x['errors'] for x in r)} | "
                             f"{ratio} | {', '.join(format(x['load'], '.2f') for x in r)} |")
    lines += ["", f"Each timed run follows an untimed burst of {WARM_UP_PER_CLIENT} fresh queries per client at the "
              "same concurrency (the steady state: cnkg's pool of query workers has grown to it). That first burst "
              "(first round), p50 ms and queries/s:", "",
              "| scale | clients | cnkg serve | oxigraph serve-read-only |", "|---|---|---|---|"]
    for run in runs:
        for clients in LEVELS:
            c = run["results"].get(f"cnkg serve|{clients}|cold")
            o = run["results"].get(f"oxigraph serve-read-only|{clients}|cold")
            if c and o:
                lines.append(f"| {run['scale']}× | {clients} | {c[0]['p50_ms']:.2f} ({c[0]['qps']:.0f}/s) | "
                             f"{o[0]['p50_ms']:.2f} ({o[0]['qps']:.0f}/s) |")
    lines += ["", "Serving RSS after the runs (cnkg: the server process plus its query workers), MB:", "",
              "| scale | cnkg serve | oxigraph serve-read-only |", "|---|---|---|"]
    for run in runs:
        lines.append(f"| {run['scale']}× | {run['rss_mb']['cnkg serve']:.0f} | "
                     f"{run['rss_mb']['oxigraph serve-read-only']:.0f} |")
    lines += ["", "Answers compared before timing (row counts, on separate fresh texts): "
              + "; ".join(f"{r['scale']}×: {len(r['mismatched'])} mismatches" for r in runs), "",
              "Targets (issue 28), cnkg against Oxigraph at each scale, from the medians: p50 ≤ 2× at 1 client ("
              + "; ".join(f"{r['scale']}×: {_ratio(r, 1, 'p50_ms'):.2f}×" for r in runs) + "), ≤ 3× at 8 ("
              + "; ".join(f"{r['scale']}×: {_ratio(r, 8, 'p50_ms'):.2f}×" for r in runs)
              + "); queries/s at 8 ≥ 50 % of Oxigraph's ("
              + "; ".join(f"{r['scale']}×: {100 * _ratio(r, 8, 'qps'):.0f} %" for r in runs) + "); p99 at 8 ≤ 4× ("
              + "; ".join(f"{r['scale']}×: {_ratio(r, 8, 'p99_ms'):.2f}×" for r in runs) + "). The load column is "
              "the 1-minute load average at the end of each timed run.", ""]
    return "\n".join(lines)


def _ratio(run: dict, clients: int, key: str) -> float:
    return (_median(run["results"][f"cnkg serve|{clients}"], key)
            / _median(run["results"][f"oxigraph serve-read-only|{clients}"], key))


def rewrite_overhead(count: int) -> str:
    """What cnkg.query_rewrite adds to a fresh query before Oxigraph sees it: a worker's text steps as
    cnkg.engine.run_query and cnkg.sandbox.evaluate take them (dataset clauses when the text says FROM, the column
    order of a SELECT *), on a text never seen, so the lexer's cache is cold, with and without the rewrite, per
    text, over the templates and every named query (each made fresh by a comment), p50 in ms. A worker lexes a
    query only when one of these steps needs its tokens, so a rewrite that does pays for the lexing too."""
    from cnkg.iris import PREFIX_IRIS
    from cnkg.named_queries import load_named_queries
    from cnkg.query_rewrite import rewrite
    from cnkg.sparql_text import dataset_clauses, select_star_order

    def text_steps(text: str) -> None:
        if "FROM" in text.upper():
            dataset_clauses(text, PREFIX_IRIS)
        select_star_order(text, ["s", "p", "o"])

    named = [q.text for q in load_named_queries().values()]
    lines = ["| queries | p50 ms without | p50 ms with | added p50 ms |", "|---|---|---|---|"]
    for label, texts in (("templates", [PREFIXES + t for t in TEMPLATES]), ("named queries", named)):
        timings: dict[bool, list[float]] = {False: [], True: []}
        for i in range(count):
            for with_rewrite in (False, True):
                for text in texts:
                    fresh = f"{text}\n# {i} {with_rewrite}".replace("{e}", f"https://w3id.org/cnkg/id/x{i}")
                    fresh = fresh.replace("{k}", str(i)).replace("{c}", "k").replace("{{", "{").replace("}}", "}")
                    start = time.perf_counter()
                    text_steps(rewrite(fresh) if with_rewrite else fresh)
                    timings[with_rewrite].append((time.perf_counter() - start) * 1000)
        without, with_ = statistics.median(timings[False]), statistics.median(timings[True])
        lines.append(f"| {label} ({len(texts)}) | {without:.4f} | {with_:.4f} | {with_ - without:.4f} |")
    return "\n".join(lines)


REWRITE_HEADING = "\n## What the query rewrite layer adds (--rewrite-overhead)\n"


def _rewrite_section() -> str:
    path = RESULTS / "engine.md"
    text = path.read_text() if path.exists() else ""
    return text[text.index(REWRITE_HEADING):] if REWRITE_HEADING in text else ""


def record_rewrite_overhead(table: str) -> None:
    """The table as the last section of engine.md (replacing the one of an earlier run), with when and where."""
    path = RESULTS / "engine.md"
    text = path.read_text() if path.exists() else ""
    if REWRITE_HEADING in text:
        text = text[:text.index(REWRITE_HEADING)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    path.write_text(f"{text}{REWRITE_HEADING}\nIn-process, per fresh text (a comment makes each one new: the per-text "
                    f"cache of cnkg.query_rewrite never hits), 200 rounds; {time.strftime('%Y-%m-%d')}, "
                    f"{os.cpu_count()} cores, load average {load:.1f} when it ran. Budget: ≤ 0.05 ms added. The "
                    "steps are a worker's (rewrite, FROM, SELECT * order): it lexes a text only when one of them needs "
                    "its tokens, so a rewrite that does pays for the lexing, about 0.1 ms a KiB; the templates need "
                    "none.\n\n"
                    f"{table}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "landscape")
    parser.add_argument("--scales", default="1")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every level, interleaved")
    parser.add_argument("--rewrite-overhead", action="store_true",
                        help="only measure what the query rewrite layer adds (no servers); prints a table")
    args = parser.parse_args()
    if args.rewrite_overhead:
        table = rewrite_overhead(200)
        print(table)
        record_rewrite_overhead(table)
        return
    runs = [measure(int(s), args.data, args.requests, args.rounds) for s in args.scales.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engine.json").write_text(json.dumps(runs, indent=2))
    text = report(runs, args.requests)
    (RESULTS / "engine.md").write_text(text + _rewrite_section())  # the last --rewrite-overhead run stays
    print(text)


if __name__ == "__main__":
    main()
