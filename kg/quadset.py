"""The build's dataset while it is made: named graphs of interned triples (:mod:`cnkg.terms`).

The landscape graphs are most of the data (398,000 triples at 10x the current snapshot): held in rdflib's memory
store they took 1.3 KB a triple, over half the build's peak memory. Here a triple is three integers in one graph's
set, the terms are held once in a table the reasoner shares, and each term is converted once when the quads go to
the Oxigraph store. Graph semantics are rdflib's: a graph is a set, with rdflib's term equality.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from rdflib import RDFS, Dataset
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from .namespaces import bind_prefixes
from .terms import IntTriple, TermTable


class GraphWriter:
    """Adds triples to one graph of a :class:`QuadSet` (what the builders call ``graph.add``)."""

    __slots__ = ("_quads", "_triples", "_intern", "_intern_triples", "_label")

    def __init__(self, quads: QuadSet, triples: set[IntTriple]):
        self._quads = quads
        self._triples = triples
        self._intern = quads.table.intern
        self._intern_triples = quads.table.intern_triples
        self._label = quads.table.intern(RDFS.label)

    def add(self, triple: tuple[Node, Node, Node]) -> None:
        intern = self._intern
        s, p, o = triple
        t = intern(s), intern(p), intern(o)
        self._triples.add(t)
        if t[1] == self._label:
            self._quads.note_labels((t,), self._label)

    def addN(self, triples: Iterable[tuple[Node, Node, Node]]) -> None:  # noqa: N802 (rdflib's name)
        before = len(self._triples)
        added = self._intern_triples(triples, set())
        self._triples |= added
        if len(self._triples) != before:
            self._quads.note_labels(added, self._label)


class QuadSet:
    """Named graphs (rdflib names) of triples interned in one :class:`TermTable`; empty graphs are kept."""

    def __init__(self, table: TermTable | None = None):
        self.table = table if table is not None else TermTable()
        self.graphs: dict[Node, set[IntTriple]] = {}
        self._labels: dict[int, int] = {}   # subject id -> the id of the first rdfs:label added for it

    @classmethod
    def of(cls, dataset: Dataset) -> QuadSet:
        """The named graphs of an rdflib dataset (its default graph, empty in what cnkg builds, is left out)."""
        quads = cls()
        for graph in dataset.graphs():
            if graph.identifier != DATASET_DEFAULT_GRAPH_ID:
                quads.graph(graph.identifier).addN(t for t, _ in dataset.store.triples((None, None, None), graph))
        return quads

    def graph(self, name: Node) -> GraphWriter:
        return GraphWriter(self, self.graphs.setdefault(name, set()))

    def note_labels(self, triples: Iterable[IntTriple], label: int) -> None:
        labels = self._labels
        for s, p, o in triples:
            if p == label:
                labels.setdefault(s, o)

    def label(self, iri: Node) -> Node | None:
        """An rdfs:label of ``iri`` in any graph (the first added), or None."""
        i = self.table.id(iri)
        found = None if i is None else self._labels.get(i)
        return None if found is None else self.table.terms[found]

    def set_graph(self, name: Node, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        """Replace graph ``name`` with ``triples``."""
        self.graphs[name] = set()
        self.graph(name).addN(triples)

    def __len__(self) -> int:
        """Quads (a triple in two graphs counts twice)."""
        return sum(map(len, self.graphs.values()))

    def union(self, exclude: Iterable[Node] = ()) -> set[IntTriple]:
        """The distinct triples of every graph but those in ``exclude``."""
        skip = set(exclude)
        return set().union(*(triples for name, triples in self.graphs.items() if name not in skip))

    def quads(self) -> Iterator[tuple[Node, Node, Node, Node]]:
        """Every quad as rdflib terms ``(s, p, o, graph name)``."""
        terms = self.table.terms
        for name, triples in self.graphs.items():
            for s, p, o in triples:
                yield terms[s], terms[p], terms[o], name

    def graphs_holding(self, triple: tuple[Node, Node, Node]) -> list[Node]:
        ids = tuple(self.table.id(term) for term in triple)
        return [] if None in ids else [name for name, triples in self.graphs.items() if ids in triples]

    def to_dataset(self) -> Dataset:
        """The same graphs as an rdflib Dataset (1.3 KB a triple: for the reference reasoner and small data)."""
        dataset = Dataset(default_union=True)
        bind_prefixes(dataset)
        graphs = {name: dataset.graph(name) for name in self.graphs}
        dataset.addN((s, p, o, graphs[g]) for s, p, o, g in self.quads())
        return dataset
