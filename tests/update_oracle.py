"""A second implementation of cnkg's update semantics, on rdflib's SPARQL algebra: the oracle the tests compare
:mod:`cnkg.sparql_update` with (it was the endpoint's update path before updates moved to Oxigraph).

It runs a request against an rdflib ``Dataset`` and returns the net change; the meanings are cnkg's (triples
inserted outside ``GRAPH`` go to the updates graph, triples deleted outside ``GRAPH`` leave every graph but the
inferred one, which ``ALL`` and ``NAMED`` leave out too: the reasoner keeps it)."""
from __future__ import annotations

from dataclasses import dataclass, field

import rdflib.plugins.sparql
from rdflib import BNode, Dataset, Literal, URIRef, Variable
from rdflib.plugins.sparql.algebra import BGP, Join, translateUpdate
from rdflib.plugins.sparql.algebra import Graph as GraphPattern
from rdflib.plugins.sparql.evaluate import evalPart
from rdflib.plugins.sparql.evalutils import _fillTemplate
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import QueryContext, Update

from cnkg.namespaces import INFERRED_GRAPH, PREFIXES
from cnkg.server.update import UPDATES_GRAPH

rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False  # USING a graph the dataset lacks must never fetch it


class Refused(ValueError):
    """A request the oracle will not run (LOAD, DEFAULT as a target, a protocol dataset with USING/WITH)."""


# ---------------------------------------------------------------------------------------------- parse and check

@dataclass
class CheckedUpdate:
    update: Update
    operations: list[str]  # the operation names, in order (InsertData, Modify, ...)


def parse_update(text: str, base: str | None, using: list[URIRef], using_named: list[URIRef]) -> CheckedUpdate:
    """Parse, translate and refuse what must not run (LOAD, SERVICE, DEFAULT as a graph-management target, a
    protocol dataset combined with USING/WITH), all before any evaluation."""
    parsed = parseUpdate(text)
    update = translateUpdate(parsed, base=base, initNs=_predeclared(parsed))
    for op in update.algebra:
        if op.name == "Load":
            raise Refused(f"LOAD {op.iri.n3()} is not allowed: this endpoint never fetches remote data; "
                                "send the triples with INSERT DATA instead")
        if op.name in ("Clear", "Drop") and op.graphiri == "DEFAULT":
            raise Refused(f"{op.name.upper()} DEFAULT is not supported: the default graph is the union of "
                                f"every graph. Name the graph (e.g. {op.name.upper()} GRAPH <{UPDATES_GRAPH}>) "
                                "or use ALL")
        if op.name in ("Add", "Copy", "Move") and "DEFAULT" in op.graph:
            raise Refused(f"{op.name.upper()} with DEFAULT is not supported: the default graph is the union "
                                "of every graph; name the graphs")
        if (using or using_named) and (_field(op, "using") or _field(op, "withClause") is not None):
            raise Refused("using-graph-uri / using-named-graph-uri cannot be combined with USING or WITH in "
                                "the update (SPARQL 1.1 Protocol §2.2.3); use one or the other")
    return CheckedUpdate(update, [op.name for op in update.algebra])


def _predeclared(parsed) -> dict:
    """The project prefixes (cnkg:, rdfs: ...) the update does not declare itself. rdflib binds ``initNs`` again for
    every operation of a request, which unbinds a prefix the text declared for the same namespace under another
    name (``PREFIX dc: <http://purl.org/dc/terms/>`` against our ``dct:``)."""
    declared = [x for prologue in parsed.prologue or [] for x in prologue if x.name == "PrefixDecl"]
    names, iris = {x.prefix for x in declared}, {str(x.iri) for x in declared}
    return {k: v for k, v in PREFIXES.items() if k not in names and str(v) not in iris}


# ---------------------------------------------------------------------------------------------- evaluate

@dataclass
class Change:
    """The net effect of one update request: quads ``(s, p, o, graph)`` to remove, then to add."""

    added: set = field(default_factory=set)
    removed: set = field(default_factory=set)


class _Recorder:
    """Applies changes to the (child's copy of the) dataset and records their net effect."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.change = Change()

    # Membership and changes go through the named graph: ``quad in dataset`` ignores a graph it does not hold.

    def add(self, triple, graph) -> None:
        s, p, o = triple
        if (isinstance(s, Literal) or not isinstance(p, URIRef) or graph is None
                or any(isinstance(term, Variable) for term in (s, p, o, graph))):
            return  # not a valid RDF triple (an unbound or misplaced term in a template): skipped, as §3.1.3 says
        quad = (s, p, o, graph)
        target = self.dataset.graph(graph)
        if triple in target:
            return
        target.add(triple)
        if quad in self.change.removed:
            self.change.removed.discard(quad)
        else:
            self.change.added.add(quad)

    def remove(self, triple, graph) -> None:
        if graph is None:
            return
        quad = (*triple, graph)
        target = self.dataset.graph(graph)
        if triple not in target:
            return
        target.remove(triple)
        if quad in self.change.added:
            self.change.added.discard(quad)
        else:
            self.change.removed.add(quad)

    def remove_everywhere(self, triple) -> None:
        """Delete from the (union) default graph: from every graph stating the triple (the inferred graph is the
        reasoner's: it keeps what it still derives)."""
        for *_, graph in list(self.dataset.quads((*triple, None))):
            name = getattr(graph, "identifier", graph)
            if name != INFERRED_GRAPH:
                self.remove(triple, name)

    def graph_names(self, target) -> list:
        if target in ("ALL", "NAMED"):  # every graph but the reasoner's
            return [c.identifier for c in self.dataset.graphs() if c.identifier != INFERRED_GRAPH]
        return [target]

    def clear(self, name) -> None:
        for triple in list(self.dataset.graph(name)):
            self.remove(triple, name)


def apply(dataset: Dataset, checked: CheckedUpdate, using: list[URIRef], using_named: list[URIRef]) -> Change:
    """Run every operation in order against ``dataset`` (the worker's own copy) and return the net change.

    An operation that fails aborts the request (nothing reaches the served dataset), unless it is SILENT.
    """
    recorder = _Recorder(dataset)
    for op in checked.update.algebra:
        try:
            _operation(recorder, op, using, using_named)
        except Refused:
            raise
        except Exception:
            if not _field(op, "silent"):
                raise
    return recorder.change


def _operation(rec: _Recorder, op: CompValue, using: list[URIRef], using_named: list[URIRef]) -> None:
    name = op.name
    if name == "InsertData":
        for triple in op.triples:
            rec.add(triple, UPDATES_GRAPH)
        for graph, triples in op.quads.items():
            for triple in triples:
                rec.add(triple, graph)
    elif name == "DeleteData":
        for triple in op.triples:
            rec.remove_everywhere(triple)
        for graph, triples in op.quads.items():
            for triple in triples:
                rec.remove(triple, graph)
    elif name == "DeleteWhere":
        where = BGP(op.triples)
        for graph, triples in op.quads.items():
            where = Join(where, GraphPattern(graph, BGP(triples)))
        _modify(rec, op, where, delete=op, insert=None, using=[], using_named=[])
    elif name == "Modify":
        _modify(rec, op, op.where, delete=_field(op, "delete"), insert=_field(op, "insert"), using=using,
                using_named=using_named)
    elif name in ("Clear", "Drop"):
        for graph in rec.graph_names(op.graphiri):
            rec.clear(graph)
    elif name == "Create":
        if len(rec.dataset.graph(op.graphiri)) and not _field(op, "silent"):
            raise Refused(f"CREATE GRAPH {op.graphiri.n3()}: the graph already exists (use CREATE SILENT)")
    elif name in ("Add", "Copy", "Move"):
        source, target = op.graph
        if source == target:
            return
        triples = list(rec.dataset.graph(source))
        if name != "Add":
            rec.clear(target)
        for triple in triples:
            rec.add(triple, target)
        if name == "Move":
            rec.clear(source)
    else:  # LOAD is refused by parse_update
        raise Refused(f"the update operation {name} is not supported by this endpoint")


def _modify(rec: _Recorder, op: CompValue, where, delete, insert, using, using_named) -> None:
    """DELETE/INSERT ... WHERE (§3.1.3): evaluate WHERE once, then delete every instantiated template, then insert."""
    dataset = rec.dataset
    clauses = [CompValue("DatasetClause", default=iri) for iri in using]
    clauses += [CompValue("DatasetClause", named=iri) for iri in using_named]
    for clause in _field(op, "using") or []:
        clauses.append(CompValue("DatasetClause", default=clause.default) if clause.default is not None
                       else CompValue("DatasetClause", named=clause.named))
    with_graph = _field(op, "withClause")
    if clauses:  # USING: the WHERE dataset is exactly these graphs (copied; loading is off, unknown ones are empty)
        ctx = QueryContext(dataset, initBindings={}, datasetClause=clauses)
    else:
        ctx = QueryContext(dataset, initBindings={})  # the union default graph, as for queries
        if with_graph is not None:
            ctx = ctx.pushGraph(dataset.graph(with_graph))
    ctx.prologue = op.prologue
    solutions = list(evalPart(ctx, where))
    deletes, inserts = [], []
    for solution in solutions:
        for clause, out in ((delete, deletes), (insert, inserts)):
            if clause is None:
                continue
            for triple in _fillTemplate(_field(clause, "triples") or [], solution):
                out.append((triple, with_graph))
            for graph, template in (_field(clause, "quads") or {}).items():
                name = solution.get(graph) if isinstance(graph, Variable) else graph
                if isinstance(name, (URIRef, BNode)):
                    for triple in _fillTemplate(template, solution):
                        out.append((triple, name))
    for triple, graph in deletes:
        if graph is None:
            rec.remove_everywhere(triple)
        else:
            rec.remove(triple, graph)
    for triple, graph in inserts:
        rec.add(triple, UPDATES_GRAPH if graph is None else graph)


def _field(node: CompValue, name: str):
    """A field of an algebra node, or None. (``CompValue.get`` returns the *name* of a missing field.)"""
    return dict.get(node, name)
