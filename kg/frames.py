"""Query results and lineage as pandas DataFrames and networkx graphs, for notebooks and analysis.

Use them through the graph object (``cnkg.load().sparql(...)``, ``.lineage_frame(...)``,
``.lineage_digraph(...)``); this module holds the conversions those methods share.

Cells of a SELECT result become plain Python values so pandas infers sensible column types:
IRIs are ``str``; numeric literals ``int`` / ``float``; ``xsd:boolean`` ``bool``; ``xsd:date`` /
``xsd:dateTime`` timestamps; ``xsd:gYear`` the year as ``int``; any other literal its lexical form; unbound
cells are missing (``None``, or ``NaN`` / ``NaT`` / ``<NA>`` in typed columns).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from collections.abc import Callable

import networkx as nx
try:
    import pandas as pd
except ImportError:  # cnkg[diagrams] alone: lineage_digraph needs networkx only; KnowledgeGraph asks for
    pd = None        # cnkg[notebooks] before any function here that makes a DataFrame
from rdflib import XSD, BNode, Literal, URIRef
from rdflib.query import Result

from .lineage import Chain

INTEGER_TYPES = {XSD.integer, XSD.int, XSD.long, XSD.short, XSD.byte, XSD.nonNegativeInteger, XSD.positiveInteger,
                 XSD.nonPositiveInteger, XSD.negativeInteger, XSD.unsignedLong, XSD.unsignedInt, XSD.unsignedShort,
                 XSD.unsignedByte}
FLOAT_TYPES = {XSD.decimal, XSD.double, XSD.float}
DATE_TYPES = {XSD.date, XSD.dateTime, XSD.dateTimeStamp}

LINEAGE_COLUMNS = ["descendant", "ancestor", "path", "hops", "relations", "sources", "source_urls"]


def term_value(term):
    """One RDF term as a plain Python value (see the module docstring); ``None`` stays ``None``."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return str(term)
    if isinstance(term, BNode):
        return f"_:{term}"
    if not isinstance(term, Literal):
        return str(term)
    datatype = term.datatype
    try:
        if datatype in INTEGER_TYPES:
            return int(term.toPython())
        if datatype in FLOAT_TYPES:
            return float(term.toPython())
        if datatype == XSD.boolean:
            return bool(term.toPython())
        if datatype in DATE_TYPES:
            value = term.toPython()
            if isinstance(value, (dt.date, dt.datetime)):
                return pd.Timestamp(value)
        if datatype == XSD.gYear:
            return int(str(term)[:4]) if str(term)[:4].isdigit() else str(term)
    except (TypeError, ValueError, ArithmeticError):  # an ill-typed literal: keep its text
        pass
    return str(term)


def _column(values: list) -> pd.Series:
    """A column with the narrowest sensible dtype; mixed columns fall back to text."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if present and kinds == {bool}:
        return pd.Series(values, dtype="bool" if len(present) == len(values) else "boolean")
    if present and kinds == {int}:
        return pd.Series(values, dtype="int64" if len(present) == len(values) else "Int64")
    if present and kinds <= {int, float, Decimal}:
        return pd.Series([float(v) if v is not None else float("nan") for v in values], dtype="float64")
    if present and kinds == {pd.Timestamp}:
        return pd.Series(pd.to_datetime(values, utc=any(v.tzinfo is not None for v in present)))
    if kinds - {str}:
        values = [str(v) if v is not None else None for v in values]
    return pd.Series(values, dtype=None if present else "object")  # text: pandas' own string dtype


def to_dataframe(result: Result) -> pd.DataFrame:
    """A query result as a DataFrame: SELECT -> one column per variable (in order); ASK -> one ``boolean``
    column; CONSTRUCT / DESCRIBE -> ``subject``, ``predicate``, ``object``."""
    if result.type == "ASK":
        return pd.DataFrame({"boolean": pd.Series([bool(result.askAnswer)], dtype="bool")})
    if result.type == "SELECT":
        names = [str(v) for v in result.vars]
        rows = [[term_value(row[v]) for v in result.vars] for row in result]
        return pd.DataFrame({name: _column([r[i] for r in rows]) for i, name in enumerate(names)}, columns=names)
    rows = [[term_value(t) for t in triple] for triple in sorted(result.graph)]
    names = ["subject", "predicate", "object"]
    return pd.DataFrame({name: _column([r[i] for r in rows]) for i, name in enumerate(names)}, columns=names)


# ---------------------------------------------------------------------------------------------- lineage


def _grouped(chains: list[Chain]) -> dict[tuple, list[Chain]]:
    """Chains through the same entities (e.g. Kubernetes both renamed from and a rewrite of Borg) together."""
    groups: dict[tuple, list[Chain]] = {}
    for chain in chains:
        groups.setdefault(tuple(chain.nodes()), []).append(chain)
    return groups


def lineage_frame(chains: list[Chain], label: Callable[[URIRef], str], cite=None) -> pd.DataFrame:
    """One row per distinct path: descendant, ancestor, path (oldest first, " → "), hops, relations (per step,
    oldest first, " → "; alternatives " / "), sources (the documents or sections stating the steps, each with
    its confidence where one is recorded, "; ") and source_urls (where to read them, "; ").
    ``label`` names an IRI (an entity, relation or section); ``cite`` (a source IRI -> ``provenance.Source``)
    gives a source's title, URL and confidence."""
    def source_text(source) -> str:
        citation = cite(source) if cite is not None else None
        if citation is None:
            return label(source)
        return f"{citation.title} ({citation.confidence})" if citation.confidence else citation.title

    rows = []
    for nodes, group in _grouped(chains).items():
        steps = [list(reversed(chain.steps)) for chain in group]  # oldest step first
        relations, sources, urls = [], [], []
        for i in range(len(nodes) - 1):
            names = sorted({label(relation) for path in steps for relation in path[i].relations})
            relations.append(" / ".join(names))
            for path in steps:
                for source in path[i].sources:
                    sources.append(source_text(source))
                    url = cite(source).url if cite is not None else None
                    if url:
                        urls.append(url)
        rows.append({
            "descendant": label(nodes[-1]),
            "ancestor": label(nodes[0]),
            "path": " → ".join(label(n) for n in nodes),
            "hops": len(nodes) - 1,
            "relations": " → ".join(relations),
            "sources": "; ".join(dict.fromkeys(sources)),
            "source_urls": "; ".join(dict.fromkeys(urls)),
        })
    rows.sort(key=lambda r: (r["descendant"].lower(), r["hops"], r["path"].lower()))
    frame = pd.DataFrame(rows, columns=LINEAGE_COLUMNS)
    return frame.astype({"hops": "int64"})


def lineage_digraph(chains: list[Chain], label: Callable[[URIRef], str],
                    describe: Callable[[URIRef], dict], cite=None) -> nx.DiGraph:
    """The entities and asserted steps of ``chains`` as a DiGraph. Edges point from ancestor to descendant
    (the direction of descent), so ``nx.descendants(g, borg)`` holds Kubernetes. ``describe`` gives a node's
    attributes, ``label`` names relations and sections.

    Nodes are IRI strings with ``label``, ``types`` (class local names, sorted) and ``organisations``;
    edges have ``relation`` (labels joined " / "), ``relations`` (list), ``sources`` (section or document titles)
    and, given ``cite`` (a source IRI -> ``provenance.Source``), ``source_urls`` (high-confidence documents first)."""
    digraph = nx.DiGraph()
    steps = {step for chain in chains for step in chain.steps}
    for step in sorted(steps, key=lambda s: (str(s.parent), str(s.child), [str(r) for r in s.relations])):
        for iri in (step.parent, step.child):
            if str(iri) not in digraph:
                digraph.add_node(str(iri), **describe(iri))
        parent, child = str(step.parent), str(step.child)
        if digraph.has_edge(parent, child):
            data = digraph.edges[parent, child]
        else:
            digraph.add_edge(parent, child, relations=[], sources=[], source_urls=[])
            data = digraph.edges[parent, child]
        data["relations"] = sorted({*data["relations"], *(label(r) for r in step.relations)})
        data["sources"] = sorted({*data["sources"], *(label(s) for s in step.sources)})
        data["relation"] = " / ".join(data["relations"])
        if cite is not None:
            cited = [cite(source) for source in step.sources]
            ranked = [c.url for c in sorted(cited, key=lambda c: (c.confidence != "high", c.url or "")) if c.url]
            data["source_urls"] = list(dict.fromkeys([*data["source_urls"], *ranked]))
    return digraph


__all__ = ["to_dataframe", "term_value", "lineage_frame", "lineage_digraph", "LINEAGE_COLUMNS"]
