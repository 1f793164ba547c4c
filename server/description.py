"""The SPARQL 1.1 Service Description returned by GET /sparql without a query, content-negotiated.

It states only what is true: SPARQL 1.1 Query (and SPARQL 1.1 Update only when the server was started with
--allow-update), the formats we write, a default graph that is the union of the named graphs, and OWL 2 RL
entailment, since the inferred graph holds the owlrl closure.
"""
from __future__ import annotations


from flask import Response, current_app, request
from rdflib import BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ..namespaces import bind_prefixes

from .formats import HTML_PAGE, RDF_ALIASES, RDF_FORMATS, RESULT_FORMATS, negotiate

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
OWL_RDF_BASED = URIRef("http://www.w3.org/ns/entailment/OWL-RDF-Based")
OWL2_RL = URIRef("http://www.w3.org/ns/owl-profile/RL")


def description_graph(endpoint: str, stats, update: bool = False) -> Graph:
    g = Graph()
    bind_prefixes(g)
    g.bind("sd", SD)
    g.bind("void", VOID)
    service = URIRef(endpoint)  # the description describes the service located at its endpoint URL
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    if update:
        from .update import UPDATES_GRAPH

        g.add((service, SD.supportedLanguage, SD.SPARQL11Update))
        g.add((service, RDFS.comment, Literal(
            "SPARQL 1.1 Update needs 'Authorization: Bearer <token>'. Triples inserted outside a GRAPH clause go "
            f"into the named graph <{UPDATES_GRAPH}>; triples deleted outside a GRAPH clause are removed from every "
            "graph. The inferred graph follows every update (OWL 2 RL, maintained incrementally); an update that "
            "would make the graph inconsistent is refused (409). Changes are kept in memory only (lost when the "
            "server stops).", lang="en")))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    g.add((service, SD.defaultEntailmentRegime, OWL_RDF_BASED))
    g.add((service, SD.defaultSupportedEntailmentProfile, OWL2_RL))
    for fmt in RESULT_FORMATS + RDF_FORMATS:
        g.add((service, SD.resultFormat, URIRef(fmt.iri)))
    dataset = BNode("defaultDataset")
    default_graph = BNode("defaultGraph")
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, SD.defaultGraph, default_graph))
    g.add((default_graph, RDF.type, SD.Graph))
    g.add((default_graph, RDF.type, VOID.Dataset))
    g.add((default_graph, VOID.triples, Literal(stats.union_triples, datatype=XSD.integer)))
    g.add((default_graph, VOID.entities, Literal(stats.entities, datatype=XSD.integer)))
    for name, size in sorted(stats.graphs.items()):
        named, described = BNode(), BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, name))
        g.add((named, SD.graph, described))
        g.add((described, RDF.type, SD.Graph))
        g.add((described, VOID.triples, Literal(size, datatype=XSD.integer)))
    return g


def service_description() -> Response:
    """GET /sparql with no query: RDF for machines, the query page of the web UI for browsers."""
    fmt = negotiate([*RDF_FORMATS, HTML_PAGE], format_name=None, accept=request.headers.get("Accept"),
                    aliases=RDF_ALIASES, what="the service description")
    if fmt is HTML_PAGE:
        from .ui import query_page  # the web UI (server/ui.py) is what a browser gets; it sets Vary too

        return query_page()
    stats = current_app.extensions["cnkg"].stats
    graph = description_graph(request.base_url, stats, bool(current_app.config["ALLOW_UPDATE"]))
    if fmt.name in ("trig", "nquads"):  # rdflib writes quad formats only from a context-aware store
        dataset = Dataset()
        for prefix, namespace in graph.namespaces():
            dataset.bind(prefix, namespace)
        for triple in graph:
            dataset.default_graph.add(triple)
        graph = dataset
    body = graph.serialize(format=fmt.rdflib, encoding="utf-8")
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return response

