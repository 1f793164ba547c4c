"""``/sparql``: the SPARQL 1.1 Protocol query operation (GET, POST form, POST direct), and the update operation
(POST form ``update=``, POST ``application/sparql-update``) when the server allows it (:mod:`cnkg.server.update`).

Request handling order: method -> parameters and body -> update refusal (403, or 401 without the bearer token)
-> parse and safety checks -> content negotiation -> evaluation in a worker with a deadline. Everything that can
be refused is refused before any evaluation starts. A GET without ``query`` returns the service description.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

from flask import Blueprint, Response, current_app, g, jsonify, request
from rdflib import URIRef
from werkzeug.sansio.utils import get_current_url

from . import errors, evaluation, ops
from .description import service_description
from .errors import BadRequest, MalformedQuery, NotSupported, ReadOnly, UnsupportedMediaType, WrongMethod
from .formats import RDF_FORMATS, RESULT_FORMATS, Format, formats_for, negotiate
from .safety import READ_ONLY, check, check_graphs, refuse_deep_nesting, refuse_service

bp = Blueprint("protocol", __name__)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
# the WSGI environment key under which cnkg.server.fast_path passes on a query it evaluated and that failed
FAILED = "cnkg.fast_path.failed"


@dataclass
class ProtocolRequest:
    query: str | None
    default_graphs: list[str]
    named_graphs: list[str]
    format: str | None
    update: str | None = None  # the update text (then query is None)
    using_graphs: list[str] = field(default_factory=list)        # using-graph-uri
    using_named_graphs: list[str] = field(default_factory=list)  # using-named-graph-uri


@bp.route("/sparql", methods=["GET", "POST"])
def sparql():
    req = _read_request()
    if req.update is not None:
        return _update(req)
    if req.query is None:
        if request.method in ("GET", "HEAD"):
            return service_description()
        raise BadRequest("missing query: send the SPARQL query as the 'query' parameter (GET or a form POST) "
                         f"or as a POST body with Content-Type: {DIRECT}")
    g.cnkg_query = req.query  # for the access log (hashed there)
    state = current_app.extensions["cnkg"]
    try:
        checked = check(req.query, state.graph_names)
    except ReadOnly:
        if current_app.config["ALLOW_UPDATE"]:
            raise MalformedQuery("this is a SPARQL update sent as a query: POST it as update=... (a form body) or "
                                 f"as a {UPDATE} body") from None
        raise
    if checked.kind is None:  # not a query form we recognise: the engine says where the syntax is wrong
        evaluation.run(state, req.query, max_rows=1, base_iri=request.base_url,
                       timeout=float(current_app.config["QUERY_TIMEOUT"]), client=_client())
    kind = checked.kind or "SelectQuery"
    fmt = negotiate_accept(kind, req.format, request.headers.get("Accept"))
    if req.default_graphs or req.named_graphs:  # protocol dataset wins over FROM / FROM NAMED (§2.1.4)
        check_graphs(req.default_graphs, "FROM", state.graph_names, "default-graph-uri")
        check_graphs(req.named_graphs, "FROM NAMED", state.graph_names, "named-graph-uri")
        default, named = [URIRef(g) for g in req.default_graphs], [URIRef(g) for g in req.named_graphs]
    else:
        default = named = None  # the query's own FROM / FROM NAMED (checked above), or the whole dataset
    failed = request.environ.pop(FAILED, None)
    if failed is not None:  # evaluated already, in front of Flask (cnkg.server.fast_path): its failure, answered here
        raise failed
    max_rows = current_app.config["MAX_ROWS"]
    base = _base_url(request.scheme, request.host, request.root_path, request.path)
    payload, cached = answer(state, req.query, kind, fmt, default, named, max_rows, base,
                             float(current_app.config["QUERY_TIMEOUT"]), _client())
    response = Response(payload.body, status=200, content_type=fmt.content_type)
    response.headers.extend(answer_headers(payload, cached, max_rows))
    return response


def answer(state, query: str, kind: str, fmt: Format, default, named, max_rows: int, base: str, timeout: float,
           client: str) -> tuple[evaluation.Payload, bool]:
    """The answer to a checked query (from the result cache, or evaluated) and whether the cache gave it."""
    key = answer_key(state, query, fmt, default, named, max_rows, base)
    payload = state.results.get(key)
    if payload is not None:
        return payload, True
    payload = evaluation.run(state, query, **answer_formats(kind, fmt), max_rows=max_rows, default_graphs=default,
                             named_graphs=named, base_iri=base, timeout=timeout, what="query", client=client)
    state.results.put(key, payload)
    return payload, False


def answer_key(state, query: str, fmt: Format, default, named, max_rows: int, base: str) -> tuple:
    """What the result cache knows an answer by."""
    return (query, base, _frozen(default), _frozen(named), fmt.name, max_rows, state.version)


def answer_formats(kind: str, fmt: Format) -> dict:
    """The sandbox's formats for a query form answered in ``fmt`` (a results format, or an RDF one for graphs)."""
    if kind in ("ConstructQuery", "DescribeQuery"):
        return {"result_format": "json", "graph_format": fmt.name}
    return {"result_format": fmt.name, "graph_format": "turtle"}


def answer_headers(payload: evaluation.Payload, cached: bool, max_rows: int) -> list[tuple[str, str]]:
    """An answer's headers beyond its type and length."""
    headers = [("Vary", "Accept"), ("X-Cache", "hit" if cached else "miss"), ("X-Result-Rows", str(payload.rows))]
    if payload.truncated:
        headers += [("X-Result-Truncated", "true"), ("X-Result-Limit", str(max_rows))]
    return headers


def _update(req: ProtocolRequest):
    """The update operation: authorise, check, compute the change (WHERE clauses in the sandbox), apply it; all
    within the request's bounds (UPDATE_TIMEOUT, UPDATE_MAX_OPERATIONS, UPDATE_MAX_TRIPLES)."""
    from ..sparql_update import (Bounds, QuerySyntaxError, RefusedLoad, UpdateRefused, UpdateSyntaxError,
                                 UpdateTimeout, UpdateTooLarge, change)
    from .update import NOTE, UPDATES_GRAPH, ScratchCopy, authorize, commit, timed_out

    g.cnkg_query = req.update  # for the access log (hashed there)
    state = current_app.extensions["cnkg"]
    config = current_app.config
    authorize()
    refuse_service(req.update)  # before anything reads the update further: Oxigraph would call the service
    refuse_deep_nesting(req.update, "update")
    limit = float(config["UPDATE_TIMEOUT"])
    bounds = Bounds(max_operations=int(config["UPDATE_MAX_OPERATIONS"]),
                    max_triples=int(config["UPDATE_MAX_TRIPLES"]), deadline=time.monotonic() + limit)
    # one update at a time: the change is computed against the graph it is applied to; waiting counts too
    if not state.writer.acquire(timeout=limit):
        raise timed_out(limit, "waiting for the update before it")
    try:
        with ScratchCopy(state) as scratch:
            try:
                computed = change(req.update, request.base_url, state.graph.store, UPDATES_GRAPH,
                                  _where_solutions(state, QuerySyntaxError, bounds, scratch), req.using_graphs,
                                  req.using_named_graphs, bounds)
            except UpdateSyntaxError as exc:
                raise MalformedQuery(f"malformed SPARQL update at line {exc.line}, column {exc.column}: "
                                     f"{exc.message}") from None
            except RefusedLoad as exc:
                raise errors.RefusedLoad(str(exc)) from None
            except UpdateTooLarge as exc:
                raise errors.TooLarge(f"{exc}; nothing was changed") from None
            except UpdateRefused as exc:
                raise BadRequest(str(exc)) from None
            except UpdateTimeout:
                raise timed_out(limit, "computing its change") from None
        if computed is None:
            _check_update_syntax(state, req.update, bounds)  # raises with the position Oxigraph's parser gives
            raise NotSupported("this update is valid SPARQL 1.1 but is not a form this endpoint runs: send a "
                               "sequence of INSERT DATA, DELETE DATA, DELETE/INSERT ... WHERE, DELETE WHERE, CLEAR, "
                               "DROP, CREATE, ADD, MOVE and COPY operations")
        if time.monotonic() > bounds.deadline:  # the last chance to stop with nothing applied
            raise timed_out(limit, "computing its change")
        applied = commit(state, computed) if computed.added or computed.removed else None
    finally:
        state.writer.release()
    ops.record_update()
    # what the graph applied, not what the request asked for: a triple already there, or not there, counts 0
    added = len(applied.added) - applied.inferred_added if applied else 0
    removed = len(applied.removed) - applied.inferred_removed if applied else 0
    return jsonify(updated=True, operations=computed.operations, triples_added=added,
                   triples_removed=removed,
                   inferred_added=applied.inferred_added if applied else 0,
                   inferred_removed=applied.inferred_removed if applied else 0,
                   graph_version=state.version, default_graph=str(UPDATES_GRAPH), note=NOTE)


MAX_UPDATE_SOLUTIONS = 100_000


def _remaining(bounds) -> float:
    """Seconds a WHERE clause may run: the query timeout, or what is left of the update's deadline if less."""
    return max(0.001, min(float(current_app.config["QUERY_TIMEOUT"]), bounds.deadline - time.monotonic()))


def _where_solutions(state, syntax_error, bounds, scratch):
    """Evaluate an update's WHERE clause in the sandbox, under the query timeout and the update's deadline: rows of
    rdflib terms. With ``overlay`` (what the request's earlier operations changed), over the request's scratch copy
    of the store brought up to date (:class:`cnkg.server.update.ScratchCopy`), never over a copy of the whole store."""
    from ..sparql_update import UpdateTimeout

    def select(query: str, default, named, overlay) -> list[dict]:
        snapshot = None
        if overlay is not None:
            if state.remote is not None:
                raise NotSupported("over a remote store, an update whose WHERE clause reads what an earlier operation "
                                   "of the same request changed is not supported: send the operations as separate "
                                   "requests")
            snapshot = scratch.snapshot(overlay)
        timeout = _remaining(bounds)
        try:
            payload = evaluation.run(state, query, result_format="json", max_rows=MAX_UPDATE_SOLUTIONS,
                                     default_graphs=default, named_graphs=named, base_iri=request.base_url,
                                     timeout=timeout, what="update", snapshot=snapshot, client=_client())
        except MalformedQuery as exc:
            raise syntax_error(exc.detail, exc.line, exc.column) from None
        except errors.Timeout:
            if timeout < float(current_app.config["QUERY_TIMEOUT"]):  # stopped by the update's own deadline
                raise UpdateTimeout("the update did not finish within its deadline") from None
            raise
        if payload.truncated:
            raise BadRequest(f"the update's WHERE clause matched more than {MAX_UPDATE_SOLUTIONS:,} solutions; "
                             "narrow it or split the update")
        variables, rows, _ = evaluation.rows_from_json(payload.body)
        return [{v: t for v, t in zip(variables, row) if t is not None} for row in rows]

    return select


def _check_update_syntax(state, text: str, bounds) -> None:
    """Ask Oxigraph's update parser (in the sandbox, under the deadline) what is wrong with ``text``."""
    evaluation.run(state, text, max_rows=0, base_iri=request.base_url, timeout=_remaining(bounds), what="update",
                   kind="check-update", client=_client())


@lru_cache(maxsize=64)
def _base_url(scheme: str, host: str, root_path: str, path: str) -> str:
    """``request.base_url`` (the base IRI of a query), built once for the few hosts and paths clients use: werkzeug
    rebuilds it from the environment, IRI-decoding it, on every read."""
    return get_current_url(scheme, host, root_path, path)


def _client() -> str:
    """Who sent the request, for sharing the query workers fairly (cnkg.sandbox)."""
    return request.remote_addr or "unknown"


def _frozen(graphs) -> tuple | None:
    return None if graphs is None else tuple(graphs)


def _read_request() -> ProtocolRequest:
    args = request.args
    allow_update = current_app.config["ALLOW_UPDATE"]
    if "update" in args:
        if not allow_update:
            raise ReadOnly(READ_ONLY)
        if request.method in ("GET", "HEAD"):  # SPARQL 1.1 Protocol §2.2: updates are POSTed (W3C test bad_update_get)
            raise WrongMethod(f"SPARQL Update must be sent with POST: a form body update=... ({FORM}) or an "
                              f"{UPDATE} body", headers={"Allow": "POST"})
        raise BadRequest(f"the update must be in the request body (a form body update=... or an {UPDATE} "
                            "body), not in the URL")
    if request.method in ("GET", "HEAD"):  # (HEAD: the GET's headers, no body; Flask routes it here)
        return _protocol_request(args.getlist("query"), args)
    mime = request.mimetype  # the Content-Type without parameters, lower-cased
    if mime == UPDATE:
        if not allow_update:
            raise ReadOnly(READ_ONLY)
        if "query" in args:
            raise BadRequest(f"an {UPDATE} body cannot be combined with a 'query' URL parameter")
        return ProtocolRequest(None, [], [], None, update=_utf8_body(UPDATE, "update"),
                               using_graphs=args.getlist("using-graph-uri"),
                               using_named_graphs=args.getlist("using-named-graph-uri"))
    if mime == FORM:
        form = request.form  # parsing honours MAX_CONTENT_LENGTH (413)
        if "update" in form:
            if not allow_update:
                raise ReadOnly(READ_ONLY)
            return _update_request(form.getlist("update"), form, args)
        req = _protocol_request(args.getlist("query") + form.getlist("query"), form, args)
        return req
    if mime == DIRECT:
        if "query" in args:
            raise BadRequest(f"the query was given twice: in the {DIRECT} body and as a 'query' URL parameter")
        return _protocol_request([_utf8_body(DIRECT, "query")], args)
    raise UnsupportedMediaType(f"unsupported Content-Type {request.content_type or '(none)'!r} for POST /sparql: use "
                        f"{FORM} (query=...) or {DIRECT} (the query as the body)"
                        + (f"; for an update, {FORM} (update=...) or {UPDATE}" if allow_update else ""))


def _utf8_body(media_type: str, what: str) -> str:
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"{media_type} bodies must be UTF-8 (SPARQL 1.1 Protocol §2.1.3, §2.2.2); "
                            f"got charset={charset}")
    try:
        return request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request body is not valid UTF-8 (byte {exc.start}); "
                            f"SPARQL {what} text must be sent as UTF-8") from None


def _update_request(updates: list[str], form, args) -> ProtocolRequest:
    if len(updates) > 1:
        raise BadRequest(f"exactly one 'update' parameter is allowed; got {len(updates)}")
    if "query" in form or "query" in args:
        raise BadRequest("a request carries either 'query' or 'update', not both")
    if not updates[0].strip():
        raise BadRequest("the 'update' parameter is empty")

    def gather(name):
        return [value for source in (form, args) for value in source.getlist(name)]

    return ProtocolRequest(None, [], [], None, update=updates[0], using_graphs=gather("using-graph-uri"),
                           using_named_graphs=gather("using-named-graph-uri"))


def _protocol_request(queries: list[str], *sources) -> ProtocolRequest:
    if len(queries) > 1:
        raise BadRequest(f"exactly one 'query' parameter is allowed; got {len(queries)}")
    if queries and not queries[0].strip():
        raise BadRequest("the 'query' parameter is empty")

    def gather(name):
        return [value for source in sources for value in source.getlist(name)]

    formats = [f for f in gather("format") if f]  # an empty format= (the HTML form) means negotiate
    return ProtocolRequest(queries[0] if queries else None, gather("default-graph-uri"),
                           gather("named-graph-uri"), formats[-1] if formats else None)


# Accept headers up to this long have their choice remembered: clients send the same few headers again and again
# (a longer one is negotiated afresh each time, so that odd headers cannot fill the memory)
CACHED_ACCEPT_LENGTH = 512


def negotiate_accept(kind: str, format_name: str | None, accept: str | None) -> Format:
    """The answer's format for a query form, ``format=`` and the Accept header (refusals raise)."""
    if (accept is None or len(accept) <= CACHED_ACCEPT_LENGTH) and (format_name is None or len(format_name) <= 64):
        return _negotiated(kind, format_name, accept)
    return _negotiated.__wrapped__(kind, format_name, accept)


@lru_cache(maxsize=256)
def _negotiated(kind: str, format_name: str | None, accept: str | None) -> Format:
    """The format for a query form, ``format=`` and Accept (refusals raise, and are not remembered)."""
    formats, aliases = formats_for(kind)
    return negotiate(formats, format_name=format_name, accept=accept, aliases=aliases,
                     what=f"a {kind.removesuffix('Query').upper()} query", elsewhere=RESULT_FORMATS + RDF_FORMATS)
