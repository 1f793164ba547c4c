"""The HTTP front and the hop to the query workers: fresh queries at 1, 4 and 8 clients, every server on the same texts.

Servers (each reads the same on-disk store, built as bench_engine.py builds it, at scale 1 unless ``--scale``):

- ``oxigraph``: ``oxigraph serve-read-only``, the reference;
- ``cnkg``: ``cnkg serve`` as shipped (its asyncio server);
- ``before``: ``cnkg serve`` run by another interpreter (``--before PYTHON``: the virtual environment of an older
  checkout), for before/after numbers in one run;
- ``granian``: the same Flask app (built as ``cnkg serve`` builds it) under granian's WSGI interface, one worker
  process and ``--threads`` threads, when granian is installed (it is not a dependency: this is the comparison);
- ``bare-waitress``, ``bare-granian``: a WSGI function that reads the body and answers a constant (the HTTP floor;
  each when installed: neither is a dependency);
  ``bare-uvloop``: the same constant from an asyncio protocol on uvloop parsing with httptools (the floor of
  cnkg's asyncio server); ``bare-uvicorn``: from an ASGI function under uvicorn (uvloop, httptools) when installed
  (not a dependency: the comparison).

Each level (1, 4, then 8 clients) sends every server the same new texts (bench_engine.py's templates), the order of
the servers rotating from round to round; each timed run follows an untimed burst at the same concurrency. Per
server: p50/p99 ms, queries/s, and the CPU per query of the server process and of its children (cnkg's query
workers; granian's worker process and its query workers), with the 1-minute load average at the end of the run.

    python bench/bench_http.py                                   # cnkg, oxigraph, granian if installed
    python bench/bench_http.py --servers cnkg,before,oxigraph --before ../old/.venv/bin/python
    python bench/bench_http.py --servers bare-waitress,bare-granian,bare-uvloop --rounds 3
    python bench/bench_http.py --servers cnkg,oxigraph --scale 10
    python bench/bench_http.py --app-cost            # cnkg's own request handling, in process, workers stubbed

Writes bench/results/http.md and http.json (``--out NAME`` for another name).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from bench_engine import LEVELS, WARM_UP_PER_CLIENT, Server, build, fresh_queries, load
from bench_startup import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# the app as `cnkg serve` builds it (rate limit off, the JSON access log on standard error), for another server
APP = """
import logging, sys
from cnkg.server import create_app
access = logging.getLogger("cnkg.access"); access.setLevel(logging.INFO)
access.addHandler(logging.StreamHandler(sys.stderr)); access.propagate = False
app = create_app({"RATE_LIMIT_PER_MINUTE": 0})
app.extensions["cnkg"].sandbox.confinement()
"""
BARE = """
def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    body = b'{"head": {}, "boolean": true}'
    start_response("200 OK", [("Content-Type", "application/sparql-results+json"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""
RUN = """
import sys
from pathlib import Path
server, module, port, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if server == "granian":
    from granian import Granian
    Granian(f"{module}:app", address="127.0.0.1", port=port, interface="wsgi", workers=1, blocking_threads=threads,
            log_enabled=False, working_dir=Path(sys.argv[5])).serve()
elif server == "uvloop":  # the constant answer on an asyncio loop (uvloop) parsing with httptools: no WSGI at all
    import asyncio, httptools, uvloop
    body = b'{"head": {}, "boolean": true}'
    answer = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/sparql-results+json\\r\\nContent-Length: "
              + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)

    class Connection(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.parser = transport, httptools.HttpRequestParser(self)

        def data_received(self, data):
            self.parser.feed_data(data)

        def on_message_complete(self):
            self.transport.write(answer)

    async def serve():
        listener = await asyncio.get_running_loop().create_server(Connection, "127.0.0.1", port)
        await listener.serve_forever()

    uvloop.run(serve())
elif server == "uvicorn":  # the constant answer from an ASGI function under uvicorn (uvloop, httptools)
    import uvicorn
    body = b'{"head": {}, "boolean": true}'
    head = {"type": "http.response.start", "status": 200,
            "headers": [(b"content-type", b"application/sparql-results+json"),
                        (b"content-length", str(len(body)).encode())]}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send(head)
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", access_log=False,
                log_level="warning", lifespan="off")
else:
    sys.path.insert(0, sys.argv[5])
    import waitress
    waitress.serve(__import__(module).app, host="127.0.0.1", port=port, threads=threads, _quiet=True)
"""


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds of ``pid`` and of all its descendants."""
    own, descendants, todo, tick = 0.0, 0.0, [(pid, True)], os.sysconf("SC_CLK_TCK")
    while todo:
        p, is_root = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if is_root:
            own = used
        else:
            descendants += used
        todo += [(int(c), False) for c in children]
    return own, descendants


def start(name: str, store: Path, env: dict, work: Path, args) -> Server:
    port = free_port()
    serve = [sys.executable, "-m", "cnkg.cli", "serve", "--port", str(port), "--rate-limit", "0"]
    if name == "oxigraph":
        binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
        return Server(name, [binary, "serve-read-only", "--location", str(store), "--bind", f"127.0.0.1:{port}"],
                      env, port, "/query")
    if name == "cnkg":
        return Server(name, serve, env, port, "/sparql")
    if name == "before":
        return Server(name, [args.before, *serve[1:]], env, port, "/sparql")
    server, _, bare = name.partition("-")  # granian, bare-waitress, bare-granian, bare-uvloop
    if server == "bare":
        server = bare
    module = "bench_bare_app" if name.startswith("bare") else "bench_cnkg_app"
    return Server(name, [sys.executable, "-c", RUN, server, module, str(port), str(args.threads), str(work)], env,
                  port, "/sparql")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "landscape")
    parser.add_argument("--servers", default=None, help="comma-separated (default: cnkg,oxigraph and granian if "
                                                        "installed)")
    parser.add_argument("--before", help="the Python of another checkout's environment, for the server 'before'")
    parser.add_argument("--scale", type=int, default=1, help="the current snapshot listed N times (as in "
                        "bench_engine.py)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="threads of the granian and bare servers (cnkg "
                                                               "serve has 8)")
    parser.add_argument("--limit-cycle", type=int, default=50, help="the templates' LIMIT goes round 5 .. 4+N, so "
                        "every round runs the same small queries (0: grows along the list)")
    parser.add_argument("--out", default="http")
    parser.add_argument("--app-cost", action="store_true", help="only the app's own CPU per request, in process, "
                        "the query workers stubbed: the fast path against Flask's view (prints a table)")
    args = parser.parse_args()
    args.limit_cycle = args.limit_cycle or None
    if args.app_cost:
        print(app_cost(args))
        return
    names = args.servers.split(",") if args.servers else ["cnkg", "oxigraph"] + (
        ["granian"] if _installed("granian") else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = build(args.scale, args.data, Path(tmp))
        (work / "bench_cnkg_app.py").write_text(APP)
        (work / "bench_bare_app.py").write_text(BARE)
        store = next((work / "cache").glob("kg-*.oxigraph"))
        env = dict(os.environ, CNKG_DATA_DIR=str(work / "data"), CNKG_CACHE_DIR=str(work / "cache"), CI="1")
        servers: list[Server] = []
        runs: dict[str, list[dict]] = {}
        try:
            for name in names:
                servers.append(start(name, store, env, work, args))
            offset = 0
            for rnd in range(args.rounds):
                for clients in LEVELS:
                    warm = WARM_UP_PER_CLIENT * clients
                    queries = fresh_queries(store, offset + warm + args.requests, args.limit_cycle)[offset:]
                    offset += warm + args.requests
                    shift = rnd % len(servers)
                    for server in servers[shift:] + servers[:shift]:
                        load(server, queries[:warm], clients)
                        before, started = cpu_seconds(server.proc.pid), os.times()
                        result = load(server, queries[warm:], clients)
                        after, ended = cpu_seconds(server.proc.pid), os.times()
                        n = len(queries) - warm
                        result.update(server_cpu_ms=1000 * (after[0] - before[0]) / n,
                                      children_cpu_ms=1000 * (after[1] - before[1]) / n,
                                      client_cpu_ms=1000 * (ended.user + ended.system - started.user
                                                            - started.system) / n,
                                      load=os.getloadavg()[0], round=rnd)
                        runs.setdefault(f"{server.name}|{clients}", []).append(result)
                        print(f"round {rnd} {server.name:14s} {clients} clients: p50 {result['p50_ms']:.2f} ms, p99 "
                              f"{result['p99_ms']:.2f} ms, {result['qps']:.0f}/s, server CPU "
                              f"{result['server_cpu_ms']:.2f} ms/query (+{result['children_cpu_ms']:.2f} children), "
                              f"load {result['load']:.2f}", flush=True)
        finally:
            for server in servers:
                server.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(runs, indent=1))
    text = report(names, runs, args)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)


def app_cost(args, requests: int = 3000, repeats: int = 3) -> str:
    """The app's CPU per fresh form POST to /sparql, called as a WSGI function in this process with the query
    workers stubbed (every query answered ``true`` at once), with the fast path in front and without it (Flask's
    view): what cnkg's request handling costs apart from HTTP, the hop and the evaluation."""
    import io
    import logging
    import urllib.parse

    from cnkg.sandbox import Answer
    from cnkg.server import create_app

    with tempfile.TemporaryDirectory() as tmp:
        work = build(args.scale, args.data, Path(tmp))
        store = next((work / "cache").glob("kg-*.oxigraph"))
        os.environ.update(CNKG_DATA_DIR=str(work / "data"), CNKG_CACHE_DIR=str(work / "cache"))
        access = logging.getLogger("cnkg.access")  # written as `cnkg serve` writes it (here to nowhere)
        access.setLevel(logging.INFO)
        access.addHandler(logging.StreamHandler(open(os.devnull, "w")))
        access.propagate = False
        app = create_app({"RATE_LIMIT_PER_MINUTE": 0})
        answer = Answer(b'{"head": {}, "boolean": true}', "ASK", "json", 1, False)
        app.extensions["cnkg"].sandbox.run = lambda job, timeout=None, client=None: answer
        bodies = [urllib.parse.urlencode({"query": q}).encode()
                  for q in fresh_queries(store, 300 + repeats * 2 * requests, args.limit_cycle)]
        fast = app.wsgi_app

        def call(body: bytes) -> None:
            environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/sparql", "SCRIPT_NAME": "", "QUERY_STRING": "",
                       "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
                       "HTTP_HOST": "127.0.0.1:8080", "CONTENT_TYPE": "application/x-www-form-urlencoded",
                       "CONTENT_LENGTH": str(len(body)), "HTTP_ACCEPT": "application/sparql-results+json",
                       "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1",
                       "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
                       "wsgi.run_once": False, "wsgi.version": (1, 0)}
            status = []
            b"".join(app(environ, lambda s, h, e=None: status.append(s)))
            assert status[0].startswith("200"), status

        for body in bodies[:300]:
            call(body)
        cpu: dict[str, list[float]] = {"fast path": [], "Flask's view": []}
        offset = 300
        for _ in range(repeats):  # interleaved
            for label, wsgi in (("fast path", fast), ("Flask's view", fast.wsgi_app)):
                app.wsgi_app = wsgi
                started = time.process_time()
                for body in bodies[offset:offset + requests]:
                    call(body)
                cpu[label].append(1000 * (time.process_time() - started) / requests)
                offset += requests
    return "\n".join(["| request handling | CPU ms a request (each run) |", "|---|---|"] + [
        f"| {label} | {statistics.median(v):.3f} ({', '.join(f'{x:.3f}' for x in v)}) |" for label, v in cpu.items()])


def _installed(dist: str) -> bool:
    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


def report(names: list[str], runs: dict, args) -> str:
    versions = {p: metadata.version(p) for p in ("pyoxigraph", "oxigraph", "flask", "waitress", "granian", "uvloop",
                                                 "uvicorn", "httptools")
                if _installed(p)}
    command = " ".join(["python bench/bench_http.py", *sys.argv[1:]])
    lines = ["# The HTTP front and the hop to the query workers, side by side", "",
             f"Run: `{command}`, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores ({platform.machine()}), "
             f"Python {sys.version.split()[0]}, {', '.join(f'{k} {v}' for k, v in versions.items())}. "
             f"Scale {args.scale}; "
             f"{args.requests} fresh queries per server, level and round, the same texts for every server (LIMIT "
             f"{'5 to ' + str(4 + args.limit_cycle) if args.limit_cycle else 'growing along the list'}); "
             f"{args.rounds} rounds, the order of the servers rotating; medians over the rounds (each round's "
             "figure in brackets); CPU per query of the server process (+ its children: query workers); the "
             "1-minute load average at the end of each run.", "",
             "| server | clients | p50 ms | p99 ms | queries/s | server CPU ms/query | + children | = total | load |",
             "|---|---|---|---|---|---|---|---|---|"]

    def cell(values: list[float], digits: int) -> str:
        return f"{statistics.median(values):.{digits}f} ({', '.join(f'{v:.{digits}f}' for v in values)})"

    for clients in LEVELS:
        for name in names:
            r = runs.get(f"{name}|{clients}", [])
            if not r:
                continue
            lines.append(f"| {name} | {clients} | {cell([x['p50_ms'] for x in r], 2)} | "
                         f"{cell([x['p99_ms'] for x in r], 1)} | {cell([x['qps'] for x in r], 0)} | "
                         f"{statistics.median(x['server_cpu_ms'] for x in r):.2f} | "
                         f"{statistics.median(x['children_cpu_ms'] for x in r):.2f} | "
                         f"{statistics.median(x['server_cpu_ms'] + x['children_cpu_ms'] for x in r):.2f} | "
                         f"{', '.join(format(x['load'], '.2f') for x in r)} |")
    if "oxigraph" in names:
        lines += ["", "Against the targets (issue 28: p50 ≤ 2× Oxigraph's at 1 client and ≤ 3× at 8, queries/s at 8 "
                  "≥ 50 % of Oxigraph's, p99 at 8 ≤ 4×), from the medians above:", "",
                  "| server | p50 ratio, 1 client | p50 ratio, 8 | queries/s at 8, share of Oxigraph's | p99 ratio, 8 |",
                  "|---|---|---|---|---|"]

        def median(name: str, clients: int, key: str) -> float:
            return statistics.median(x[key] for x in runs[f"{name}|{clients}"])

        for name in names:
            if name == "oxigraph" or name.startswith("bare"):
                continue
            lines.append(f"| {name} | {median(name, 1, 'p50_ms') / median('oxigraph', 1, 'p50_ms'):.2f}× | "
                         f"{median(name, 8, 'p50_ms') / median('oxigraph', 8, 'p50_ms'):.2f}× | "
                         f"{100 * median(name, 8, 'qps') / median('oxigraph', 8, 'qps'):.0f} % | "
                         f"{median(name, 8, 'p99_ms') / median('oxigraph', 8, 'p99_ms'):.2f}× |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
