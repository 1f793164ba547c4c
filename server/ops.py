"""Operational endpoints and instrumentation: liveness, Prometheus metrics, a JSON access log, versions.

* ``/healthz``: liveness and size, for load balancers.
* ``/metrics``: the Prometheus text format, from a ``CollectorRegistry`` of the app's own (no global registry,
  so every app, and every test's app, starts at zero).
* ``/-/versions``: the versions of Python and of the libraries that answer queries (as Datasette does).
* The access log: one JSON object per request on the ``cnkg.access`` logger, at INFO.

Other modules report what only they know through ``record_timeout()``, ``record_rejection(reason)`` and
``record_update()``, and
put the query text in ``flask.g.cnkg_query`` so the log can identify it (by hash, never verbatim).
"""
from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from importlib import metadata

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


bp = Blueprint("ops", __name__)
access_log = logging.getLogger("cnkg.access")

# Seconds; SPARQL answers range from a millisecond (ASK) to the query timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Label values come from these sets only: a client choosing a method (any token is one) or a path must not create
# series; anything else is "other", a path no route matches "(unmatched)".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else "other"


class Metrics:
    """Every metric of one app, registered in that app's own registry."""

    def __init__(self, state):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("cnkg_http_requests", "HTTP requests answered, by route, method and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("cnkg_http_request_duration_seconds", "Time to answer an HTTP request, by route",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.timeouts = Counter("cnkg_query_timeouts", "Queries stopped at the QUERY_TIMEOUT deadline (503)",
                                registry=r)
        self.rejected = Counter("cnkg_queries_rejected", "Queries refused before evaluation, by reason",
                                ["reason"], registry=r)
        self.updates = Counter("cnkg_updates", "SPARQL updates applied (only with --allow-update)", registry=r)
        self.triples = Gauge("cnkg_graph_triples", "Triples in the served dataset (all named graphs)", registry=r)
        self.entities = Gauge("cnkg_graph_entities", "Curated entities in the served dataset", registry=r)
        self.named_graphs = Gauge("cnkg_graph_named_graphs", "Non-empty named graphs in the served dataset",
                                  registry=r)
        self.graph_version = Gauge("cnkg_graph_version", "Updates applied since start-up (0: as built)", registry=r)
        # (route, method, status) -> the request counter's child, route -> the latency histogram's: looked up once
        # (prometheus_client's labels() validates and locks on every call)
        self._counted: dict = {}
        self._timed: dict = {}
        # read when scraped: the sizes are computed on first use, not at start-up
        self.triples.set_function(lambda: state.stats.triples)
        self.entities.set_function(lambda: state.stats.entities)
        self.named_graphs.set_function(lambda: len(state.stats.graphs))

    def observe(self, route: str, method: str, status: int, duration: float) -> None:
        """Count a request answered and time it."""
        key = (route, method_label(method), status_label(status))  # (labels: a bounded set of keys)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = self.requests.labels(*key)
        counter.inc()
        timer = self._timed.get(route)
        if timer is None:
            timer = self._timed[route] = self.latency.labels(route)
        timer.observe(duration)


def init_app(app: Flask) -> None:
    """Create the app's metrics and wire the timing / counting / logging hooks (after ``State`` is set)."""
    app.extensions["cnkg.metrics"] = Metrics(app.extensions["cnkg"])
    app.before_request(_start)
    app.after_request(_finish)
    app.register_blueprint(bp)


def _metrics() -> Metrics | None:
    return current_app.extensions.get("cnkg.metrics")


def record_error(exc) -> None:
    """Count an answered error (a ``server.errors.ApiError``) from its type: a timeout, or a query refused before
    evaluation (by its reason: ``update``, ``service``, ``dataset``, ``syntax``, ``rate_limit`` ...)."""
    if (m := _metrics()) is None:
        return
    if exc.reason == "timeout":
        m.timeouts.inc()
    elif exc.rejection and (request.endpoint == "protocol.sparql" or exc.reason == "rate_limit"):
        m.rejected.labels(exc.reason).inc()


def record_update() -> None:
    """An applied SPARQL update: count it (the graph-size gauges read the new statistics when scraped)."""
    if (m := _metrics()) is not None:
        m.updates.inc()
        m.graph_version.set(current_app.extensions["cnkg"].version)


def _start() -> None:
    g.cnkg_started = time.perf_counter()


def _finish(response: Response) -> Response:
    req = request._get_current_object()  # (each read of the proxy looks the request up again)
    started = g.get("cnkg_started")
    headers = response.headers
    rows = headers.get("X-Result-Rows")
    # the route pattern (/id/<slug>), not the path, keeps the label set small
    log_request(_metrics(), req.url_rule.rule if req.url_rule is not None else "(unmatched)", req.method, req.path,
                response.status_code, time.perf_counter() - started if started is not None else 0.0,
                req.remote_addr, response.calculate_content_length(), g.get("cnkg_query"),
                None if rows is None else int(rows), bool(headers.get("X-Result-Truncated")))
    return response


def log_request(metrics: Metrics | None, route: str, method: str, path: str, status: int, duration: float,
                client: str | None, size: int | None, query: str | None, rows: int | None,
                truncated: bool) -> None:
    """Count and time an answered request, and write its access-log line (the query by hash, never verbatim)."""
    if metrics is not None:
        metrics.observe(route, method, status, duration)
    if not access_log.isEnabledFor(logging.INFO):
        return
    entry = {"method": method, "path": path, "status": status, "duration_ms": round(duration * 1000, 3),
             "client": client, "bytes": size}
    if query is not None:
        entry["query_sha256"] = hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]
        entry["query_length"] = len(query)
    if rows is not None:
        entry["rows"] = rows
    if truncated:
        entry["truncated"] = True
    access_log.info(json.dumps(entry, ensure_ascii=False))


@bp.route("/healthz")
def healthz():
    state = current_app.extensions["cnkg"]
    stats = state.stats   # over a remote store, its failure is a 503 (cnkg.server.errors: RemoteError on healthz)
    body = {"status": "ok", "triples": stats.triples, "graphs": len(stats.graphs)}
    if current_app.config["ALLOW_UPDATE"]:  # the graph can change: say which state of it this is
        body["graph_version"] = state.version
    return jsonify(body)


@bp.route("/metrics")
def metrics():
    m = _metrics()
    return Response(generate_latest(m.registry), content_type=CONTENT_TYPE_LATEST)


@bp.route("/-/versions")
def versions():
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return jsonify(
        python={"version": platform.python_version(), "implementation": platform.python_implementation()},
        cnkg=version("cnkg"),
        rdflib=version("rdflib"),
        owlrl=version("owlrl"),
        pyshacl=version("pyshacl"),
        flask=version("flask"),
        uvloop=version("uvloop"),
        httptools=version("httptools"),
    )
