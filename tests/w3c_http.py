"""Serve W3C test data through the real endpoint: a ``KnowledgeGraph`` over the test's files, and its app.

The apps are the production ``create_app`` with the production protocol, safety and worker code; only the
dataset differs. Rate limiting is off (a suite sends hundreds of requests from one address).
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from rdflib import Dataset, URIRef

import cnkg
from cnkg.server import create_app

SUITE = Path(__file__).resolve().parents[2] / "shared" / "data" / "w3c-sparql11"
SUITE_MISSING = f"W3C SPARQL 1.1 test suite not found at {SUITE} (../shared is not checked out)"

# The name under which a test's default-graph files are loaded; requests name it in default-graph-uri.
DEFAULT_GRAPH = URIRef("urn:x-cnkg-w3c:default-graph")

_RDF_FORMATS = {".ttl": "turtle", ".nt": "nt", ".rdf": "xml", ".n3": "n3", ".nq": "nquads", ".trig": "trig"}


def knowledge_graph(files: list[tuple[URIRef, Path]], empty_graphs=()) -> cnkg.KnowledgeGraph:
    """A ``KnowledgeGraph`` whose named graphs hold the given files (several files may share a graph), plus the
    named graphs ``empty_graphs`` holding nothing."""
    dataset = Dataset(default_union=True)
    for name, path in files:
        dataset.graph(name).parse(path, format=_RDF_FORMATS[path.suffix.lower()], publicID=path.as_uri())
    for name in empty_graphs:
        dataset.graph(name)
    return cnkg.KnowledgeGraph(dataset)


def app_for(files: list[tuple[URIRef, Path]], empty_graphs=(), **config) -> Flask:
    settings = {"QUERY_TIMEOUT": 10.0, "RATE_LIMIT_PER_MINUTE": 0, **config}
    return create_app(settings, graph=knowledge_graph(files, empty_graphs))
