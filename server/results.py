"""Serialise an rdflib query result in a negotiated format, keeping at most ``max_rows`` rows or triples."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from rdflib import Dataset, Graph, Variable
from rdflib.query import Result

from ..namespaces import bind_prefixes

from .formats import Format


@dataclass
class Payload:
    body: bytes
    rows: int
    truncated: bool


def serialize(result: Result, fmt: Format, max_rows: int) -> Payload:
    if result.type == "ASK":
        return Payload(_ask(result, fmt), 1, False)
    if result.type == "SELECT":
        # Read the bindings, not iter(result): rdflib's iterator skips solutions that bind no variable,
        # which turns the one empty solution of `SELECT * {}` into zero rows.
        rows = list(itertools.islice(result.bindings, max_rows + 1))
        truncated = len(rows) > max_rows
        kept = Result("SELECT")
        kept.vars = result.vars
        kept.bindings = [{v: t for v, t in row.items() if t is not None} for row in rows[:max_rows]]
        result = kept
        if fmt.name == "tsv":
            return Payload(_tsv(result), min(len(rows), max_rows), truncated)
        return Payload(result.serialize(format=fmt.rdflib, encoding="utf-8"), min(len(rows), max_rows), truncated)
    graph = result.graph
    # quad formats need a context-aware store; the constructed triples go in its default graph
    holder = Dataset() if fmt.name in ("trig", "nquads") else Graph()
    out = holder.default_graph if isinstance(holder, Dataset) else holder
    bind_prefixes(holder)
    for triple in itertools.islice(graph, max_rows):
        out.add(triple)
    return Payload(holder.serialize(format=fmt.rdflib, encoding="utf-8"), len(out), len(graph) > max_rows)


def _ask(result: Result, fmt: Format) -> bytes:
    answer = bool(result.askAnswer)
    if fmt.name in ("csv", "tsv"):  # no standard boolean form for CSV/TSV; a one-cell table as Jena does
        return f"_askResult\n{str(answer).lower()}\n".encode() if fmt.name == "csv" else \
            f"?_askResult\n{str(answer).lower()}\n".encode()
    return result.serialize(format=fmt.rdflib, encoding="utf-8")


def _tsv(result: Result) -> bytes:
    """SPARQL 1.1 TSV: ``?var`` header, terms in Turtle syntax, empty cell for unbound (rdflib has no writer)."""
    variables: list[Variable] = list(result.vars or [])
    lines = ["\t".join(v.n3() for v in variables)]
    for row in result.bindings:
        lines.append("\t".join(_tsv_term(row.get(v)) for v in variables))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _tsv_term(term) -> str:
    if term is None:
        return ""
    # n3() escapes quotes and backslashes; tabs and newlines must not appear raw in a TSV cell
    return term.n3().replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
