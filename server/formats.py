"""The media types the endpoint produces, by result kind, with ``format=`` names and W3C format IRIs."""
from __future__ import annotations

from dataclasses import dataclass

from ..export import FORMATS as RDF_EXPORT_FORMATS


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


def formats_for(kind: str) -> tuple[list[Format], dict[str, str]]:
    """The formats (and Accept aliases) for a query form: SelectQuery, AskQuery, ConstructQuery, DescribeQuery."""
    if kind in ("SelectQuery", "AskQuery"):
        return RESULT_FORMATS, RESULT_ALIASES
    return RDF_FORMATS, RDF_ALIASES


def by_name(name: str) -> Format | None:
    return next((f for f in RESULT_FORMATS + RDF_FORMATS if f.name == name), None)


def by_media_type(formats: list[Format], media_type: str) -> Format:
    return next(f for f in formats if f.media_type == media_type)
