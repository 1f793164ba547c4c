"""SPARQL 1.1 Update (Protocol §2.2), off unless the server is started with ``cnkg serve --allow-update``.

* **Auth.** Off: every update is refused with 403 (read-only endpoint). On: a request must carry
  ``Authorization: Bearer <UPDATE_TOKEN>`` (compared in constant time), else 401 with ``WWW-Authenticate``.
* **Safety.** Checked before anything is evaluated: ``LOAD`` and ``SERVICE`` are refused (400): the endpoint never
  opens a connection. ``USING`` / protocol ``using-graph-uri`` graphs are read from the dataset only (loading is
  switched off in :mod:`cnkg.server.safety`); a graph it does not hold is empty.
* **The default graph.** Reads (``WHERE``) see the union of all graphs, as queries do. Triples written outside a
  ``GRAPH`` clause go into the named graph :data:`UPDATES_GRAPH` (rdflib 7.6 cannot insert into the default graph
  of a ``Dataset``, and the served default graph is a union anyway); triples deleted outside a ``GRAPH`` clause
  are removed from every graph holding them, so they are gone from the default graph. ``WITH <g>`` makes ``<g>``
  the target of both. ``CLEAR``/``DROP DEFAULT`` and ``ADD``/``COPY``/``MOVE`` involving ``DEFAULT`` are refused
  (400): name the graph. ``CREATE`` is accepted; graphs exist as soon as they hold a triple.
* **Evaluation.** Updates are still computed by rdflib over an rdflib copy of the data (queries are answered by
  Oxigraph). A forked worker (:class:`cnkg.server.worker.Evaluator`, with the query timeout) runs the whole request
  against its copy-on-write copy of the dataset and sends back the net change; the parent then applies it in one
  step under the write lock, serialised with every other update. A request is atomic: if any operation fails
  (and is not ``SILENT``), nothing is applied.
* **Inferences.** The inferred graph follows every update exactly (:meth:`cnkg.KnowledgeGraph.update`: the
  compiled reasoner's semi-naive insert and DRed delete); an update that would make the graph inconsistent, such
  as a lineage cycle, is refused with 409 and changes nothing. The inferred graph itself cannot be written (400).
* **What it does not do.** Changes live in memory only: they are not written to the cache or the fact files and
  are gone when the server stops.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field

import rdflib.plugins.sparql
from flask import current_app, request
from pyparsing import ParseBaseException, ParseException
from rdflib import BNode, Dataset, Literal, URIRef, Variable
from rdflib.plugins.sparql.algebra import BGP, Join, translateUpdate
from rdflib.plugins.sparql.algebra import Graph as GraphPattern
from rdflib.plugins.sparql.evaluate import evalPart
from rdflib.plugins.sparql.evalutils import _fillTemplate
from rdflib.plugins.sparql.parser import Prologue, Update1, expandUnicodeEscapes, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import QueryContext, Update

from ..namespaces import GRAPH, PREFIXES

from ..errors import InvalidInput, ReasoningError
from ..rules import UnsupportedConstruct
from .errors import (ApiError, BadRequest, Conflict, EvaluationFailed, MalformedQuery, NotSupported, ReadOnly, RefusedLoad,
                     Unauthorized)
from .safety import READ_ONLY, refuse_service

# Defence in depth: USING naming a graph we do not hold must never make rdflib fetch it.
rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False

UPDATES_GRAPH = GRAPH["updates"]
NOTE = ("the inferred graph follows the change (OWL 2 RL, maintained incrementally). Changes live in memory only and "
        "are lost when the server stops")


# ---------------------------------------------------------------------------------------------- auth

def authorize() -> None:
    """403 when updates are off; 401 (with ``WWW-Authenticate: Bearer``) without the right bearer token."""
    config = current_app.config
    if not config["ALLOW_UPDATE"]:
        raise ReadOnly(READ_ONLY + " (the server was started without --allow-update)")
    expected = config["UPDATE_TOKEN"] or ""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("SPARQL Update needs authorisation: send the header 'Authorization: Bearer <token>' "
                           "with the token the server was started with (--update-token or CNKG_UPDATE_TOKEN)",
                           headers={"WWW-Authenticate": 'Bearer realm="cnkg-update"'})
    if not hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8")):
        raise Unauthorized("wrong bearer token for SPARQL Update",
                           headers={"WWW-Authenticate": 'Bearer realm="cnkg-update", error="invalid_token"'})


# ---------------------------------------------------------------------------------------------- parse and check

@dataclass
class CheckedUpdate:
    update: Update
    operations: list[str]  # the operation names, in order (InsertData, Modify, ...)


def parse_update(text: str, base: str | None, using: list[URIRef], using_named: list[URIRef]) -> CheckedUpdate:
    """Parse, translate and refuse what must not run (LOAD, SERVICE, DEFAULT as a graph-management target, a
    protocol dataset combined with USING/WITH), all before any evaluation."""
    refuse_service(text)
    try:
        parsed = parseUpdate(text)
    except RecursionError:
        raise MalformedQuery("update is nested too deeply for this endpoint's SPARQL parser; flatten it") from None
    except ParseBaseException as exc:
        exc = _locate(text) or exc
        raise MalformedQuery(f"malformed SPARQL update at line {exc.lineno}, column {exc.col}: {exc.msg}") from None
    try:
        update = translateUpdate(parsed, base=base, initNs=_predeclared(parsed))
    except ParseBaseException as exc:
        raise MalformedQuery(f"malformed SPARQL update at line {exc.lineno}, column {exc.col}: {exc.msg}") from None
    except Exception as exc:  # rdflib reports some errors (e.g. an unknown prefix) as plain Exception
        raise MalformedQuery(f"invalid SPARQL update: {exc}") from None
    for op in update.algebra:
        if op.name == "Load":
            raise RefusedLoad(f"LOAD {op.iri.n3()} is not allowed: this endpoint never fetches remote data; "
                                "send the triples with INSERT DATA instead")
        if op.name in ("Clear", "Drop") and op.graphiri == "DEFAULT":
            raise BadRequest(f"{op.name.upper()} DEFAULT is not supported: the default graph is the union of "
                                f"every graph. Name the graph (e.g. {op.name.upper()} GRAPH <{UPDATES_GRAPH}>) "
                                "or use ALL")
        if op.name in ("Add", "Copy", "Move") and "DEFAULT" in op.graph:
            raise BadRequest(f"{op.name.upper()} with DEFAULT is not supported: the default graph is the union "
                                "of every graph; name the graphs")
        if (using or using_named) and (_field(op, "using") or _field(op, "withClause") is not None):
            raise BadRequest("using-graph-uri / using-named-graph-uri cannot be combined with USING or WITH in "
                                "the update (SPARQL 1.1 Protocol §2.2.3); use one or the other")
    return CheckedUpdate(update, [op.name for op in update.algebra])


def _predeclared(parsed) -> dict:
    """The project prefixes (cnkg:, rdfs: ...) the update does not declare itself. rdflib binds ``initNs`` again for
    every operation of a request, which unbinds a prefix the text declared for the same namespace under another
    name (``PREFIX dc: <http://purl.org/dc/terms/>`` against our ``dct:``)."""
    declared = [x for prologue in parsed.prologue or [] for x in prologue if x.name == "PrefixDecl"]
    names, iris = {x.prefix for x in declared}, {str(x.iri) for x in declared}
    return {k: v for k, v in PREFIXES.items() if k not in names and str(v) not in iris}


_SEPARATOR = re.compile(r"(?:\s|#[^\n]*)*;")
_TRAILER = re.compile(r"(?:\s|#[^\n]*)*")


def _locate(text: str) -> ParseBaseException | None:
    """Where an update really fails. rdflib's grammar wraps each operation in Optional, so pyparsing reports every
    error at line 1, column 1; parsing one operation at a time finds the position (None if it cannot)."""
    step = Prologue + Update1
    text = expandUnicodeEscapes(text)
    loc = 0
    try:
        while True:
            loc, _ = step._parse(text, loc)
            separator = _SEPARATOR.match(text, loc)
            if separator is None:
                break
            loc = separator.end()
            if _TRAILER.fullmatch(text, loc):
                return None  # a trailing ';' is allowed
        loc = _TRAILER.match(text, loc).end()
        if loc < len(text):
            return ParseException(text, loc, "expected ';' or the end of the update")
    except ParseBaseException as exc:
        return exc
    except Exception:
        return None
    return None


# ---------------------------------------------------------------------------------------------- evaluate (in the child)

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
        """Delete from the (union) default graph: from every graph holding the triple."""
        for *_, graph in list(self.dataset.quads((*triple, None))):
            self.remove(triple, getattr(graph, "identifier", graph))

    def graph_names(self, target) -> list:
        if target in ("ALL", "NAMED"):
            return [c.identifier for c in self.dataset.contexts()]
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
        except ApiError:
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
            raise EvaluationFailed(f"CREATE GRAPH {op.graphiri.n3()}: the graph already exists (use CREATE SILENT)")
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
        raise NotSupported(f"the update operation {name} is not supported by this endpoint")


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


# ---------------------------------------------------------------------------------------------- commit (in the parent)

def commit(state, change: Change):
    """Apply a computed change to the served graph, with the inferences that follow from it; returns what the graph
    applied (:class:`cnkg.api.Change`).

    Runs under the write lock, so no page is rendered while the graph changes. The graph tells everything derived
    from it (its indexes, the result cache, the statistics, the workers' snapshot) that it changed. A change that
    would make the graph inconsistent (a lineage cycle) is refused with 409 and changes nothing."""
    with state.evaluator.lock.write():
        try:
            return state.graph.update(change.removed, change.added)
        except ReasoningError as exc:
            raise Conflict(f"the update would make the graph inconsistent, so nothing was changed: "
                           f"{'; '.join(p.message for p in exc.problems)}") from None
        except UnsupportedConstruct as exc:
            raise BadRequest(f"the update uses OWL the incremental reasoner does not implement, so nothing was "
                             f"changed: {exc}") from None
        except InvalidInput as exc:
            raise BadRequest("; ".join(p.message for p in exc.problems)) from None


def _field(node: CompValue, name: str):
    """A field of an algebra node, or None. (``CompValue.get`` returns the *name* of a missing field.)"""
    return dict.get(node, name)
