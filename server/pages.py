"""Linked data: every entity ``https://w3id.org/cnkg/id/<slug>`` at ``/id/<slug>``, and the ontology at ``/ontology``.

Content negotiation picks an HTML page (every fact, asserted and inferred, with its source section and a "why?"
link to /explain for the inferred ones) or a description in Turtle, JSON-LD, N-Triples or RDF/XML: the triples
with the entity as subject (inferred ones included) plus the labels of the entities they mention. ``format=``
overrides Accept; every answer names its alternatives in ``Link: <...>; rel="alternate"`` headers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from markupsafe import Markup
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from ..errors import InvalidInput, closest
from ..extras import MissingExtra
from ..namespaces import (CNKG, ID, META_GRAPH, ONTOLOGY_GRAPH, ONTOLOGY_IRI,
                           bind_prefixes, compact)
from ..store import to_ox

from .errors import ApiError, BadRequest, NotFound
from .explain import explain_query
from .reference import Builder, statement_count
from .formats import HTML_PAGE, RDF_ALIASES, RDF_FORMATS, negotiate
from .ui import rendered_lineage

bp = Blueprint("pages", __name__)

DCT = "http://purl.org/dc/terms/"
DCT_SOURCE = URIRef(DCT + "source")
DCT_DESCRIPTION = URIRef(DCT + "description")
SCHEMA_DESCRIPTION = URIRef("https://schema.org/description")

# the RDF formats linked data is offered in (format=ttl is also accepted: the usual short name for Turtle)
PAGE_FORMATS = [f for name in ("turtle", "jsonld", "nt", "xml") for f in RDF_FORMATS if f.name == name]
ALTERNATES = [("ttl", "text/turtle"), ("jsonld", "application/ld+json"), ("nt", "application/n-triples"),
              ("xml", "application/rdf+xml")]


def _state():
    return current_app.extensions["cnkg"]


# ---------------------------------------------------------------------------------------------- negotiation

def negotiate_page():
    """``"html"`` or the chosen RDF :class:`~cnkg.server.formats.Format`; 400 for an unknown format=, 406 for no
    match."""
    fmt = negotiate([HTML_PAGE, *PAGE_FORMATS], format_name=request.args.get("format"),
                    accept=request.headers.get("Accept"), aliases=RDF_ALIASES, names={"ttl": PAGE_FORMATS[0]})
    return "html" if fmt is HTML_PAGE else fmt


def link_header(path: str) -> str:
    links = [f'<{path}?format={name}>; rel="alternate"; type="{media}"' for name, media in ALTERNATES]
    links.append(f'<{path}?format=html>; rel="alternate"; type="text/html"')
    return ", ".join(links)


def finish(response: Response, path: str) -> Response:
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = link_header(path)
    return response


def rdf_response(graph: Graph, fmt, path: str) -> Response:
    bind_prefixes(graph)
    body = graph.serialize(format=fmt.rdflib, encoding="utf-8")
    return finish(Response(body, content_type=fmt.content_type), path)


# ---------------------------------------------------------------------------------------------- term display

@dataclass
class Term:
    text: str
    href: str | None = None
    title: str | None = None
    literal: bool = False


def term_view(term) -> Term:
    """How a term shows on a page: entities link to their /id page, our vocabulary to /ontology#term."""
    graph = _state().graph
    if isinstance(term, Literal):
        return Term(str(term), literal=True, title=str(term.datatype or term.language or ""))
    text = str(term)
    if text.startswith(str(ID)):
        return Term(graph.label(term), url_for("pages.entity", slug=text[len(str(ID)):]), text)
    if text.startswith(str(CNKG)):
        return Term(compact(term), url_for("pages.ontology") + "#" + text[len(str(CNKG)):], text)
    if isinstance(term, URIRef):
        return Term(compact(term), text if text.startswith(("http://", "https://")) else None, text)
    return Term(text)


def explain_href(s, p, o) -> str:
    return url_for("explain.explain_route") + "?" + urlencode(explain_query(s, p, o))


# ---------------------------------------------------------------------------------------------- entities

@dataclass
class Fact:
    subject: object
    predicate: object
    object: object
    sections: list[Term] = field(default_factory=list)
    curated: bool = False
    inferred: bool = False
    ontology: bool = False

    @property
    def why(self) -> str:
        return explain_href(self.subject, self.predicate, self.object)


def facts(pattern) -> list[Fact]:
    """One Fact per distinct triple matching ``pattern`` (meta graph left out), with where it comes from."""
    graph = _state().graph
    found: dict[tuple, Fact] = {}
    for s, p, o, g in graph.store.quads(pattern):
        if g != META_GRAPH:
            found.setdefault((s, p, o), Fact(s, p, o))
    for fact in found.values():
        for source in graph.provenance((fact.subject, fact.predicate, fact.object)):
            if source.kind == "inferred":
                fact.inferred = True
            elif source.kind == "curated":
                fact.curated = True
            elif source.kind == "ontology":
                fact.ontology = True
            else:
                text = f"{source.title} ({source.confidence} confidence)" if source.confidence else source.title
                hover = source.note or (f"{source.title}, part of {source.document}" if source.document else None)
                fact.sections.append(Term(text, href=source.url, title=hover or str(source.iri or source.graph)))
        fact.sections.sort(key=lambda t: t.text)
        if fact.sections or fact.curated or fact.ontology:
            fact.inferred = False  # stated somewhere: the reasoner only re-derived it
    return sorted(found.values(), key=lambda f: (f.inferred, compact(f.predicate), str(f.object), str(f.subject)))


def entity_exists(iri: URIRef) -> bool:
    store = _state().graph.store
    return any(g != META_GRAPH for *_, g in store.quads((iri, None, None, None)))


def description(iri: URIRef) -> Graph:
    """A CBD-like description: every triple with ``iri`` as subject (inferred included) and referenced labels."""
    store = _state().graph.store
    out = Graph()
    for s, p, o, g in store.quads((iri, None, None, None)):
        if g != META_GRAPH:
            out.add((s, p, o))
            if isinstance(o, URIRef):
                for label in store.objects(o, RDFS.label):
                    out.add((o, RDFS.label, label))
    return out


SHOWN_SLUG = 80  # characters of an unknown id repeated in its 404


def shown_slug(slug: str) -> str:
    """The start of ``slug`` for a 404 message: a client-chosen id of any length is never echoed whole."""
    return slug if len(slug) <= SHOWN_SLUG else slug[:SHOWN_SLUG] + "…"


def _not_found(slug: str):
    graph = _state().graph
    names = {str(s)[len(str(ID)):]: s for s in graph.store.subjects(RDFS.label) if str(s).startswith(str(ID))}
    labels = {graph.label(iri).lower(): key for key, iri in names.items()}
    guess = closest(slug, names, 0.6) or (labels.get(closest(slug.replace("-", " "), labels, 0.6) or ""))
    suggestion = url_for("pages.entity", slug=guess) if guess else None
    message = f"no entity has the id {shown_slug(slug)!r}" + (f"; did you mean {suggestion} ({graph.label(names[guess])})?"
                                                  if guess else "")
    try:
        kind = negotiate_page()
    except ApiError:
        kind = None
    if kind == "html":
        body = render_template("page_not_found.html", slug=shown_slug(slug), suggestion=suggestion,
                               suggestion_label=graph.label(names[guess]) if guess else None)
        return Response(body, status=404, content_type="text/html; charset=utf-8")
    raise NotFound(message)


def valid_iri(iri: URIRef) -> bool:
    """Whether the store's engine accepts ``iri`` (an id with a space, a quote, a NUL ... is no IRI it holds)."""
    try:
        to_ox(iri)
    except ValueError:
        return False
    return True


@bp.route("/id/<path:slug>")
def entity(slug: str):
    iri = ID[slug]
    if not valid_iri(iri) or not entity_exists(iri):
        canonical = _canonical(slug)
        if canonical is not None:   # /id/Jaeger, /id/K8s: the entity's own address
            target = url_for("pages.entity", slug=canonical)
            if request.query_string:
                target += "?" + request.query_string.decode("latin-1")
            return redirect(target, 301)
    if not valid_iri(iri):  # no entity can have it: a 404 that says why, without asking the store
        raise NotFound(f"no entity has the id {shown_slug(slug)!r}: it is not a valid IRI path (ids have no spaces, "
                       "quotes, control characters or bad %-escapes)")
    if not entity_exists(iri):
        return _not_found(slug)
    path = url_for("pages.entity", slug=slug)
    kind = negotiate_page()
    if kind != "html":
        return rdf_response(description(iri), kind, path)
    view = request.args.get("view", "summary")
    if view not in ("summary", "all"):
        raise BadRequest(f"unknown view {view[:40]!r}: use view=summary (the default) or view=all")
    if view == "all":
        body = _all_statements(iri, path)
    else:
        ontology_page = url_for("pages.ontology")
        ref = Builder(_state().graph, lambda s: url_for("pages.entity", slug=s),
                      lambda name: f"{ontology_page}#{name}").build(iri)
        body = render_template("page_entity.html", ref=ref, total=statement_count(_state().graph.store, iri),
                               lineage_svg=_lineage_svg(iri), path=path, alternates=ALTERNATES, slug=slug)
    return finish(Response(body, content_type="text/html; charset=utf-8"), path)


def _canonical(slug: str) -> str | None:
    """The id of the entity ``slug`` names in another case, or by its label or another name; None for none."""
    graph = _state().graph
    if len(slug) > SHOWN_SLUG * 4 or slug != slug.strip() or any(ord(c) < 32 or ord(c) == 127 for c in slug):
        return None   # a name is looked up as written: no surrounding spaces, no control characters
    try:
        found = graph.resolve(slug)
    except InvalidInput:
        return None
    text = str(found)
    if not text.startswith(str(ID)) or text[len(str(ID)):] == slug:
        return None
    return text[len(str(ID)):]


def _all_statements(iri: URIRef, path: str) -> str:
    """The complete table: every statement about ``iri`` in both directions, inferred ones with a "why?"."""
    graph = _state().graph
    store = graph.store
    outgoing = facts((iri, None, None))
    incoming = [f for f in facts((None, None, iri)) if f.subject != iri]
    hidden = {RDFS.label, SKOS.altLabel, RDF.type, DCT_DESCRIPTION, SCHEMA_DESCRIPTION, SKOS.definition}
    types = sorted({term_view(o).text: term_view(o) for o in store.objects(iri, RDF.type)}.values(),
                   key=lambda t: t.text)
    descriptions = sorted({str(d) for p in (DCT_DESCRIPTION, SCHEMA_DESCRIPTION, SKOS.definition, RDFS.comment)
                           for d in store.objects(iri, p)})
    return render_template(
        "page_entity_all.html", iri=str(iri), label=graph.label(iri),
        alt_labels=sorted({str(a) for a in store.objects(iri, SKOS.altLabel)}),
        types=types, descriptions=descriptions,
        outgoing=[f for f in outgoing if f.predicate not in hidden or f.inferred],
        incoming=incoming, view=term_view, lineage_svg=_lineage_svg(iri), path=path,
        alternates=ALTERNATES)


def _lineage_svg(iri: URIRef) -> Markup | None:
    graph = _state().graph
    report = graph.lineage_index.report(iri)
    if not report.ancestors and not report.descendants:
        return None
    try:
        svg = rendered_lineage(graph, str(iri))  # drawn once per entity and graph version; None when too large to draw
    except MissingExtra:  # installed without cnkg[diagrams]: the page without its picture
        return None
    if svg is None:
        return None
    start = svg.find("<svg")
    return Markup(svg[start:] if start >= 0 else svg)  # drop the XML declaration and DOCTYPE for inline use


# ---------------------------------------------------------------------------------------------- ontology

CHARACTERISTICS = [(OWL.TransitiveProperty, "transitive"), (OWL.SymmetricProperty, "symmetric"),
                   (OWL.IrreflexiveProperty, "irreflexive"), (OWL.AsymmetricProperty, "asymmetric"),
                   (OWL.FunctionalProperty, "functional"), (OWL.InverseFunctionalProperty, "inverse functional")]


@dataclass
class TermDoc:
    anchor: str
    iri: str
    label: str
    definition: str
    kind: str
    parents: list[Term]
    domain: list[Term] = field(default_factory=list)
    range: list[Term] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    inverse: list[Term] = field(default_factory=list)
    see_also: list[Term] = field(default_factory=list)


def ontology_docs() -> tuple[list[TermDoc], list[TermDoc]]:
    tbox = _state().graph.store.graph(ONTOLOGY_GRAPH)

    def text(term, prop):
        value = tbox.value(term, prop)
        return str(value) if value is not None else ""

    def terms(values):
        return sorted((term_view(v) for v in values), key=lambda t: t.text)

    classes, properties = [], []
    ours = sorted({s for s in tbox.subjects(RDF.type, None) if str(s).startswith(str(CNKG))}, key=str)
    for term in ours:
        kinds = set(tbox.objects(term, RDF.type))
        anchor = str(term)[len(str(CNKG)):]
        common = dict(anchor=anchor, iri=str(term), label=text(term, RDFS.label) or anchor,
                      definition=text(term, SKOS.definition) or text(term, RDFS.comment),
                      see_also=terms(tbox.objects(term, RDFS.seeAlso)))
        if OWL.Class in kinds or RDFS.Class in kinds:
            classes.append(TermDoc(kind="class", parents=terms(tbox.objects(term, RDFS.subClassOf)), **common))
        elif kinds & {OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property}:
            kind = ("datatype property" if OWL.DatatypeProperty in kinds else
                    "annotation property" if OWL.AnnotationProperty in kinds else "object property")
            properties.append(TermDoc(
                kind=kind, parents=terms(tbox.objects(term, RDFS.subPropertyOf)),
                domain=terms(tbox.objects(term, RDFS.domain)), range=terms(tbox.objects(term, RDFS.range)),
                characteristics=[name for cls, name in CHARACTERISTICS if cls in kinds],
                inverse=terms(set(tbox.objects(term, OWL.inverseOf)) | set(tbox.subjects(OWL.inverseOf, term))),
                **common))
    return classes, properties


@bp.route("/ontology")
def ontology():
    path = url_for("pages.ontology")
    kind = negotiate_page()
    tbox = _state().graph.store.graph(ONTOLOGY_GRAPH)
    if kind != "html":
        out = Graph()
        for triple in tbox:
            out.add(triple)
        return rdf_response(out, kind, path)
    classes, properties = ontology_docs()
    body = render_template("page_ontology.html", classes=classes, properties=properties, path=path,
                           title=str(tbox.value(ONTOLOGY_IRI, DCTERMS.title) or "cnkg ontology"),
                           description=str(tbox.value(ONTOLOGY_IRI, DCTERMS.description) or ""),
                           version=str(tbox.value(ONTOLOGY_IRI, OWL.versionInfo) or ""),
                           namespace=str(CNKG), alternates=ALTERNATES)
    return finish(Response(body, content_type="text/html; charset=utf-8"), path)
