"""SPARQL Update requests read without a SPARQL parser: the change they make to the store.

The lexer of :mod:`cnkg.sparql_text` splits a request into operations. :func:`data_change` handles requests of
``INSERT DATA`` / ``DELETE DATA`` and graph operations (``CLEAR``, ``DROP``, ``CREATE``, ``ADD``, ``MOVE``,
``COPY``), applied in order; a data block is TriG (triples, and ``GRAPH <g> { ... }`` blocks), so Oxigraph's TriG
parser reads it in linear time (rdflib's update parser was measured at 87 s for 4,000 triples in the hostile-input
issue). :func:`modify_change` handles a request of one ``DELETE WHERE`` or ``DELETE/INSERT ... WHERE`` operation:
the caller evaluates the ``WHERE`` and the templates are read as TriG. Any other request makes both answer None, and
the caller evaluates it the general way.

What the operations mean here (as for every update cnkg accepts): a triple inserted outside ``GRAPH`` goes into the
updates graph; a triple deleted outside ``GRAPH`` leaves every graph that holds it. Operations apply in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, URIRef

from .iris import PREFIX_IRIS
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


class _Pending:
    """The store as the operations of one request have left it so far: removals and additions over it."""

    def __init__(self, store: TripleStore):
        self.store = store
        self.added: dict[tuple, None] = {}
        self.removed: dict[tuple, None] = {}

    def has(self, quad) -> bool:
        return quad in self.added or (quad not in self.removed and next(self.store.quads(quad), None) is not None)

    def graph(self, name) -> list[tuple]:
        stored = [q for q in self.store.quads((None, None, None, name)) if q not in self.removed]
        return stored + [q for q in self.added if q[3] == name]

    def graphs(self) -> list:
        names = set(self.store.graph_names()) | {q[3] for q in self.added}
        return sorted(g for g in names if self.graph(g))

    def holding(self, triple) -> list[tuple]:
        return [q for q in self.store.quads(triple) if q not in self.removed] + \
            [q for q in self.added if q[:3] == tuple(triple)]

    def add(self, quad) -> None:
        if quad in self.removed:
            del self.removed[quad]
        elif not self.has(quad):
            self.added[quad] = None

    def remove(self, quad) -> None:
        if quad in self.added:
            del self.added[quad]
        elif self.has(quad):
            self.removed[quad] = None

    def change(self, operations: int) -> DataChange:
        return DataChange(operations, list(self.removed), list(self.added))


GRAPH_OPERATIONS = ("CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY")


def _operations(text: str):
    """Each operation of the request as ``("data", keyword, prefixes, base, block start, block end)`` or
    ``("graph", keyword, silent, graph names)``; None when one is anything else (or names DEFAULT, which the
    general path refuses with its message)."""
    toks = tokens(text)
    prefixes, base, i, found = {}, None, 0, []
    while i < len(toks):
        pro = prologue(toks[i:])
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
                return None  # unbalanced: the general parser reports it
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
                elif tok.keyword in ("NAMED", "ALL"):
                    names.append(tok.keyword)
                elif tok.kind in ("iri", "pname"):
                    iri = resolve(tok, type(pro)(base, prefixes, 0), PREFIX_IRIS)
                    if iri is None:
                        return None
                    names.append(iri)
                else:
                    return None  # DEFAULT, or anything unexpected
                j += 1
            expected = 2 if word in ("ADD", "MOVE", "COPY") else 1
            if len(names) != expected or (word == "CREATE" and names[0] in ("NAMED", "ALL")) or \
                    (expected == 2 and any(n in ("NAMED", "ALL") for n in names)):
                return None
            found.append(("graph", word, silent, names))
            i = j
        else:
            return None
        if i < len(toks):
            if toks[i].text != ";":
                return None
            i += 1
    return found or None


def _as_trig(text: str, start: int, end: int) -> str:
    """A SPARQL data block as TriG, on the same lines: the triples outside ``GRAPH`` blocks go inside ``{ }`` (TriG
    wants a final dot at its top level, SPARQL does not) and the dots between blocks go."""
    toks = [t for t in tokens(text) if start <= t.start < end]
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


def data_change(text: str, base_iri: str | None, store: TripleStore, updates_graph) -> DataChange | None:
    """The change a request of ``INSERT DATA`` / ``DELETE DATA`` and graph operations (``CLEAR``, ``DROP``,
    ``CREATE``, ``ADD``, ``MOVE``, ``COPY``) makes to ``store``, applied in order; None for any other request.
    Raises :class:`UpdateSyntaxError` for a data block that does not parse or that uses blank nodes in
    ``DELETE DATA`` (SPARQL 1.1 Update §3.1.2), and :class:`UpdateRefused` for ``CREATE`` of a graph that exists."""
    operations = _operations(text)
    if operations is None:
        return None
    pending = _Pending(store)
    for operation in operations:
        if operation[0] == "graph":
            _, word, silent, names = operation
            _graph_operation(pending, word, silent, [n if n in ("NAMED", "ALL") else URIRef(n) for n in names])
            continue
        _, keyword, prefixes, base, start, end = operation
        for quad in _quads(text, start, end, prefixes, base or base_iri):
            triple = (from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object))
            named = not isinstance(quad.graph_name, ox.DefaultGraph)
            if keyword == "INSERT":
                pending.add((*triple, from_ox(quad.graph_name) if named else updates_graph))
                continue
            if any(isinstance(t, ox.BlankNode) for t in (quad.subject, quad.object)):
                line, column = position(text, start)
                raise UpdateSyntaxError("DELETE DATA cannot contain blank nodes (SPARQL 1.1 Update §3.1.2)",
                                        line, column)
            for target in ([(*triple, from_ox(quad.graph_name))] if named else pending.holding(triple)):
                pending.remove(target)
    return pending.change(len(operations))


def _graph_operation(pending: _Pending, word: str, silent: bool, names: list) -> None:
    if word in ("CLEAR", "DROP"):
        graphs = pending.graphs() if names[0] in ("NAMED", "ALL") else names
        for graph in graphs:
            for quad in pending.graph(graph):
                pending.remove(quad)
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
                pending.remove(quad)
        for s, p, o, _ in quads:
            pending.add((s, p, o, target))
        if word == "MOVE":
            for quad in quads:
                pending.remove(quad)


# ---------------------------------------------------------------------------------------------- one WHERE operation

PLACEHOLDER = "urn:x-cnkg-variable:"


@dataclass
class _Modify:
    prologue_end: int                 # offset where the operation starts (the text before it is its prologue)
    base: str | None
    with_graph: str | None
    delete: tuple[int, int] | None    # (start, end) of a template block, inside the braces
    insert: tuple[int, int] | None
    using: list[str]
    using_named: list[str]
    where: tuple[int, int]            # the WHERE group, braces included


def _single_modify(text: str) -> _Modify | None:
    """The parts of a request made of one ``DELETE WHERE`` or ``[WITH] DELETE/INSERT ... WHERE`` operation."""
    toks = tokens(text)
    pro = prologue(toks)
    i = pro.end
    if i >= len(toks):
        return None
    start = toks[i].start

    def block(at: int) -> tuple[int, int, int] | None:
        if at >= len(toks) or toks[at].text != "{":
            return None
        close = matching_brace(toks, at)
        return None if close == len(toks) else (toks[at].start + 1, toks[close].start, close + 1)

    def rest_is_empty(at: int) -> bool:
        return at == len(toks) or (at == len(toks) - 1 and toks[at].text == ";")

    if toks[i].keyword == "DELETE" and i + 1 < len(toks) and toks[i + 1].keyword == "WHERE":
        found = block(i + 2)
        if found is None or not rest_is_empty(found[2]):
            return None
        return _Modify(start, pro.base, None, found[:2], None, [], [], (found[0] - 1, found[1] + 1))
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
    if found is None or not rest_is_empty(found[2]):
        return None
    return _Modify(start, pro.base, with_graph, delete, insert, using, using_named, (found[0] - 1, found[1] + 1))


def _template(text: str, span: tuple[int, int], prefixes_text: str, base: str | None) -> list[ox.Quad]:
    """A template block as quads, each variable an IRI ``urn:x-cnkg-variable:NAME``."""
    block = text[span[0]:span[1]]
    out, last = [], 0
    for token in tokens(block):
        if token.kind == "var":
            out += [block[last:token.start], f"<{PLACEHOLDER}{token.text[1:]}>"]
            last = token.start + len(token.text)
    out.append(block[last:])
    template = "".join(out)
    pro = prologue(tokens(prefixes_text))
    return _quads(template, 0, len(template), pro.prefixes, base)


def modify_change(text: str, base_iri: str | None, store: TripleStore, updates_graph, select,
                  using: list[str] = (), using_named: list[str] = ()) -> DataChange | None:
    """The change a request of one ``DELETE WHERE`` or ``DELETE/INSERT ... WHERE`` operation makes, or None for
    any other request. ``select(query_text, default_graphs, named_graphs)`` evaluates the WHERE clause (in the
    caller's sandbox, under its deadline) and returns rows as dicts of variable name to rdflib term."""
    op = _single_modify(text)
    if op is None:
        return None
    prefixes_text = text[:op.prologue_end]
    base = op.base or base_iri
    delete = _template(text, op.delete, prefixes_text, base) if op.delete else []
    insert = _template(text, op.insert, prefixes_text, base) if op.insert else []
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
        default, named = [op.with_graph], [str(g) for g in store.graph_names()]
    else:
        default = named = None
    rows = select(f"{prefixes_text}SELECT * WHERE {text[op.where[0]:op.where[1]]}", default, named)
    target = URIRef(op.with_graph) if op.with_graph else None

    def fill(term, row, fresh):
        if isinstance(term, URIRef) and str(term).startswith(PLACEHOLDER):
            return row.get(str(term)[len(PLACEHOLDER):])
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

    removed: dict[tuple, None] = {}
    for triple, graph in instances(delete):
        graph = graph or target
        for quad in ([(*triple, graph)] if graph is not None else list(store.quads(triple))):
            if next(store.quads(quad), None) is not None:
                removed[quad[:4]] = None
    added: dict[tuple, None] = {}
    for triple, graph in instances(insert):
        quad = (*triple, graph or target or updates_graph)
        if quad in removed:
            del removed[quad]
        elif next(store.quads(quad), None) is None:
            added[quad] = None
    return DataChange(1, list(removed), list(added))


__all__ = ["data_change", "modify_change", "DataChange", "UpdateSyntaxError", "UpdateRefused", "PLACEHOLDER"]
