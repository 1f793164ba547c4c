"""The prefixes cnkg predeclares in SPARQL, as plain strings (no rdflib), for the code that must stay light: the
query workers and the SPARQL lexer's callers. :mod:`cnkg.namespaces` builds its rdflib namespaces from these."""
from __future__ import annotations

PREFIX_IRIS = {
    "cnkg": "https://w3id.org/cnkg/ontology#",
    "id": "https://w3id.org/cnkg/id/",
    "stage": "https://w3id.org/cnkg/id/stage/",
    "category": "https://w3id.org/cnkg/id/category/",
    "source": "https://w3id.org/cnkg/source/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dct": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "schema": "https://schema.org/",
    "doap": "http://usefulinc.com/ns/doap#",
}
