"""Decide, before anything is evaluated, whether this endpoint may run a query, and what form it has.

Refused: updates (403 on a read-only endpoint), ``SERVICE`` anywhere (Oxigraph would open a connection), and
``FROM`` / ``FROM NAMED`` naming a graph this endpoint does not hold. The checks read the query with the SPARQL
lexer of :mod:`cnkg.sparql_text`, not a parser: they cost microseconds, run in the request thread without
risk, and leave parsing (with its error positions) to the engine in a worker, under the query's deadline.
A ``SERVICE`` keyword inside a string, an IRI or a comment is not a ``SERVICE`` call and is not refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef

from ..namespaces import PREFIXES
from ..sparql_text import dataset_clauses, nesting_depth, position, prologue, query_form, tokens, undeclared_prefixes
from .errors import MalformedQuery, ReadOnly, RefusedDataset, RefusedService, TooComplex

READ_ONLY = "read-only endpoint: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, ...) is not accepted"
_PREFIXES = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
# Deepest bracket nesting accepted: real queries nest a few levels; Oxigraph's parser recurses once per level.
MAX_NESTING = 500


@dataclass(frozen=True)
class CheckedQuery:
    text: str
    kind: str | None              # SelectQuery, AskQuery, ConstructQuery, DescribeQuery; None: unrecognisable
    default_graphs: list[URIRef]  # from FROM (already checked to be ours)
    named_graphs: list[URIRef]    # from FROM NAMED


def check(text: str, our_graphs: set[URIRef]) -> CheckedQuery:
    """The query's form and dataset, or the refusal. A query whose form cannot be recognised is passed on with
    ``kind`` None: the engine reports its syntax error with the line and column."""
    kind = query_form(text)
    if kind == "Update":
        raise ReadOnly(READ_ONLY)
    refuse_deep_nesting(text)
    refuse_service(text)
    refuse_unknown_prefixes(text)
    clauses = dataset_clauses(text, _PREFIXES)
    check_graphs(clauses.default, "FROM", our_graphs)
    check_graphs(clauses.named, "FROM NAMED", our_graphs)
    return CheckedQuery(text, kind, [URIRef(g) for g in clauses.default], [URIRef(g) for g in clauses.named])


def refuse_unknown_prefixes(text: str) -> None:
    for token in undeclared_prefixes(text, _PREFIXES):
        prefix = token.text.partition(":")[0]
        line, column = position(text, token.start)
        raise MalformedQuery(f"malformed SPARQL query at line {line}, column {column}: the prefix '{prefix}:' is not "
                             f"declared; add PREFIX {prefix}: <...> (predeclared here: "
                             f"{', '.join(sorted(_PREFIXES))})")


def refuse_deep_nesting(text: str, what: str = "query") -> None:
    """Refuse brackets nested deeper than :data:`MAX_NESTING` before the engine's parser recurses into them. (The
    engine's stack is the backstop for what the lexer does not count, such as thousands of chained operators: the
    worker's crash is answered with the same 400; see cnkg.sandbox.)"""
    depth = nesting_depth(tokens(text))
    if depth > MAX_NESTING:
        raise TooComplex(f"{what} refused: its brackets nest {depth} levels deep; at most {MAX_NESTING} are accepted")


def refuse_service(text: str) -> None:
    toks = tokens(text)
    for i, token in enumerate(toks):
        if token.keyword == "SERVICE":
            target = next((t.text for t in toks[i + 1:i + 3] if t.keyword != "SILENT"), "")
            raise RefusedService(f"SERVICE {target} is not allowed: this endpoint answers from its own graph only "
                                 "and never opens a connection elsewhere")


def check_graphs(graphs, keyword: str, our_graphs: set[URIRef], parameter: str | None = None) -> None:
    """Every graph must be one of ours: the endpoint never fetches remote data."""
    for iri in graphs:
        if URIRef(iri) not in our_graphs:
            given = f"{parameter}={iri}" if parameter else f"{keyword} <{iri}>"
            raise RefusedDataset(f"{given} is not a graph of this endpoint; this endpoint never fetches remote "
                                 "data. Name one of its graphs (listed in the service description at GET /sparql) "
                                 f"or leave {parameter or keyword} out")


def base_of(text: str) -> str | None:
    """The BASE a query declares, if any."""
    return prologue(tokens(text)).base
