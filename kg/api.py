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
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, RDFS, SKOS, Dataset, Graph, Literal, URIRef
from rdflib.query import Result

from . import cache
from .errors import InvalidInput, Problem, closest
from .explain import Explainer
from .extras import require
from .lineage import LineageIndex, LineageReport
from .namespaces import (CNKG, CURATED_GRAPH, FACTS_DIR, ID, INFERRED_GRAPH, META_GRAPH, ONTOLOGY_DIR, ONTOLOGY_GRAPH,
                         QUERIES_DIR, is_landscape_graph)
from .named_queries import NamedQuery, Parameter, literal_parameter, load_named_queries, syntax_problem
from .provenance import Source, sources
from .sparql_text import select_star_order
from .store import TripleStore

# graphs the reasoner does not read: what it wrote itself, and the provenance of the others
NOT_ASSERTED = (INFERRED_GRAPH, META_GRAPH)

# who (originally) developed an entity, shown under its name in lineage pictures and frames
ORGANISATION_PROPERTIES = (CNKG.originallyDevelopedBy, CNKG.developedBy)


@dataclass(frozen=True)
class Change:
    """What :meth:`KnowledgeGraph.update` applied: quads removed and added, the inferred ones included."""

    removed: list[tuple]
    added: list[tuple]
    inferred_added: int
    inferred_removed: int


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

    def __init__(self, store: TripleStore | Dataset, queries_dir: Path = QUERIES_DIR,
                 queries: dict[str, NamedQuery] | None = None, dataset: Dataset | None = None):
        """``store``: the Oxigraph store holding the built dataset (an rdflib Dataset is loaded into an in-memory
        store); ``dataset``: the same data as an rdflib Dataset when the caller already has it."""
        if isinstance(store, Dataset):
            store, dataset = TripleStore.from_dataset(store), store
        self.store = store
        self._dataset = dataset
        self._materialisation = None  # the incremental reasoner's state, made by the first update()
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
        """Remove, then add, quads ``(s, p, o, graph)`` as given, inferred graph included (:meth:`update` keeps the
        inferences exact instead), then :meth:`changed`. A graph opened read-only from the cache first becomes a
        private in-memory copy: the cache is never changed."""
        self._write(removed, added)
        self._materialisation = None  # the reasoner's state no longer matches: rebuilt by the next update()

    def _write(self, removed: Iterable[tuple], added: Iterable[tuple]) -> None:
        removed, added = list(removed), list(added)
        self.store = self.store.writable()
        self.store.apply(removed, added)
        if self._dataset is not None:
            for *triple, graph in removed:
                self._dataset.graph(graph).remove(tuple(triple))
            for *triple, graph in added:
                self._dataset.graph(graph).add(tuple(triple))
        self.changed()

    def update(self, removed: Iterable[tuple] = (), added: Iterable[tuple] = ()) -> Change:
        """Remove, then add, asserted quads ``(s, p, o, graph)``, and keep the inferred graph exactly what a full
        OWL 2 RL re-closure would give (inserts by semi-naive delta, deletes by DRed: :mod:`cnkg.rules`).

        A change that would make the graph inconsistent (e.g. a lineage cycle) raises ``ReasoningError`` naming
        it, and changes nothing. The inferred graph itself is the reasoner's: adding to it is an error, and
        removals from it are left to the reasoner (a triple leaves it when nothing derives it any more)."""
        removed = {tuple(q) for q in removed if q[3] != INFERRED_GRAPH}  # the reasoner decides what leaves it
        added = {tuple(q) for q in added}
        if any(q[3] == INFERRED_GRAPH for q in added):
            raise InvalidInput(f"the inferred graph <{INFERRED_GRAPH}> is kept by the reasoner; state the fact in "
                               "another graph and the inferences follow")
        holding: dict = {}  # triple -> the graphs holding it now: one store read per triple of the change

        def graphs_of(triple) -> set:
            found = holding.get(triple)
            if found is None:
                found = holding[triple] = {g for *_, g in self.store.quads(triple)}
            return found

        removed = {q for q in removed if q[3] in graphs_of(q[:3])}
        added = {q for q in added if q[3] not in graphs_of(q[:3])} - removed

        def asserting(triple) -> set:
            """The graphs that state ``triple`` (what the reasoner reads: not the inferred or meta graph)."""
            return {g for g in graphs_of(triple) if g not in NOT_ASSERTED}

        # the graphs each triple leaves and enters, indexed once: a scan of the change per triple is quadratic
        leaving, entering = defaultdict(set), defaultdict(set)
        for *triple, graph in removed:
            leaving[tuple(triple)].add(graph)
        for *triple, graph in added:
            if graph not in NOT_ASSERTED:
                entering[tuple(triple)].add(graph)

        def asserted_after(triple) -> bool:
            return bool((asserting(triple) - leaving[triple]) | entering[triple])

        appearing = {q[:3] for q in added if q[3] not in NOT_ASSERTED and not asserting(q[:3])}
        vanishing = {q[:3] for q in removed if q[3] not in NOT_ASSERTED and not asserted_after(q[:3])}
        materialisation = self.materialisation
        gained, lost = materialisation.add(appearing)      # raises, state unchanged, when inconsistent
        gained_back, lost_too = materialisation.remove(vanishing)
        inferred_added = (gained - lost_too) | (gained_back - lost)
        inferred_removed = (lost - gained_back) | (lost_too - gained)
        change = Change(removed=sorted(removed, key=str) + [(*t, INFERRED_GRAPH) for t in sorted(inferred_removed)],
                        added=sorted(added, key=str) + [(*t, INFERRED_GRAPH) for t in sorted(inferred_added)],
                        inferred_added=len(inferred_added), inferred_removed=len(inferred_removed))
        if change.removed or change.added:  # nothing changed: same version, caches kept
            self._write(change.removed, change.added)
        return change

    def _holds(self, quad) -> bool:
        return next(self.store.quads(quad), None) is not None

    def _is_entity(self, slug: str) -> bool:
        """Does ``id:slug`` state anything (in a graph other than the inferred or meta graph)?"""
        try:
            ox.NamedNode(str(ID) + slug)
        except ValueError:  # not a valid IRI (a space, a quote): no entity has it
            return False
        return bool(slug) and any(g not in NOT_ASSERTED for *_, g in self.store.quads((ID[slug], None, None, None)))

    @property
    def materialisation(self):
        """The compiled reasoner's state over the asserted graphs, kept across changes (built on first use)."""
        if self._materialisation is None:
            from .rules import Materialisation
            from .reason import is_meaningful

            asserted = ((s, p, o) for s, p, o, g in self.store.quads() if g not in NOT_ASSERTED)
            self._materialisation = Materialisation(asserted, keep=is_meaningful)
        return self._materialisation

    @property
    def dataset(self) -> Dataset:
        """The data as an rdflib Dataset (named graphs; the default graph is their union), for rdflib users.
        Made from the store on first use; queries never need it."""
        if self._dataset is None:
            self._dataset = self.store.to_dataset()
        return self._dataset

    # ------------------------------------------------------------------ names

    @cached_property
    def _names(self) -> dict[str, URIRef]:
        """Lower-cased label, altLabel, notation and id slug -> IRI (labels win over altLabels), from every graph
        that states facts (an entity added by an update is named too); the article's names win over the
        landscapes', which win over any other graph's."""
        def rank(graph) -> int:
            return {ONTOLOGY_GRAPH: 3, CURATED_GRAPH: 2}.get(graph, 1 if is_landscape_graph(graph) else 0)

        entity = str(ID)
        found = []
        for order, pred in enumerate((SKOS.altLabel, SKOS.notation, RDFS.label)):  # later ones override earlier ones
            for subject, _, name, graph in self.store.quads((None, pred, None, None)):
                if graph not in NOT_ASSERTED and isinstance(subject, URIRef) and str(subject).startswith(entity):
                    found.append((rank(graph), order, str(graph), subject, name))
        found.sort()
        names: dict[str, URIRef] = {}
        for *_, subject, name in found:
            names[str(name).lower()] = subject
        for *_, subject, _ in sorted(found, key=lambda f: (-f[0], str(f[3]))):  # slugs: the article's first
            names.setdefault(str(subject)[len(entity):], subject)
        return names

    def label(self, iri) -> str:
        value = self.store.value(iri, RDFS.label)
        return str(value) if value is not None else str(iri)

    def resolve(self, name: str) -> URIRef:
        """An entity IRI from a label, altLabel or id (case-insensitive); a miss suggests the nearest name."""
        text = name.strip()
        if text.startswith(str(ID)):
            text = text[len(str(ID)):]
        found = self._names.get(text.lower())
        if found is not None:
            return found
        if self._is_entity(text):  # an entity without a name yet (an update's)
            return ID[text]
        guess = closest(text, self._names, cutoff=0.6)
        suggestion = self.label(self._names[guess]) if guess else None
        raise InvalidInput([Problem("name", None, f"no entity is named {name!r}", suggestion)])

    # ------------------------------------------------------------------ search

    @cached_property
    def search_index(self):
        """The full-text index of names and descriptions (:mod:`cnkg.search`), built on first use from this
        version of the data and dropped by :meth:`changed`."""
        from .search import SearchIndex

        return SearchIndex(self.store)

    def search(self, text: str, limit: int = 20):
        """Entities whose name (label, altLabel) or description matches ``text``, best first: exact label,
        altLabel, prefix, word, substring, description; case- and accent-insensitive. A
        :class:`cnkg.search.SearchResult` whose ``suggestion`` says "did you mean" when nothing matched."""
        return self.search_index.search(text, limit)

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
            # a category is the article's or, with a landscape imported, one of the landscape's (sub)categories
            classes = (CNKG.Stage,) if param.type == "stage" else (CNKG.Category, CNKG.LandscapeCategory)
            allowed = sorted({self.label(c) for cls in classes[:1] for c in self.store.subjects(RDF.type, cls)})
            iri = self._names.get(value.strip().lower())
            if iri is None or not any((iri, RDF.type, cls) in self.store for cls in classes):
                guess = closest(value, allowed, cutoff=0.6)
                raise InvalidInput([Problem("query", None, f"parameter {param.name!r}: no {param.type} is named "
                                            f"{value!r}; expected one of {', '.join(allowed)}", guess)])
            return iri
        if param.type == "snapshot":
            known = sorted(str(g).rsplit("/", 1)[-1] for g in self.store.graph_names() if is_landscape_graph(g))
            if value.strip() not in known:
                raise InvalidInput([Problem("query", None, f"parameter {param.name!r}: no landscape snapshot is "
                                            f"named {value!r}; imported: {', '.join(known) or 'none'} (see "
                                            "cnkg import-landscape)", closest(value, known, 0.6))])
            return Literal(value.strip())
        return literal_parameter(param, value)

    def query(self, sparql: str | NamedQuery, **params) -> Result:
        """Run a named query (by name) with parameters, or any SPARQL query text over the whole graph (cnkg's
        prefixes predeclared), evaluated by Oxigraph; the answer comes back as an rdflib Result."""
        if isinstance(sparql, str) and re.fullmatch(r"[\w-]+", sparql):
            sparql = self.named_query(sparql)
        if isinstance(sparql, NamedQuery):
            text = sparql.bound(self.bind(sparql, params))
        elif isinstance(sparql, str):
            if params:
                raise InvalidInput("parameters are only accepted by named queries")
            text = sparql
        else:
            raise InvalidInput(f"a query is SPARQL text or the name of a named query, not {type(sparql).__name__}")
        try:
            result = self.store.select(text)
        except SyntaxError as exc:
            raise InvalidInput([syntax_problem("query", text, str(exc))]) from None
        order = select_star_order(text, [str(v) for v in result.vars]) if result.type == "SELECT" else None
        if order is not None:  # SELECT *: the columns in the query's order, as the endpoint writes them
            result.vars = [result.vars[n] for n in order]
        return result

    # ------------------------------------------------------------------ lineage

    @cached_property
    def lineage_index(self) -> LineageIndex:
        return LineageIndex(self.store)

    def lineage(self, name: str) -> LineageReport:
        return self.lineage_index.report(self.resolve(name))

    def lineage_chains(self):
        return self.lineage_index.all_chains()

    # ------------------------------------------------------------------ data frames (pandas, networkx)

    def sparql(self, sparql: str | NamedQuery, **params):
        """Like :meth:`query` (a named query with parameters, or SPARQL text), as a pandas DataFrame."""
        require("graph.sparql() (a DataFrame)", "notebooks", "pandas", "networkx")
        from .frames import to_dataframe  # pandas, networkx and matplotlib load only when asked for (~1 s)

        return to_dataframe(self.query(sparql, **params))

    def _chains(self, name: str | None):
        if name is None:
            return self.lineage_chains()
        report = self.lineage(name)
        return report.ancestors + report.descendants

    def lineage_frame(self, name: str | None = None):
        """The lineage chains of ``name`` (every chain in the graph when None) as a DataFrame with the columns
        descendant, ancestor, path (oldest first), hops, relations, sources (with their confidence) and
        source_urls; one row per distinct path."""
        require("graph.lineage_frame() (a DataFrame)", "notebooks", "pandas", "networkx")
        from .frames import lineage_frame

        return lineage_frame(self._chains(name), self.label, self.lineage_index.citation)

    def lineage_digraph(self, name: str | None = None):
        """The lineage of ``name`` (the whole lineage when None) as a networkx DiGraph: nodes keyed by IRI string
        with ``label``, ``types`` and ``organisations``; edges from ancestor to descendant with ``relation``
        and ``sources``."""
        require("the lineage graph (a networkx DiGraph)", "diagrams", "networkx")
        from .frames import lineage_digraph

        return lineage_digraph(self._chains(name), self.label, self.node_attributes, self.lineage_index.citation)

    def lineage_diagram(self, name: str | None = None):
        """A :class:`cnkg.diagram.LineageDiagram` of ``name`` (every family when None; SVG/PNG, shown inline in
        notebooks)."""
        require("the lineage diagram", "diagrams", "networkx", "matplotlib")
        from .diagram import LineageDiagram

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
            for org in sorted(self.store.objects(iri, prop)):
                names.setdefault(self.label(org), None)
        return list(names)

    def node_attributes(self, iri: URIRef) -> dict:
        """``label``, ``types`` (local names of its curated classes, sorted) and ``organisations`` of an entity."""
        types = sorted(str(t).rsplit("#", 1)[-1] for _, _, t, _ in self.store.quads((iri, RDF.type, None, CURATED_GRAPH)))
        return {"label": self.label(iri), "types": types, "organisations": self.organisations(iri)}

    # ------------------------------------------------------------------ views

    def graph(self, include_inferred: bool = True) -> Graph:
        """All triples (optionally without the inferred ones) as one plain graph."""
        from .build import union_graph

        return union_graph(self.dataset, exclude=() if include_inferred else (INFERRED_GRAPH,))

    def counts(self) -> Counts:
        sizes = self.store.graph_sizes()
        inferred, ontology = sizes.get(INFERRED_GRAPH, 0), sizes.get(ONTOLOGY_GRAPH, 0)
        total = sum(sizes.values())
        return Counts(
            triples=total,
            asserted=total - inferred - ontology - sizes.get(META_GRAPH, 0),
            inferred=inferred,
            ontology=ontology,
            entities=self.store.count("SELECT DISTINCT ?e { ?e a cnkg:Entity }"),
            projects=self.store.count("SELECT DISTINCT ?e { ?e a cnkg:Project }"),
            graphs=len(sizes),
        )

    def sources_of(self, triple) -> list[str]:
        """Titles of the sections stating ``triple``, or ``["inferred (OWL 2 RL)"]`` / ``["curated"]``."""
        return sorted({source.title for source in self.provenance(triple)})

    def provenance(self, triple) -> list[Source]:
        """Every graph stating ``triple``, with its section (and document), or curated / ontology / inferred."""
        return sources(self.store, triple, self.label)

    # ------------------------------------------------------------------ explanation

    @cached_property
    def explainer(self) -> Explainer:
        return Explainer(self.store, self.lineage_index, self.label)

    def explain(self, s, p, o) -> dict | None:
        """Why ``(s, p, o)`` holds: the OWL 2 RL rule, its premises (explained in turn when inferred) and the
        sections stating the asserted ones, as JSON-ready data; None when the graph does not hold it."""
        return self.explainer.explain(s, p, o)


def load(facts_dir: Path = FACTS_DIR, ontology_dir: Path = ONTOLOGY_DIR, queries_dir: Path = QUERIES_DIR,
         use_cache: bool = True, cache_dir: Path | None = None, landscapes: list | None = None,
         progress: bool | None = None, reasoner: str = "rules") -> KnowledgeGraph:
    """The reasoned graph: the cached on-disk store when the inputs are unchanged (opened read-only in
    milliseconds), else built and written to the cache first; ``use_cache=False`` builds into memory.

    ``landscapes``: the landscape snapshots to include (``imports.Snapshot``, newest first); None means every
    snapshot imported with ``cnkg import-landscape``, ``[]`` none (the article alone). ``reasoner``: ``"rules"``
    (the compiled OWL 2 RL reasoner) or ``"owlrl"`` (the reference); each has its own cache entry."""
    if landscapes is None:
        from . import imports  # the landscape reader (PyYAML) only when snapshots may be included

        landscapes = imports.imported()
    queries = load_named_queries(queries_dir)
    if not use_cache:
        from .pipeline import build  # the build pipeline (owlrl, pySHACL) loads only when something is built

        report = build(facts_dir, ontology_dir, landscapes=landscapes, progress=progress, reasoner=reasoner)
        return KnowledgeGraph(report.store, queries_dir, queries)
    key = cache.fingerprint(facts_dir, ontology_dir, landscapes, reasoner=reasoner)
    store = cache.open_cached(key, cache_dir)
    if store is None:
        from .pipeline import build

        store = build(facts_dir, ontology_dir, landscapes=landscapes, progress=progress, reasoner=reasoner,
                      store_path=cache.writable_path(key, cache_dir)).store
    return KnowledgeGraph(store, queries_dir, queries)


def connect(query_url: str, update_url: str | None = None, *, timeout: float = 60.0,
            queries_dir: Path = QUERIES_DIR) -> KnowledgeGraph:
    """The graph a ``cnkg push`` sent to a SPARQL server, read through its query endpoint: the same API as
    :func:`load` (queries, lineage, explanations, search, frames), every read a SPARQL request. With
    ``update_url``, :meth:`KnowledgeGraph.update` writes there, the inferred delta included. Credentials come from
    the environment (:meth:`cnkg.remote.Credentials.from_env`)."""
    from .remote import RemoteStore

    return KnowledgeGraph(RemoteStore(query_url, update_url, timeout=timeout), queries_dir)


__all__ = ["KnowledgeGraph", "Counts", "Change", "load", "connect"]
