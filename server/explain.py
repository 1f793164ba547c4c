"""``GET /explain?s=IRI&p=IRI&o=IRI``: why a triple holds (:meth:`cnkg.KnowledgeGraph.explain`), as JSON or an
HTML page."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, url_for
from rdflib import Literal, URIRef

from ..explain import RULES
from ..store import to_ox
from .errors import BadRequest, NotFound
from .formats import HTML_PAGE, JSON, negotiate

bp = Blueprint("explain", __name__)


def _iri_param(name: str) -> URIRef:
    value = request.args.get(name, "").strip()
    if not value:
        raise BadRequest(f"missing parameter {name!r}: give the triple as s=<IRI>&p=<IRI>&o=<IRI> "
                            "(e.g. /explain?s=https://w3id.org/cnkg/id/jaeger&p=https://w3id.org/cnkg/ontology"
                            "%23hasAncestor&o=https://w3id.org/cnkg/id/dapper)")
    iri = URIRef(value)
    if ":" not in value or not _engine_accepts(iri):  # the engine's own IRI rules: no NUL, space, bad %-escape ...
        raise BadRequest(f"parameter {name!r} must be an absolute IRI; got {_shown(value)}")
    return iri


def _engine_accepts(term) -> bool:
    try:
        to_ox(term)
    except ValueError:
        return False
    return True


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 200 else repr(value[:200]) + f" ... ({len(value)} characters)"


def _object_param():
    """o as an IRI, or as a literal when o_datatype=, o_lang= or o_literal=1 is given too."""
    args = request.args
    if "o_datatype" in args:
        return Literal(args.get("o", ""), datatype=_iri_param("o_datatype"))
    if "o_lang" in args:
        lang = args["o_lang"].strip()
        try:  # rdflib and the engine each check the tag: either may refuse it
            literal = Literal(args.get("o", ""), lang=lang or None)
        except ValueError:
            literal = None
        if literal is None or lang and not _engine_accepts(literal):
            raise BadRequest(f"o_lang must be a language tag (BCP 47, e.g. en or en-GB); got {_shown(lang)}")
        return literal
    if "o_literal" in args:
        return Literal(args.get("o", ""))
    return _iri_param("o")


def explain_query(s, p, o) -> dict[str, str]:
    """The /explain URL parameters naming the triple (s, p, o)."""
    params = {"s": str(s), "p": str(p), "o": str(o)}
    if isinstance(o, Literal):
        if o.datatype is not None:
            params["o_datatype"] = str(o.datatype)
        elif o.language:
            params["o_lang"] = o.language
        else:
            params["o_literal"] = "1"
    return params


@bp.route("/explain")
def explain_route():
    s, p = _iri_param("s"), _iri_param("p")
    o = _object_param()
    chosen = negotiate([JSON, HTML_PAGE], format_name=request.args.get("format"),
                       accept=request.headers.get("Accept"), what="the explanation")
    result = current_app.extensions["cnkg"].graph.explain(s, p, o)
    if result is None:
        raise NotFound(f"the graph does not contain the triple {s.n3()} {p.n3()} {o.n3()}, so there is nothing "
                            "to explain (an object that is a literal needs o_datatype=, o_lang= or o_literal=1)")
    if chosen is HTML_PAGE:
        json_href = url_for("explain.explain_route", **{**explain_query(s, p, o), "format": "json"})
        body = render_template("explain_page.html", result=result, rules=RULES, json_href=json_href)
        response = Response(body, content_type="text/html; charset=utf-8")
    else:
        response = current_app.json.response(result)
    response.headers["Vary"] = "Accept"
    return response
