"""The public Python API: one object over the built graph, used by the CLI, the server and notebooks.

    >>> import cnkg
    >>> graph = cnkg.load()                    # from cache when the inputs have not changed
    >>> graph.query("projects-by-stage", stage="Graduated")
    >>> graph.lineage("Jaeger").ancestors
    >>> graph.explain(ID.jaeger, CNKG.hasAncestor, ID.dapper)     # why an inferred triple holds
    >>> graph.sources_of((ID.jaeger, CNKG.hasStage, STAGE.incubating))

Everything derived from the dataset (name and lineage indexes, explanations, and whatever a caller registers with
:meth:`KnowledgeGraph.on_change`) is dropped in one place, :meth:`KnowledgeGraph.changed`, when the data changes.
"""
from __future__ import annotations

import re
import types
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rdflib import RDF, RDFS, SKOS, Dataset, Graph, Literal, URIRef
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result

from . import cache, imports
from .build import union_graph
from .diagram import LineageDiagram
from .errors import InvalidInput, Problem, closest
from .explain import Explainer
from .frames import lineage_digraph, lineage_frame, to_dataframe
from .lineage import LineageIndex, LineageReport
from .namespaces import (CNKG, CURATED_GRAPH, FACTS_DIR, ID, INFERRED_GRAPH, META_GRAPH, ONTOLOGY_DIR, ONTOLOGY_GRAPH,
                         PREFIXES, QUERIES_DIR, is_landscape_graph)
from .named_queries import NamedQuery, Parameter, literal_parameter, load_named_queries
from .pipeline import build
from .provenance import Source, sources

# who (originally) developed an entity, shown under its name in lineage pictures and frames
ORGANISATION_PROPERTIES = (CNKG.originallyDevelopedBy, CNKG.developedBy)


@dataclass(frozen=True)
class Counts:
    triples: int
    asserted: int
    inferred: int
    ontology: int
    entities: int
    projects: int
    graphs: int


class KnowledgeGraph:
    """A built, reasoned dataset with named queries, name resolution and lineage."""

    def __init__(self, dataset: Dataset, queries_dir: Path = QUERIES_DIR,
                 queries: dict[str, NamedQuery] | None = None):
        self.dataset = dataset
        self.queries: dict[str, NamedQuery] = queries if queries is not None else load_named_queries(queries_dir)
        self.version = 0  # data changes since loading (see changed())
        self._listeners: list[weakref.ReferenceType] = []

    # ------------------------------------------------------------------ change

    def on_change(self, listener: Callable[[KnowledgeGraph], None]) -> None:
        """Call ``listener(graph)`` after every change of the data (a result cache, statistics ...). A bound
        method is held weakly, so registering does not keep its object alive."""
        ref = weakref.WeakMethod(listener) if isinstance(listener, types.MethodType) else (lambda: listener)
        self._listeners.append(ref)

    def changed(self) -> None:
        """The one place that knows the data changed: drop every derived index, bump the version, tell the
        listeners."""
        for klass in type(self).__mro__:
            for name, value in vars(klass).items():
                if isinstance(value, cached_property):
                    self.__dict__.pop(name, None)
        self.version += 1
        alive = []
        for ref in self._listeners:
            listener = ref()
            if listener is not None:
                alive.append(ref)
                listener(self)
        self._listeners = alive

    def apply(self, removed: Iterable[tuple] = (), added: Iterable[tuple] = ()) -> None:
        """Remove, then add, quads ``(s, p, o, graph)``, then :meth:`changed`."""
        for *triple, graph in removed:
            self.dataset.graph(graph).remove(tuple(triple))
        for *triple, graph in added:
            self.dataset.graph(graph).add(tuple(triple))
        self.changed()

    # ------------------------------------------------------------------ names

    @cached_property
    def _names(self) -> dict[str, URIRef]:
        """Lower-cased label, altLabel, notation and id slug -> IRI (labels win over altLabels)."""
        names: dict[str, URIRef] = {}
        landscapes = [g.identifier for g in self.dataset.graphs() if is_landscape_graph(g.identifier)]
        for graph_id in (*landscapes, CURATED_GRAPH, ONTOLOGY_GRAPH):  # the article's names win
            graph = self.dataset.graph(graph_id)
            for pred in (SKOS.altLabel, SKOS.notation, RDFS.label):  # later ones override earlier ones
                for subject, name in graph.subject_objects(pred):
                    if str(subject).startswith(str(ID)):
                        names[str(name).lower()] = subject
        for graph_id in (CURATED_GRAPH, *landscapes):
            for subject in self.dataset.graph(graph_id).subjects(RDFS.label):
                names.setdefault(str(subject)[len(str(ID)):], subject)
        return names

    def label(self, iri) -> str:
        value = self.dataset.value(iri, RDFS.label)
        return str(value) if value is not None else str(iri)

    def resolve(self, name: str) -> URIRef:
        """An entity IRI from a label, altLabel or id (case-insensitive); a miss suggests the nearest name."""
        text = name.strip()
        if text.startswith(str(ID)):
            text = text[len(str(ID)):]
        found = self._names.get(text.lower())
        if found is not None:
            return found
        guess = closest(text, self._names, cutoff=0.6)
        suggestion = self.label(self._names[guess]) if guess else None
        raise InvalidInput([Problem("name", None, f"no entity is named {name!r}", suggestion)])

    # ------------------------------------------------------------------ queries

    def named_query(self, name: str) -> NamedQuery:
        if name not in self.queries:
            guess = closest(name, self.queries, cutoff=0.5)
            raise InvalidInput([Problem("query", None, f"no named query {name!r}; known: "
                                        f"{', '.join(sorted(self.queries))}", guess)])
        return self.queries[name]

    def bind(self, query: NamedQuery, params: dict[str, str]) -> dict[str, object]:
        """Turn text parameters (or defaults) into RDF terms; unknown parameters are errors."""
        known = {p.name: p for p in query.parameters}
        for key in params:
            if key not in known:
                raise InvalidInput([Problem("query", None, f"{query.name} has no parameter {key!r}; it takes "
                                            f"{', '.join(known) or 'none'}", closest(key, known, 0.5))])
        bindings = {}
        for param in query.parameters:
            value = params.get(param.name, param.default)
            if value is None or value == "":
                raise InvalidInput(f"{query.name}: parameter {param.name!r} is required")
            bindings[param.name] = self._parameter_value(param, str(value))
        return bindings

    def _parameter_value(self, param: Parameter, value: str):
        if param.type == "entity":
            return self.resolve(value)
        if param.type in ("stage", "category"):
            cls = CNKG.Stage if param.type == "stage" else CNKG.Category
            allowed = sorted(self.label(c) for c in self.dataset.subjects(RDF.type, cls))
            iri = self._names.get(value.strip().lower())
            if iri is None or (iri, RDF.type, cls) not in self.dataset:
                guess = closest(value, allowed, cutoff=0.6)
                raise InvalidInput([Problem("query", None, f"parameter {param.name!r}: no {param.type} is named "
                                            f"{value!r}; expected one of {', '.join(allowed)}", guess)])
            return iri
        if param.type == "snapshot":
            known = sorted(str(g.identifier).rsplit("/", 1)[-1] for g in self.dataset.graphs()
                           if is_landscape_graph(g.identifier))
            if value.strip() not in known:
                raise InvalidInput([Problem("query", None, f"parameter {param.name!r}: no landscape snapshot is "
                                            f"named {value!r}; imported: {', '.join(known) or 'none'} (see "
                                            "cnkg import-landscape)", closest(value, known, 0.6))])
            return Literal(value.strip())
        return literal_parameter(param, value)

    def query(self, sparql: str | Query | NamedQuery, **params) -> Result:
        """Run a named query (by name) with parameters, or any SPARQL query text over the whole graph."""
        if isinstance(sparql, str) and re.fullmatch(r"[\w-]+", sparql):
            sparql = self.named_query(sparql)
        if isinstance(sparql, NamedQuery):
            return self.dataset.query(sparql.prepared, initBindings=self.bind(sparql, params))
        if params:
            raise InvalidInput("parameters are only accepted by named queries")
        return self.dataset.query(sparql, initNs=PREFIXES)

    # ------------------------------------------------------------------ lineage

    @cached_property
    def lineage_index(self) -> LineageIndex:
        return LineageIndex(self.dataset)

    def lineage(self, name: str) -> LineageReport:
        return self.lineage_index.report(self.resolve(name))

    def lineage_chains(self):
        return self.lineage_index.all_chains()

    # ------------------------------------------------------------------ data frames (pandas, networkx)

    def sparql(self, sparql: str | Query | NamedQuery, **params):
        """Like :meth:`query` (a named query with parameters, or SPARQL text), as a pandas DataFrame."""
        return to_dataframe(self.query(sparql, **params))

    def _chains(self, name: str | None):
        if name is None:
            return self.lineage_chains()
        report = self.lineage(name)
        return report.ancestors + report.descendants

    def lineage_frame(self, name: str | None = None):
        """The lineage chains of ``name`` (every chain in the graph when None) as a DataFrame with the columns
        descendant, ancestor, path (oldest first), hops, relations and sources; one row per distinct path."""
        return lineage_frame(self._chains(name), self.label)

    def lineage_digraph(self, name: str | None = None):
        """The lineage of ``name`` (the whole lineage when None) as a networkx DiGraph: nodes keyed by IRI string
        with ``label``, ``types`` and ``organisations``; edges from ancestor to descendant with ``relation``
        and ``sources``."""
        return lineage_digraph(self._chains(name), self.label, self.node_attributes)

    def lineage_diagram(self, name: str | None = None) -> LineageDiagram:
        """A :class:`cnkg.diagram.LineageDiagram` of ``name`` (every family when None; SVG/PNG, shown inline in
        notebooks)."""
        digraph = self.lineage_digraph(name)
        if name is None:
            return LineageDiagram(digraph)
        focus = self.resolve(name)
        if str(focus) not in digraph:  # no lineage: the entity on its own
            digraph.add_node(str(focus), **self.node_attributes(focus))
        return LineageDiagram(digraph, str(focus))

    def organisations(self, iri: URIRef) -> list[str]:
        """Labels of who (originally) developed ``iri``, original developers first, without repeats."""
        names: dict[str, None] = {}
        for prop in ORGANISATION_PROPERTIES:
            for org in sorted(self.dataset.objects(iri, prop)):
                names.setdefault(self.label(org), None)
        return list(names)

    def node_attributes(self, iri: URIRef) -> dict:
        """``label``, ``types`` (local names of its curated classes, sorted) and ``organisations`` of an entity."""
        curated = self.dataset.graph(CURATED_GRAPH)
        types = sorted(str(t).rsplit("#", 1)[-1] for t in curated.objects(iri, RDF.type))
        return {"label": self.label(iri), "types": types, "organisations": self.organisations(iri)}

    # ------------------------------------------------------------------ views

    def graph(self, include_inferred: bool = True) -> Graph:
        """All triples (optionally without the inferred ones) as one plain graph."""
        return union_graph(self.dataset, exclude=() if include_inferred else (INFERRED_GRAPH,))

    def counts(self) -> Counts:
        inferred = len(self.dataset.graph(INFERRED_GRAPH))
        ontology = len(self.dataset.graph(ONTOLOGY_GRAPH))
        total = sum(len(g) for g in self.dataset.graphs())
        return Counts(
            triples=total,
            asserted=total - inferred - ontology - len(self.dataset.graph(META_GRAPH)),
            inferred=inferred,
            ontology=ontology,
            entities=len(set(self.dataset.subjects(RDF.type, CNKG.Entity))),
            projects=len(set(self.dataset.subjects(RDF.type, CNKG.Project))),
            graphs=sum(1 for g in self.dataset.graphs() if len(g)),
        )

    def sources_of(self, triple) -> list[str]:
        """Titles of the sections stating ``triple``, or ``["inferred (OWL 2 RL)"]`` / ``["curated"]``."""
        return sorted({source.title for source in self.provenance(triple)})

    def provenance(self, triple) -> list[Source]:
        """Every graph stating ``triple``, with its section (and document), or curated / ontology / inferred."""
        return sources(self.dataset, triple, self.label)

    # ------------------------------------------------------------------ explanation

    @cached_property
    def explainer(self) -> Explainer:
        return Explainer(self.dataset, self.lineage_index, self.label)

    def explain(self, s, p, o) -> dict | None:
        """Why ``(s, p, o)`` holds: the OWL 2 RL rule, its premises (explained in turn when inferred) and the
        sections stating the asserted ones, as JSON-ready data; None when the graph does not hold it."""
        return self.explainer.explain(s, p, o)


def load(facts_dir: Path = FACTS_DIR, ontology_dir: Path = ONTOLOGY_DIR, queries_dir: Path = QUERIES_DIR,
         use_cache: bool = True, cache_dir: Path | None = None, landscapes: list | None = None,
         progress: bool | None = None) -> KnowledgeGraph:
    """The reasoned graph: read from the cache when the inputs are unchanged, else built (and cached).

    ``landscapes``: the landscape snapshots to include (``imports.Snapshot``, newest first); None means every
    snapshot imported with ``cnkg import-landscape``, ``[]`` none (the article alone)."""
    if landscapes is None:
        landscapes = imports.imported()
    # Parse the named queries while the heap is small: after a large graph is loaded every garbage collection
    # pyparsing triggers walks the whole graph (0.2 s before, 1.3 s after a 320k-triple graph).
    queries = load_named_queries(queries_dir)
    key = cache.fingerprint(facts_dir, ontology_dir, landscapes)
    dataset = cache.read_cached(key, cache_dir) if use_cache else None
    if dataset is None:
        dataset = build(facts_dir, ontology_dir, landscapes=landscapes, progress=progress).dataset
        if use_cache:
            cache.write_cached(key, dataset, cache_dir)
    return KnowledgeGraph(dataset, queries_dir, queries)


__all__ = ["KnowledgeGraph", "Counts", "load"]
