"""The web UI: a query page at ``/`` (editor pre-filled from the named queries, results table, downloads) and
``/lineage/<name>.svg``, the lineage diagram of one entity.

The editor is YASGUI (highlighting, completion, tabs, results table and response views, downloads) when the package
carries its files (``static/yasgui/``, put there by the package build from the npm pin: see setup.py), configured
to talk to this endpoint only; otherwise, in a checkout installed without npm, a plain textarea with our own
results table, and a note saying how to get YASGUI.

Works offline: the page, scripts and style sheets are served from this package; nothing is fetched from elsewhere.
The Content-Security-Policy on the page keeps it that way (scripts, styles, images and fetches from this origin).
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, send_from_directory, url_for

from ..api import KnowledgeGraph
from ..errors import InvalidInput
from ..extras import MissingExtra
from ..iris import PREFIX_IRIS
from ..namespaces import is_landscape_graph

from .errors import NotFound, NotSupported, TooLarge
from .formats import RDF_FORMATS, RESULT_FORMATS

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static", static_url_path="/static/ui")

ID_PREFIX = "https://w3id.org/cnkg/id/"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# YASGUI (CodeMirror, its tables and menus) sets style attributes from script: inline styles, still no inline or
# outside script, and fetches to this origin only
YASGUI_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
YASGUI_DIR = Path(__file__).parent / "static" / "yasgui"
YASGUI_FILES = ("yasgui.min.js", "yasgui.min.css")


def yasgui_version() -> str | None:
    """The version of the YASGUI files this package carries, or None when they are absent."""
    if not all((YASGUI_DIR / name).is_file() for name in YASGUI_FILES):
        return None
    stamp = YASGUI_DIR / "VERSION"
    return stamp.read_text().strip() if stamp.is_file() else "unknown"

# matplotlib's pyplot state is not thread-safe, and the server answers requests on several threads
_render_lock = threading.Lock()


# What the query page opens with: a named query that answers something worth reading. Where Jaeger comes from
# and what came of it needs only the shipped facts; once landscape snapshots are imported, the article's projects
# then and now (most of its columns come from the snapshots).
FIRST_QUERY = "lineage"
FIRST_QUERY_WITH_SNAPSHOTS = "article-then-and-now"


def first_query(names, graph_names) -> str | None:
    """The named query the page opens with (see FIRST_QUERY), or the first by name when those are absent."""
    wanted = FIRST_QUERY_WITH_SNAPSHOTS if any(is_landscape_graph(g) for g in graph_names) else FIRST_QUERY
    for name in (wanted, FIRST_QUERY):
        if name in names:
            return name
    return min(names) if names else None


@bp.get("/")
def index():
    return query_page()


@bp.get("/favicon.ico")
def favicon():
    """The site's icon (an SVG: every browser this page supports draws it), so no page logs a 404 for it."""
    response = send_from_directory(Path(__file__).parent / "static", "favicon.svg", mimetype="image/svg+xml",
                                   max_age=86400)
    return response


def query_page() -> Response:
    """The query page (also what a browser gets for GET /sparql without a query)."""
    graph = current_app.extensions["cnkg"].graph
    canned = [{"name": q.name, "summary": q.summary, "text": q.text,
               "parameters": [p.name for p in q.parameters]}
              for q in sorted(graph.queries.values(), key=lambda q: q.name)]
    config = {
        "sparql": url_for("protocol.sparql"),
        "lineage": url_for("ui.lineage_svg", name="NAME").removesuffix("NAME.svg"),
        "idBase": ID_PREFIX,
        "idPath": url_for("ui.index") + "id/",
        "queries": url_for("ui.index") + "queries/",
        "resultFormats": [f.name for f in RESULT_FORMATS],
        "rdfFormats": [f.name for f in RDF_FORMATS],
    }
    yasgui = yasgui_version() if current_app.config["UI_EDITOR"] == "yasgui" else None
    config["editor"] = "yasgui" if yasgui else "textarea"
    config["prefixes"] = {prefix: iri for prefix, iri in PREFIX_IRIS.items() if prefix}
    stats = current_app.extensions["cnkg"].stats
    html = render_template("ui.html", canned=canned, config=config, stats=stats, yasgui=yasgui,
                           wanted=current_app.config["UI_EDITOR"],
                           initial=first_query({q["name"] for q in canned},
                                               current_app.extensions["cnkg"].graph_names),
                           formats=RESULT_FORMATS + RDF_FORMATS)
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = YASGUI_CSP if yasgui else CSP
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/lineage/<name>.svg")
def lineage_svg(name: str):
    graph = current_app.extensions["cnkg"].graph
    try:
        iri = graph.resolve(name)
    except InvalidInput as exc:
        suggestion = exc.problems[0].suggestion if exc.problems else None
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        raise NotFound(f"no entity is named {name!r}{hint}") from None
    try:
        svg = rendered_lineage(graph, str(iri))
    except MissingExtra as exc:  # a lean install: everything else works, this picture needs cnkg[diagrams]
        raise NotSupported(str(exc)) from None
    if svg is None:
        raise TooLarge(f"the lineage of {graph.label(iri)} has more than {MAX_DRAWN_ENTITIES} entities: too many to "
                       "draw; ask for it with the lineage named query or `cnkg lineage` instead")
    response = Response(svg, content_type="image/svg+xml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# A lineage picture with more entities than this is not drawn (the page leaves it out; the .svg answers 413): drawing
# grows with the entities and runs in the request thread, and such a picture could not be read anyway.
MAX_DRAWN_ENTITIES = 80


_SAME_SITE_LINK = re.compile(r'(<a xlink:href="/[^"]*") target="_blank"')


def rendered_lineage(graph: KnowledgeGraph, iri: str) -> str | None:
    """The lineage picture of ``iri`` as SVG, or None when it has more than MAX_DRAWN_ENTITIES entities. Drawn once
    per entity and graph version (the cache is dropped when the graph changes): a render takes 0.1-0.8 s. Each box
    links to the entity's page on this server."""
    cache: dict[str, str | None] = current_app.extensions["cnkg"].derived.setdefault("lineage-svg", {})
    if iri not in cache:
        pages = url_for("ui.index") + "id/"
        with _render_lock:
            if iri not in cache:
                diagram = graph.lineage_diagram(iri)
                # each box opens the entity's page here (not at w3id.org, which may not reach this server)
                diagram.node_url = lambda node: pages + node[len(ID_PREFIX):] if node.startswith(ID_PREFIX) else None
                svg = diagram.svg() if len(diagram.digraph) <= MAX_DRAWN_ENTITIES else None
                # matplotlib opens every link in a new window: this site's own pages open in place
                cache[iri] = None if svg is None else _SAME_SITE_LINK.sub(r"\1", svg)
    return cache[iri]
