"""SPARQL over a pyoxigraph store with cnkg's dataset semantics, in plain pyoxigraph terms (no rdflib), so the
query workers that run it stay small.

The dataset a query sees: the store's default graph (which holds the distinct union of the named graphs, see
:mod:`cnkg.store`), or the graphs ``FROM`` / ``FROM NAMED`` or the protocol parameters name. Oxigraph 0.5 merges
several default graphs as a bag (a triple counted once per graph holding it, oxigraph#1919), so such a merge is
built here, as a set, in a temporary in-memory store.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from .iris import PREFIX_IRIS
from .query_rewrite import rewrite
from .sparql_text import dataset_clauses

DEFAULT = ox.DefaultGraph()


def run_query(store: ox.Store, text: str, *, default_graph: list[str] | None = None,
              named_graphs: list[str] | None = None, base_iri: str | None = None):
    """Oxigraph's answer to ``text`` (cnkg's prefixes predeclared). ``default_graph``: graph IRIs merged as a set
    into the default graph instead of the whole dataset; ``named_graphs``: the graphs ``GRAPH`` may see. Given
    either, they win over the query's own ``FROM`` / ``FROM NAMED`` (SPARQL 1.1 Protocol §2.1.4). Where
    Oxigraph departs from the spec, the query is first rewritten or refused (:mod:`cnkg.query_rewrite`)."""
    text = rewrite(text)
    # a FROM clause is a word the lexer upper-cases to FROM, so the upper-cased text holds it: a text without one
    # (most queries) is not lexed again here (the lexer's pass was a twentieth of a worker's time per query)
    clauses = dataset_clauses(text, PREFIX_IRIS) if "FROM" in text.upper() else None
    if clauses is not None and (clauses.default or clauses.named):
        text = clauses.text  # the dataset is built here, as a set
        if default_graph is None and named_graphs is None:
            default_graph, named_graphs = clauses.default, clauses.named
    if default_graph is not None and named_graphs is None:
        named_graphs = []  # a dataset given by default graphs alone has no named graphs (SPARQL 1.1 §13.2)
    elif named_graphs is not None and default_graph is None:
        default_graph = []  # ... and one given by named graphs alone has an empty default graph
    named = None if named_graphs is None else [ox.NamedNode(g) for g in named_graphs]
    default = None
    if default_graph is not None:
        graphs = [ox.NamedNode(g) for g in default_graph]
        if len(graphs) > 1:
            store, named = merged(store, graphs, named or []), named or []
        else:
            default = graphs
    return store.query(text, prefixes=PREFIX_IRIS, base_iri=base_iri, default_graph=default, named_graphs=named)


_ERROR_AT = re.compile(r"^error at (\d+):(\d+): (.*)$", re.S)


def syntax_error(message: str) -> tuple[int | None, int | None, str]:
    """Line, column and message of an Oxigraph syntax error (``error at LINE:COLUMN: message``); no position when
    the message gives none."""
    match = _ERROR_AT.match(message.strip())
    return (int(match[1]), int(match[2]), match[3]) if match else (None, None, message)


def apply_change(store: ox.Store, removed: Iterable[ox.Quad] = (), added: Iterable[ox.Quad] = ()) -> None:
    """Remove, then add, named-graph quads, keeping the default graph the exact union of the named graphs: a triple
    leaves it only when no named graph holds it any more."""
    touched = set()
    for quad in removed:
        store.remove(quad)
        touched.add((quad.subject, quad.predicate, quad.object))
    for quad in added:
        triple = (quad.subject, quad.predicate, quad.object)
        store.add(quad)
        store.add(ox.Quad(*triple, DEFAULT))
        touched.discard(triple)
    for triple in touched:
        if not any(not isinstance(q.graph_name, ox.DefaultGraph) for q in store.quads_for_pattern(*triple)):
            store.remove(ox.Quad(*triple, DEFAULT))


def merged(store: ox.Store, default: list, named: list) -> ox.Store:
    """An in-memory store whose default graph is the set union of the ``default`` graphs and which holds the
    ``named`` graphs."""
    out = ox.Store()
    for graph in default:
        out.extend(ox.Quad(q.subject, q.predicate, q.object, DEFAULT)
                   for q in store.quads_for_pattern(None, None, None, graph))
    for graph in named:
        out.extend(store.quads_for_pattern(None, None, None, graph))
    return out


def open_snapshot(path: str | Path) -> ox.Store:
    """A published snapshot (:meth:`cnkg.store.TripleStore.publish`), read-only: an on-disk store directory, or an
    N-Quads file loaded into memory (its ``# graph <iri>`` lines name every named graph, empty ones included)."""
    path = Path(path)
    if path.is_dir():
        return ox.Store.read_only(str(path))
    store = ox.Store()
    data = path.read_bytes()
    store.load(data, format=ox.RdfFormat.N_QUADS)
    for line in data.splitlines():
        if line.startswith(b"# graph <"):
            store.add_graph(ox.NamedNode(line[9:-1].decode()))
    return store


__all__ = ["run_query", "merged", "apply_change", "syntax_error", "open_snapshot", "PREFIX_IRIS"]
