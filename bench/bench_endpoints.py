"""Latency and throughput of the cnkg SPARQL endpoint against Oxigraph server and rdflib-endpoint, in one run.

All three servers serve the same data (the article graph exported once as N-Quads, union default graph) on
127.0.0.1 ephemeral ports, and all three get the identical SPARQL text: each canned query in ``queries/`` with its
``# param:`` defaults bound by a ``VALUES`` block in the WHERE group (entity names resolved to IRIs through
``KnowledgeGraph.bind``, i.e. ``resolve()``). Before timing, every query's answers are compared across the
servers: differing row counts are reported, and the run stops unless the distinct rows agree.

    python bench/bench_endpoints.py                       # 1, 4, 16 clients, 200 requests per level
    python bench/bench_endpoints.py --requests 50         # a quicker run

Needs ``pip install oxigraph 'rdflib-endpoint[cli]'`` (the ``oxigraph`` wheel ships the Rust server binary).
The load generator (Python threads, one keep-alive ``http.client`` connection each, POST form requests, Accept
``application/sparql-results+json``) runs on the same machine as the servers and competes with them for CPU.
Writes bench/results/endpoints.md and endpoints.json.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

import cnkg  # noqa: E402
from cnkg.export import serialize  # noqa: E402
from rdflib.plugins.sparql import prepareQuery  # noqa: E402

JSON = "application/sparql-results+json"
LEVELS = (1, 4, 16)


# ---------------------------------------------------------------------------------------------- queries

# Where the VALUES block goes in the WHERE group. Either place is the same join, so the answer does not change, but
# rdflib evaluates a group's joins in order and feeds bindings forward only in some cases, so the place decides its
# speed (in-process rdflib 7.6, article graph, ms, start / end of group): entity-facts 25 / 527, integrations
# 247 / 26, lineage 1388 / 41, projects-by-category 6 / 8, projects-by-stage 36991 / 11. Each query gets rdflib's
# faster place; Oxigraph plans joins itself and is indifferent. Both rdflib servers benefit equally.
VALUES_AT_START = {"entity-facts"}


def canned_queries(graph: cnkg.KnowledgeGraph) -> dict[str, str]:
    """Each named query as plain SPARQL with its parameter defaults (entities resolved to IRIs) bound by a VALUES
    block in the WHERE group, at the start or the end as ``VALUES_AT_START`` says."""
    out = {}
    for name, nq in sorted(graph.queries.items()):
        text = nq.text
        bindings = graph.bind(nq, {})
        if bindings:
            values = " ".join(f"VALUES ?{var} {{ {term.n3()} }}" for var, term in bindings.items())
            start, end = _where_group(text)
            if name in VALUES_AT_START:
                text = f"{text[:start]}\n  {values}\n{text[start:]}"
            else:
                text = f"{text[:end]}  {values}\n{text[end:]}"
        out[name] = text
    return out


def _where_group(text: str) -> tuple[int, int]:
    """Indexes just inside the WHERE group's '{' and of its closing '}' (skipping comments, IRIs and strings)."""
    match = re.search(r"\bWHERE\s*\{", text)
    assert match, "no WHERE {"
    depth, i, quote = 1, match.end(), None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "<" and (iri := re.compile(r"<[^\s<>\"{}|^`\\]*>").match(text, i)):
            i = iri.end() - 1
        elif c == "#":
            i = text.index("\n", i)
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return match.end(), i
        i += 1
    raise AssertionError("unbalanced braces")


# ---------------------------------------------------------------------------------------------- servers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    path: str
    argv: list[str]
    cwd: Path
    log: Path
    proc: subprocess.Popen | None = None
    extra: dict = field(default_factory=dict)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def post(conn: http.client.HTTPConnection, path: str, query: str) -> tuple[int, bytes]:
    body = urllib.parse.urlencode({"query": query})
    conn.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                   "Accept": JSON})
    response = conn.getresponse()
    return response.status, response.read()


def wait_ready(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}: {server.log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            status, _ = post(conn, server.path, "ASK { ?s ?p ?o }")
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {timeout} s")


def rows(body: bytes) -> list:
    """The solutions as a sorted list of canonical rows (so answers can be compared, not only counted)."""
    data = json.loads(body)
    if "results" not in data:
        return [[("boolean", str(data.get("boolean")))]]
    out = []
    for b in data["results"]["bindings"]:
        out.append(sorted((var, t["type"].replace("typed-literal", "literal"), t["value"], t.get("datatype", ""),
                           t.get("xml:lang", "")) for var, t in b.items()))
    return sorted(out)


# ---------------------------------------------------------------------------------------------- load

def run_level(server: Server, queries: list[str], clients: int, total: int, time_limit: float) -> dict:
    """``clients`` threads share ``total`` requests, each sending the queries round-robin on its own connection."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + time_limit

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        k = offset
        while time.monotonic() < deadline:
            with lock:
                if next(counter, None) is None:
                    break
            query = queries[k % len(queries)]
            k += 1
            t = time.perf_counter()
            try:
                status, body = post(conn, server.path, query)
                ok = status == 200
            except (OSError, http.client.HTTPException) as exc:
                status, body, ok = 0, str(exc).encode(), False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            elapsed = time.perf_counter() - t
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{status}: {body[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return summarise(clients, [x * 1000 for x in latencies], errors, wall)


def summarise(clients: int, latencies_ms: list[float], errors: list[str], wall: float) -> dict:
    ms = sorted(latencies_ms)

    def pct(p: float) -> float | None:
        return ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))] if ms else None

    return {"clients": clients, "requests": len(ms) + len(errors), "ok": len(ms), "errors": len(errors),
            "error_samples": errors[:3], "seconds": wall, "throughput": len(ms) / wall if wall else 0.0,
            "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
            "mean_ms": statistics.fmean(ms) if ms else None, "_ms": ms, "_errors": errors}


def merge(parts: list[dict]) -> dict:
    """One level's rounds as one result: latencies pooled, throughput = requests / summed wall time."""
    return summarise(parts[0]["clients"], [x for p in parts for x in p["_ms"]],
                     [e for p in parts for e in p["_errors"]], sum(p["seconds"] for p in parts))


def public(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.startswith("_")}


# ---------------------------------------------------------------------------------------------- breakdown

def breakdown(graph: cnkg.KnowledgeGraph, queries: dict[str, str], repeat: int) -> dict:
    """Where cnkg's time goes, measured in this process: rdflib evaluation + JSON serialisation per query, and a
    fork-and-pipe round trip from a process holding the loaded dataset (what the endpoint's worker does per query)."""
    def median_ms(f) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            f()
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)

    out = {"evaluate_ms": {}, "parse_ms": {}, "prepared_eval_ms": {}}
    for name, text in queries.items():
        prepared = prepareQuery(text)
        out["evaluate_ms"][name] = median_ms(lambda: graph.dataset.query(text).serialize(format="json"))
        out["parse_ms"][name] = median_ms(lambda: prepareQuery(text))
        out["prepared_eval_ms"][name] = median_ms(lambda: graph.dataset.query(prepared).serialize(format="json"))
    ctx = multiprocessing.get_context("fork")

    def child(sender, prepared):
        body = graph.dataset.query(prepared).serialize(format="json") if prepared is not None else b"x" * 4096
        sender.send(("ok", body))
        sender.close()
        os._exit(0)

    def forked(prepared) -> None:
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=child, args=(sender, prepared), daemon=True)
        proc.start()
        sender.close()
        receiver.recv()
        receiver.close()
        proc.join()

    out["fork_roundtrip_ms"] = median_ms(lambda: forked(None))
    # the same prepared evaluation + JSON as above, but in a forked child as cnkg's worker does it: the difference
    # to prepared_eval_ms is the fork plus copy-on-write faults (refcount writes touch the inherited heap)
    out["forked_eval_ms"] = {}
    for name, text in queries.items():
        prepared = prepareQuery(text)
        out["forked_eval_ms"][name] = median_ms(lambda: forked(prepared))
    return out


# ---------------------------------------------------------------------------------------------- main

def versions() -> dict:
    def v(pkg):
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None
    return {pkg: v(pkg) for pkg in ("rdflib", "flask", "oxigraph", "rdflib-endpoint", "uvicorn",
                                    "fastapi")} | {"python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per server and concurrency level")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds at most per server and level")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument("--rounds", type=int, default=4, help="turns per level; the servers alternate between turns")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    oxigraph_bin = shutil.which("oxigraph", path=os.path.dirname(sys.executable)) or shutil.which("oxigraph")
    rdflib_endpoint_bin = (shutil.which("rdflib-endpoint", path=os.path.dirname(sys.executable))
                           or shutil.which("rdflib-endpoint"))
    if not oxigraph_bin or not rdflib_endpoint_bin:
        sys.exit("needs the oxigraph and rdflib-endpoint commands: pip install oxigraph 'rdflib-endpoint[cli]'")

    graph = cnkg.load()
    queries = canned_queries(graph)
    load_before = os.getloadavg()
    names = list(queries)
    servers: list[Server] = []
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": {
        "arch": platform.machine(), "cores": os.cpu_count(), "system": platform.system()}, "versions": versions(),
        "requests_per_level": args.requests, "rounds": args.rounds, "levels": levels, "queries": queries}
    with tempfile.TemporaryDirectory(prefix="cnkg-bench-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data.nq"
        data.write_bytes(serialize(graph.dataset, "nquads"))
        report["data"] = {"quads": sum(1 for line in data.open("rb") if line.strip()),
                          "distinct_triples": len(graph.dataset), "nquads_bytes": data.stat().st_size}
        t = time.perf_counter()
        subprocess.run([oxigraph_bin, "load", "--location", str(tmp / "oxi"), "--file", str(data)], check=True,
                       capture_output=True)
        report["oxigraph_load_s"] = time.perf_counter() - t
        p1, p2, p3, p4 = free_port(), free_port(), free_port(), free_port()
        servers = [
            Server("cnkg", p1, "/sparql", [sys.executable, "-m", "cnkg.cli", "serve", "--host", "127.0.0.1",
                                            "--port", str(p1), "--rate-limit", "0"], ROOT, tmp / "cnkg.log"),
            Server("oxigraph", p2, "/query", [oxigraph_bin, "serve-read-only", "--location", str(tmp / "oxi"),
                                              "--bind", f"127.0.0.1:{p2}", "--union-default-graph"], tmp,
                   tmp / "oxigraph.log"),
            Server("rdflib-endpoint", p3, "/", [rdflib_endpoint_bin, "serve", str(data), "--host", "127.0.0.1",
                                                "--port", str(p3)], tmp, tmp / "rdflib-endpoint.log"),
            # the same server with its result cache off: what a query costs when it is not a repeat
            Server("cnkg-uncached", p4, "/sparql", [sys.executable, "-m", "cnkg.cli", "serve", "--host", "127.0.0.1",
                                                    "--port", str(p4), "--rate-limit", "0", "--result-cache", "0"],
                   ROOT, tmp / "cnkg-uncached.log"),
        ]
        try:
            for s in servers:
                s.start()
            for s in servers:
                t = time.perf_counter()
                wait_ready(s)
                s.extra["ready_s"] = time.perf_counter() - t
            report["argv"] = {s.name: [Path(a).name if os.sep in a else a for a in s.argv] for s in servers}

            # identical answers (by row count) before any timing; this also warms every server up
            answers = {}
            for s in servers:
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=120)
                answers[s.name] = {}
                for name, text in queries.items():
                    status, body = post(conn, s.path, text)
                    answers[s.name][name] = rows(body) if status == 200 else f"HTTP {status}: {body[:200]!r}"
                conn.close()
            counts = {s: {n: len(a) if isinstance(a, list) else a for n, a in qa.items()} for s, qa in answers.items()}
            report["row_counts"] = counts
            mismatches = {}
            for n in names:
                if len({repr(counts[s.name][n]) for s in servers}) == 1:
                    continue
                # same distinct rows, different multiplicities: duplicates only
                distinct = {s.name: {repr(r) for r in answers[s.name][n]} if isinstance(answers[s.name][n], list)
                            else None for s in servers}
                same = all(d is not None and d == distinct["cnkg"] for d in distinct.values())
                mismatches[n] = {"counts": {s.name: counts[s.name][n] for s in servers},
                                 "distinct_rows": {k: len(v) if v is not None else None for k, v in distinct.items()},
                                 "same_distinct_rows": same}
            report["row_count_mismatches"] = mismatches
            print(json.dumps(counts, indent=1), flush=True)
            if mismatches:
                print(f"ROW COUNT MISMATCH: {json.dumps(mismatches)}", file=sys.stderr, flush=True)
            if any(not m["same_distinct_rows"] for m in mismatches.values()):
                sys.exit("the servers give different answers (not just duplicate rows); not timing them")

            # fixed per-request overhead: a trivial query, one client
            report["trivial"] = {s.name: public(run_level(s, ["ASK {}"], 1, 100, args.time_limit)) for s in servers}
            # per-query latency, one client, so the per-query cost can be compared across servers
            report["per_query"] = {s.name: {n: run_level(s, [queries[n]], 1, 20, args.time_limit)["p50_ms"]
                                            for n in names} for s in servers}
            report["levels_results"] = {}
            # each level in rounds, the servers taking turns (A B C A B C ...), so a burst of load from other
            # processes on the machine does not fall on one server only
            for level in levels:
                parts = {s.name: [] for s in servers}
                for _ in range(args.rounds):
                    for s in servers:
                        parts[s.name].append(run_level(s, [queries[n] for n in names], level,
                                                       args.requests // args.rounds, args.time_limit / args.rounds))
                for s in servers:
                    result = public(merge(parts[s.name]))
                    report["levels_results"].setdefault(str(level), {})[s.name] = result
                    print(level, s.name, json.dumps({k: v for k, v in result.items() if k != "error_samples"}),
                          flush=True)
            for s in servers:
                report.setdefault("ready_s", {})[s.name] = s.extra["ready_s"]
        finally:
            for s in servers:
                s.stop()
    report["load_average"] = {"before": load_before, "after": os.getloadavg()}
    report["breakdown"] = breakdown(graph, queries, repeat=10)
    write(report)


def ratio(a, b):
    return a / b if a is not None and b else None


def write(report: dict) -> None:
    lv = report["levels_results"]
    ratios = {"p50_cnkg_over_oxigraph": {}, "throughput_cnkg_over_rdflib_endpoint": {}}
    for level, r in lv.items():
        ratios["p50_cnkg_over_oxigraph"][level] = ratio(r["cnkg"]["p50_ms"], r["oxigraph"]["p50_ms"])
        ratios["throughput_cnkg_over_rdflib_endpoint"][level] = ratio(r["cnkg"]["throughput"],
                                                                      r["rdflib-endpoint"]["throughput"])
    report["ratios"] = ratios
    p50_ok = all(x is not None and x <= 2 for x in ratios["p50_cnkg_over_oxigraph"].values())
    tp16 = ratios["throughput_cnkg_over_rdflib_endpoint"].get("16")
    report["targets"] = {"p50_le_2x_oxigraph": p50_ok, "throughput_ge_5x_rdflib_endpoint_at_16": tp16 is not None
                         and tp16 >= 5}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "endpoints.json").write_text(json.dumps(report, indent=2) + "\n")

    v, m = report["versions"], report["machine"]
    fmt = lambda x, spec=".1f": "–" if x is None else format(x, spec)  # noqa: E731
    names = list(report["queries"])
    servers = list(report["trivial"])
    lines = [
        "# SPARQL endpoint latency and throughput: cnkg, Oxigraph server, rdflib-endpoint",
        "",
        f"Run: `python bench/bench_endpoints.py --requests {report['requests_per_level']}` on {report['date']}, "
        f"{m['system']} {m['arch']}, {m['cores']} cores, Python {v['python']}. Versions: rdflib {v['rdflib']}, "
        f"Flask {v['flask']}; oxigraph {v['oxigraph']} (its Rust server binary, "
        f"`oxigraph serve-read-only --union-default-graph` on a RocksDB store made by `oxigraph load`); "
        f"rdflib-endpoint {v['rdflib-endpoint']} (`rdflib-endpoint serve data.nq`: an rdflib `Dataset` with "
        f"`default_union=True`, uvicorn {v['uvicorn']}, one process); cnkg `python -m kg.cli serve` (its HTTP "
        f"server, 8 threads, each query evaluated in a query worker process).",
        "",
        f"Data: the article graph exported once as N-Quads ({report['data']['quads']} quads, "
        f"{report['data']['distinct_triples']} distinct triples), served by all three with the union of all graphs "
        f"as the default graph. Queries: the {len(names)} canned queries in `queries/`, parameter defaults (entity "
        f"names resolved to IRIs) bound by a `VALUES` block in the WHERE group (at its start for "
        f"{', '.join(sorted(VALUES_AT_START))}, at its end for the others, whichever rdflib evaluates faster; see "
        f"`VALUES_AT_START`), identical text to every server, sent "
        f"round-robin as POST form requests with `Accept: {JSON}`, one keep-alive connection per client thread. "
        f"Each level: {report['requests_per_level']} requests per server, shared by the clients, in "
        f"{report['rounds']} turns with the servers alternating (latencies pooled). **The load "
        f"generator runs on the same {m['cores']} cores as the server under test**, so at 4 and 16 clients it "
        f"competes with the server for CPU; figures are for comparison within this run, not absolute capacity. "
        f"The machine is shared: 1-minute load average {report['load_average']['before'][0]:.2f} before the run "
        f"and {report['load_average']['after'][0]:.2f} after it, so repeated runs vary by tens of percent.",
        "",
        "## Result row counts (checked before timing)",
        "",
        "| query | " + " | ".join(servers) + " |",
        "|---|" + "---|" * len(servers),
    ]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(str(report["row_counts"][s][n]) for s in servers) + " |")
    mism = report["row_count_mismatches"]
    if not mism:
        lines += ["", "All row counts match."]
    else:
        lines += ["", f"**Row counts differ for: {', '.join(mism)}.** "
                  + ("The distinct rows are the same on all three servers; only the number of duplicate rows "
                     "differs. (On the article graph the cause is a triple stated in two section graphs, e.g. "
                     "Prometheus `cnkg:hasStage` graduated in monitoring and processes: Oxigraph's "
                     "`--union-default-graph` matches it once per graph, rdflib's union default graph once.)"
                     if all(m["same_distinct_rows"] for m in mism.values()) else
                     "The answers differ beyond duplicates.")]
    lines += ["",
              "## Latency and throughput (canned queries round-robin)", "",
              "| clients | server | p50 ms | p90 ms | p99 ms | req/s | errors |", "|---|---|---|---|---|---|---|"]
    for level, r in lv.items():
        for s in servers:
            x = r[s]
            lines.append(f"| {level} | {s} | {fmt(x['p50_ms'])} | {fmt(x['p90_ms'])} | {fmt(x['p99_ms'])} | "
                         f"{fmt(x['throughput'])} | {x['errors']} |")
    lines += ["", "## Ratios and targets", "",
              "| clients | cnkg p50 / Oxigraph p50 | cnkg req/s / rdflib-endpoint req/s |", "|---|---|---|"]
    for level in lv:
        lines.append(f"| {level} | {fmt(ratios['p50_cnkg_over_oxigraph'][level], '.2f')}× | "
                     f"{fmt(ratios['throughput_cnkg_over_rdflib_endpoint'][level], '.2f')}× |")
    t = report["targets"]
    lines += ["",
              f"- Target p50 ≤ 2× Oxigraph at every level: **{'met' if t['p50_le_2x_oxigraph'] else 'not met'}**.",
              f"- Target throughput ≥ 5× rdflib-endpoint at 16 clients: "
              f"**{'met' if t['throughput_ge_5x_rdflib_endpoint_at_16'] else 'not met'}** ({fmt(tp16, '.2f')}×).",
              "", "## Where the time goes", "",
              "Per query, one client, p50 ms over 20 requests (HTTP round trip), next to the same query run in "
              "this process on cnkg's loaded dataset, medians of 10 (no HTTP, no fork): rdflib `Dataset.query` on the "
              "text plus JSON serialisation (what cnkg's worker does), split into `prepareQuery` (pyparsing + "
              "algebra) and evaluation + serialisation of the prepared query (what rdflib-endpoint does on a repeat "
              "query: it keeps an LRU of 128 prepared queries).", "",
              "| query | " + " | ".join(f"{s} HTTP" for s in servers)
              + " | rdflib query(text) | of which parse | prepared eval + JSON | same, in a forked child |",
              "|---|" + "---|" * (len(servers) + 4)]
    b = report["breakdown"]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(fmt(report["per_query"][s][n]) for s in servers)
                     + f" | {fmt(b['evaluate_ms'][n])} | {fmt(b['parse_ms'][n])} | {fmt(b['prepared_eval_ms'][n])} | "
                     f"{fmt(b['forked_eval_ms'][n])} |")
    lines.append("| mean | " + " | ".join(fmt(statistics.fmean(report["per_query"][s][n] for n in names))
                                          for s in servers)
                 + "".join(f" | {fmt(statistics.fmean(b[k].values()))}"
                           for k in ("evaluate_ms", "parse_ms", "prepared_eval_ms", "forked_eval_ms")) + " |")
    if "cnkg_parse_ms" in b:
        lines += ["", "cnkg's request-time parse (`server.safety.parse`, in the request thread, under the GIL), "
                  "median ms: " + ", ".join(f"{n} {fmt(v)}" for n, v in b["cnkg_parse_ms"].items()) + "."]
    if "cnkg_pipeline_ms" in b:
        lines += ["", "cnkg's whole query path called in-process without HTTP (`server.safety.parse`, then "
                  "`server.worker.Evaluator.run`: fork, evaluate, serialise JSON, pipe back), median ms: "
                  + ", ".join(f"{n} {fmt(v)}" for n, v in b["cnkg_pipeline_ms"].items())
                  + f"; mean over the canned queries "
                  f"{fmt(statistics.fmean(v for n, v in b['cnkg_pipeline_ms'].items() if n != 'ASK {}'))}."]
    elif "cnkg_parse_error" in b:
        lines += ["", f"(cnkg's server internals could not be timed in-process: {b['cnkg_parse_error']})"]
    lines += ["", "Fixed per-request cost, `ASK {}` at one client, p50 ms: "
              + ", ".join(f"{s} {fmt(report['trivial'][s]['p50_ms'], '.2f')}" for s in servers)
              + f". A fork + pipe round trip from a process holding the loaded dataset (what cnkg's worker does per "
                f"query) takes {fmt(b['fork_roundtrip_ms'], '.2f')} ms here.", ""]
    (RESULTS / "endpoints.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
