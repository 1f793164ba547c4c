"""Parse a query and decide, before anything is evaluated, whether this read-only endpoint may run it.

Refused: updates (403), SERVICE (it makes rdflib open a connection), and FROM / FROM NAMED naming a graph we do
not hold (rdflib would try to fetch it). Everything is checked on the translated algebra, so a SERVICE hidden in
a sub-select, an OPTIONAL or a FILTER EXISTS is found too.
"""
from __future__ import annotations

import re

from dataclasses import dataclass
from functools import lru_cache

import rdflib.plugins.sparql
from pyparsing import ParseBaseException
from rdflib import URIRef
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query

from ..namespaces import PREFIXES

from .errors import MalformedQuery, ReadOnly, RefusedDataset, RefusedService

# Defence in depth: even a FROM that slipped past the checks below must never be fetched.
rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False

READ_ONLY = "read-only endpoint: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, ...) is not accepted"


@dataclass
class CheckedQuery:
    query: Query
    kind: str                    # SelectQuery, AskQuery, ConstructQuery, DescribeQuery
    default_graphs: list[URIRef]  # from FROM (already checked to be ours)
    named_graphs: list[URIRef]    # from FROM NAMED


def parse(text: str, base: str | None, our_graphs: set[URIRef]) -> CheckedQuery:
    query = _translate(text, base)
    _refuse_service(query.algebra)
    default, named = [], []
    for clause in query.algebra.get("datasetClause") or []:
        iri, target = (clause.default, default) if clause.default is not None else (clause.named, named)
        if iri not in our_graphs:
            keyword = "FROM" if target is default else "FROM NAMED"
            raise RefusedDataset(f"{keyword} <{iri}> is not a graph of this endpoint; this endpoint never fetches "
                                f"remote data. Name one of its graphs (listed in the service description at GET "
                                f"/sparql) or leave {keyword} out")
        target.append(iri)
    return CheckedQuery(query, query.algebra.name, default, named)


@lru_cache(maxsize=256)
def _translate(text: str, base: str | None) -> Query:
    """Parse and translate once per distinct query text: parsing costs more than evaluating most queries.

    The cached Query is shared between requests; only the forked worker changes its dataset clause, in its own copy.
    """
    return _translate_uncached(text, base)


def _translate_uncached(text: str, base: str | None) -> Query:
    try:
        parsed = parseQuery(text)
    except RecursionError:  # rdflib's recursive-descent parser gives up on very deep nesting
        service = " (and SERVICE is not allowed here in any case)" if re.search(r"\bSERVICE\b", text, re.I) else ""
        raise MalformedQuery(f"query is nested too deeply for this endpoint's SPARQL parser; flatten it{service}") \
            from None
    except ParseBaseException as exc:
        if _is_update(text):
            raise ReadOnly(READ_ONLY) from None
        raise MalformedQuery(f"malformed SPARQL query at line {exc.lineno}, column {exc.col}: {exc.msg}") from None
    try:
        return translateQuery(parsed, base=base, initNs=PREFIXES)
    except ParseBaseException as exc:
        raise MalformedQuery(f"malformed SPARQL query at line {exc.lineno}, column {exc.col}: {exc.msg}") from None
    except Exception as exc:  # rdflib reports query errors here (e.g. an unknown prefix) as plain Exception
        raise MalformedQuery(f"invalid SPARQL query: {exc}") from None


def _is_update(text: str) -> bool:
    try:
        parseUpdate(text)
    except ParseBaseException:
        return False
    return True


def _refuse_service(node, seen: set[int] | None = None) -> None:
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, CompValue):
        if node.name == "ServiceGraphPattern":
            raise RefusedService(f"SERVICE {node.get('term').n3()} is not allowed: this endpoint answers from its own "
                                "graph only and never opens a connection elsewhere")
        children = node.values()
    elif isinstance(node, dict):
        children = node.values()
    elif isinstance(node, (list, tuple)):
        children = node
    else:
        return
    for child in children:
        _refuse_service(child, seen)
