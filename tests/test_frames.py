"""cnkg.frames through the graph object: query results as DataFrames, lineage as a DataFrame and a DiGraph."""
from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
from rdflib import XSD, BNode, Literal, URIRef

from cnkg.errors import InvalidInput
from cnkg.frames import term_value

ID = "https://w3id.org/cnkg/id/"


def test_select_columns_and_types(article_kg):
    frame = article_kg.sparql("""
        SELECT ?project ?name ?year (1.5 AS ?ratio) (true AS ?flag) ("2018-10-26"^^xsd:date AS ?published)
        WHERE { ?project cnkg:openSourcedIn ?year ; rdfs:label ?name } ORDER BY ?name""")
    assert list(frame.columns) == ["project", "name", "year", "ratio", "flag", "published"]
    assert frame.dtypes["year"] == "int64"            # xsd:gYear -> the year
    assert frame.dtypes["ratio"] == "float64"
    assert frame.dtypes["flag"] == "bool"
    assert pd.api.types.is_datetime64_any_dtype(frame.dtypes["published"])
    row = frame.iloc[0]                               # the article: Borg "open sourced" (as Kubernetes) in 2014
    assert row.project == ID + "borg" and row.year == 2014


def test_partly_unbound_integers_stay_integers(article_kg):
    frame = article_kg.sparql("SELECT ?name ?order WHERE { ?p a cnkg:Project ; rdfs:label ?name . "
                              "OPTIONAL { ?p cnkg:joinOrder ?order } }")
    assert frame.dtypes["order"] == "Int64"           # pandas' nullable integers, not float
    orders = dict(zip(frame.name, frame.order))
    assert orders["Kubernetes"] == 1 and orders["Prometheus"] == 2 and pd.isna(orders["Jaeger"])


def test_unbound_cells_are_missing(article_kg):
    frame = article_kg.sparql("SELECT ?name ?homepage WHERE { ?e a cnkg:InternalSystem ; rdfs:label ?name . "
                              "OPTIONAL { ?e cnkg:homepage ?homepage } }")
    assert len(frame) >= 3 and frame.homepage.isna().all()


def test_named_query_with_parameters(article_kg):
    frame = article_kg.sparql("projects-by-category", category="Tracing")
    assert list(frame.columns) == ["project", "name", "stage", "categoryName"]
    assert set(frame.name) == {"Jaeger", "OpenTracing"}
    assert (frame.project.str.startswith(ID)).all()
    with pytest.raises(InvalidInput):
        article_kg.sparql("projects-by-category", colour="red")


def test_ask_and_construct(article_kg):
    assert article_kg.sparql("ASK { id:kubernetes cnkg:hasStage stage:graduated }").boolean.tolist() == [True]
    triples = article_kg.sparql("CONSTRUCT { id:jaeger cnkg:inspiredBy ?x } WHERE { id:jaeger cnkg:inspiredBy ?x }")
    assert list(triples.columns) == ["subject", "predicate", "object"]
    assert set(triples.object) == {ID + "dapper", ID + "dapper-paper", ID + "zipkin"}   # Dapper and its paper


def test_term_values():
    assert term_value(None) is None
    assert term_value(URIRef(ID + "x")) == ID + "x"
    assert term_value(BNode("b1")) == "_:b1"
    assert term_value(Literal("7", datatype=XSD.integer)) == 7
    assert term_value(Literal("x", datatype=XSD.integer)) == "x"  # ill-typed: its text
    assert term_value(Literal("hello", lang="en")) == "hello"


def test_lineage_frame_of_jaeger(article_kg):
    frame = article_kg.lineage_frame("Jaeger")
    assert list(frame.columns) == ["descendant", "ancestor", "path", "hops", "relations", "sources", "source_urls"]
    assert frame.dtypes["hops"] == "int64"
    dapper = frame[frame.path == "Dapper → Jaeger"].iloc[0]
    assert (dapper.descendant, dapper.ancestor, dapper.hops) == ("Jaeger", "Dapper", 1)
    assert dapper.relations == "inspired by" and dapper.sources == "Logging and Tracing"


def test_lineage_frame_of_everything(article_kg):
    frame = article_kg.lineage_frame()
    assert "Borgmon → Prometheus exposition format → OpenMetrics" in set(frame.path)
    assert frame.hops.max() == 3   # e.g. Borgmon → Prometheus → Cortex/Thanos, and a three-step chain
    borg = frame[frame.path == "Borg → Kubernetes"]
    assert len(borg) == 1   # four relations (the article's two, the project's sources' two), one path
    assert borg.iloc[0].relations == "inspired by / renamed from / rewrite of / successor of"
    assert not frame.duplicated("path").any()


def test_lineage_digraph(article_kg):
    whole = article_kg.lineage_digraph()
    assert isinstance(whole, nx.DiGraph) and nx.is_directed_acyclic_graph(whole)
    assert whole.has_edge(ID + "borg", ID + "kubernetes")   # ancestor -> descendant
    assert whole.nodes[ID + "borg"]["label"] == "Borg"
    assert whole.nodes[ID + "borg"]["types"] == ["InternalSystem"]
    assert whole.nodes[ID + "dapper"]["organisations"] == ["Google"]
    edge = whole.edges[ID + "dapper", ID + "jaeger"]
    assert edge["relation"] == "inspired by" and edge["sources"] == ["Logging and Tracing"]
    assert ID + "openmetrics" in nx.descendants(whole, ID + "borgmon")
    jaeger = article_kg.lineage_digraph("Jaeger")
    assert set(jaeger) == {ID + "dapper", ID + "dapper-paper", ID + "zipkin", ID + "jaeger"}
