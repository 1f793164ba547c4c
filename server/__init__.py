"""The cnkg SPARQL endpoint: a Flask application factory over one loaded ``KnowledgeGraph``.

    >>> from cnkg.server import create_app
    >>> app = create_app({"QUERY_TIMEOUT": 5})      # loads the cached graph with cnkg.load()

No global app: each call builds a fresh one, so tests get their own.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import uuid
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask, g, request
from flask_cors import CORS
from rdflib import URIRef

from ..api import KnowledgeGraph, load
from ..errors import InvalidInput
from ..sparql_text import forget_large
from ..sandbox import DEFAULT_RETIRE_AFTER, DEFAULT_WARM_WORKERS, DEFAULT_WORKER_MEMORY_MIB, DEFAULT_WORKERS, Sandbox

from . import canned, errors, explain, fast_path, ops, pages, protocol, ratelimit, search, ui
from .result_cache import ResultCache
from .locking import GraphLock

if TYPE_CHECKING:
    from ..remote import RemoteStore

# Every setting, its default and what it means (config keys; the CLI sets some of them).
SETTINGS = {
    "QUERY_TIMEOUT": (10.0, "seconds a query may run before it is stopped and answered with 503"),
    "MAX_BODY_BYTES": (1024 * 1024, "largest accepted request body; larger gives 413"),
    "MAX_ROWS": (10000, "most rows (SELECT) or triples (CONSTRUCT/DESCRIBE) returned; more sets X-Result-Truncated"),
    "MAX_CONCURRENT_QUERIES": (DEFAULT_WORKERS, "queries evaluated at once, each in a worker "
                               "process that is killed at the timeout; others wait for a slot"),
    "WARM_WORKERS": (DEFAULT_WARM_WORKERS, "query worker processes kept running when idle; more start when a "
                     "query finds every worker busy, up to MAX_CONCURRENT_QUERIES"),
    "WORKER_RETIRE_SECONDS": (DEFAULT_RETIRE_AFTER, "a query worker beyond the warm ones is stopped once it has "
                              "been idle this long"),
    "WORKER_MEMORY_MIB": (DEFAULT_WORKER_MEMORY_MIB, "memory (MiB of data: heap and stacks) one query worker may "
                          "use; a query needing more is stopped and answered 503 (reason memory). Workers are also "
                          "denied network access and programs by the kernel (seccomp)"),
    "RESULT_CACHE_SIZE": (256, "answers kept for repeated queries (cleared by every applied update); 0 disables"),
    "RESULT_CACHE_MIB": (64, "memory (MiB) the result cache may hold: answers and the query texts keying them; "
                             "the least recently used go first; 0 disables the cache"),
    "RATE_LIMIT_PER_MINUTE": (600, "requests to /sparql and /queries per client address per minute (a token "
                                   "bucket; past it 429 with Retry-After); 0 disables the limit"),
    "ALLOW_UPDATE": (False, "accept SPARQL 1.1 Update on POST /sparql (with UPDATE_TOKEN as a bearer token); "
                            "otherwise updates get 403. The inferred graph follows them; over the embedded store they are "
                            "lost when the server stops (a temporary copy of the store holds them)"),
    "REASONER": ("rules", "the OWL 2 RL reasoner used when the app builds its own graph: rules (compiled) or owlrl "
                          "(the reference); cnkg serve passes the graph built with --reasoner"),
    "UI_EDITOR": ("yasgui", "the web UI's query editor: yasgui (when the package carries its files; otherwise the "
                            "plain editor, with a note saying how to get YASGUI) or textarea (the plain editor)"),
    "UPDATE_TIMEOUT": (30.0, "seconds an update may take, waiting for the update before it and its WHERE clauses "
                             "included; past it the update is answered 503 (reason timeout) and nothing is changed"),
    "UPDATE_MAX_OPERATIONS": (20_000, "operations one update request may hold; more gives 413 and nothing is changed"),
    "UPDATE_MAX_TRIPLES": (250_000, "triples one update request may add or remove, and its templates may expand to "
                                    "(solutions times template triples); more gives 413 and nothing is changed"),
    "UPDATE_TOKEN": (None, "the bearer token an update must carry (Authorization: Bearer ...); required with "
                           "ALLOW_UPDATE; compared in constant time"),
}


def update_token(token: str | None) -> str | None:
    """The bearer token as clients can send it: surrounding whitespace dropped (a token read from a file or a
    Kubernetes secret usually ends with a newline, which no client sends, so every update was refused). None for
    no token; ``InvalidInput`` for one given but blank, or holding a character no header can carry."""
    if token is None:
        return None
    stripped = token.strip()
    if not stripped:
        raise InvalidInput("the update token (--update-token or CNKG_UPDATE_TOKEN) is empty or only whitespace: "
                           "give a real token, e.g. $(openssl rand -hex 16)")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in stripped):
        raise InvalidInput("the update token (--update-token or CNKG_UPDATE_TOKEN) contains a control character "
                           "(a line break inside it?): no client can send it in an Authorization header")
    return stripped


def check_settings(allow: bool, token: str | None) -> None:
    """Refuse a configuration that would accept updates from anyone, or from no one (``cnkg.errors.InvalidInput``:
    exit code 1)."""
    token = update_token(token) if allow else token
    if allow and not token:
        raise InvalidInput("--allow-update needs a bearer token: give --update-token TOKEN or set the environment "
                           "variable CNKG_UPDATE_TOKEN (clients then send 'Authorization: Bearer TOKEN')")


@dataclass(frozen=True)
class Stats:
    """Sizes of the served graph, computed when first asked for (not at start-up: at 10x they take a scan of a
    million quads) and again after each applied update (the graph is otherwise read-only)."""

    triples: int               # in all named graphs (a triple stated in two graphs counts twice)
    union_triples: int         # in the default graph, their union (counted once)
    entities: int
    graphs: dict[URIRef, int]  # non-empty named graph -> triple count


@dataclass
class State:
    graph: KnowledgeGraph
    results: ResultCache
    sandbox: Sandbox | None        # answers queries (Oxigraph, in worker processes); None over a remote store
    snapshots: Path                # where this app publishes snapshots of a graph that is not on disk
    snapshot: Path | None = None   # the published store directory the workers read
    writer: threading.Lock = field(default_factory=threading.Lock)  # serialises updates
    lock: GraphLock = field(default_factory=GraphLock)  # readers: page handlers; the writer: an update applied
    derived: dict = field(default_factory=dict)  # per-app renderings of the graph (lineage SVGs), dropped on change
    _published: list = field(default_factory=list)  # snapshots this app wrote, oldest first
    _retired: set = field(default_factory=set)     # published snapshots superseded by a newer one
    _leases: Counter = field(default_factory=Counter)  # snapshot -> queries reading it now
    _leases_lock: threading.Lock = field(default_factory=threading.Lock)
    _stats: Stats | None = None
    _names: frozenset | None = None
    _sizes_lock: threading.Lock = field(default_factory=threading.Lock)
    remote_slots: threading.BoundedSemaphore | None = None  # queries forwarded at once to a remote store

    def __post_init__(self):
        self.graph.on_change(self.graph_changed)
        self.publish()

    def publish(self) -> None:
        """Give the workers a store directory that never changes: the cached store the graph was opened from, or
        a snapshot of it written now (a graph built in memory, or changed by an update)."""
        store = self.graph.store
        if self.remote is not None:  # queries go to the remote store itself: nothing to publish
            return
        if store.read_only and store.path is not None:
            self.snapshot = store.path
        else:
            snapshot = store.publish(self.snapshots / f"v{self.graph.version}-{uuid.uuid4().hex[:8]}")
            with self._leases_lock:
                if self.snapshot is not None and self.snapshot in self._published:
                    self._retired.add(self.snapshot)
                self._published.append(snapshot)
                self.snapshot = snapshot
                self._delete_retired()
        if self.sandbox is not None:  # the idle workers open it now, not when the first query arrives
            self.sandbox.prepare(str(self.snapshot))

    @contextmanager
    def current_snapshot(self) -> Iterator[Path]:
        """The snapshot a query should read, kept on disk until the query is done (an update meanwhile publishes
        a newer one and retires this one)."""
        with self._leases_lock:
            path = self.snapshot
            self._leases[path] += 1
        try:
            yield path
        finally:
            with self._leases_lock:
                self._leases[path] -= 1
                if not self._leases[path]:
                    del self._leases[path]
                self._delete_retired()

    def _delete_retired(self) -> None:
        """Delete the retired snapshots no query reads any more (under ``_leases_lock``)."""
        for old in [p for p in self._retired if p not in self._leases]:
            self._retired.discard(old)
            self._published.remove(old)
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)

    def graph_changed(self, graph: KnowledgeGraph) -> None:
        """Registered with the graph: everything this app derived from it is recomputed or dropped."""
        self.results.clear()
        self.derived.clear()
        with self._sizes_lock:
            self._stats = self._names = None
        self.publish()

    @property
    def stats(self) -> Stats:
        with self._sizes_lock:
            if self._stats is None:
                self._stats = _stats(self.graph)
            return self._stats

    @property
    def remote(self) -> RemoteStore | None:
        """The remote store the graph lives in (queries are forwarded to it), or None for the embedded store."""
        return _remote(self.graph.store)

    @property
    def version(self) -> int:
        """Changes applied since start-up; part of every result cache key."""
        return self.graph.version

    @property
    def graph_names(self) -> frozenset[URIRef]:
        """The graphs FROM and the dataset parameters may name (empty ones included)."""
        with self._sizes_lock:
            if self._names is None:
                self._names = frozenset(self.graph.store.graph_names())
            return self._names


def _remote(store) -> RemoteStore | None:
    """``store`` if it is a remote store. Asked without importing cnkg.remote (~10 ms of a start that serves the
    embedded store): a RemoteStore exists only once whoever made it has imported that module."""
    module = sys.modules.get("cnkg.remote")
    return store if module is not None and isinstance(store, module.RemoteStore) else None


class App(Flask):
    """Flask, asking once per view or hook whether it is a coroutine function (Flask asks ``inspect`` on every
    request, for every hook it runs: a few percent of a /sparql request's time)."""

    # functions remembered: the app's views and hooks, far fewer than this; a function made per request (an
    # after_this_request callback) is asked afresh once the table is full, so it cannot fill the memory
    SYNC_TABLE_SIZE = 256

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synced: dict = {}

    def ensure_sync(self, func):
        try:
            synced = self._synced.get(func)
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)
        if synced is None:
            synced = super().ensure_sync(func)
            if len(self._synced) < self.SYNC_TABLE_SIZE:
                self._synced[func] = synced
        return synced


def create_app(config: Mapping | None = None, graph: KnowledgeGraph | None = None) -> Flask:
    app = App(__name__)
    app.config.update({key: default for key, (default, _) in SETTINGS.items()})
    app.config.update(config or {})
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]  # werkzeug raises 413 past this
    check_settings(bool(app.config["ALLOW_UPDATE"]), app.config["UPDATE_TOKEN"])
    if app.config["ALLOW_UPDATE"]:
        app.config["UPDATE_TOKEN"] = update_token(app.config["UPDATE_TOKEN"])
    app.json.sort_keys = False

    graph = graph if graph is not None else load(reasoner=str(app.config["REASONER"]))
    snapshots = Path(tempfile.mkdtemp(prefix="cnkg-snapshots-"))
    weakref.finalize(app, shutil.rmtree, snapshots, True)
    remote = _remote(graph.store) is not None
    slots = int(app.config["MAX_CONCURRENT_QUERIES"])
    if app.config["ALLOW_UPDATE"]:
        if remote:  # updates go to the remote store, with the inferred delta (cnkg.remote.RemoteStore.apply)
            graph.store.writable()
        else:  # updates go to a private on-disk copy (published by checkpoint), made now
            graph.store = graph.store.on_disk_copy(snapshots / "primary")
    app.extensions["cnkg"] = State(graph, ResultCache(int(app.config["RESULT_CACHE_SIZE"]),
                                                       int(float(app.config["RESULT_CACHE_MIB"]) * 2**20)),
                                   None if remote else Sandbox.shared(
                                       slots, int(app.config["WARM_WORKERS"]),
                                       float(app.config["WORKER_RETIRE_SECONDS"]),
                                       memory=int(app.config["WORKER_MEMORY_MIB"]) * 2**20),
                                   snapshots,
                                   remote_slots=threading.BoundedSemaphore(slots) if remote else None)

    # Any origin may query, but never with cookies or credentials: the endpoint is public and read-only.
    CORS(app, origins="*", send_wildcard=True, supports_credentials=False,
         expose_headers=["X-Result-Truncated", "X-Result-Rows", "X-Result-Limit", "X-Cache"])
    errors.init_app(app)
    app.teardown_request(lambda _exc: forget_large())  # no query text's tokens outlive its request
    app.register_blueprint(protocol.bp)
    ops.init_app(app)        # metrics, access log, /healthz, /metrics, /-/versions
    ratelimit.init_app(app)  # after ops, so rate-limited requests are timed, counted and logged too
    app.register_blueprint(ui.bp)  # the web UI: / and /lineage/<name>.svg
    app.register_blueprint(canned.bp)   # /queries, /queries/<name>
    app.register_blueprint(pages.bp)    # /id/<slug>, /ontology (linked data)
    app.register_blueprint(explain.bp)  # /explain?s=&p=&o=
    app.register_blueprint(search.bp)   # /search?q=
    _security_headers(app)
    fast_path.install(app)  # the common /sparql request, answered in front of Flask's machinery (same answers)
    if app.config["ALLOW_UPDATE"]:
        _guard_readers(app)
        graph.materialisation  # noqa: B018 - the incremental reasoner's state, built now rather than by the first update
    return app


# Every HTML page: its own scripts, styles and images only (inline styles are allowed for the lineage SVGs
# matplotlib writes), never framed. The query UI sets a stricter policy of its own (server/ui.py).
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def _security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def _guard_readers(app: Flask) -> None:
    """With updates on, every request that reads the graph in this process holds the read side of the graph lock,
    so an update is never applied while a page iterates the store. /sparql does not: its queries run in the
    sandbox over a published snapshot, which an update never changes. Nor do the liveness and metrics endpoints:
    a probe queued behind a long update would take a server thread and get the pod restarted (their sizes are
    each read in one consistent Oxigraph read, and recomputed after the update)."""
    lock = app.extensions["cnkg"].lock
    unlocked = {"protocol.sparql", "ops.healthz", "ops.metrics"}

    @app.before_request
    def _read_lock():
        if request.endpoint not in unlocked:
            lock.acquire_read()
            g.cnkg_read_lock = True

    @app.teardown_request
    def _read_unlock(_exc):
        if g.pop("cnkg_read_lock", False):
            lock.release_read()


def _stats(graph: KnowledgeGraph) -> Stats:
    sizes = graph.store.graph_sizes()
    return Stats(triples=sum(sizes.values()), union_triples=graph.store.count("?s ?p ?o"),
                 entities=graph.store.count("SELECT DISTINCT ?e { ?e a cnkg:Entity }"), graphs=sizes)


__all__ = ["create_app", "SETTINGS", "check_settings", "update_token"]
