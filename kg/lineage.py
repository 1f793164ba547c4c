"""Lineage chains (where a project comes from, what came from it) with the path and its sources.

The ancestor *set* is what the reasoner inferred (cnkg:hasAncestor); the *paths* are walked over the
asserted one-step edges (inspiredBy, basedOn, ...) so every step can cite the section that states it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDFS

from .namespaces import CNKG, INFERRED_GRAPH, META_GRAPH, ONTOLOGY_GRAPH
from .provenance import Source, graph_source
from .vocabulary import sub_properties


@dataclass(frozen=True)
class Step:
    """One step of lineage: ``child`` --relations--> ``parent``, every asserted lineage relation between the two
    (Kubernetes is inspired by, renamed from, a rewrite of and the successor of Borg: one step, not four), with
    ``sources`` (every source of any of them) and ``cited`` (each relation with its own sources)."""

    child: URIRef
    relations: tuple[URIRef, ...]
    parent: URIRef
    sources: tuple[URIRef, ...]
    cited: tuple[tuple[URIRef, tuple[URIRef, ...]], ...] = ()

    @property
    def relation(self) -> URIRef:
        """The first relation (by IRI): one the step stands for, e.g. to explain hasAncestor by."""
        return self.relations[0]


@dataclass
class Chain:
    """A path from an ancestor down to a descendant, oldest first."""

    steps: list[Step]

    @property
    def ancestor(self) -> URIRef:
        return self.steps[-1].parent

    @property
    def descendant(self) -> URIRef:
        return self.steps[0].child

    @property
    def hops(self) -> int:
        return len(self.steps)

    def nodes(self) -> list[URIRef]:
        """Oldest first: ancestor, ..., descendant."""
        return [self.steps[-1].parent, *(step.child for step in reversed(self.steps))]


@dataclass
class LineageReport:
    entity: URIRef
    ancestors: list[Chain] = field(default_factory=list)
    descendants: list[Chain] = field(default_factory=list)
    truncated: bool = False  # more paths exist than MAX_PATHS: the shortest are kept


# Paths in a lineage DAG can grow exponentially with its depth (a dense 18-layer DAG below one project made every
# page enumerate millions); a report keeps at most this many per direction, shortest first, and says so.
MAX_PATHS = 500


class LineageIndex:
    """The asserted lineage edges of a dataset, indexed both ways."""

    def __init__(self, store):
        """``store``: a :class:`cnkg.store.TripleStore` (anything with its ``graph`` and ``quads`` methods)."""
        relations = set(sub_properties(store.graph(ONTOLOGY_GRAPH), CNKG.hasAncestor))

        def label(iri) -> str:
            return str(store.value(iri, RDFS.label) or iri)

        self.citations: dict[URIRef, Source] = {}   # each source IRI: what it is (provenance.graph_source)
        self.relations = relations
        sources: dict[tuple, list[URIRef]] = {}
        section_of: dict[URIRef, URIRef | None] = {}
        for relation in relations:
            for child, _, parent, graph in store.quads((None, relation, None, None)):
                if graph in (INFERRED_GRAPH, ONTOLOGY_GRAPH, META_GRAPH):
                    continue
                if graph not in section_of:
                    section_of[graph] = store.value(graph, DCTERMS.source)
                    if section_of[graph] is not None:
                        self._remember(graph_source(store, graph, label))
                sources.setdefault((child, relation, parent), [])
                if section_of[graph] is not None:
                    sources[(child, relation, parent)].append(section_of[graph])
        self._reports: dict[tuple, LineageReport] = {}
        self.up: dict[URIRef, list[Step]] = {}
        self.down: dict[URIRef, list[Step]] = {}
        pairs: dict[tuple, list[tuple[URIRef, tuple[URIRef, ...]]]] = {}   # parallel relations: one step per pair
        for (child, relation, parent), secs in sorted(sources.items()):
            pairs.setdefault((child, parent), []).append((relation, tuple(sorted(set(secs)))))
        for (child, parent), cited in sorted(pairs.items()):
            every = tuple(sorted({source for _, secs in cited for source in secs}))
            step = Step(child, tuple(relation for relation, _ in cited), parent, every, tuple(cited))
            self.up.setdefault(child, []).append(step)
            self.down.setdefault(parent, []).append(step)

    def _remember(self, source: Source) -> None:
        """Keep what a source IRI is, for showing it with each step; a document cited by several graphs keeps the
        highest confidence any of them gives it."""
        known = self.citations.get(source.iri)
        if known is None:
            self.citations[source.iri] = source
        elif source.confidence == "high" and known.confidence != "high":
            self.citations[source.iri] = replace(known, confidence="high")

    def citation(self, source: URIRef) -> Source:
        """What ``source`` (a step's source IRI) is: its title, URL, confidence, document."""
        return self.citations.get(source) or Source("graph", source, str(source))

    def _walk(self, start: URIRef, edges: dict, follow, limit: int) -> tuple[list[list[Step]], bool]:
        """Paths from ``start``, breadth first (so the shortest come first), at most ``limit``; cycle-safe."""
        paths, frontier = [], [(start, [], frozenset({start}))]
        while frontier:
            nxt_frontier = []
            for node, path, seen in frontier:
                for step in edges.get(node, []):
                    nxt = follow(step)
                    if nxt in seen:  # a cycle (refused at build and update time): never loop here
                        continue
                    if len(paths) == limit:
                        return paths, True
                    paths.append(path + [step])
                    nxt_frontier.append((nxt, path + [step], seen | {nxt}))
            frontier = nxt_frontier
        return paths, False

    def report(self, entity: URIRef, limit: int = MAX_PATHS) -> LineageReport:
        """The lineage chains of ``entity``: at most ``limit`` per direction, shortest first (``truncated`` says
        when more exist). Reports are remembered: the index belongs to one version of the graph."""
        cached = self._reports.get((entity, limit))
        if cached is not None:
            return cached
        up, cut_up = self._walk(entity, self.up, lambda s: s.parent, limit)
        down, cut_down = self._walk(entity, self.down, lambda s: s.child, limit)
        key = lambda chain: (chain.hops, [str(n) for n in chain.nodes()])  # noqa: E731
        report = LineageReport(entity, sorted((Chain(p) for p in up), key=key),
                               sorted((Chain(list(reversed(p))) for p in down), key=key), cut_up or cut_down)
        self._reports[(entity, limit)] = report
        return report

    def all_chains(self, limit: int = MAX_PATHS) -> list[Chain]:
        """Every chain from any entity up to each of its ancestors (one per distinct path; at most ``limit`` per
        entity)."""
        chains = []
        for child in sorted(self.up):
            chains.extend(self.report(child, limit).ancestors)
        return chains
