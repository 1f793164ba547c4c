"""The common /sparql request answered without Flask's per-request machinery.

Most requests to ``/sparql`` are the same shape: a query, as ``query=`` in the URL, as a form body or as an
``application/sparql-query`` body, with nothing else. Flask spends more on such a request than everything of cnkg's
own around the evaluation together (a request context, routing, form parsing, five hooks, a response object: 0.65
against 0.23 ms of CPU a request, ``python bench/bench_http.py --app-cost``), so this WSGI middleware answers those
requests itself, through the steps the view takes (the safety checks, negotiation, then
:func:`cnkg.server.protocol.answer`: the result cache, the sandbox), with the same headers, the same access-log line
and the same metrics.

Anything else goes to Flask untouched: other paths and methods, other parameters, updates, large or odd bodies,
a remote store, and every request that is refused before evaluation (Flask's view refuses it again, with its message).
A query that fails in the sandbox goes to Flask too, carrying its error, which the view raises instead of
evaluating again: Flask's error handling writes every error answer, from one place.
"""
from __future__ import annotations

import io
import time
from functools import lru_cache
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.wsgi import get_current_url

from ..sparql_text import forget_large
from . import ops
from . import evaluation
from .formats import Format
from .protocol import (DIRECT, FAILED, FORM, answer, answer_formats, answer_headers, answer_key,
                       negotiate_accept)
from .ratelimit import RATE_WAIT
from .safety import check

# Bodies above this go to Flask (which applies MAX_CONTENT_LENGTH and the form size limit with their 413s).
MAX_BODY = 64 * 1024
# the WSGI environment key under which a request answered on the server's event loop carries its answer
READY = "cnkg.fast_path.ready"
# ... and one read and checked there, that waits for a worker on a thread
PREPARED = "cnkg.fast_path.prepared"
_KEY = "cnkg.fast_path.key"  # (its result-cache key, its base IRI), for resume
_UTF8 = ("", "charset=utf-8", 'charset="utf-8"', "charset=utf8")


class FastQueries:
    """WSGI middleware in front of the Flask app's own ``wsgi_app`` (installed by :func:`install`)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        self.state = app.extensions["cnkg"]
        self.metrics = app.extensions.get("cnkg.metrics")
        self.bucket = app.extensions.get("cnkg.ratelimit")
        self.cors = cors_headers(app)

    def __call__(self, environ, start_response):
        if FAILED in environ:  # started on the server's event loop (begin), and failed: Flask answers it
            return self.wsgi_app(environ, start_response)
        ready = environ.pop(READY, None)
        if ready is not None:  # answered on the server's event loop (begin, finish), which closes the body
            return self._respond(environ, start_response, *ready, deferred=True)
        prepared = environ.pop(PREPARED, None)
        if prepared is not None:  # read and checked on the event loop (begin), to wait for a worker here
            return self._evaluate(environ, start_response, *prepared)
        if not self._ours(environ):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        query = self._query(environ)
        if query is None:
            return self.wsgi_app(environ, start_response)
        try:
            return self._answer(environ, start_response, query, started)
        finally:
            forget_large()  # (Flask's teardown does this for the requests it answers)

    def _ours(self, environ) -> bool:
        return (environ.get("PATH_INFO") == "/sparql" and self.state.sandbox is not None
                and self.state.remote is None and self.app.config.get("TRUSTED_HOSTS") is None)

    def begin(self, environ) -> Pending | bool:
        """Start answering a request on the server's event loop, without a thread: a :class:`Pending` query (call
        :meth:`finish` once its :meth:`Pending.fileno` is readable, or with ``expired`` past its deadline); True
        when the answer is ready already (the result cache); False when the request is not answered here (call
        the app on a thread as usual: it finds what was done here in ``environ`` and does not do it again)."""
        if not self._ours(environ):
            return False
        started = time.perf_counter()
        try:
            query = self._query(environ)
            if query is None:
                return False
            prepared = self._prepare(environ, query)
            if prepared is None:
                return False
            fmt, kind, client = prepared
            state, config = self.state, self.app.config
            base = _base(environ)
            key = answer_key(state, query, fmt, None, None, config["MAX_ROWS"], base)
            payload = state.results.get(key)
            if payload is not None:
                environ[READY] = (query, fmt, payload, True, started, None)
                return True
            environ[PREPARED] = (query, fmt, kind, client, started)
            environ[_KEY] = (key, base)
            return self.resume(environ) or False
        finally:
            forget_large()

    def resume(self, environ) -> Pending | None:
        """Start the query :meth:`begin` read and checked, if a worker is free for it at once (None: not now; call
        again, or call the app on a thread, which waits for a worker)."""
        query, fmt, kind, client, started = environ[PREPARED]
        key, base = environ[_KEY]
        config = self.app.config
        running = evaluation.start(self.state, query, **answer_formats(kind, fmt), max_rows=config["MAX_ROWS"],
                                   base_iri=base, timeout=float(config["QUERY_TIMEOUT"]), client=client)
        if running is None:
            return None
        del environ[PREPARED]
        return Pending(running, key, query, fmt, started)

    def finish(self, environ, pending: Pending, expired: bool = False) -> None:
        """Collect a :class:`Pending` query's answer (or stop it: ``expired``) into ``environ``, for the app to
        answer the request with (on the event loop or on a thread)."""
        try:
            if expired:
                environ[FAILED] = pending.running.expire()
                return
            payload = pending.running.finish()
        except Exception as exc:  # noqa: BLE001 - an ApiError, or a failure Flask reports as a 500
            environ[FAILED] = exc
            return
        environ[READY] = (pending.query, pending.fmt, payload, False, pending.started, pending.key)

    def _query(self, environ) -> str | None:
        """The query text of a request this middleware answers, or None. A POST's body is read here and put back
        for Flask (the same bytes) when the request is not answered here."""
        method = environ.get("REQUEST_METHOD")
        if method == "GET":
            return _only_query(environ.get("QUERY_STRING", ""))
        if method != "POST" or environ.get("QUERY_STRING") or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        mime, _, params = environ.get("CONTENT_TYPE", "").partition(";")
        mime = mime.strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        if (mime not in (FORM, DIRECT) or params.strip().lower().replace(" ", "") not in _UTF8
                or not length.isdigit() or int(length) > self._body_limit(mime)):
            return None
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)  # for Flask, if it answers after all
        if len(body) != int(length):  # a body cut short: Flask says so
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if mime == DIRECT:
            return text if text.strip() else None
        return _only_query(text)

    def _body_limit(self, mime: str) -> int:
        """The largest body answered here: MAX_BODY, or Flask's own limits if lower (so Flask answers their 413s)."""
        config = self.app.config
        limits = [MAX_BODY, config.get("MAX_CONTENT_LENGTH")]
        if mime == FORM:
            limits.append(config.get("MAX_FORM_MEMORY_SIZE"))
        return min(limit for limit in limits if limit is not None)

    def _prepare(self, environ, query: str) -> tuple[Format, str, str] | None:
        """The answer's format, the query's form and the client, once the rate limiter and the safety checks let
        the query through; None: Flask answers (a refusal, or a form whose syntax error the engine must name)."""
        client = environ.get("REMOTE_ADDR") or "unknown"
        if self.bucket is not None:
            wait = environ.get(RATE_WAIT)
            if wait is None:  # (one token a request, whoever answers it)
                wait = environ[RATE_WAIT] = self.bucket.take(client)
            if wait > 0:  # refused: Flask answers 429, from this answer
                return None
        try:
            checked = check(query, self.state.graph_names)
            fmt = negotiate_accept(checked.kind, None, environ.get("HTTP_ACCEPT")) if checked.kind else None
        except Exception:  # noqa: BLE001 - a refusal (or anything else): the view meets it again and answers it
            fmt = None
        if fmt is None:
            return None
        return fmt, checked.kind, client

    def _answer(self, environ, start_response, query: str, started: float):
        prepared = self._prepare(environ, query)
        if prepared is None:
            return self.wsgi_app(environ, start_response)
        return self._evaluate(environ, start_response, query, *prepared, started)

    def _evaluate(self, environ, start_response, query: str, fmt: Format, kind: str, client: str, started: float):
        config = self.app.config
        try:
            payload, cached = answer(self.state, query, kind, fmt, None, None, config["MAX_ROWS"], _base(environ),
                                     float(config["QUERY_TIMEOUT"]), client)
        except Exception as exc:  # noqa: BLE001 - an ApiError (timeout, syntax, memory ...), or a failure Flask
            environ[FAILED] = exc  # reports as a 500 in the server's shape, with its log
            return self.wsgi_app(environ, start_response)
        return self._respond(environ, start_response, query, fmt, payload, cached, started)

    def _respond(self, environ, start_response, query: str, fmt: Format, payload, cached: bool, started: float,
                 key: tuple | None = None, deferred: bool = False):
        """The answer. ``deferred`` (the event loop's answers): what follows it — the result cache (``key``: an
        answer from a worker to keep), the metrics and the access log — is done by the body's ``close``, which the
        server calls once the answer is written: none of it is the client's to wait for."""
        max_rows = self.app.config["MAX_ROWS"]
        headers = [("Content-Type", fmt.content_type), ("Content-Length", str(len(payload.body))),
                   *answer_headers(payload, cached, max_rows), ("X-Content-Type-Options", "nosniff"), *self.cors]
        start_response("200 OK", headers)
        duration = time.perf_counter() - started

        def after() -> None:
            if key is not None:
                self.state.results.put(key, payload)
            ops.log_request(self.metrics, "/sparql", environ["REQUEST_METHOD"], "/sparql", 200, duration,
                            environ.get("REMOTE_ADDR"), len(payload.body), query, payload.rows, payload.truncated)
        if not deferred:
            after()
            return [payload.body]
        return _Answered(payload, after)


class _Answered(list):
    """An answer's body (one piece): a list, as a WSGI server expects, whose ``close`` (called once the body is
    written) does the bookkeeping that follows it."""

    __slots__ = ("_after",)

    def __init__(self, payload, after):
        super().__init__((payload.body,))
        self._after = after

    def close(self) -> None:
        after, self._after = self._after, None
        if after is not None:
            after()


class Pending:
    """A query :meth:`FastQueries.begin` started in a worker: ``fileno()`` becomes readable when it has answered;
    ``deadline`` (``time.monotonic()``) is when it must be stopped."""

    __slots__ = ("running", "key", "query", "fmt", "started", "deadline")

    def __init__(self, running: evaluation.Started, key: tuple, query: str, fmt: Format, started: float):
        self.running, self.key, self.query, self.fmt, self.started = running, key, query, fmt, started
        self.deadline = running.deadline

    def fileno(self) -> int:
        return self.running.fileno()


def _only_query(text: str) -> str | None:
    """The value of ``query`` in a URL-encoded string holding that one parameter and nothing else, decoded as
    werkzeug decodes request parameters (so Flask would read the same text)."""
    if not text.startswith("query="):
        return None
    try:
        items = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
    except UnicodeError:
        return None
    if len(items) != 1 or items[0][0] != "query" or not items[0][1].strip():
        return None
    return items[0][1]


def _base(environ) -> str:
    """The base IRI of a query: the request's URL without its query string, as Flask's ``request.base_url``."""
    return _base_of(environ["wsgi.url_scheme"], environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
                    environ.get("SERVER_PORT"), environ.get("SCRIPT_NAME", ""))


@lru_cache(maxsize=64)
def _base_of(scheme: str, host: str | None, server: str | None, port: str | None, script: str) -> str:
    environ = {"wsgi.url_scheme": scheme, "SERVER_NAME": server or "", "SERVER_PORT": port or "",
               "SCRIPT_NAME": script, "PATH_INFO": "/sparql"}
    if host is not None:
        environ["HTTP_HOST"] = host
    return get_current_url(environ, strip_querystring=True)


def cors_headers(app: Flask) -> list[tuple[str, str]]:
    """The CORS headers Flask-CORS adds to an answer of this app (the same for every request: any origin, no
    credentials), asked of Flask-CORS itself once."""
    with app.test_request_context("/sparql", method="POST", headers={"Origin": "https://example.org"}):
        response = app.response_class("")
        for hook in app.after_request_funcs.get(None, ()):
            if getattr(hook, "__module__", "").startswith("flask_cors"):
                response = hook(response)
    return [(k, v) for k, v in response.headers.items() if k.lower().startswith("access-control-")]


def install(app: Flask) -> None:
    """Answer the common /sparql requests in front of ``app``'s Flask machinery."""
    app.wsgi_app = FastQueries(app, app.wsgi_app)


__all__ = ["FastQueries", "Pending", "PREPARED", "READY", "install"]
