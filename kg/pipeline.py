"""The build pipeline: read and check facts (and imported landscapes), build named graphs, reason, validate."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rdflib import Dataset, URIRef

from .align import Alignment, align
from .build import build_dataset
from .landscape import Landscape, read_landscape
from .landscape_graph import add_snapshot, blame
from .errors import InvalidInput, Problem, ShapeViolation
from .namespaces import FACTS_DIR, META_GRAPH, ONTOLOGY_DIR
from .vocabulary import Vocabulary, read_ontology
from .progress import Steps
from .quadset import QuadSet
from .reason import reason_quads
from .records import FactSet, read_facts
from .shapes import check_shapes, read_shapes
from .store import TripleStore


@dataclass
class BuildReport:
    facts: FactSet
    store: TripleStore          # the built data in an Oxigraph store (in memory, or the on-disk one written)
    seconds: dict[str, float] = field(default_factory=dict)
    landscapes: list[tuple[object, Landscape]] = field(default_factory=list)   # (imports.Snapshot, Landscape)
    alignment: Alignment | None = None

    @cached_property
    def dataset(self) -> Dataset:
        """The built data as an rdflib Dataset, read from the store when first asked for (the build itself holds
        its triples in a compact form: :mod:`cnkg.quadset`)."""
        return self.store.to_dataset()


def read_snapshot(snapshot) -> Landscape:
    """An imported snapshot (``imports.Snapshot``) read from its copy. The copy was checked at import, under the
    limit given then (``cnkg import-landscape --max-size``), and found since to match the hash recorded: it is read
    at most at that size (no more than was checked), so a file deliberately imported over 16 MiB builds. A
    snapshot without a size is read under the default limit."""
    return read_landscape(snapshot.path, max_bytes=snapshot.size)


def add_landscapes(quads: QuadSet, article: Dataset, snapshots: list,
                   landscapes: list[Landscape] | None = None) -> Alignment:
    """Add the snapshots (``imports.Snapshot``, newest first) to ``quads``, which holds the article's graphs
    (``article``: the same as an rdflib dataset)."""
    landscapes = landscapes or [read_snapshot(s) for s in snapshots]
    named = [(s.info.name, landscape) for s, landscape in zip(snapshots, landscapes)]
    alignment = align(named, article)
    newest_label: dict[URIRef, str] = {}
    for name, landscape in reversed(named):          # oldest first, so the newest name wins
        for position, item in enumerate(landscape.items):
            iri = alignment.item_iris[(name, position)]
            if iri not in alignment.article_entities:
                newest_label[iri] = item.name
    for snapshot, landscape in zip(snapshots, landscapes):
        add_snapshot(quads, article, snapshot.info, landscape, alignment, newest_label)
    return alignment


def build(facts_dir: Path = FACTS_DIR, ontology_dir: Path = ONTOLOGY_DIR, validate_shapes: bool = True,
          landscapes: list | None = None, progress: bool | None = None, reasoner: str = "rules",
          validator: str = "sparql", store_path: Path | None = None) -> BuildReport:
    """Run the whole pipeline; raises ``InvalidInput`` (or a subclass) before anything is returned.

    ``landscapes`` are ``imports.Snapshot`` records, newest first. ``progress`` shows the steps on a terminal
    (None: only when standard error is one and not in CI). ``reasoner`` is ``"rules"`` (compiled, the default) or
    ``"owlrl"`` (the reference); see ``cnkg.reason``. ``validator``: ``"sparql"`` (the shapes compiled to SPARQL,
    the default) or ``"pyshacl"`` (the reference); see ``cnkg.shapes``. ``store_path``: where to write the
    on-disk store (atomically, and only when every check passed); None keeps it in memory."""
    snapshots = list(landscapes or [])
    steps = Steps(["facts", *(f"landscape {s.info.name}" for s in snapshots), "reason", "store and shapes"], progress)
    seconds = {}
    start = time.perf_counter()
    with steps:
        steps.begin("facts")
        ontology = read_ontology(ontology_dir)
        facts = read_facts(Vocabulary(ontology), facts_dir)
        article = build_dataset(facts, ontology)
        quads = QuadSet.of(article)
        read = []
        for snapshot in snapshots:
            steps.begin(f"landscape {snapshot.info.name}")
            read.append(read_snapshot(snapshot))
        alignment = add_landscapes(quads, article, snapshots, read) if snapshots else None
        del article
        seconds["load"] = time.perf_counter() - start

        steps.begin("reason")
        start = time.perf_counter()
        try:
            reason_quads(quads, reasoner)
            seconds["reason"] = time.perf_counter() - start

            # the shapes constrain the union of every graph but the build's own metadata: they are checked on the
            # store being filled, when it holds just that, before the metadata goes in
            steps.begin("store and shapes")
            start = time.perf_counter()
            shapes = read_shapes(ontology_dir) if validate_shapes else None

            def validate(store) -> None:
                begun = time.perf_counter()
                check_shapes(store, shapes, validator)
                seconds["shapes"] = time.perf_counter() - begun

            store = TripleStore.from_dataset(quads, last=[META_GRAPH], between=validate if shapes else None,
                                             path=store_path)
        except InvalidInput as exc:
            if not snapshots:
                raise
            raise landscape_failure(exc, snapshots, read, alignment) from None
        seconds["store"] = time.perf_counter() - start - seconds.get("shapes", 0.0)
    return BuildReport(facts, store, seconds, list(zip(snapshots, read)), alignment)


def landscape_failure(exc: InvalidInput, snapshots: list, landscapes: list[Landscape],
                      alignment: Alignment) -> InvalidInput:
    """``exc`` (the graph with landscape snapshots failed its checks) with every SHACL result that concerns a
    snapshot's item written as a problem in that snapshot's file (item, field, line, what the shape expects), and,
    for each imported snapshot concerned, how to get a working service back. The same class as ``exc``;
    ``snapshots``: the names concerned (an import refuses its file whole when its name is among them)."""
    violations = getattr(exc, "violations", [])
    attributed, concerned, rest = blame(violations, snapshots, landscapes, alignment)
    if concerned:
        problems = attributed + [Problem("SHACL shapes", None, f"{v.focus}: {v.message}") for v in rest]
    else:
        problems = list(exc.problems)      # nothing names an item (e.g. a reasoning failure): as found
    imported = [s.info.name for s in snapshots if s.path.with_suffix(".json").exists()]
    for name in imported:
        if name in concerned:
            message = (f"this imported snapshot does not pass the build's checks (imported with an earlier version "
                       f"of cnkg?): remove it with 'cnkg landscapes --remove {name}' (or run with --no-landscapes), "
                       "then import the file again to see what to fix")
        elif not concerned:
            message = (f"the graph includes this imported snapshot: if the problems came with it, 'cnkg "
                       f"--no-landscapes ...' runs without it and 'cnkg landscapes --remove {name}' removes it")
        else:
            continue
        problems.append(Problem(f"landscape snapshot {name!r}", None, message))
    failure = ShapeViolation(problems, violations) if isinstance(exc, ShapeViolation) else type(exc)(problems)
    failure.snapshots = concerned
    return failure
