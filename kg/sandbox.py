"""Untrusted SPARQL, evaluated by Oxigraph in worker processes, with a deadline that stops the work.

pyoxigraph cannot cancel a running query, so a query that must be stopped runs where it can be killed: a worker
process (a fresh interpreter running :func:`main`: it inherits none of the server's threads or locks, and,
unlike ``multiprocessing``'s workers, never re-imports the caller's main script). Each worker serves many queries
over its standard input and output; at the deadline it is killed and the caller gets :class:`SandboxError`
``timeout``: no CPU keeps burning after the answer. Nor after the server itself is killed: a worker whose
server is gone stops within :data:`PARENT_CHECK_SECONDS`, even in the middle of a query.

Workers cost memory (~35 MB each with a store open), so the pool keeps only ``warm`` of them running, starts more
when a query finds every worker busy (up to ``workers``; a fresh interpreter is ready in ~0.1–0.2 s here), and stops
a worker beyond the warm ones once it has been idle for ``retire_after`` seconds.

A worker opens the snapshot named in each job (an on-disk store directory, or an N-Quads file it loads; see
:func:`cnkg.engine.open_snapshot`). A snapshot is never written once published, which is what makes concurrent
read-only opens safe; a job naming another snapshot (a newer one) makes the worker reopen.

Answers are serialised in the worker, up to ``max_rows`` rows (or triples), so only bytes cross the pipe.

Each worker confines itself before it reads a job (:mod:`cnkg.confinement`): the kernel refuses it any socket and
any program, whatever the query text says, and bounds its memory (``memory`` bytes of data). A worker that dies is
diagnosed from its exit and the last lines it wrote to standard error: over its memory limit (``memory``: Oxigraph
aborts when an allocation fails), out of stack (``too_complex``: a query nested or chained so deeply that the
parser's recursion overflows) or another crash. Evaluation runs on a thread with a large stack
(:data:`WORKER_STACK`), so that only queries far deeper than any real one reach that limit.
"""
from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass

import pyoxigraph as ox

from .confinement import Confinement, ConfinementError, confine
from .engine import open_snapshot, run_query, syntax_error
from .iris import PREFIX_IRIS
from .sparql_text import select_star_order, tokens

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RESULTS_NS = "http://www.w3.org/2005/sparql-results#"

# The most workers: twice the cores, so a query waiting on a slow one still finds a worker, and the OS shares the CPU
# between them.
DEFAULT_WORKERS = max(4, 2 * (os.cpu_count() or 2))
# Kept running when idle: one answers a lone client at once; a second query at the same moment waits for a worker
# to start (see bench/results/landscape.md for the memory and latency this trades).
DEFAULT_WARM_WORKERS = 1
# Seconds a worker beyond the warm ones may stay idle before it is stopped.
DEFAULT_RETIRE_AFTER = 30.0
# Bytes of data (heap, anonymous mappings, thread stacks) one worker may use: its store open and idle it uses
# ~150 MB (the 64 MiB evaluation stack included); every named query peaks under 180 MB even at 10x, and only the
# heaviest text anyone may post (all facts of all entities, ordered) takes 267 MB at 1x and 806 MB at 10x
# (bench/results/worker-memory.md); a query needing more is stopped.
DEFAULT_WORKER_MEMORY_MIB = 1024
DEFAULT_WORKER_MEMORY = DEFAULT_WORKER_MEMORY_MIB * 2**20
# The stack of the thread evaluating queries (part of the memory above). Oxigraph's parser and evaluator recurse
# once per nesting level or chained operator: 8 MiB (the main thread's) overflows at ~3,000 nested groups or
# ~10,000 chained `+`, UNION or BIND; 64 MiB takes eight times as many.
WORKER_STACK = 64 * 2**20
# A worker that cannot confine itself exits with this code, after saying why on standard error.
EXIT_UNCONFINED = 78  # EX_CONFIG
# A worker whose server is gone exits with this code, at most this many seconds later, even in the middle of a query.
EXIT_ORPHANED = 75  # EX_TEMPFAIL
PARENT_CHECK_SECONDS = 0.5

# result format name -> how answers of that kind are written
RESULT_FORMATS = ("json", "xml", "csv", "tsv")
RDF_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD,
               "rdfxml": ox.RdfFormat.RDF_XML, "xml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG,
               "nquads": ox.RdfFormat.N_QUADS}
QUAD_FORMATS = ("trig", "nquads")


@dataclass(frozen=True)
class Job:
    """One query to evaluate. ``format`` names a result format (SELECT/ASK) or an RDF format (CONSTRUCT/DESCRIBE);
    the worker picks the one that fits the query form it finds (see :data:`RESULT_FORMATS`, :data:`RDF_FORMATS`)."""

    query: str
    store: str                                  # a published, never-changing snapshot (see cnkg.store)
    result_format: str = "json"
    graph_format: str = "turtle"
    max_rows: int = 10_000
    default_graph: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    base_iri: str | None = None
    # "query", or "check-update": parse ``query`` as a SPARQL update (an empty answer, or a syntax error)
    kind: str = "query"


@dataclass(frozen=True)
class Answer:
    body: bytes
    form: str        # SELECT, ASK, CONSTRUCT (CONSTRUCT and DESCRIBE answers are graphs)
    format: str      # the format name the body is in
    rows: int
    truncated: bool


@dataclass(frozen=True)
class Warm:
    """Open ``store`` now, so that the first query reading it does not wait for the open (no answer is sent)."""

    store: str


class SandboxError(Exception):
    """A query the sandbox could not answer. ``kind``: ``syntax`` (the query does not parse; ``line`` and
    ``column`` when known), ``evaluation`` (it failed while running), ``timeout``, ``memory`` (it needed more
    than a worker's memory limit), ``too_complex`` (it nests or chains too deeply for the engine's stack),
    ``busy`` (no worker free in time), ``crashed`` (the worker died otherwise), ``unconfined`` (no worker could be
    confined), ``stopped`` (the pool was closed while the query ran) or ``internal``."""

    def __init__(self, kind: str, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.kind, self.message, self.line, self.column = kind, message, line, column


# ---------------------------------------------------------------------------------------------- in the worker

_open_store: dict[str, ox.Store] = {}


def _store(path: str) -> ox.Store:
    if path not in _open_store:
        _open_store.clear()  # one store at a time: a new path is a newer snapshot
        _open_store[path] = open_snapshot(path)
    return _open_store[path]


def _check_update(text: str, base_iri: str | None) -> None:
    """Raise Oxigraph's SyntaxError (with its line and column) if ``text`` is not a SPARQL update. pyoxigraph parses
    only to run, so it runs on an empty store of its own: a failure that is not about syntax does not matter here.
    The caller has refused LOAD and SERVICE before, so nothing is fetched."""
    try:
        ox.Store().update(text, base_iri=base_iri)
    except SyntaxError:
        raise
    except Exception:  # an evaluation error on the empty store (e.g. CREATE of a graph twice): not ours to report
        pass


def evaluate(job: Job) -> Answer:
    """Evaluate ``job`` (in this process) and serialise its answer."""
    if job.kind == "check-update":
        _check_update(job.query, job.base_iri)
        return Answer(b"", "UPDATE", "", 0, False)
    store = _store(job.store)
    answer = run_query(store, job.query, base_iri=job.base_iri,
                       default_graph=None if job.default_graph is None else list(job.default_graph),
                       named_graphs=None if job.named_graphs is None else list(job.named_graphs))
    if isinstance(answer, ox.QueryBoolean):
        return Answer(write_boolean(bool(answer), job.result_format), "ASK", job.result_format, 1, False)
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        rows, truncated = take(answer, job.max_rows)
        variables, rows = in_query_order(job.query, variables, rows)
        return Answer(write_solutions(variables, rows, job.result_format), "SELECT", job.result_format,
                      len(rows), truncated)
    triples, truncated = take(answer, job.max_rows)
    return Answer(write_graph(triples, job.graph_format), "CONSTRUCT", job.graph_format, len(triples), truncated)


def in_query_order(text: str, variables: list[str], rows: list) -> tuple[list[str], list]:
    """The columns of a ``SELECT *`` answer in the order the query names its variables, for every client and format
    (:func:`cnkg.sparql_text.select_star_order`); any other answer as it is."""
    order = select_star_order(text, variables)
    if order is None:
        return variables, rows
    return [variables[n] for n in order], [tuple(row[n] for n in order) for row in rows]


def take(iterator, limit: int) -> tuple[list, bool]:
    """At most ``limit`` items of ``iterator``, and whether there were more."""
    rows = []
    for row in iterator:
        if len(rows) == limit:
            return rows, True
        rows.append(row)
    return rows, False


class _Pipe:
    """One end of a pipe between the server and a worker: pickled messages of plain tuples, each framed by its length
    (4 bytes) and written with one call; a reader reads what has arrived in one call and keeps what belongs to the
    next message. (``multiprocessing``'s connections took two reads a message and built a selector on every poll,
    and pickling dataclasses cost five times what tuples do: about a tenth of the hop to a worker and back.)"""

    _LENGTH = struct.Struct("!I")
    _CHUNK = 1 << 16

    def __init__(self, fd: int, readable: bool):
        self.fd = fd
        self._buffer = bytearray()
        self._poller = None
        if readable:
            self._poller = select.poll()
            self._poller.register(fd, select.POLLIN)

    def send(self, message: tuple) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        framed = self._LENGTH.pack(len(data)) + data
        written = os.write(self.fd, framed)
        if written < len(framed):  # a large message: the pipe took part of it, the rest follows
            rest = memoryview(framed)[written:]
            while rest:
                rest = rest[os.write(self.fd, rest):]

    def poll(self, timeout: float | None) -> bool:
        """Whether a message (or the end of the pipe) can be read within ``timeout`` seconds."""
        if self._buffer:
            return True
        wait = None if timeout is None else max(0, math.ceil(timeout * 1000))
        while True:
            try:
                return bool(self._poller.poll(wait))
            except InterruptedError:  # (retried by Python itself since 3.5; kept for clarity)
                continue

    def recv(self):
        """The next message (EOFError once the other end is closed)."""
        buffer = self._buffer
        while len(buffer) < 4:
            self._fill(self._CHUNK)
        end = 4 + self._LENGTH.unpack_from(buffer)[0]
        while len(buffer) < end:
            self._fill(max(self._CHUNK, end - len(buffer)))
        message = pickle.loads(buffer[4:end])
        del buffer[:end]
        return message

    def _fill(self, size: int) -> None:
        while True:
            try:
                chunk = os.read(self.fd, size)
                break
            except BlockingIOError:  # non-blocking (an event loop watched the pipe: uvloop makes it so): wait
                self._poller.poll()  # (poll, not select: a descriptor past 1023 is fine)
        if not chunk:
            raise EOFError("the pipe was closed")
        self._buffer += chunk

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


def _job_message(job: Job) -> tuple:
    """What crosses the pipe: ("job", *the Job's fields), ("warm", store) and ("ping",) in; ("ok", *the Answer's
    fields), ("error", kind, message, line, column) and, for a ping, ("ready", confinement) out."""
    return ("job", job.query, job.store, job.result_format, job.graph_format, job.max_rows, job.default_graph,
            job.named_graphs, job.base_iri, job.kind)


def _serve(requests: _Pipe, answers: _Pipe, confinement: Confinement | None = None) -> None:
    """The worker loop: a job in, its answer or its error out (see :func:`_job_message`)."""
    while True:
        try:
            message = requests.recv()
        except (EOFError, OSError):
            return
        what = message[0]
        if what == "warm":
            tokens("")  # compiles the lexer every query goes through (cnkg.engine.run_query), ~8 ms
            try:
                _store(message[1])
            except Exception:  # the query that reads it will report what is wrong
                pass
            continue
        if what == "ping":  # the worker is up, confined, and has imported what it needs
            try:
                answers.send(("ready", confinement))
            except OSError:  # the caller is gone
                return
            continue
        try:
            answer = evaluate(Job(*message[1:]))
            message = ("ok", answer.body, answer.form, answer.format, answer.rows, answer.truncated)
        except SyntaxError as exc:
            line, column, text = syntax_error(str(exc))
            message = ("error", "syntax", text, line, column)
        except MemoryError:  # Python's side ran out (Oxigraph's side aborts the process: see _Worker.diagnosis)
            message = ("error", "memory", "the worker's memory limit was reached", None, None)
        except RecursionError:
            message = ("error", "too_complex", "the query nests too deeply", None, None)
        except PermissionError as exc:  # what the confinement answers a SERVICE or LOAD (cnkg.confinement)
            message = ("error", "evaluation", f"{exc}: query workers cannot open network connections or start "
                       "programs", None, None)
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            message = ("error", "evaluation", f"{type(exc).__name__}: {exc}", None, None)
        except Exception as exc:  # report, never die silently
            traceback.print_exc()
            message = ("error", "internal", f"{type(exc).__name__}: {exc}", None, None)
        try:
            answers.send(message)
        except (BrokenPipeError, OSError):
            return


# ---------------------------------------------------------------------------------------------- serialisers
# Hand-written because the row limit must be applied while reading: pyoxigraph serialises a whole answer or none.

_json_string = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept (as ensure_ascii=False)


def _escape(text: str) -> str:
    """XML character data. (``html.escape``, not ``xml.sax.saxutils``: importing that module pulls in urllib and
    email, ~40 ms of a worker's ~130 ms of imports, which a query waits for when the pool grows.)"""
    return html.escape(text, quote=False)


def _quoteattr(text: str) -> str:
    """An XML attribute value, quoted: variable names, language tags and datatype IRIs (no whitespace in any)."""
    return f'"{html.escape(text)}"'


def _json_term(term) -> str:
    """A term as SPARQL JSON results write it, as text (what ``json.dumps`` writes for its dict, byte for byte)."""
    if isinstance(term, ox.NamedNode):
        return '{"type": "uri", "value": ' + _json_string(term.value) + "}"
    if isinstance(term, ox.BlankNode):
        return '{"type": "bnode", "value": ' + _json_string(term.value) + "}"
    if isinstance(term, ox.Literal):
        value = '{"type": "literal", "value": ' + _json_string(term.value)
        if term.language:
            return value + ', "xml:lang": ' + _json_string(term.language) + "}"
        if term.datatype.value != XSD_STRING:
            return value + ', "datatype": ' + _json_string(term.datatype.value) + "}"
        return value + "}"
    return '{"type": "triple", "value": ' + _json_string(str(term)) + "}"


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={_quoteattr(term.language)}>{_escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={_quoteattr(term.datatype.value)}>{_escape(term.value)}</literal>"
        return f"<literal>{_escape(term.value)}</literal>"
    return f"<literal>{_escape(str(term))}</literal>"


def _csv_value(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value if isinstance(term, (ox.NamedNode, ox.Literal)) else str(term)


def _tsv_term(term) -> str:
    # N-Triples syntax; a tab or line break must not appear raw in a TSV cell
    return str(term).replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_solutions(variables: list[str], rows: list, fmt: str) -> bytes:
    """SELECT rows in a SPARQL 1.1 results format (json, xml, csv, tsv)."""
    if fmt == "json":
        # written as text, each distinct term once (a category on every row is written once), rather than as
        # dicts for json.dumps: half the time for large answers (5,000 rows: 52 -> 25 ms), the same bytes
        written: dict = {}

        def term(value) -> str:
            text = written.get(value)
            if text is None:
                text = written[value] = _json_term(value)
            return text

        names = [_json_string(var) + ": " for var in variables]
        bindings = ", ".join("{" + ", ".join(name + term(value) for name, value in zip(names, row)
                                             if value is not None) + "}" for row in rows)
        return ('{"head": {"vars": [' + ", ".join(_json_string(var) for var in variables)
                + ']}, "results": {"bindings": [' + bindings + "]}}").encode("utf-8")
    if fmt == "xml":
        out = ['<?xml version="1.0" encoding="utf-8"?>', f'<sparql xmlns="{RESULTS_NS}">', "<head>"]
        out += [f"<variable name={_quoteattr(v)}/>" for v in variables]
        out += ["</head>", "<results>"]
        for row in rows:
            out.append("<result>")
            out += [f"<binding name={_quoteattr(var)}>{_xml_term(value)}</binding>"
                    for var, value in zip(variables, row) if value is not None]
            out.append("</result>")
        out += ["</results>", "</sparql>"]
        return "\n".join(out).encode("utf-8")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow([_csv_value(value) for value in row])
        return buffer.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += ["\t".join("" if value is None else _tsv_term(value) for value in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(f"unknown results format {fmt!r}")


def write_boolean(value: bool, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode("utf-8")
    if fmt == "xml":
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<sparql xmlns="{RESULTS_NS}">\n<head/>\n'
                f"<boolean>{'true' if value else 'false'}</boolean>\n</sparql>").encode("utf-8")
    if fmt in ("csv", "tsv"):  # no standard boolean form for CSV/TSV: a one-cell table, as Jena writes
        return f"{'_askResult' if fmt == 'csv' else '?_askResult'}\n{'true' if value else 'false'}\n".encode()
    raise ValueError(f"unknown results format {fmt!r}")


def write_graph(triples: list, fmt: str) -> bytes:
    """CONSTRUCT / DESCRIBE triples in an RDF format (quad formats put them in the default graph)."""
    if fmt in QUAD_FORMATS:
        triples = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    prefixes = PREFIX_IRIS if fmt in ("turtle", "trig") else None
    return ox.serialize(triples, format=RDF_FORMATS[fmt], prefixes=prefixes) or b""


# ---------------------------------------------------------------------------------------------- the pool

class _Worker:
    """One worker process and the two ends of its pipes (see :class:`_Pipe`). What it
    writes to standard error is passed on to ours, its last lines kept to tell why it died (:meth:`diagnosis`)."""

    def __init__(self, memory: int | None = DEFAULT_WORKER_MEMORY, network: bool = True):
        # (not ``-m cnkg.sandbox``: that runs this module twice, as __main__ and as itself, ~7 ms more per start)
        code = f"from {__name__} import main; main({memory!r}, {network!r})"  # (an int or None, a bool)
        env = {**os.environ, "RUST_BACKTRACE": "0"}  # a crash's last lines say why, not where
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, close_fds=True, env=env)
        self.send_end = _Pipe(os.dup(self.process.stdin.fileno()), readable=False)
        self.recv_end = _Pipe(os.dup(self.process.stdout.fileno()), readable=True)
        self.process.stdin.close()
        self.process.stdout.close()
        self.idle_since = time.monotonic()
        self.confinement: Confinement | None = None
        self._last_lines: deque[bytes] = deque(maxlen=8)
        self._stderr = threading.Thread(target=self._pass_on_stderr, daemon=True, name="cnkg-sandbox-stderr")
        self._stderr.start()

    def _pass_on_stderr(self) -> None:
        out = getattr(sys.stderr, "buffer", None)
        with self.process.stderr as lines:
            for line in lines:
                self._last_lines.append(line[:500])
                try:
                    if out is not None:
                        out.write(line)
                        out.flush()
                    else:
                        sys.stderr.write(line.decode("utf-8", "replace"))
                except (OSError, ValueError):  # our own standard error is gone: keep draining the pipe
                    pass

    def send(self, job: Job | Warm | None) -> None:
        """A job to evaluate, a store to open (Warm) or a ping (None)."""
        if isinstance(job, Job):
            self.send_end.send(_job_message(job))
        elif isinstance(job, Warm):
            self.send_end.send(("warm", job.store))
        else:
            self.send_end.send(("ping",))

    def ready(self, timeout: float = 30.0) -> bool:
        """Wait until the worker answers a ping (it has started, confined itself and imported what it needs)."""
        try:
            self.send(None)
            if not self.poll(timeout):
                return False
            status, self.confinement = self.recv()
            return status == "ready"
        except (EOFError, OSError):
            return False

    def poll(self, timeout: float) -> bool:
        return self.recv_end.poll(timeout)

    def recv(self):
        return self.recv_end.recv()

    def diagnosis(self) -> tuple[str, str]:
        """Why the worker died (call once it has): (kind, message), kind as in :class:`SandboxError`."""
        try:
            code = self.process.wait(2)
        except subprocess.TimeoutExpired:
            return "crashed", "the query worker stopped answering"
        self._stderr.join(1)  # its last words, written just before it died
        said = b"".join(self._last_lines).decode("utf-8", "replace")
        if "memory allocation of" in said or "MemoryError" in said:
            return "memory", "the query needed more memory than a query worker may use"
        if code == -signal.SIGSEGV or "overflowed its stack" in said:
            return "too_complex", ("the query nests or chains too deeply for the engine (its parser ran out of "
                                   "stack); split it, or nest less")
        if code == EXIT_UNCONFINED:
            last = said.strip().splitlines()[-1] if said.strip() else "no reason given"
            return "unconfined", last
        return "crashed", f"the query worker died before answering (exit status {code})"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        self.send_end.close()
        self.recv_end.close()


def _timed_out(limit: float) -> SandboxError:
    return SandboxError("timeout", f"the query did not finish within {limit:g} s")


class Ticket:
    """A query started by :meth:`Sandbox.start`, answered on the caller's own event loop: its worker's answer can be
    read once :meth:`fileno` is readable (:meth:`finish`); past :attr:`deadline` the worker is killed
    (:meth:`expire`). Exactly one of the two is called."""

    __slots__ = ("_pool", "_worker", "_client", "limit", "deadline")

    def __init__(self, pool: Sandbox, worker: _Worker, client: str | None, limit: float, deadline: float):
        self._pool, self._worker, self._client = pool, worker, client
        self.limit, self.deadline = limit, deadline

    def fileno(self) -> int:
        return self._worker.recv_end.fd

    def finish(self) -> Answer:
        """The answer, or :class:`SandboxError`; the worker goes back to the pool (or is replaced if it died)."""
        try:
            return self._pool._collect(self._worker)
        finally:
            self._pool._leave(self._client)

    def expire(self) -> SandboxError:
        """Kill the worker (the deadline passed) and say so."""
        try:
            self._pool._replace(self._worker)
        finally:
            self._pool._leave(self._client)
        return _timed_out(self.limit)


class Sandbox:
    """Up to ``workers`` worker processes, ``warm`` of them kept running; :meth:`run` evaluates a :class:`Job` in
    one of them within ``timeout``. A query that finds every worker busy starts another (up to ``workers``); a
    worker beyond the warm ones is stopped once idle for ``retire_after`` seconds. Each worker may use ``memory``
    bytes of data and, unless ``network`` is False (tests of the confinement itself), no network."""

    def __init__(self, workers: int = 4, timeout: float = 10.0, warm: int = DEFAULT_WARM_WORKERS,
                 retire_after: float = DEFAULT_RETIRE_AFTER, memory: int | None = DEFAULT_WORKER_MEMORY,
                 network: bool = True):
        self.timeout = timeout
        self.memory, self.network = memory, network
        self._refusal: str | None = None       # why workers cannot confine themselves (then every query fails)
        self.size = max(1, workers)            # the most workers
        self.warm = max(1, min(warm, self.size))  # kept running when idle
        self.retire_after = retire_after
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)  # a worker became idle, or the pool closed
        self._changed = threading.Condition(self._lock)    # wakes the retiring thread
        self._idle: deque[_Worker] = deque()   # the longest idle first; queries take the last (most recently used)
        self._all: set[_Worker] = set()        # running: idle or busy
        self._starting = 0                     # being started in the background
        self._wanted = 0                       # queries holding or waiting for a worker
        self._expected = 0                     # queries waiting for one elsewhere (see expect)
        self._store: str | None = None         # the snapshot the next queries read (see prepare)
        self._closed = False
        self._turns = threading.Lock()
        self._busy: dict[str, int] = {}  # client -> queries running
        self._running_clients_queries = 0  # their sum
        # client -> (the condition its waiting queries wait on, how many wait), the client waiting longest first
        self._waiting: dict[str, tuple[threading.Condition, int]] = {}
        first = self._new_worker()  # one worker now; the other warm ones one after another in the background, each once the
        with self._lock:   # previous is up, so that starting them does not compete with the caller's own start
            self._all.add(first)
            self._idle.append(first)
            self._starting = self.warm - 1
        if self._starting:
            threading.Thread(target=self._ramp_up, args=(self._starting,), daemon=True,
                             name="cnkg-sandbox-start").start()
        threading.Thread(target=self._retire_idle, daemon=True, name="cnkg-sandbox-retire").start()

    def _new_worker(self) -> _Worker:
        return _Worker(self.memory, self.network)

    def confinement(self, timeout: float = 30.0) -> Confinement:
        """What the workers gave up (asked of an idle one, waiting for one to start if need be); ConfinementError
        when they cannot confine themselves. Servers call it at start, to fail there rather than on each query."""
        deadline = time.monotonic() + timeout
        worker = self._take(deadline, timeout)
        try:
            if worker.ready(max(0.0, deadline - time.monotonic())):
                return worker.confinement
            kind, message = worker.diagnosis()
            self._replace(worker)
            worker = None
            raise ConfinementError(message if kind == "unconfined" else f"the query worker did not start: {message}")
        finally:
            if worker is not None:
                self._give_back(worker)

    def _ramp_up(self, count: int) -> None:
        for _ in range(count):
            self._add()

    def _add(self) -> None:
        """Start one worker (counted in ``_starting`` by the caller) and offer it once it answers a ping, with the
        current snapshot already open."""
        worker = None
        try:
            worker = self._new_worker()
            with self._lock:
                store = self._store
            if store is not None:
                worker.send(Warm(store))
            ok = worker.ready()
        except OSError:
            ok = False
        if not ok and worker is not None:
            kind, message = worker.diagnosis() if worker.process.poll() is not None else ("", "")
            if kind == "unconfined":
                self._refusal = message
        with self._lock:
            self._starting -= 1
            if ok and not self._closed:
                worker.idle_since = time.monotonic()
                self._all.add(worker)
                self._idle.append(worker)
                self._available.notify()
                self._changed.notify()
                return
        if worker is not None:
            worker.stop()

    def _top_up(self) -> None:
        """Start workers in the background until there are enough (under ``_lock``): the warm ones, and one for
        every query holding or waiting for a worker, up to ``size``. Each starts on its own thread: a burst of
        queries waits for one start, not for several one after another."""
        if self._closed:
            return
        missing = min(self.size, max(self.warm, self._wanted + self._expected)) - len(self._all) - self._starting
        for _ in range(max(0, missing)):
            self._starting += 1
            threading.Thread(target=self._add, daemon=True, name="cnkg-sandbox-grow").start()

    def expect(self, count: int) -> None:
        """``count`` queries wait for a worker outside :meth:`run` (an event loop's queue, retrying
        :meth:`start`): the pool grows for them as for queries waiting in :meth:`run`."""
        with self._lock:
            self._expected = count
            self._top_up()

    def _take(self, deadline: float, limit: float) -> _Worker:
        """An idle worker (the most recently used: the others may then idle long enough to retire), starting
        another if every worker is busy; counted in ``_wanted`` until :meth:`_give_back` or :meth:`_replace`."""
        with self._lock:
            self._wanted += 1
            self._top_up()
            while not self._idle:
                remaining = deadline - time.monotonic()
                if self._refusal is not None:
                    self._wanted -= 1
                    raise SandboxError("unconfined", f"no query worker could be started: {self._refusal}")
                if self._closed or remaining <= 0:
                    self._wanted -= 1
                    if self._closed:
                        raise SandboxError("stopped", "the query workers were stopped (the server is shutting "
                                                      "down) before the query started")
                    raise SandboxError("busy", f"no query worker was free within {limit:g} s")
                self._available.wait(remaining)
            return self._idle.pop()

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._wanted -= 1
            if self._closed:
                return
            worker.idle_since = time.monotonic()
            self._idle.append(worker)
            self._available.notify()
            # the retiring thread waits for the longest-idle worker (the first); a worker put at the back changes
            # that only when it is the only idle one (waking the thread after every query cost a thread switch)
            if len(self._all) > self.warm and len(self._idle) == 1:
                self._changed.notify()

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` (it timed out, or died); another starts only if the warm count or the queries waiting
        need it."""
        worker.stop()
        with self._lock:
            self._all.discard(worker)
            self._wanted -= 1
            self._top_up()

    def _retire_idle(self) -> None:
        """The retiring thread: stop the longest-idle workers beyond the warm ones once idle for ``retire_after``."""
        while True:
            with self._lock:
                retired = []
                while not self._closed:
                    now = time.monotonic()
                    while (len(self._all) > self.warm and self._idle
                           and now - self._idle[0].idle_since >= self.retire_after):
                        worker = self._idle.popleft()
                        self._all.discard(worker)
                        retired.append(worker)
                    if retired:
                        break
                    wait = None
                    if len(self._all) > self.warm and self._idle:
                        wait = self._idle[0].idle_since + self.retire_after - now
                    self._changed.wait(wait)
                if self._closed:
                    return
            for worker in retired:
                worker.stop()

    def prepare(self, store: str) -> None:
        """Queries will read ``store`` from now on: the idle workers open it now, each worker started later as it
        starts (opening a store takes a worker tens of milliseconds that the first query would otherwise wait)."""
        with self._lock:
            self._store = store
            for worker in self._idle:
                try:
                    worker.send(Warm(store))
                except OSError:  # a dead worker: the query that takes it reports it
                    pass

    def _enter(self, client: str | None, deadline: float) -> None:
        """Take one of ``client``'s turns. A client with a query running already may start another only while a
        worker stays free for a client with none: however many slow queries some clients send (two clients were
        enough to keep a third waiting ~9 s when each could hold all workers but one), a newcomer's query finds a
        worker (running, or started for it)."""
        if client is None:
            return
        with self._turns:
            if self._busy.get(client, 0) and self._running_clients_queries + 1 >= self.size:
                turn, waiters = self._waiting.get(client) or (threading.Condition(self._turns), 0)
                self._waiting[client] = (turn, waiters + 1)
                try:
                    while self._busy.get(client, 0) and self._running_clients_queries + 1 >= self.size:
                        if not turn.wait(max(0.0, deadline - time.monotonic())):
                            raise SandboxError("busy", f"this client already has {self._busy[client]} queries "
                                                       "running and the other workers are kept for other clients; "
                                                       "wait for one to finish")
                except BaseException:
                    self._stop_waiting(client)
                    self._wake_next()  # a turn this query may have been woken for, but did not take, goes on
                    raise
                self._stop_waiting(client)
            self._busy[client] = self._busy.get(client, 0) + 1
            self._running_clients_queries += 1
            self._wake_next()  # the pool grew meanwhile, say: another may start too

    def _leave(self, client: str | None) -> None:
        if client is None:
            return
        with self._turns:
            self._busy[client] -= 1
            self._running_clients_queries -= 1
            if not self._busy[client]:
                del self._busy[client]
            self._wake_next()

    def _stop_waiting(self, client: str) -> None:
        turn, waiters = self._waiting[client]
        if waiters == 1:
            del self._waiting[client]
        else:
            self._waiting[client] = (turn, waiters - 1)

    def _wake_next(self) -> None:
        """Wake one waiting query that may now start (under ``_turns``): one of a client with none running, or, when
        a worker is free beyond the one kept for a newcomer, one of the client waiting longest (which then waits
        last: waiting clients take turns). Only that one: waking every waiting query on every finished one cost
        the server a thread switch per waiting query (eight clients from one address: five per query)."""
        if not self._waiting:
            return
        for client, (turn, _) in self._waiting.items():
            if not self._busy.get(client, 0):
                turn.notify()
                return
        if self._running_clients_queries + 1 < self.size:
            client = next(iter(self._waiting))
            self._waiting[client] = self._waiting.pop(client)  # to the back of the line
            self._waiting[client][0].notify()

    def run(self, job: Job, timeout: float | None = None, client: str | None = None) -> Answer:
        """The serialised answer, or :class:`SandboxError`. The deadline covers waiting for a worker, parsing and
        evaluation. ``client`` (e.g. the address a request came from) shares the workers as :meth:`_enter` says."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        self._enter(client, deadline)
        try:
            return self._run(job, limit, deadline)
        finally:
            self._leave(client)

    def _run(self, job: Job, limit: float, deadline: float) -> Answer:
        worker = self._take(deadline, limit)
        try:
            worker.send(job)
        except OSError:  # it died: the end of its pipe is read below, and its exit says why
            pass
        try:
            answered = worker.poll(max(0.0, deadline - time.monotonic()))
        except OSError:  # its pipe is gone (the pool closed): _collect says so
            answered = True
        if not answered:
            self._replace(worker)
            raise _timed_out(limit)
        return self._collect(worker)

    def _collect(self, worker: _Worker) -> Answer:
        """The answer ``worker`` has written (or the end of its pipe: it died), the worker given back or replaced."""
        try:
            status, *payload = worker.recv()
        except (EOFError, OSError):
            if self._closed:
                self._give_back(worker)
                raise SandboxError("stopped", "the query workers were stopped (the server is shutting down) "
                                              "before the query finished") from None
            kind, message = worker.diagnosis()  # (before _replace kills it: how it ended tells why)
            if kind == "memory" and self.memory:
                message += f" ({self.memory / 2**20:g} MiB)"
            self._replace(worker)
            raise SandboxError(kind, message) from None
        except BaseException:
            self._give_back(worker)
            raise
        self._give_back(worker)
        if status == "ok":
            return Answer(*payload)
        kind, message, line, column = payload
        raise SandboxError(kind, message, line, column)

    def start(self, job: Job, timeout: float | None = None, client: str | None = None) -> Ticket | None:
        """Start ``job`` without waiting, if it can start at once: a worker is idle, no query waits for one or for
        its turn, and the turn rules of :meth:`_enter` let ``client``'s query start. The caller waits for the ticket's
        :meth:`Ticket.fileno` to be readable, then calls :meth:`Ticket.finish`, or :meth:`Ticket.expire` once
        :attr:`Ticket.deadline` (``time.monotonic()``) has passed. None: use :meth:`run`."""
        limit = self.timeout if timeout is None else timeout
        with self._turns:
            if client is not None:
                # as _enter lets a query start, but never ahead of one waiting for its turn
                if self._waiting or (self._busy.get(client, 0) and self._running_clients_queries + 1 >= self.size):
                    return None
                self._busy[client] = self._busy.get(client, 0) + 1
                self._running_clients_queries += 1
        with self._lock:
            worker = None
            waiting = self._wanted - (len(self._all) - len(self._idle))  # queries waiting in _take
            if self._idle and not waiting and not self._closed and self._refusal is None:
                worker = self._idle.pop()
                self._wanted += 1
                self._top_up()  # as _take: the next query finds a worker started for it
        if worker is None:
            self._leave(client)
            return None
        try:
            worker.send(job)
        except OSError:  # it died: its pipe's end is readable at once, and finish() says why
            pass
        return Ticket(self, worker, client, limit, time.monotonic() + limit)

    @property
    def idle(self) -> int:
        """Workers waiting for a query right now."""
        with self._lock:
            return len(self._idle)

    @property
    def workers(self) -> int:
        """Worker processes running now (idle or busy; not those still starting)."""
        with self._lock:
            return len(self._all)

    @property
    def running(self) -> int:
        """Queries holding or waiting for a worker right now."""
        with self._lock:
            return self._wanted

    def grow(self, workers: int, warm: int | None = None, retire_after: float | None = None) -> None:
        """At least ``workers`` workers at most, ``warm`` kept running and ``retire_after`` seconds of idling from
        now on (each only ever raised)."""
        with self._lock:
            self.size = max(self.size, workers)
            if warm is not None:
                self.warm = max(self.warm, min(warm, self.size))
            if retire_after is not None:
                self.retire_after = max(self.retire_after, retire_after)
            self._top_up()
            self._changed.notify()

    _shared: Sandbox | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def has_shared(cls) -> bool:
        """Whether the process-wide pool exists (and is not closed)."""
        with cls._shared_lock:
            return cls._shared is not None and not cls._shared._closed

    @classmethod
    def shared(cls, workers: int, warm: int | None = None, retire_after: float | None = None,
               memory: int | None = DEFAULT_WORKER_MEMORY) -> Sandbox:
        """The process-wide pool (workers are not tied to a store: each job names its own), with at least
        ``workers`` workers at most and ``warm`` kept running. Every app in a process uses it, so tests creating
        many apps start no more workers."""
        with cls._shared_lock:
            if cls._shared is None or cls._shared._closed:
                cls._shared = cls(workers, warm=DEFAULT_WARM_WORKERS if warm is None else warm, memory=memory,
                                  retire_after=DEFAULT_RETIRE_AFTER if retire_after is None else retire_after)
            else:
                cls._shared.grow(workers, warm, retire_after)
            return cls._shared

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
            self._idle.clear()
            self._available.notify_all()
            self._changed.notify_all()
        for worker in workers:
            worker.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["Job", "Answer", "Warm", "Sandbox", "Ticket", "SandboxError", "evaluate", "write_solutions", "write_boolean", "write_graph",
           "RESULT_FORMATS", "RDF_FORMATS"]


def main(memory: int | None = DEFAULT_WORKER_MEMORY, network: bool = True) -> None:
    """``python -m cnkg.sandbox``: confine this process (no network unless ``network`` is False, at most
    ``memory`` bytes of data), then serve jobs from standard input, answers to standard output (anything else the
    process prints goes to standard error, so it cannot corrupt the answers)."""
    # The server stops its workers itself (it kills them, or they read the end of their input when it is gone).
    # A terminal's Ctrl-C, or a service manager signalling the whole process group, must not kill a worker in the
    # middle of a query the server is still waiting for while it shuts down gracefully.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    requests = _Pipe(os.dup(0), readable=True)
    answers = _Pipe(os.dup(1), readable=False)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    tokens("")  # compile the lexer before the memory limit applies: its ~8 ms of compiling belongs to start-up
    try:
        confinement = confine(memory, network=network)
    except ConfinementError as exc:
        print(f"cnkg query worker: cannot confine itself: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_UNCONFINED)
    threading.stack_size(WORKER_STACK)
    loop = threading.Thread(target=_serve, args=(requests, answers, confinement), name="cnkg-worker")
    loop.start()
    # A worker learns that its server is gone when it next reads a job; in the middle of a query it would run on
    # (minutes, for a query the server's deadline was to stop) after the server was killed or crashed. The main
    # thread watches the parent meanwhile (Oxigraph releases the GIL while it evaluates): a new parent is init or
    # a subreaper, taking the orphan in.
    parent = os.getppid()
    while loop.is_alive():
        loop.join(PARENT_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(EXIT_ORPHANED)


if __name__ == "__main__":
    # run the imported module's own loop: answers must pickle as cnkg.sandbox.Answer, not __main__.Answer
    from cnkg.sandbox import main as serve_stdio

    serve_stdio()
