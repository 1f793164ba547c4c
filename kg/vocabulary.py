"""What the ontology allows: classes, properties with their kind and range, stages and categories.

Read from ``ontology/*.ttl`` so the YAML checker and the builder never disagree with the TBox.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rdflib import OWL, RDF, RDFS, SKOS, Graph, URIRef

from .errors import InvalidInput, Problem
from .namespaces import CNKG, ONTOLOGY_DIR, ONTOLOGY_FILES, bind_prefixes


@dataclass(frozen=True)
class PropertyInfo:
    name: str
    iri: URIRef
    is_object: bool
    range: URIRef | None
    transitive: bool


def read_ontology(ontology_dir: Path = ONTOLOGY_DIR) -> Graph:
    """Parse the TBox files; a syntax error names the file and line."""
    graph = Graph()
    bind_prefixes(graph)
    for name in ONTOLOGY_FILES:
        path = Path(ontology_dir) / name
        try:
            graph.parse(path, format="turtle")
        except FileNotFoundError:
            raise InvalidInput([Problem(str(path), None, "ontology file is missing")]) from None
        except Exception as exc:  # rdflib raises several parser exception types
            raise InvalidInput([Problem(str(path), getattr(exc, "lines", None), f"Turtle syntax error: {exc}")]) from None
    return graph


class Vocabulary:
    """Look-ups over the ontology graph used to check and translate YAML facts."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def _local(self, iri) -> str | None:
        text = str(iri)
        return text[len(CNKG):] if text.startswith(str(CNKG)) else None

    @cached_property
    def classes(self) -> dict[str, URIRef]:
        return {self._local(c): c for c in self.graph.subjects(RDF.type, OWL.Class) if self._local(c)}

    @cached_property
    def properties(self) -> dict[str, PropertyInfo]:
        result = {}
        for kind, is_object in ((OWL.ObjectProperty, True), (OWL.DatatypeProperty, False)):
            for prop in self.graph.subjects(RDF.type, kind):
                name = self._local(prop)
                if name:
                    result[name] = PropertyInfo(
                        name=name,
                        iri=prop,
                        is_object=is_object,
                        range=self.graph.value(prop, RDFS.range),
                        transitive=(prop, RDF.type, OWL.TransitiveProperty) in self.graph,
                    )
        return result

    def _concepts(self, cls: URIRef) -> dict[str, URIRef]:
        """Notation, label and altLabels (all lower-cased) of each individual of ``cls``."""
        names = {}
        for concept in self.graph.subjects(RDF.type, cls):
            for pred in (SKOS.notation, RDFS.label, SKOS.altLabel):
                for name in self.graph.objects(concept, pred):
                    names[str(name).lower()] = concept
        return names

    @cached_property
    def stages(self) -> dict[str, URIRef]:
        return self._concepts(CNKG.Stage)

    @cached_property
    def categories(self) -> dict[str, URIRef]:
        return self._concepts(CNKG.Category)

    def notation(self, concept: URIRef) -> str:
        return str(self.graph.value(concept, SKOS.notation) or concept)

    @cached_property
    def lineage_properties(self) -> list[URIRef]:
        """Asserted properties whose closure is cnkg:hasAncestor (inspiredBy, basedOn, ...)."""
        return self.sub_properties(CNKG.hasAncestor)

    def sub_properties(self, prop: URIRef) -> list[URIRef]:
        return sub_properties(self.graph, prop)


def _below(tbox: Graph, term: URIRef, relation: URIRef) -> list[URIRef]:
    """Every term below ``term`` along ``relation`` (direct and indirect), nearest first, ``term`` itself left
    out unless the axioms loop back to it."""
    found, seen, todo = [], {term}, [term]
    while todo:
        for sub in tbox.subjects(relation, todo.pop(0)):
            if sub not in seen:
                seen.add(sub)
                found.append(sub)
                todo.append(sub)
    return found


def sub_properties(tbox: Graph, prop: URIRef) -> list[URIRef]:
    """The sub-properties of ``prop`` (rdfs:subPropertyOf, transitively): e.g. the lineage relations below
    cnkg:hasAncestor. The one closure the checker, the lineage index and the explainer share."""
    return _below(tbox, prop, RDFS.subPropertyOf)


def sub_classes(tbox: Graph, cls: URIRef) -> list[URIRef]:
    """The sub-classes of ``cls`` (rdfs:subClassOf, transitively)."""
    return _below(tbox, cls, RDFS.subClassOf)
