"""SPARQL Update requests made only of ``INSERT DATA`` / ``DELETE DATA`` operations, read without a SPARQL parser.

The data block of such an operation is TriG (triples, and ``GRAPH <g> { ... }`` blocks), so Oxigraph's TriG parser
reads it: in linear time, where rdflib's update parser took 87 s for 4,000 triples. The lexer of
:mod:`cnkg.sparql_text` splits the request into operations and finds each block; anything else in a request
(``WHERE``, graph management) makes :func:`data_change` answer None, and the caller evaluates the request the
general way.

What the operations mean here (as for every update cnkg accepts): a triple inserted outside ``GRAPH`` goes into the
updates graph; a triple deleted outside ``GRAPH`` leaves every graph that holds it. Operations apply in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from .iris import PREFIX_IRIS
from .sparql_text import matching_brace, position, prologue, tokens
from .store import TripleStore, from_ox


class UpdateSyntaxError(ValueError):
    """A data block that does not parse, with the position in the update text."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class DataChange:
    operations: int
    removed: list[tuple] = field(default_factory=list)   # (s, p, o, graph), rdflib terms
    added: list[tuple] = field(default_factory=list)


def _operations(text: str):
    """(prefixes, base, keyword, block start, block end) for each operation, or None when one is not a DATA op."""
    toks = tokens(text)
    prefixes, base, i, found = {}, None, 0, []
    while i < len(toks):
        pro = prologue(toks[i:])
        prefixes.update(pro.prefixes)
        base = pro.base or base
        i += pro.end
        if i >= len(toks):
            break
        if not (i + 2 < len(toks) and toks[i].keyword in ("INSERT", "DELETE") and toks[i + 1].keyword == "DATA"
                and toks[i + 2].text == "{"):
            return None
        j = matching_brace(toks, i + 2)
        if j == len(toks):
            return None  # unbalanced: the general parser reports it
        found.append((dict(prefixes), base, toks[i].keyword, toks[i + 2].start + 1, toks[j].start))
        i = j + 1
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
    """The change a request of only ``INSERT DATA`` / ``DELETE DATA`` operations makes to ``store``, or None for any
    other request. Raises :class:`UpdateSyntaxError` for a data block that does not parse, or that uses blank
    nodes in ``DELETE DATA`` (SPARQL 1.1 Update §3.1.2)."""
    operations = _operations(text)
    if operations is None:
        return None
    added: dict[tuple, None] = {}
    removed: dict[tuple, None] = {}
    for prefixes, base, keyword, start, end in operations:
        for quad in _quads(text, start, end, prefixes, base or base_iri):
            triple = (from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object))
            named = not isinstance(quad.graph_name, ox.DefaultGraph)
            if keyword == "INSERT":
                target = (*triple, from_ox(quad.graph_name) if named else updates_graph)
                removed.pop(target, None)
                if next(store.quads(target), None) is None:
                    added[target] = None
                continue
            if any(isinstance(t, ox.BlankNode) for t in (quad.subject, quad.object)):
                line, column = position(text, start)
                raise UpdateSyntaxError("DELETE DATA cannot contain blank nodes (SPARQL 1.1 Update §3.1.2)",
                                        line, column)
            graphs = [from_ox(quad.graph_name)] if named else \
                [g for *_, g in store.quads(triple)] + [q[3] for q in added if q[:3] == triple]
            for graph in graphs:
                target = (*triple, graph)
                if target in added:
                    del added[target]
                elif next(store.quads(target), None) is not None:
                    removed[target] = None
    return DataChange(len(operations), list(removed), list(added))


__all__ = ["data_change", "DataChange", "UpdateSyntaxError"]
