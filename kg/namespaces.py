"""IRIs and file locations shared by every part of cnkg."""
from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from rdflib import Namespace, URIRef

from .iris import PREFIX_IRIS

CNKG = Namespace(PREFIX_IRIS["cnkg"])
ONTOLOGY_IRI = URIRef("https://w3id.org/cnkg/ontology")
ID = Namespace(PREFIX_IRIS["id"])
STAGE = Namespace(PREFIX_IRIS["stage"])
CATEGORY = Namespace(PREFIX_IRIS["category"])
SOURCE = Namespace(PREFIX_IRIS["source"])
GRAPH = Namespace("https://w3id.org/cnkg/graph/")
ERR = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")  # owlrl's inconsistency reports

ONTOLOGY_GRAPH = GRAPH["ontology"]
CURATED_GRAPH = GRAPH["curated"]
META_GRAPH = GRAPH["meta"]
INFERRED_GRAPH = GRAPH["inferred"]

PREFIXES = {prefix: Namespace(iri) for prefix, iri in PREFIX_IRIS.items()}


def _shipped(package: str) -> Path:
    """The directory of data shipped inside the installed package (a wheel installs as plain files)."""
    return Path(str(files(package)))


ONTOLOGY_DIR = _shipped("cnkg.ontology")
QUERIES_DIR = _shipped("cnkg.queries")
FACTS_DIR = _shipped("cnkg") / "facts"

# Files that make up the TBox loaded into the ontology graph (the SHACL shapes are kept apart).
ONTOLOGY_FILES = ("cnkg.ttl", "schemes.ttl")
SHAPES_FILE = "shapes.ttl"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def entity_iri(slug: str) -> URIRef:
    return ID[slug]


def section_graph(source_id: str, section_id: str) -> URIRef:
    return GRAPH[f"{source_id}/{section_id}"]


def cited_graph(entity_id: str, digest: str) -> URIRef:
    """The named graph of one statement entry citing its own document (see ``records.Citation``)."""
    return GRAPH[f"cited/{entity_id}/{digest}"]


def landscape_graph(snapshot: str) -> URIRef:
    """The named graph of one imported landscape.yml snapshot."""
    return GRAPH[f"landscape/{snapshot}"]


def is_landscape_graph(graph) -> bool:
    return str(graph).startswith(str(GRAPH["landscape/"]))


def source_iri(source_id: str, section_id: str | None = None) -> URIRef:
    return SOURCE[source_id if section_id is None else f"{source_id}/{section_id}"]


def compact(iri) -> str:
    """``cnkg:inspiredBy`` for a known namespace, else ``<iri>``."""
    text = str(iri)
    for prefix, ns in sorted(PREFIXES.items(), key=lambda item: -len(str(item[1]))):
        if text.startswith(str(ns)) and len(text) > len(str(ns)):
            return f"{prefix}:{text[len(str(ns)):]}"
    return f"<{text}>"


def bind_prefixes(graph) -> None:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)
