"""The media types the endpoint produces, by result kind, with ``format=`` names and W3C format IRIs."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..export import FORMATS as RDF_EXPORT_FORMATS
from .errors import BadRequest, NotAcceptable
from .negotiation import choose


@dataclass(frozen=True)
class Format:
    name: str            # the ``format=`` value
    media_type: str
    rdflib: str          # rdflib serializer name
    iri: str             # http://www.w3.org/ns/formats/... for the service description
    textual: bool = True

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8" if self.textual else self.media_type


W3F = "http://www.w3.org/ns/formats/"

# SELECT / ASK, in order of preference (the first is the default)
RESULT_FORMATS = [
    Format("json", "application/sparql-results+json", "json", W3F + "SPARQL_Results_JSON"),
    Format("xml", "application/sparql-results+xml", "xml", W3F + "SPARQL_Results_XML"),
    Format("csv", "text/csv", "csv", W3F + "SPARQL_Results_CSV"),
    Format("tsv", "text/tab-separated-values", "tsv", W3F + "SPARQL_Results_TSV"),
]

# CONSTRUCT / DESCRIBE and the service description; media types and serializers follow kg.export
_RDF = {"turtle": ("turtle", "Turtle"), "nt": ("nt", "N-Triples"), "jsonld": ("jsonld", "JSON-LD"),
        "xml": ("rdfxml", "RDF_XML"), "trig": ("trig", "TriG"), "nquads": ("nquads", "N-Quads")}
RDF_FORMATS = [Format(name, RDF_EXPORT_FORMATS[key][2], RDF_EXPORT_FORMATS[key][0], W3F + iri)
               for key, (name, iri) in _RDF.items()]

# media types clients commonly send for the same thing; the response still names the precise type
RESULT_ALIASES = {"application/json": "application/sparql-results+json",
                  "application/xml": "application/sparql-results+xml", "text/xml": "application/sparql-results+xml"}
RDF_ALIASES = {"application/json": "application/ld+json", "application/xml": "application/rdf+xml",
               "text/xml": "application/rdf+xml", "application/x-turtle": "text/turtle"}

HTML = "text/html"
HTML_PAGE = Format("html", HTML, "", "")                  # a page rendered from a template
JSON = Format("json", "application/json", "json", "")     # plain JSON (lists, explanations)


def formats_for(kind: str) -> tuple[list[Format], dict[str, str]]:
    """The formats (and Accept aliases) for a query form: SelectQuery, AskQuery, ConstructQuery, DescribeQuery."""
    if kind in ("SelectQuery", "AskQuery"):
        return RESULT_FORMATS, RESULT_ALIASES
    return RDF_FORMATS, RDF_ALIASES


def by_name(name: str) -> Format | None:
    return next((f for f in RESULT_FORMATS + RDF_FORMATS if f.name == name), None)


def by_media_type(formats: list[Format], media_type: str) -> Format:
    return next(f for f in formats if f.media_type == media_type)


def negotiate(offers: Sequence[Format], *, format_name: str | None, accept: str | None, what: str = "",
              aliases: Mapping[str, str] | None = None, names: Mapping[str, Format] | None = None,
              elsewhere: Sequence[Format] = ()) -> Format:
    """The one content-negotiation rule of every route: ``format=`` (by name) wins over Accept.

    ``offers`` in the server's order of preference; ``names`` extra ``format=`` names (``ttl``); ``aliases`` media
    types a client may ask for instead of an offer; ``elsewhere`` formats that exist but cannot express this answer
    (asking for one by name is 406, not 400). An unknown name is 400; nothing acceptable in Accept is 406."""
    by_format_name = {f.name: f for f in offers} | dict(names or {})
    name = (format_name or "").strip().lower()
    if name:
        if name in by_format_name:
            return by_format_name[name]
        listed = ", ".join(by_format_name)
        if any(f.name == name for f in elsewhere):
            raise NotAcceptable(f"format={name} cannot express {what or 'this answer'}; use one of {listed}")
        raise BadRequest(f"unknown format={name!r}; {'for ' + what + ' ' if what else ''}use one of {listed}")
    media_types = [f.media_type for f in offers]
    chosen = choose(accept, media_types, dict(aliases or {}))
    if chosen is None:
        raise NotAcceptable(f"cannot produce any type in Accept: {accept!r}{' for ' + what if what else ''}; "
                            f"available: {', '.join(media_types)} (or use format=)")
    return offers[media_types.index(chosen)]
