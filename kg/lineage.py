"""Lineage chains (where a project comes from, what came from it) with the path and its sources.

The ancestor *set* is what the reasoner inferred (cnkg:hasAncestor); the *paths* are walked over the
asserted one-step edges (inspiredBy, basedOn, ...) so every step can cite the section that states it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import URIRef
from rdflib.namespace import DCTERMS

from .namespaces import CNKG, INFERRED_GRAPH, META_GRAPH, ONTOLOGY_GRAPH
from .vocabulary import sub_properties


@dataclass(frozen=True)
class Step:
    """One asserted lineage edge: ``child`` --relation--> ``parent``."""

    child: URIRef
    relation: URIRef
    parent: URIRef
    sources: tuple[URIRef, ...]


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


class LineageIndex:
    """The asserted lineage edges of a dataset, indexed both ways."""

    def __init__(self, store):
        """``store``: a :class:`cnkg.store.TripleStore` (anything with its ``graph`` and ``quads`` methods)."""
        relations = set(sub_properties(store.graph(ONTOLOGY_GRAPH), CNKG.hasAncestor))
        self.relations = relations
        sources: dict[tuple, list[URIRef]] = {}
        section_of: dict[URIRef, URIRef | None] = {}
        for relation in relations:
            for child, _, parent, graph in store.quads((None, relation, None, None)):
                if graph in (INFERRED_GRAPH, ONTOLOGY_GRAPH, META_GRAPH):
                    continue
                if graph not in section_of:
                    section_of[graph] = store.value(graph, DCTERMS.source)
                sources.setdefault((child, relation, parent), [])
                if section_of[graph] is not None:
                    sources[(child, relation, parent)].append(section_of[graph])
        self.up: dict[URIRef, list[Step]] = {}
        self.down: dict[URIRef, list[Step]] = {}
        for (child, relation, parent), secs in sorted(sources.items()):
            step = Step(child, relation, parent, tuple(sorted(set(secs))))
            self.up.setdefault(child, []).append(step)
            self.down.setdefault(parent, []).append(step)

    def _walk(self, start: URIRef, edges: dict, follow) -> list[list[Step]]:
        paths, stack = [], [(start, [], {start})]
        while stack:
            node, path, seen = stack.pop()
            for step in edges.get(node, []):
                nxt = follow(step)
                if nxt in seen:  # cycles are rejected at build time; never loop here
                    continue
                paths.append(path + [step])
                stack.append((nxt, path + [step], seen | {nxt}))
        return paths

    def report(self, entity: URIRef) -> LineageReport:
        ancestors = [Chain(path) for path in self._walk(entity, self.up, lambda s: s.parent)]
        descendants = [Chain(list(reversed(path))) for path in self._walk(entity, self.down, lambda s: s.child)]
        key = lambda chain: (chain.hops, [str(n) for n in chain.nodes()])  # noqa: E731
        return LineageReport(entity, sorted(ancestors, key=key), sorted(descendants, key=key))

    def all_chains(self) -> list[Chain]:
        """Every chain from any entity up to each of its ancestors (one per distinct path)."""
        chains = []
        for child in sorted(self.up):
            chains.extend(self.report(child).ancestors)
        return chains
