"""SPARQL Update requests read without rdflib: the change they make to the store.

The lexer of :mod:`cnkg.sparql_text` splits a request into operations, and :func:`change` applies them in order to a
pending view of the store, each seeing what the ones before it did. ``INSERT DATA`` / ``DELETE DATA`` blocks and the
templates of ``DELETE/INSERT ... WHERE`` are TriG (triples, and ``GRAPH <g> { ... }`` blocks), so Oxigraph's TriG
parser reads them in linear time (rdflib's update parser was measured at 87 s for 4,000 triples in the
hostile-input issue). A ``WHERE`` clause is evaluated by the caller (by Oxigraph, in the query sandbox, under the
deadline), over the store with the earlier operations' changes laid over it. Graph operations (``CLEAR``, ``DROP``,
``CREATE``, ``ADD``, ``MOVE``, ``COPY``) work on the pending view directly. The result is the net change, which the
caller applies in one step together with its inferences.

What the operations mean here (as for every update cnkg accepts): a triple inserted outside ``GRAPH`` goes into the
updates graph; a triple deleted outside ``GRAPH`` leaves every graph that states it; ``WITH <g>`` makes ``<g>`` the
target of both. The inferred graph is the reasoner's: an operation naming it as a graph to change is refused
(:class:`InferredGraphRefused`), and deletes without ``GRAPH``, ``ALL`` and ``NAMED`` leave it alone (the reasoner
withdraws what is no longer entailed). Blank nodes of ``INSERT DATA`` are fresh in each request.
"""
from __future__ import annotations

import time
import uuid
from bisect import bisect_left
from dataclasses import dataclass, field
from operator import attrgetter

import pyoxigraph as ox
from rdflib import BNode, URIRef

from .iris import PREFIX_IRIS
from .namespaces import INFERRED_GRAPH
from .sparql_text import matching_brace, position, prologue, resolve, tokens
from .store import TripleStore, from_ox


class UpdateSyntaxError(ValueError):
    """A data block that does not parse, with the position in the update text."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


class UpdateRefused(ValueError):
    """An update the endpoint will not run as written (the message says why and what to do)."""


@dataclass
class DataChange:
    operations: int
    removed: list[tuple] = field(default_factory=list)   # (s, p, o, graph), rdflib terms
    added: list[tuple] = field(default_factory=list)


class UpdateTooLarge(UpdateRefused):
    """An update past one of the endpoint's bounds (``setting`` names it: more operations, or more triples to
    change, than it allows)."""

    def __init__(self, message: str, setting: str):
        super().__init__(message)
        self.setting = setting


class UpdateTimeout(Exception):
    """An update that did not finish computing its change before its deadline (nothing was applied)."""


@dataclass(frozen=True)
class Bounds:
    """What one update request may do: ``max_operations`` operations, ``max_triples`` triples added or removed
    (counted as its templates are filled, before they are built), finished by ``deadline`` (``time.monotonic()``).
    None: no bound."""
    max_operations: int | None = None
    max_triples: int | None = None
    deadline: float | None = None

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise UpdateTimeout("the update did not finish within its deadline")

    def check_triples(self, count: int, what: str) -> None:
        if self.max_triples is not None and count > self.max_triples:
            raise UpdateTooLarge(f"{what} {count:,} triples; one update may change at most {self.max_triples:,} "
                                 "(setting UPDATE_MAX_TRIPLES): split it into smaller requests", "UPDATE_MAX_TRIPLES")


class _Pending:
    """The store as the operations of one request have left it so far: removals and additions over it, indexed by
    graph and by triple so that every step costs in proportion to what it touches, not to what is pending."""

    def __init__(self, store: TripleStore, bounds: Bounds = Bounds()):
        self.store, self.bounds = store, bounds
        self.added: dict[tuple, None] = {}
        self.removed: dict[tuple, None] = {}
        self._added_in: dict = {}        # graph -> {quad: None} of self.added
        self._added_as: dict = {}        # triple -> {quad: None} of self.added
        self._dirty: dict[tuple, None] = {}  # quads changed since the last sync()
        self._steps = 0

    def has(self, quad) -> bool:
        return quad in self.added or (quad not in self.removed and self._stored(quad))

    def _stored(self, quad) -> bool:
        return next(self.store.quads(quad), None) is not None

    def graph(self, name) -> list[tuple]:
        stored = [q for q in self.store.quads((None, None, None, name)) if q not in self.removed]
        return stored + list(self._added_in.get(name, ()))

    def graphs(self) -> list:
        names = set(self.store.graph_names()) | set(self._added_in)
        return sorted(g for g in names if self._holds_any(g))

    def _holds_any(self, name) -> bool:
        return bool(self._added_in.get(name)) or \
            any(q not in self.removed for q in self.store.quads((None, None, None, name)))

    def holding(self, triple) -> list[tuple]:
        triple = tuple(triple)
        return [q for q in self.store.quads(triple) if q not in self.removed] + list(self._added_as.get(triple, ()))

    def add(self, quad) -> None:
        self._step()
        if quad in self.removed:
            del self.removed[quad]
        elif quad not in self.added and not self._stored(quad):
            self.added[quad] = None
            self._added_in.setdefault(quad[3], {})[quad] = None
            self._added_as.setdefault(quad[:3], {})[quad] = None
            self.bounds.check_triples(len(self.added) + len(self.removed), "the update changes")
        else:
            return
        self._dirty[quad] = None

    def remove(self, quad, stored: bool = False) -> None:
        """Remove ``quad`` (``stored``: the caller just read it from the store, and it is not removed yet)."""
        self._step()
        if quad in self.added:
            del self.added[quad]
            del self._added_in[quad[3]][quad]
            del self._added_as[quad[:3]][quad]
        elif stored or (quad not in self.removed and self._stored(quad)):
            self.removed[quad] = None
            self.bounds.check_triples(len(self.added) + len(self.removed), "the update changes")
        else:
            return
        self._dirty[quad] = None

    def _step(self) -> None:
        self._steps += 1
        if not self._steps % 4096:
            self.bounds.check_time()

    def sync(self, copy: TripleStore) -> None:
        """Bring ``copy`` (a private copy of the store, as this request found it, kept by the caller across its
        ``WHERE`` clauses) up to the state so far: only the quads changed since the last call are written."""
        present = {q: self.has(q) for q in self._dirty}
        self._dirty = {}
        copy.apply([q for q, there in present.items() if not there], [q for q, there in present.items() if there])

    def change(self, operations: int) -> DataChange:
        return DataChange(operations, list(self.removed), list(self.added))


GRAPH_OPERATIONS = ("CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY")


class RefusedLoad(UpdateRefused):
    """``LOAD``: the endpoint never fetches remote data."""


@dataclass
class _Modify:
    """One ``DELETE WHERE`` or ``[WITH] DELETE/INSERT ... [USING ...] WHERE`` operation, as offsets in the text."""
    prefixes: dict                    # the prefixes declared before it (they carry over from earlier operations)
    base: str | None
    with_graph: str | None
    delete: tuple[int, int] | None    # (start, end) of a template block, inside the braces
    insert: tuple[int, int] | None
    using: list[str]
    using_named: list[str]
    where: tuple[int, int]            # the WHERE group, braces included


class _Tail:
    """``toks[start:]`` without the copy (a copy per operation makes reading a request quadratic)."""

    def __init__(self, toks, start: int):
        self.toks, self.start = toks, start

    def __len__(self) -> int:
        return len(self.toks) - self.start

    def __getitem__(self, i: int):
        return self.toks[self.start + i]


def _operations(text: str):
    """Each operation of the request, in order: ``("data", keyword, prefixes, base, block start, block end)``,
    ``("graph", keyword, silent, graph names)`` or ``("modify", _Modify)``; None when the request is not a
    sequence of these (the caller asks Oxigraph's parser what is wrong with it). ``LOAD`` raises
    :class:`RefusedLoad`, ``DEFAULT`` as a graph-management target :class:`UpdateRefused`."""
    toks = tokens(text)
    for at, tok in enumerate(toks):
        if tok.keyword == "LOAD":
            target = next((t.text for t in toks[at + 1:] if t.keyword != "SILENT"), "")
            raise RefusedLoad(f"LOAD {target} is not allowed: this endpoint never fetches remote data; "
                              "send the triples in INSERT DATA instead")
    prefixes, base, i, found = {}, None, 0, []
    while i < len(toks):
        pro = prologue(_Tail(toks, i))
        prefixes.update(pro.prefixes)
        base = pro.base or base
        i += pro.end
        if i >= len(toks):
            break
        word = toks[i].keyword
        if word in ("INSERT", "DELETE") and i + 2 < len(toks) and toks[i + 1].keyword == "DATA" \
                and toks[i + 2].text == "{":
            j = matching_brace(toks, i + 2)
            if j == len(toks):
                return None  # unbalanced: the parser reports it
            found.append(("data", word, dict(prefixes), base, toks[i + 2].start + 1, toks[j].start))
            i = j + 1
        elif word in GRAPH_OPERATIONS:
            j, silent, names = i + 1, False, []
            if j < len(toks) and toks[j].keyword == "SILENT":
                silent, j = True, j + 1
            while j < len(toks) and toks[j].text != ";":
                tok = toks[j]
                if tok.keyword in ("GRAPH", "TO"):
                    pass
                elif tok.keyword in ("NAMED", "ALL", "DEFAULT"):
                    names.append(tok.keyword)
                elif tok.kind in ("iri", "pname"):
                    iri = resolve(tok, type(pro)(base, prefixes, 0), PREFIX_IRIS)
                    if iri is None:
                        return None
                    names.append(iri)
                else:
                    return None
                j += 1
            if "DEFAULT" in names:
                raise UpdateRefused(f"{word} with DEFAULT is not supported: the default graph is the union of all "
                                    "graphs here; name the graph (GRAPH <iri>), or use NAMED / ALL")
            expected = 2 if word in ("ADD", "MOVE", "COPY") else 1
            if len(names) != expected or (word == "CREATE" and names[0] in ("NAMED", "ALL")) or \
                    (expected == 2 and any(n in ("NAMED", "ALL") for n in names)):
                return None
            found.append(("graph", word, silent, names))
            i = j
        else:
            parsed = _modify_at(toks, i, type(pro)(base, dict(prefixes), 0))
            if parsed is None:
                return None
            found.append(("modify", parsed[0]))
            i = parsed[1]
        if i < len(toks):
            if toks[i].text != ";":
                return None
            i += 1
    return found or None


_start = attrgetter("start")


def _as_trig(text: str, start: int, end: int) -> str:
    """A SPARQL data block as TriG, on the same lines: the triples outside ``GRAPH`` blocks go inside ``{ }`` (TriG
    wants a final dot at its top level, SPARQL does not) and the dots between blocks go."""
    every = tokens(text)  # cached for the request: slice by position, not by a scan (one scan per operation is
    toks = every[bisect_left(every, start, key=_start):bisect_left(every, end, key=_start)]  # quadratic)
    pieces, cursor, i, open_segment = [], start, 0, False
    while i < len(toks):
        tok = toks[i]
        if tok.keyword == "GRAPH":
            if open_segment:
                pieces += [text[cursor:tok.start], "} "]
                cursor, open_segment = tok.start, False
            j = matching_brace(toks, i)  # the GRAPH block's closing brace
            close = toks[j].start + 1 if j < len(toks) else end
            pieces.append(text[cursor:close])
            cursor, i = close, j + 1
            continue
        if tok.kind == "punct" and tok.text == "." and not open_segment:  # a dot after a GRAPH block
            pieces += [text[cursor:tok.start], " "]
            cursor = tok.start + 1
        elif not open_segment:
            pieces += [text[cursor:tok.start], "{ "]
            cursor, open_segment = tok.start, True
        i += 1
    pieces.append(text[cursor:end])
    if open_segment:
        pieces.append(" }")
    return "".join(pieces)


def _quads(text: str, start: int, end: int, prefixes: dict, base: str | None) -> list[ox.Quad]:
    header = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in {**PREFIX_IRIS, **prefixes}.items())
    try:
        return list(ox.parse(header + _as_trig(text, start, end), format=ox.RdfFormat.TRIG, base_iri=base))
    except (SyntaxError, ValueError) as exc:
        line, column = position(text, start)
        detail = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
        detail = detail.split(": ", 1)[1] if detail.startswith("Parser error at") and ": " in detail else detail
        where, offset = getattr(exc, "lineno", None), getattr(exc, "offset", None)
        if where and offset:  # the parser's position within the block, back in the update text
            relative = where - header.count("\n")
            column = column + offset - 1 if relative == 1 else offset
            line = line + relative - 1
        raise UpdateSyntaxError(detail, line, column) from None


def change(text: str, base_iri: str | None, store: TripleStore, updates_graph, select,
           using: list[str] = (), using_named: list[str] = (), bounds: Bounds = Bounds()) -> DataChange | None:
    """The change the update request ``text`` makes to ``store``: its operations applied in order, each seeing what
    the ones before it did. None when the request is not a sequence of operations this module reads (the caller asks
    Oxigraph's parser what is wrong with it).

    ``select(query, default_graphs, named_graphs, overlay)`` evaluates a ``WHERE`` clause (in the caller's sandbox,
    under its deadline) and returns rows as dicts of variable name to rdflib term; ``overlay`` is None, or what the
    operations before it changed, to be seen by the evaluation: its ``removed`` and ``added`` quads, and
    ``overlay.sync(copy)``, which brings a private copy of ``store`` that the caller keeps for the request up to
    date by writing only what changed since the last call (so no clause copies the whole store). It raises
    :class:`QuerySyntaxError` for a clause that does not parse. ``using`` / ``using_named`` are the protocol's
    ``using-graph-uri`` / ``using-named-graph-uri``.

    Raises :class:`UpdateSyntaxError` (a data block, template or clause that does not parse, or blank nodes where
    SPARQL 1.1 Update §3.1.2–3 forbids them) and :class:`UpdateRefused` (``LOAD``, ``DEFAULT`` as a
    graph-management target, ``CREATE`` of a graph that exists, ``USING`` with ``using-graph-uri``);
    :class:`UpdateTooLarge` past ``bounds`` (more operations, or more triples changed or instantiated, than they
    allow) and :class:`UpdateTimeout` past its deadline. Either way nothing is applied: the caller applies the
    returned change whole or not at all."""
    operations = _operations(text)
    if operations is None:
        return None
    if bounds.max_operations is not None and len(operations) > bounds.max_operations:
        raise UpdateTooLarge(f"the update has {len(operations):,} operations; one update may have at most "
                             f"{bounds.max_operations:,} (setting UPDATE_MAX_OPERATIONS): split it into smaller "
                             "requests", "UPDATE_MAX_OPERATIONS")
    pending = _Pending(store, bounds)
    blanks: dict = {}  # this request's blank node labels: label -> (the data block using it, its fresh node)
    for operation in operations:
        bounds.check_time()
        if operation[0] == "graph":
            _, word, silent, names = operation
            _refuse_inferred_target(word, names)
            _graph_operation(pending, word, silent, [n if n in ("NAMED", "ALL") else URIRef(n) for n in names])
        elif operation[0] == "data":
            _data_operation(pending, text, *operation[1:], base_iri, updates_graph, blanks)
        else:
            _modify(pending, text, operation[1], base_iri, updates_graph, select, using, using_named)
    return pending.change(len(operations))


INFERRED_REFUSED = (f"the inferred graph <{INFERRED_GRAPH}> is kept by the reasoner and cannot be written: state "
                    "or delete the facts it follows from in another graph, and the inferences follow")


class InferredGraphRefused(UpdateRefused):
    """An operation that names the inferred graph as a graph to change."""

    def __init__(self, what: str):
        super().__init__(f"{what}: {INFERRED_REFUSED}")


def _refuse_inferred_target(word: str, names: list[str]) -> None:
    """CLEAR/DROP of the inferred graph, MOVE from it, and ADD/MOVE/COPY into it change it; COPY or ADD from it
    only read it. CLEAR/DROP ALL and NAMED leave it to the reasoner (see _graph_operation)."""
    changed = names if word in ("CLEAR", "DROP") else names[-1:] if word in ("ADD", "COPY") else names
    if str(INFERRED_GRAPH) in changed:
        raise InferredGraphRefused(word)


def _asserted(quads: list[tuple]) -> list[tuple]:
    """A triple deleted without a graph leaves every graph that states it; the inferred graph keeps it while
    something else still entails it (the reasoner decides)."""
    return [q for q in quads if q[3] != INFERRED_GRAPH]


def _data_operation(pending: _Pending, text: str, keyword: str, prefixes: dict, base: str | None, start: int,
                    end: int, base_iri: str | None, updates_graph, blanks: dict) -> None:
    """``blanks``: the request's labels so far. SPARQL 1.1 Update §3.1.1: the blank nodes of ``INSERT DATA`` are
    fresh, never nodes already in the store (nor those of an earlier request with the same label); one label is
    one node within its data block, and may not be used again in another block of the request (the grammar's
    rule, W3C test syntax-update-54; Oxigraph refuses it too)."""
    def term(t):
        if not isinstance(t, ox.BlankNode):
            return from_ox(t)
        found = blanks.get(t.value)
        if found is None:
            found = blanks[t.value] = (start, BNode())
        block, node = found
        if block != start:
            line, column = position(text, start)
            raise UpdateSyntaxError(f"the blank node label _:{t.value} is used in two data blocks of one request; "
                                    "a label names one new node within one INSERT DATA block", line, column)
        return node

    for quad in _quads(text, start, end, prefixes, base or base_iri):
        named = not isinstance(quad.graph_name, ox.DefaultGraph)
        graph = from_ox(quad.graph_name) if named else None
        if graph == INFERRED_GRAPH:
            raise InferredGraphRefused(f"{keyword} DATA")
        if keyword == "INSERT":
            pending.add((term(quad.subject), term(quad.predicate), term(quad.object), graph or updates_graph))
            continue
        if any(isinstance(t, ox.BlankNode) for t in (quad.subject, quad.object)):
            line, column = position(text, start)
            raise UpdateSyntaxError("DELETE DATA cannot contain blank nodes (SPARQL 1.1 Update §3.1.2)",
                                    line, column)
        triple = (from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object))
        for target in ([(*triple, graph)] if named else _asserted(pending.holding(triple))):
            pending.remove(target)


def _graph_operation(pending: _Pending, word: str, silent: bool, names: list) -> None:
    if word in ("CLEAR", "DROP"):
        graphs = [g for g in pending.graphs() if g != INFERRED_GRAPH] if names[0] in ("NAMED", "ALL") else names
        for graph in graphs:
            for quad in pending.graph(graph):
                pending.remove(quad, stored=quad not in pending.added)
    elif word == "CREATE":
        if pending.graph(names[0]) and not silent:
            raise UpdateRefused(f"CREATE GRAPH <{names[0]}>: the graph already exists (use CREATE SILENT)")
    else:  # ADD, COPY, MOVE source TO target
        source, target = names
        if source == target:
            return
        quads = pending.graph(source)
        if word != "ADD":
            for quad in pending.graph(target):
                pending.remove(quad, stored=quad not in pending.added)
        for s, p, o, _ in quads:
            pending.add((s, p, o, target))
        if word == "MOVE":
            for quad in quads:
                pending.remove(quad, stored=quad not in pending.added)


# ---------------------------------------------------------------------------------------------- one WHERE operation

def _modify_at(toks, i: int, pro) -> tuple[_Modify, int] | None:
    """The ``DELETE WHERE`` or ``[WITH] DELETE/INSERT ... WHERE`` operation starting at token ``i``, and the index of
    the token after it; None if there is none."""
    def block(at: int) -> tuple[int, int, int] | None:
        if at >= len(toks) or toks[at].text != "{":
            return None
        close = matching_brace(toks, at)
        return None if close == len(toks) else (toks[at].start + 1, toks[close].start, close + 1)

    if toks[i].keyword == "DELETE" and i + 1 < len(toks) and toks[i + 1].keyword == "WHERE":
        found = block(i + 2)
        if found is None:
            return None
        return _Modify(pro.prefixes, pro.base, None, found[:2], None, [], [], (found[0] - 1, found[1] + 1)), found[2]
    with_graph = None
    if toks[i].keyword == "WITH":
        if i + 1 >= len(toks):
            return None
        with_graph = resolve(toks[i + 1], pro, PREFIX_IRIS)
        if with_graph is None:
            return None
        i += 2
    delete = insert = None
    if i < len(toks) and toks[i].keyword == "DELETE":
        found = block(i + 1)
        if found is None:
            return None
        delete, i = found[:2], found[2]
    if i < len(toks) and toks[i].keyword == "INSERT":
        found = block(i + 1)
        if found is None:
            return None
        insert, i = found[:2], found[2]
    if delete is None and insert is None:
        return None
    using, using_named = [], []
    while i < len(toks) and toks[i].keyword == "USING":
        named = i + 1 < len(toks) and toks[i + 1].keyword == "NAMED"
        at = i + 2 if named else i + 1
        if at >= len(toks):
            return None
        iri = resolve(toks[at], pro, PREFIX_IRIS)
        if iri is None:
            return None
        (using_named if named else using).append(iri)
        i = at + 1
    if i >= len(toks) or toks[i].keyword != "WHERE":
        return None
    found = block(i + 1)
    if found is None:
        return None
    return _Modify(pro.prefixes, pro.base, with_graph, delete, insert, using, using_named,
                   (found[0] - 1, found[1] + 1)), found[2]


class QuerySyntaxError(ValueError):
    """Raised by a ``select`` callback for a ``WHERE`` clause its engine cannot parse (positions in the query)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _template(text: str, span: tuple[int, int], prefixes: dict, base: str | None,
              variables: dict) -> list[ox.Quad]:
    """A template block as quads, each variable an IRI the TriG parser accepts where a variable may stand
    (a predicate included): ``urn:uuid:`` and a UUID drawn for this request, recorded in ``variables`` (IRI ->
    variable name). The UUIDs are made after the text was received, so no IRI written in it can be one of them:
    every constant stays itself, whatever its scheme."""
    names = {value: key for key, value in variables.items()}
    block = text[span[0]:span[1]]
    out, last = [], 0
    for token in tokens(block):
        if token.kind == "var":
            name = token.text[1:]
            if name not in names:
                names[name] = f"urn:uuid:{uuid.uuid4()}"
                variables[names[name]] = name
            out += [block[last:token.start], f"<{names[name]}>"]
            last = token.start + len(token.text)
    out.append(block[last:])
    template = "".join(out)
    try:
        return _quads(template, 0, len(template), prefixes, base)
    except UpdateSyntaxError as exc:  # variables were renamed, so the column within the block is approximate
        line, column = position(text, span[0])
        raise UpdateSyntaxError(exc.message, line + (exc.line or 1) - 1,
                                exc.column if (exc.line or 1) > 1 else column) from None


SELECT_ALL = "SELECT * WHERE "


def _where(text: str, op: _Modify, select, default, named, overlay, base: str | None) -> list[dict]:
    """The solutions of the operation's WHERE clause (its relative IRIs resolved against ``base``, the request's
    BASE or the endpoint's URL); a syntax error in it is reported where it is in ``text``."""
    header = (f"BASE <{base}>\n" if base else "") + \
        "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in op.prefixes.items())
    try:
        return select(f"{header}{SELECT_ALL}{text[op.where[0]:op.where[1]]}", default, named, overlay)
    except QuerySyntaxError as exc:
        line, column = position(text, op.where[0])
        first = header.count("\n") + 1  # the query line the clause starts on
        if exc.line is None or exc.line < first:
            raise UpdateSyntaxError(exc.message, line, column) from None
        if exc.line == first:
            raise UpdateSyntaxError(exc.message, line, column + (exc.column or 1) - 1 - len(SELECT_ALL)) from None
        raise UpdateSyntaxError(exc.message, line + exc.line - first, exc.column) from None


def _modify(pending: _Pending, text: str, op: _Modify, base_iri: str | None, updates_graph, select,
            using, using_named) -> None:
    """One ``DELETE/INSERT ... WHERE``: the WHERE clause over the store as the operations before left it, then every
    deletion, then every insertion (SPARQL 1.1 Update §3.1.3)."""
    base = op.base or base_iri
    variables: dict = {}  # placeholder IRI -> variable name, for this operation
    delete = _template(text, op.delete, op.prefixes, base, variables) if op.delete else []
    insert = _template(text, op.insert, op.prefixes, base, variables) if op.insert else []
    inferred = ox.NamedNode(str(INFERRED_GRAPH))
    for word, template in (("DELETE", delete), ("INSERT", insert)):  # refused even when WHERE matches nothing
        if any(q.graph_name == inferred or (isinstance(q.graph_name, ox.DefaultGraph) and op.with_graph ==
                                           str(INFERRED_GRAPH)) for q in template):
            raise InferredGraphRefused(word)
    if any(isinstance(t, ox.BlankNode) for q in delete for t in (q.subject, q.object)):
        line, column = position(text, op.delete[0])
        raise UpdateSyntaxError("a DELETE template cannot contain blank nodes (SPARQL 1.1 Update §3.1.3)",
                                line, column)
    if (using or using_named) and (op.using or op.using_named or op.with_graph):
        raise UpdateRefused("using-graph-uri / using-named-graph-uri cannot be combined with USING or WITH in the "
                            "update (SPARQL 1.1 Protocol §2.2.3); use one or the other")
    if using or using_named:
        default, named = list(using), list(using_named)
    elif op.using or op.using_named:
        default, named = op.using, op.using_named
    elif op.with_graph:  # WITH sets the default graph of the match; the named graphs stay the dataset's
        default, named = [op.with_graph], [str(g) for g in pending.graphs()]
    else:
        default = named = None
    overlay = pending if pending.removed or pending.added else None
    rows = _where(text, op, select, default, named, overlay, base)
    pending.bounds.check_time()
    # every row instantiates every template quad: refuse an expansion past the bound before building any of it
    pending.bounds.check_triples(len(rows) * (len(delete) + len(insert)), "the update's templates would expand to")
    target = URIRef(op.with_graph) if op.with_graph else None

    def fill(term, row, fresh):
        if isinstance(term, URIRef) and str(term) in variables:  # a URIRef is never equal to a str
            return row.get(variables[str(term)])
        if isinstance(term, BNode):
            return fresh.setdefault(term, BNode())
        return term

    def instances(template):
        for row in rows:
            fresh: dict = {}
            for quad in template:
                s, p, o = (fill(from_ox(t), row, fresh) for t in (quad.subject, quad.predicate, quad.object))
                g = None if isinstance(quad.graph_name, ox.DefaultGraph) else fill(from_ox(quad.graph_name), row,
                                                                                     fresh)
                if s is None or p is None or o is None or not isinstance(p, URIRef) \
                        or not isinstance(s, (URIRef, BNode)) or (g is not None and not isinstance(g, URIRef)):
                    continue  # an unbound variable or a term that cannot stand there: this quad is skipped
                yield (s, p, o), g

    removals = []
    for triple, graph in instances(delete):
        graph = graph or target
        if graph == INFERRED_GRAPH:
            raise InferredGraphRefused("DELETE")
        removals += [(*triple, graph)] if graph is not None else _asserted(pending.holding(triple))
    additions = [(*triple, graph or target or updates_graph) for triple, graph in instances(insert)]
    if any(quad[3] == INFERRED_GRAPH for quad in additions):
        raise InferredGraphRefused("INSERT")
    for quad in removals:
        pending.remove(quad)
    for quad in additions:
        pending.add(quad)


__all__ = [
    "DataChange",
    "InferredGraphRefused",
    "QuerySyntaxError",
    "RefusedLoad",
    "Bounds",
    "UpdateRefused",
    "UpdateSyntaxError",
    "UpdateTimeout",
    "UpdateTooLarge",
    "change",
]
