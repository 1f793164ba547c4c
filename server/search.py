"""``GET /search?q=TEXT``: entities by part of their name or description (:meth:`cnkg.KnowledgeGraph.search`), as
JSON (``Accept: application/json`` or ``format=json``) or an HTML page; the search box on every page asks it for
suggestions as you type (``static/search.js``).

``limit=`` (1-100, default 20) bounds the answer. A text that is empty or too long is a 400 for JSON; the HTML
page shows the form with the problem instead.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, url_for

from ..errors import InvalidInput
from ..iris import PREFIX_IRIS
from ..search import DEFAULT_LIMIT
from .errors import BadRequest
from .formats import HTML_PAGE, JSON, negotiate

bp = Blueprint("search", __name__)

ID_PREFIX = PREFIX_IRIS["id"]


def _limit() -> int:
    raw = request.args.get("limit", "").strip()
    if not raw:
        return DEFAULT_LIMIT
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"limit={raw!r} is not a number; give 1 to 100") from None


def _page(iri: str) -> str:
    """The /id/ page of an entity IRI."""
    return url_for("pages.entity", slug=iri[len(ID_PREFIX):]) if iri.startswith(ID_PREFIX) else iri


@bp.get("/search")
def search():
    chosen = negotiate([HTML_PAGE, JSON], format_name=request.args.get("format"),
                       accept=request.headers.get("Accept"), what="search results")
    text = request.args.get("q", "")
    graph = current_app.extensions["cnkg"].graph
    result, problem = None, None
    try:
        limit = _limit()
        if text.strip() or chosen is JSON:
            result = graph.search(text, limit)
    except InvalidInput as exc:
        if chosen is JSON:
            raise BadRequest("; ".join(p.message for p in exc.problems)) from None
        problem = "; ".join(p.message for p in exc.problems)
    except BadRequest as exc:
        if chosen is JSON:
            raise
        problem = exc.message
    if chosen is JSON:
        response = current_app.json.response(result.as_dict())
    else:
        hits = [{**hit.as_dict(), "href": _page(hit.iri)} for hit in result.hits] if result else []
        body = render_template("search_page.html", text=text, result=result, hits=hits, problem=problem)
        response = Response(body, content_type="text/html; charset=utf-8", status=400 if problem else 200)
    response.headers["Vary"] = "Accept"
    return response
