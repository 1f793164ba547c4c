"""Canned queries (Datasette-style): ``/queries`` lists the named queries of ``queries/*.rq``;
``/queries/<name>?param=value`` runs one. Every run has a shareable URL; the HTML page has a form with one field
per parameter, the SPARQL text and the results as a table; ``format=json|xml|csv|tsv`` (or Accept) gives the
results in a SPARQL result format, serialised by :mod:`server.results` like /sparql.

Named queries are bound with ``initBindings`` by :meth:`kg.KnowledgeGraph.query`, which the forked
:class:`server.worker.Evaluator` cannot pass, so they run in the request thread without its timeout; they are
the project's own, fast queries (and results are capped at MAX_ROWS like /sparql).
"""
from __future__ import annotations

import itertools

from flask import Blueprint, Response, current_app, render_template, request, url_for

from kg.errors import InvalidInput

from .errors import ApiError
from .formats import HTML, RESULT_ALIASES, RESULT_FORMATS, by_media_type, by_name
from .negotiation import choose
from .pages import term_view
from .results import serialize

bp = Blueprint("canned", __name__)


def _graph():
    return current_app.extensions["cnkg"].graph


def _query_json(query) -> dict:
    return {"name": query.name, "summary": query.summary, "form": query.form.removesuffix("Query").upper(),
            "url": url_for("canned.run", name=query.name, _external=False),
            "parameters": [{"name": p.name, "type": p.type, "default": p.default, "doc": p.doc}
                           for p in query.parameters]}


def _html_or_json() -> str:
    name = request.args.get("format", "").strip().lower()
    if name in ("html", "json"):
        return HTML if name == "html" else "application/json"
    chosen = choose(request.headers.get("Accept"), [HTML, "application/json"])
    if chosen is None:
        raise ApiError(406, "the list of queries is available as text/html or application/json (or format=)")
    return chosen


@bp.route("/queries")
def index():
    queries = [_graph().queries[name] for name in sorted(_graph().queries)]
    if _html_or_json() == HTML:
        response = Response(render_template("canned_index.html", queries=queries),
                            content_type="text/html; charset=utf-8")
    else:
        response = current_app.json.response({"queries": [_query_json(q) for q in queries]})
    response.headers["Vary"] = "Accept"
    return response


@bp.route("/queries/<name>")
def run(name: str):
    graph = _graph()
    try:
        query = graph.named_query(name)
    except InvalidInput as exc:
        raise ApiError(404, _message(exc)) from None
    params = {key: value for key, value in request.args.items() if key != "format" and value.strip() != ""}
    fmt = _negotiate()
    try:
        result = graph.query(query, **params)
        rows = None
        if fmt is HTML:
            rows = list(itertools.islice(iter(result), current_app.config["MAX_ROWS"] + 1))
    except InvalidInput as exc:
        if fmt is not HTML:
            raise ApiError(400, _message(exc)) from None
        result, rows, error = None, [], _message(exc)  # a browser gets the form back, with the message
    else:
        error = None
    if fmt is HTML:
        max_rows = current_app.config["MAX_ROWS"]
        values = {p.name: params.get(p.name, p.default or "") for p in query.parameters}
        links = [(f.name, url_for("canned.run", name=name, **{**params, "format": f.name})) for f in RESULT_FORMATS]
        body = render_template("canned_query.html", query=query, values=values, links=links, error=error,
                               variables=[str(v) for v in (result.vars if result is not None else None) or []],
                               rows=rows[:max_rows], truncated=len(rows) > max_rows, max_rows=max_rows,
                               view=term_view, ask=result.askAnswer if result is not None and result.type == "ASK"
                               else None)
        response = Response(body, status=400 if error else 200, content_type="text/html; charset=utf-8")
    else:
        payload = serialize(result, fmt, current_app.config["MAX_ROWS"])
        response = Response(payload.body, content_type=fmt.content_type)
        response.headers["X-Result-Rows"] = str(payload.rows)
        if payload.truncated:
            response.headers["X-Result-Truncated"] = "true"
            response.headers["X-Result-Limit"] = str(current_app.config["MAX_ROWS"])
    response.headers["Vary"] = "Accept"
    return response


def _negotiate():
    """HTML (the str) or a SPARQL result :class:`Format`."""
    name = request.args.get("format", "").strip().lower()
    if name:
        if name == "html":
            return HTML
        fmt = by_name(name)
        if fmt is None or fmt not in RESULT_FORMATS:
            names = ", ".join(f.name for f in RESULT_FORMATS)
            raise ApiError(400, f"unknown format={name!r}; use one of html, {names}")
        return fmt
    offers = [HTML] + [f.media_type for f in RESULT_FORMATS]
    accept = request.headers.get("Accept")
    chosen = choose(accept, offers, RESULT_ALIASES)
    if chosen is None:
        raise ApiError(406, f"cannot produce any type in Accept: {accept!r}; available: {', '.join(offers)} "
                            "(or use format=)")
    return HTML if chosen == HTML else by_media_type(RESULT_FORMATS, chosen)


def _message(exc: InvalidInput) -> str:
    """The problems of a kg error without their pseudo-file prefix (``query: ``), which means nothing over HTTP."""
    return "; ".join(str(p).removeprefix(f"{p.file}: ") for p in exc.problems)
