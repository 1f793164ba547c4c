"""The triple store: the built dataset in an Oxigraph store, on disk or in memory; every SPARQL query runs here.

Layout. Every named graph as built, plus the **default graph holding the distinct union of all named graphs**, less
the superseded values of time-varying facts (the current view, :mod:`cnkg.current`: a project's stage of 2018 stays
in the 2018 source's graph, not in the default graph, once a later source gives another). A
query's default graph is therefore the RDF merge of the dataset with set semantics, whatever the Oxigraph version
(0.5's ``use_default_graph_as_union`` and a multi-graph ``default_graph`` count a triple once per graph holding it:
oxigraph#1919; :mod:`cnkg.engine` builds FROM merges as sets too). It roughly doubles the quads, which is cheap at
this size. Writes through :meth:`TripleStore.apply` keep the union exact.

On disk, a store directory is written once, under a temporary name, and renamed into place (:func:`write_store`):
a failed or interrupted build never replaces a good store, and a published directory never changes, so any number
of processes may open it read-only (Oxigraph: opening read-only while another process writes is undefined). A
store that must change (a SPARQL update, the Python API) is a private copy.

Terms cross the boundary as rdflib terms: rdflib stays the object model users get back; ``"x"^^xsd:string`` and
``"x"`` are one term (RDF 1.1), returned as the plain literal.
"""
from __future__ import annotations

import gc
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.query import Result
from rdflib.term import Variable

from . import current
from .engine import apply_change, run_query
from .iris import PREFIX_IRIS
from .namespaces import PREFIXES
from .quadset import QuadSet

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
DEFAULT = ox.DefaultGraph()
OX_PREFIXES = PREFIX_IRIS


# ---------------------------------------------------------------------------------------------- terms

def to_ox(term):
    """An rdflib term as a pyoxigraph term (None stays None: a wildcard in patterns)."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        try:
            return ox.BlankNode(str(term))
        except ValueError:  # an id Oxigraph does not accept: a stable one derived from it
            return ox.BlankNode(f"b{abs(hash(str(term))):x}")
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


_NAMED_NODE, _LITERAL = ox.NamedNode, ox.Literal
_iri = str.__new__   # an IRI from Oxigraph is valid already: URIRef's own check (which only warns) is skipped


def from_ox(term):
    """A pyoxigraph term as an rdflib term; an ``xsd:string`` literal comes back plain (one term per string)."""
    kind = type(term)   # by identity: this runs for every term of every answer
    if kind is _NAMED_NODE:
        return _iri(URIRef, term.value)
    if kind is _LITERAL:
        language = term.language
        if language:
            return Literal(term.value, lang=language)
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=_iri(URIRef, datatype))
    if term is None:
        return None
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.DefaultGraph):
        return None
    raise TypeError(f"not an RDF term: {term!r}")


def converter() -> Callable:
    """:func:`from_ox` remembering what it converted: the terms of one answer repeat (a category or a stage on
    every row), and each is converted once (a third less time for a 2,572-row answer)."""
    memo: dict = {}

    def convert(term):
        found = memo.get(term)
        if found is None:
            found = memo[term] = from_ox(term)
        return found

    return convert


def _graph_ox(graph):
    return DEFAULT if graph is None or graph == DATASET_DEFAULT_GRAPH_ID else to_ox(graph)


def ox_quads(quads: QuadSet, graphs: Callable[[object], bool] = lambda name: True) -> Iterator[ox.Quad]:
    """The quads of a :class:`~cnkg.quadset.QuadSet` as pyoxigraph quads, each distinct term converted once.
    ``graphs``: which named graphs (by rdflib name) to read."""
    terms, converted = quads.table.terms, [None] * len(quads.table)

    def term(i: int):
        found = converted[i]
        if found is None:
            found = converted[i] = to_ox(terms[i])
        return found

    for name, triples in quads.graphs.items():
        if graphs(name):
            graph = to_ox(name)
            for s, p, o in triples:
                yield ox.Quad(term(s), term(p), term(o), graph)


def _with_union(quads: Iterable[ox.Quad], hidden: frozenset = frozenset()) -> Iterator[ox.Quad]:
    """Each quad, and its triple in the default graph unless ``hidden`` (pyoxigraph triples) holds it."""
    for quad in quads:
        yield quad
        if not hidden or (quad.subject, quad.predicate, quad.object) not in hidden:
            yield ox.Quad(quad.subject, quad.predicate, quad.object, DEFAULT)


def hidden_triples(quads: QuadSet) -> frozenset:
    """The superseded values of time-varying facts (:mod:`cnkg.current`) as pyoxigraph triples: the default graph
    leaves them out."""
    terms = quads.table.terms
    return frozenset((to_ox(terms[s]), to_ox(terms[p]), to_ox(terms[o])) for s, p, o in current.superseded(quads))


# ---------------------------------------------------------------------------------------------- on disk

def write_store(dataset: Dataset | QuadSet, path: Path) -> Path:
    """Write ``dataset`` (its named graphs, empty ones included) as an on-disk store at ``path``, atomically: a
    temporary sibling directory, filled, flushed and closed, then renamed. When ``path`` already exists (another
    process built the same inputs), it is kept and the new copy dropped."""
    quads = dataset if isinstance(dataset, QuadSet) else QuadSet.of(dataset)
    return _publish(_with_union(ox_quads(quads), hidden_triples(quads)), path, [to_ox(name) for name in quads.graphs])


# Quads per bulk_extend call. Oxigraph's bulk loader holds a whole call's quads in memory before writing its files:
# one call for an N-Quads dump of the 10x landscape (636,902 quads with the union copy) peaked at 1,005 MB; calls of
# 50,000 peaked at 111 MB and were no slower (3.3 s against 4.7 s), measured on their own, outside the pipeline.
BULK_CHUNK = 50_000


def bulk_write(store: ox.Store, quads: Iterable[ox.Quad]) -> None:
    """Add ``quads`` to an on-disk ``store`` with Oxigraph's bulk loader, in bounded memory."""
    quads = iter(quads)
    while chunk := list(itertools.islice(quads, BULK_CHUNK)):
        store.bulk_extend(chunk)


def _publish(quads: Iterable[ox.Quad], path: Path, graphs: Iterable = (),
             between: Callable[[ox.Store], None] | None = None, then: Iterable[ox.Quad] = ()) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        store = ox.Store(str(tmp))
        bulk_write(store, quads)
        if between is not None:
            between(store)
        bulk_write(store, then)
        for graph in graphs:  # empty named graphs too: a dataset may hold a graph with no triples
            store.add_graph(graph)
        store.flush()
        del store
        gc.collect()  # the RocksDB handle closes when the last reference goes
        try:
            os.rename(tmp, path)
        except OSError:
            if not path.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# ---------------------------------------------------------------------------------------------- the store

class TripleReads:
    """What a store answers from its ``triples(pattern)`` and ``quads(pattern)`` (shared by the embedded and the
    remote store)."""

    def triples(self, pattern=(None, None, None)) -> Iterator[tuple]:
        raise NotImplementedError

    def quads(self, pattern=(None, None, None, None)) -> Iterator[tuple]:
        raise NotImplementedError

    def graph(self, name) -> Graph:
        """A copy of one named graph as an rdflib Graph."""
        out = Graph(identifier=name)
        for prefix, namespace in PREFIXES.items():
            out.bind(prefix, namespace)
        for s, p, o, _ in self.quads((None, None, None, name)):
            out.add((s, p, o))
        return out

    def to_dataset(self) -> Dataset:
        """The named graphs as an rdflib Dataset whose default graph is their plain union: every source as stated,
        superseded values included (the store's own default graph leaves those out: :mod:`cnkg.current`)."""
        dataset = Dataset(default_union=True)
        for prefix, namespace in PREFIXES.items():
            dataset.bind(prefix, namespace)
        dataset.addN((s, p, o, dataset.graph(g)) for s, p, o, g in self.quads())
        return dataset

    def __contains__(self, triple) -> bool:
        return next(self.triples(triple), None) is not None

    def objects(self, subject=None, predicate=None) -> Iterator:
        return (o for _, _, o in self.triples((subject, predicate, None)))

    def subjects(self, predicate=None, object=None) -> Iterator:
        return (s for s, _, _ in self.triples((None, predicate, object)))

    def value(self, subject=None, predicate=None, object=None):
        """One node completing the pattern (the smallest, so the answer is stable), or None."""
        found = sorted(self.objects(subject, predicate) if object is None else self.subjects(predicate, object),
                       key=_sort_key)
        return found[0] if found else None


class TripleStore(TripleReads):
    """One Oxigraph store with the layout above, read with rdflib terms and queried with SPARQL."""

    def __init__(self, store: ox.Store, path: Path | None = None, read_only: bool = False,
                 directory: Path | None = None):
        self.ox = store
        self.path = path            # the published directory it was opened from (None: in memory)
        self.read_only = read_only
        self.directory = directory  # where a private on-disk copy lives (on_disk_copy); None otherwise
        self._basis = None          # what the current view depends on (cnkg.current.Basis), once read

    @classmethod
    def open(cls, path: Path) -> TripleStore:
        """Open a published on-disk store read-only (about 20 ms; many processes may do so at once)."""
        return cls(ox.Store.read_only(str(path)), Path(path), read_only=True)

    @classmethod
    def from_dataset(cls, dataset: Dataset | QuadSet, last: Iterable = (),
                     between: Callable[[ox.Store], None] | None = None, path: Path | None = None) -> TripleStore:
        """A store holding ``dataset``: in memory, or with ``path`` on disk, published there atomically (as
        :func:`write_store` does) and opened read-only. With ``between``, the graphs named in ``last`` are added
        after the others, and ``between(store)`` is called in between: the build validates the union of every
        graph but its metadata (the default graph at that point) on the store it writes, without another copy,
        and a failed check publishes nothing."""
        last = set(last)
        quads = dataset if isinstance(dataset, QuadSet) else QuadSet.of(dataset)   # the one conversion path
        names = [to_ox(name) for name in quads.graphs]
        hidden = hidden_triples(quads)
        first = _with_union(ox_quads(quads, lambda name: name not in last), hidden)
        then = _with_union(ox_quads(quads, lambda name: name in last), hidden)
        if path is not None:
            _publish(first, path, names, between, then)
            return cls.open(path)
        store = ox.Store()
        store.extend(first)
        if between is not None:
            between(store)
        store.extend(then)
        for graph in names:
            store.add_graph(graph)
        return cls(store)

    def on_disk_copy(self, directory: Path) -> TripleStore:
        """A private, writable on-disk copy of this store in ``directory`` (which must not exist): a store that
        changes and is published often (SPARQL Update) publishes by checkpoint, in milliseconds."""
        store = self._copy_into(ox.Store(str(directory)), bulk=True)
        store.flush()
        return TripleStore(store, directory=Path(directory))

    def scratch_copy(self, directory: Path) -> TripleStore:
        """A private, writable copy of this store to try changes on, in ``directory`` (which must not exist): for a
        private on-disk store, a RocksDB checkpoint opened for writing (hard links: milliseconds whatever its size;
        RocksDB never rewrites a file in place, so writes to the copy leave this store alone); otherwise an
        in-memory copy."""
        if self.directory is None:
            return TripleStore(self._copy_into(ox.Store()))
        self.ox.flush()
        self.ox.backup(str(directory))
        return TripleStore(ox.Store(str(directory)), directory=Path(directory))

    def _copy_into(self, store: ox.Store, bulk: bool = False) -> ox.Store:
        """``store`` holding every quad of this one (the union default graph included) and its empty graphs."""
        quads = self.ox.quads_for_pattern(None, None, None, None)
        bulk_write(store, quads) if bulk else store.extend(quads)
        for graph in self.ox.named_graphs():
            store.add_graph(graph)
        return store

    def publish(self, path: Path) -> Path:
        """This store's content (union default graph included) as a snapshot that never changes afterwards, for
        worker processes to open (:func:`cnkg.engine.open_snapshot`): a RocksDB checkpoint directory at ``path``
        for a private on-disk copy (hard links: milliseconds), else an N-Quads file ``path.nq`` written atomically
        (graphs held in memory are small). A published store from the cache is shared as it is, never republished."""
        path = Path(path)
        if self.directory is not None:
            self.ox.flush()
            self.ox.backup(str(path))
            return path
        path = path.with_name(path.name + ".nq")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                ox.serialize(self.ox.quads_for_pattern(None, None, None, None), out, format=ox.RdfFormat.N_QUADS)
                for graph in self.ox.named_graphs():  # empty named graphs too, which N-Quads cannot state
                    out.write(f"# graph {graph}\n".encode())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def writable(self) -> TripleStore:
        """This store if it may change, else a private in-memory copy of it."""
        if not self.read_only:
            return self
        return TripleStore(self._copy_into(ox.Store()))

    # ------------------------------------------------------------------ reading (rdflib terms)

    def quads(self, pattern=(None, None, None, None)) -> Iterator[tuple]:
        """Quads ``(s, p, o, graph)`` of the named graphs matching ``pattern`` (a triple or a quad; None is a
        wildcard); the union copy in the default graph is left out."""
        s, p, o, *rest = pattern
        graph = rest[0] if rest else None
        for quad in self.ox.quads_for_pattern(to_ox(s), to_ox(p), to_ox(o), to_ox(graph) if graph is not None
                                              else None):
            if isinstance(quad.graph_name, ox.DefaultGraph):
                continue
            yield from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object), from_ox(quad.graph_name)

    def triples(self, pattern=(None, None, None)) -> Iterator[tuple]:
        """Distinct triples of the whole dataset (the union default graph) matching ``pattern``."""
        s, p, o = pattern
        for quad in self.ox.quads_for_pattern(to_ox(s), to_ox(p), to_ox(o), DEFAULT):
            yield from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)

    def graph_names(self) -> list[URIRef]:
        """Every named graph, empty ones included."""
        return sorted(from_ox(g) for g in self.ox.named_graphs())

    def graph_sizes(self) -> dict[URIRef, int]:
        """Non-empty named graph -> its number of triples."""
        sizes = {}
        for row in self.ox.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
            sizes[from_ox(row["g"])] = int(row["n"].value)
        return dict(sorted(sizes.items()))

    def count(self, sparql_where: str) -> int:
        """``SELECT (COUNT(*) AS ?n) WHERE { ... }`` over the union."""
        row = next(iter(self.ox.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {sparql_where} }}", prefixes=OX_PREFIXES)))
        return int(row["n"].value)

    # ------------------------------------------------------------------ writing

    def apply(self, removed: Iterable[tuple] = (), added: Iterable[tuple] = ()) -> None:
        """Remove, then add, quads ``(s, p, o, graph)`` (rdflib terms), keeping the default graph what a fresh build
        of the same quads would give: the union of the named graphs (a triple leaves it only when no named graph
        holds it any more) less the superseded values of time-varying facts (:func:`cnkg.current.follow`)."""
        if self.read_only:
            raise PermissionError("this store is read-only; use writable() for a private copy")
        removed, added = list(removed), list(added)
        apply_change(self.ox, (ox.Quad(to_ox(s), to_ox(p), to_ox(o), _graph_ox(g)) for s, p, o, g in removed),
                     (ox.Quad(to_ox(s), to_ox(p), to_ox(o), _graph_ox(g)) for s, p, o, g in added))
        self._basis, lose, gain = current.follow(self, removed, added, self._basis)
        for s, p, o in lose:
            self.ox.remove(ox.Quad(to_ox(s), to_ox(p), to_ox(o), DEFAULT))
        for s, p, o in gain:
            self.ox.add(ox.Quad(to_ox(s), to_ox(p), to_ox(o), DEFAULT))

    # ------------------------------------------------------------------ SPARQL

    def query(self, text: str, *, default_graph=None, named_graphs=None, base_iri: str | None = None):
        """Run SPARQL text (cnkg's prefixes predeclared) and return Oxigraph's result; ``default_graph`` and
        ``named_graphs`` (IRIs) set the dataset, merged as a set (:func:`cnkg.engine.run_query`)."""
        return run_query(self.ox, text, base_iri=base_iri,
                         default_graph=None if default_graph is None else [str(g) for g in default_graph],
                         named_graphs=None if named_graphs is None else [str(g) for g in named_graphs])

    def select(self, text: str, **options) -> Result:
        """A query answered as an rdflib :class:`~rdflib.query.Result` (rows of rdflib terms)."""
        return to_result(self.query(text, **options))


def _sort_key(term) -> tuple:
    return (type(term).__name__, str(term))


def to_result(answer) -> Result:
    """An Oxigraph answer as an rdflib Result: SELECT rows, ASK boolean or CONSTRUCT/DESCRIBE graph."""
    if isinstance(answer, ox.QueryBoolean):
        result = Result("ASK")
        result.askAnswer = bool(answer)
        return result
    if isinstance(answer, ox.QuerySolutions) or hasattr(answer, "variables"):  # or rows read whole (cnkg.remote)
        result = Result("SELECT")
        result.vars = [Variable(v.value) for v in answer.variables]
        convert = converter()
        result.bindings = [{var: convert(value) for var, value in zip(result.vars, row) if value is not None}
                           for row in answer]
        return result
    result = Result("CONSTRUCT")
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    convert = converter()
    for triple in answer:
        graph.add((convert(triple.subject), convert(triple.predicate), convert(triple.object)))
    result.graph = graph
    return result


__all__ = ["TripleStore", "write_store", "to_ox", "from_ox", "to_result", "OX_PREFIXES"]
