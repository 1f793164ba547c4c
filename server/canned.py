"""Canned queries (Datasette-style): ``/queries`` lists the named queries of ``queries/*.rq``;
``/queries/<name>?param=value`` runs one. Every run has a shareable URL; the HTML page has a form with one field
per parameter, the SPARQL text and the results as a table; ``format=json|xml|csv|tsv`` (or Accept) gives the
results in a SPARQL result format, serialised by :mod:`cnkg.server.results` like /sparql.

Parameters are turned into RDF terms by :meth:`kg.KnowledgeGraph.bind` in the request thread (a bad value is a
400, or the form with the message); the query then runs in the sandbox (:mod:`cnkg.sandbox`), bound
with ``initBindings`` (the child closes over the prepared query and the terms), so it has the same QUERY_TIMEOUT
(503), slot limit and MAX_ROWS cap as /sparql. Answers are kept in the result cache like /sparql's.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request, url_for

from ..errors import InvalidInput

from . import evaluation
from .errors import BadRequest, NotFound
from .formats import HTML_PAGE, JSON, RESULT_ALIASES, RESULT_FORMATS, Format, negotiate
from .pages import term_view
from .evaluation import Payload

bp = Blueprint("canned", __name__)


def _graph():
    return current_app.extensions["cnkg"].graph


def _query_json(query) -> dict:
    return {"name": query.name, "summary": query.summary, "form": query.form.removesuffix("Query").upper(),
            "url": url_for("canned.run", name=query.name, _external=False),
            "parameters": [{"name": p.name, "type": p.type, "default": p.default, "doc": p.doc}
                           for p in query.parameters]}


def _html_or_json() -> Format:
    return negotiate([HTML_PAGE, JSON], format_name=request.args.get("format"),
                     accept=request.headers.get("Accept"), what="the list of queries")


@bp.route("/queries")
def index():
    queries = [_graph().queries[name] for name in sorted(_graph().queries)]
    if _html_or_json() is HTML_PAGE:
        response = Response(render_template("canned_index.html", queries=queries),
                            content_type="text/html; charset=utf-8")
    else:
        response = current_app.json.response({"queries": [_query_json(q) for q in queries]})
    response.headers["Vary"] = "Accept"
    return response


@dataclass
class _Rows:
    """What the HTML page shows, as plain picklable values computed in the worker."""

    variables: list[str]
    rows: list[tuple]  # at most MAX_ROWS + 1, to tell truncation
    ask: bool | None


@bp.route("/queries/<name>")
def run(name: str):
    state = current_app.extensions["cnkg"]
    graph = state.graph
    try:
        query = graph.named_query(name)
    except InvalidInput as exc:
        raise NotFound(_message(exc)) from None
    params = {key: value for key, value in request.args.items() if key != "format" and value.strip() != ""}
    fmt = _negotiate()
    max_rows = current_app.config["MAX_ROWS"]
    key = ("canned", name, tuple(sorted(params.items())), fmt.name, max_rows,
           state.version)
    payload = state.results.get(key)
    cached = payload is not None
    if not cached:
        try:
            bindings = graph.bind(query, params)
        except InvalidInput as exc:
            if fmt is not HTML_PAGE:
                raise BadRequest(_message(exc)) from None
            # a browser gets the form back, with the message (never cached)
            return _page(query, params, None, _message(exc), max_rows)
        answer = _evaluate(state, query, bindings, fmt, max_rows)
        payload = _page(query, params, answer, None, max_rows) if fmt is HTML_PAGE else answer
        state.results.put(key, payload)
    if fmt is HTML_PAGE:
        response = Response(payload.body, content_type="text/html; charset=utf-8")
    else:
        response = Response(payload.body, content_type=fmt.content_type)
        response.headers["X-Result-Rows"] = str(payload.rows)
        if payload.truncated:
            response.headers["X-Result-Truncated"] = "true"
            response.headers["X-Result-Limit"] = str(max_rows)
    response.headers["X-Cache"] = "hit" if cached else "miss"
    response.headers["Vary"] = "Accept"
    return response


def _evaluate(state, query, bindings: dict, fmt, max_rows: int):
    """Run the bound named query in the sandbox with the query timeout: a Payload, or _Rows for HTML."""
    text = query.bound(bindings)
    timeout = float(current_app.config["QUERY_TIMEOUT"])
    client = request.remote_addr or "unknown"
    if fmt is not HTML_PAGE:
        return evaluation.run(state, text, result_format=fmt.name, max_rows=max_rows, timeout=timeout, client=client)
    payload = evaluation.run(state, text, result_format="json", max_rows=max_rows + 1, timeout=timeout,
                             client=client)
    variables, rows, ask = evaluation.rows_from_json(payload.body)
    return _Rows(variables, rows, ask)


def _page(query, params: dict, answer: _Rows | None, error: str | None, max_rows: int):
    """The HTML page as a Payload (cacheable), or, with an error, the 400 response with the form."""
    values = {p.name: params.get(p.name, p.default or "") for p in query.parameters}
    links = [(f.name, url_for("canned.run", name=query.name, **{**params, "format": f.name}))
             for f in RESULT_FORMATS]
    rows = answer.rows if answer is not None else []
    body = render_template("canned_query.html", query=query, values=values, links=links, error=error,
                           variables=answer.variables if answer is not None else [],
                           rows=rows[:max_rows], truncated=len(rows) > max_rows, max_rows=max_rows,
                           view=term_view, ask=answer.ask if answer is not None else None)
    if error is not None:
        response = Response(body, status=400, content_type="text/html; charset=utf-8")
        response.headers["Vary"] = "Accept"
        return response
    return Payload(body.encode("utf-8"), min(len(rows), max_rows), len(rows) > max_rows)


def _negotiate() -> Format:
    """The HTML page or a SPARQL result format."""
    return negotiate([HTML_PAGE, *RESULT_FORMATS], format_name=request.args.get("format"),
                     accept=request.headers.get("Accept"), aliases=RESULT_ALIASES)


def _message(exc: InvalidInput) -> str:
    """The problems of a kg error without their pseudo-file prefix (``query: ``), which means nothing over HTTP."""
    return "; ".join(str(p).removeprefix(f"{p.file}: ") for p in exc.problems)
