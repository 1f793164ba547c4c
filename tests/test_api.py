"""The KnowledgeGraph object: explanations and sources as public API, and the one place that knows the data changed."""
from __future__ import annotations

import gc

from rdflib import RDFS, Literal

import cnkg
from cnkg.namespaces import CNKG, CURATED_GRAPH, ID, STAGE


def test_explain_is_library_api(graph):
    why = graph.explain(ID.jaeger, CNKG.hasAncestor, ID.dapper)
    assert why["inferred"] is True and why["rule"] in ("prp-spo1", "prp-trp")
    asserted = [b for b in why["because"] if not b["inferred"]]
    assert asserted and all(b["sources"] for b in asserted)
    assert graph.explain(ID.dapper, CNKG.hasAncestor, ID.jaeger) is None  # not in the graph: nothing to explain


def test_provenance_names_the_kind_of_each_source(article_kg):
    kinds = {s.kind: s for s in article_kg.provenance((ID.jaeger, CNKG.hasStage, STAGE.incubating))}
    assert kinds["section"].title == "Logging and Tracing" and kinds["section"].document
    assert [s.kind for s in article_kg.provenance((ID.jaeger, CNKG.hasAncestor, ID.dapper))] == ["inferred"]
    assert article_kg.sources_of((ID.jaeger, CNKG.hasAncestor, ID.dapper)) == ["inferred (OWL 2 RL)"]


def test_a_change_drops_the_derived_indexes_and_tells_the_listeners(private_graph):
    seen = []
    private_graph.on_change(seen.append)
    assert private_graph.resolve("Jaeger") == ID.jaeger          # builds the name index
    private_graph.apply(added=[(ID.jaeger, RDFS.label, Literal("Jäger"), CURATED_GRAPH)])
    assert private_graph.version == 1 and seen == [private_graph]
    assert private_graph.resolve("Jäger") == ID.jaeger           # the index was rebuilt, not stale
    private_graph.apply(removed=[(ID.jaeger, RDFS.label, Literal("Jäger"), CURATED_GRAPH)])
    assert private_graph.version == 2 and len(seen) == 2


def test_listeners_that_are_bound_methods_do_not_outlive_their_object(private_graph):
    class Cache:
        calls = 0

        def refresh(self, graph):
            Cache.calls += 1

    cache = Cache()
    private_graph.on_change(cache.refresh)
    private_graph.changed()
    del cache
    gc.collect()
    private_graph.changed()
    assert Cache.calls == 1


def test_the_package_exports_its_api():
    assert {"load", "build", "KnowledgeGraph", "InvalidInput"} <= set(cnkg.__all__)
