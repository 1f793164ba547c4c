"""One error shape for the whole server: ``{"error": {"status": N, "reason": "...", "message": "..."}}``, raised as
typed exceptions that carry the status and a machine-readable reason.

JSON unless the client accepts text/plain but not JSON (a CSV-only client still gets a readable error).
"""
from __future__ import annotations

import json
import logging
import re

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from ..errors import RemoteError
from ..syntax_errors import readable
from . import ops
from .negotiation import choose

# a remote store's failures in full (its URL, its status, what it said), for the operator only
log = logging.getLogger("cnkg.remote")


class ApiError(Exception):
    """A request the server refuses or cannot answer; the message tells the client how to fix it.

    ``status`` is the HTTP status and ``reason`` a machine-readable label (the ``reason`` of the error body and of
    the ``cnkg_queries_rejected`` metric); each subclass fixes both."""

    status: int = 400
    reason: str = "request"
    #: refused before any evaluation started (counted in cnkg_queries_rejected)
    rejection: bool = True

    def __init__(self, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    status, reason = 400, "request"


class MalformedQuery(ApiError):
    """SPARQL that does not parse (or that the parser cannot handle). ``detail``, ``line`` and ``column`` are the
    parser's own message and position, when known."""
    status, reason = 400, "syntax"

    def __init__(self, message: str, headers: dict[str, str] | None = None, *, detail: str | None = None,
                 line: int | None = None, column: int | None = None):
        # the parser's list of alternatives in SPARQL terms, without its character ranges (cnkg.syntax_errors)
        message = readable(message)
        super().__init__(message, headers)
        self.detail, self.line, self.column = readable(detail) if detail else message, line, column


class RefusedService(ApiError):
    """SERVICE: the endpoint answers from its own data and never fetches."""
    status, reason = 400, "service"


class RefusedLoad(ApiError):
    status, reason = 400, "load"


class RefusedDataset(ApiError):
    """FROM / FROM NAMED / a graph parameter naming a graph the endpoint does not hold."""
    status, reason = 400, "dataset"


class Unauthorized(ApiError):
    status, reason = 401, "unauthorized"


class ReadOnly(ApiError):
    """An update sent to a read-only endpoint."""
    status, reason = 403, "update"


class WrongMethod(ApiError):
    status, reason = 405, "method"


class NotFound(ApiError):
    status, reason, rejection = 404, "not_found", False


class Conflict(ApiError):
    """A change the data cannot take: it would make the graph inconsistent (e.g. a lineage cycle)."""
    status, reason, rejection = 409, "conflict", False


class NotAcceptable(ApiError):
    status, reason = 406, "not_acceptable"


class TooLarge(ApiError):
    """An answer too large to produce (the message says how to get it another way)."""
    status, reason, rejection = 413, "too_large", False


class UnsupportedMediaType(ApiError):
    status, reason = 415, "media_type"


class TooManyRequests(ApiError):
    status, reason = 429, "rate_limit"


class EvaluationFailed(ApiError):
    """The query parsed but its evaluation failed because of the query (a type error the engine cannot skip)."""
    status, reason, rejection = 400, "evaluation", False


class NotSupported(ApiError):
    status, reason, rejection = 501, "unsupported", False


class Internal(ApiError):
    status, reason, rejection = 500, "internal", False


class Upstream(ApiError):
    """The remote store cnkg serves from failed, refused cnkg, or answered something unreadable."""
    status, reason, rejection = 502, "upstream", False


class Unavailable(ApiError):
    """The remote store cnkg serves from failed its health check: this endpoint cannot answer from it now."""
    status, reason, rejection = 503, "upstream", False


class Timeout(ApiError):
    """Stopped at the deadline; the work was killed, not left running."""
    status, reason, rejection = 503, "timeout", False


class OverMemory(ApiError):
    """The query needed more memory than a query worker may use; the worker was stopped."""
    status, reason, rejection = 503, "memory", False


class TooComplex(ApiError):
    """The query nests or chains too deeply for the engine's parser."""
    status, reason = 400, "too_complex"


class Busy(ApiError):
    status, reason, rejection = 503, "busy", False


class Stopping(ApiError):
    """The server is shutting down and its grace period ended before the query did."""
    status, reason, rejection = 503, "stopping", False


_REASON_BY_STATUS = {400: "request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method",
                     406: "not_acceptable", 409: "conflict", 413: "too_large", 415: "media_type",
                     429: "rate_limit", 500: "internal", 501: "unsupported", 502: "upstream",
                     503: "unavailable"}


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   reason: str | None = None) -> Response:
    reason = reason or _REASON_BY_STATUS.get(status, "request")
    as_text = choose(request.headers.get("Accept"), ["application/json", "text/plain"]) == "text/plain"
    if as_text:
        body, content_type = f"{status} {message}\n", "text/plain; charset=utf-8"
    else:
        body = json.dumps({"error": {"status": status, "reason": reason, "message": message}}, ensure_ascii=False) + "\n"
        content_type = "application/json; charset=utf-8"
    response = Response(body, status=status, content_type=content_type)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        ops.record_error(exc)  # the metrics are recorded here, once, from the error's type
        return error_response(exc.status, exc.message, exc.headers, exc.reason)

    @app.errorhandler(RemoteError)
    def _remote_error(exc: RemoteError):
        # a page or an index reading the remote store (queries map their own: cnkg.server.evaluation)
        if request.endpoint == "ops.healthz":
            # the sizes /healthz reports are the store's answers: one that fails or answers nonsense makes this
            # endpoint unable to serve, which probes and load balancers read from a 503 (never a 500, nor its words)
            failure = remote_api_error(exc, what="health check")
            return _api_error(failure if failure.status == 503 else Unavailable(failure.message))
        return _api_error(remote_api_error(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # werkzeug's own errors (404, 405 with Allow, 413 ...) in our shape, keeping their headers
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        message = exc.description or exc.name
        if isinstance(exc, MethodNotAllowed):
            message = f"{request.method} is not allowed on {request.path}; allowed: {headers.get('Allow', '')}"
        elif isinstance(exc, RequestEntityTooLarge):
            message = f"request body too large: the limit is {request.max_content_length} bytes"
        return error_response(exc.code or 500, message, headers)


# what a public client is told when the remote store fails: the kind of failure, never the store's URL or the
# text it answered (the server's log has those)
_UPSTREAM = {"unreachable": "could not be reached", "refused": "refused cnkg's credentials",
             "not_found": "answered 404 not found", "failed": "failed", "malformed": "answered something cnkg "
             "cannot read", "unsafe": "redirected the request to another host, which cnkg does not follow"}


def remote_api_error(exc: RemoteError, timeout: float | None = None, what: str = "query") -> ApiError:
    """A remote store's failure as the server's error: its timeout as ours (503), a query it could not parse as
    400, anything else (unreachable, refused cnkg's credentials, failed, an unreadable answer) as 502. The client
    gets a summary; the store's URL and its own words go to the ``cnkg.remote`` log."""
    if exc.kind == "timeout":
        limit = f" within {timeout:g} s" if timeout is not None else " in time"
        return Timeout(f"{what} timed out: the remote store did not answer{limit}, so cnkg stopped waiting. Narrow "
                       "it (more specific patterns, LIMIT) and try again", headers={"Retry-After": "1"})
    if exc.kind == "syntax":
        from ..remote import syntax_position

        said = exc.detail or exc.message
        line, column = syntax_position(said)
        if line is not None:  # a parser's message about the client's own query, located in it
            said = re.sub(r"^error at \d+:\d+: ", "", said)  # Oxigraph's position, given below in the query's terms
            where = f" at line {line}" + (f", column {column}" if column else "")
            return MalformedQuery(f"malformed SPARQL {what}{where}: {said}", detail=said, line=line, column=column)
        log.warning("%s refused by the remote store %s (400): %s", what, _store(), exc.message)
        return MalformedQuery(f"malformed SPARQL {what}: the remote store refused it (400); the server's log "
                              "has its words")
    log.warning("%s failed over the remote store %s (%s%s): %s", what, _store(), exc.kind,
                f", {exc.status}" if exc.status else "", exc.message)
    summary = _UPSTREAM.get(exc.kind) or (f"rejected the request ({exc.status})" if exc.status else "failed")
    if exc.kind == "failed" and exc.status:
        summary += f" ({exc.status})"
    return Upstream(f"the remote store behind this endpoint {summary}, so the {what} could not be answered; the "
                    "server's log has the details")


def _store() -> str:
    """The remote store's query URL, for the log."""
    store = current_app.extensions["cnkg"].remote
    return store.query_url if store is not None else "(none)"
