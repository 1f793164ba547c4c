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


def _rebuilt_inferred(graph) -> set:
    """The inferred graph a full re-closure of the graph's asserted data gives."""
    from rdflib import Dataset

    from cnkg.namespaces import INFERRED_GRAPH
    from cnkg.reason import reason

    dataset = Dataset(default_union=True)
    for s, p, o, g in graph.store.quads():
        if g != INFERRED_GRAPH:
            dataset.graph(g).add((s, p, o))
    return set(reason(dataset))


def test_updates_keep_the_inferred_graph_equal_to_a_full_reclosure(private_graph):
    from rdflib import URIRef

    from cnkg.namespaces import CNKG, INFERRED_GRAPH
    x, g = URIRef("https://w3id.org/cnkg/id/x"), URIRef("https://example.org/g")
    change = private_graph.update(added=[(x, CNKG.inspiredBy, ID.jaeger, g)])
    assert change.inferred_added and (x, CNKG.hasAncestor, ID.dapper, INFERRED_GRAPH) in change.added
    assert (x, CNKG.hasAncestor, ID.dapper) in private_graph.store
    assert set(private_graph.store.graph(INFERRED_GRAPH)) == _rebuilt_inferred(private_graph)
    private_graph.update(removed=[(x, CNKG.inspiredBy, ID.jaeger, g)])
    assert (x, CNKG.hasAncestor, ID.dapper) not in private_graph.store
    assert set(private_graph.store.graph(INFERRED_GRAPH)) == _rebuilt_inferred(private_graph)


def test_an_update_making_a_lineage_cycle_is_refused_and_changes_nothing(private_graph):
    import pytest

    from cnkg.errors import ReasoningError
    from cnkg.namespaces import CNKG
    before = set(private_graph.store.quads())
    with pytest.raises(ReasoningError, match="lineage cycle"):
        private_graph.update(added=[(ID.dapper, CNKG.inspiredBy, ID.jaeger, CURATED_GRAPH)])
    assert set(private_graph.store.quads()) == before
    with pytest.raises(cnkg.InvalidInput, match="kept by the reasoner"):
        from cnkg.namespaces import INFERRED_GRAPH
        private_graph.update(added=[(ID.dapper, CNKG.inspiredBy, ID.jaeger, INFERRED_GRAPH)])


def test_lineage_of_a_dense_dag_is_bounded_and_says_so():
    """Regression: a dense 18-layer lineage DAG below Jaeger made every page enumerate millions of paths."""
    from rdflib import Dataset, URIRef

    from cnkg.lineage import MAX_PATHS, LineageIndex
    from cnkg.namespaces import CNKG, ONTOLOGY_GRAPH
    from cnkg.store import TripleStore

    dataset = Dataset(default_union=True)
    dataset.graph(ONTOLOGY_GRAPH).add((CNKG.inspiredBy, URIRef("http://www.w3.org/2000/01/rdf-schema#subPropertyOf"),
                                      CNKG.hasAncestor))
    layers = [[URIRef(f"https://w3id.org/cnkg/id/n{layer}-{i}") for i in range(3)] for layer in range(18)]
    section = URIRef("https://example.org/g")
    for upper, lower in zip(layers, layers[1:]):
        for child in lower:
            for parent in upper:
                dataset.graph(section).add((child, CNKG.inspiredBy, parent))
    report = LineageIndex(TripleStore.from_dataset(dataset)).report(layers[-1][0])   # 3^17 paths upwards
    assert report.truncated and len(report.ancestors) == MAX_PATHS
    assert report.ancestors[0].hops == 1 and report.ancestors[-1].hops <= 6  # the shortest are kept


def test_an_update_after_a_raw_apply_reasons_over_what_the_store_holds(private_graph):
    """apply() writes quads as given; the next update() must not reason from the state before it."""
    from rdflib import URIRef

    from cnkg.namespaces import CNKG
    x, y, g = ID["raw-x"], ID["raw-y"], URIRef("https://example.org/g")
    private_graph.update(added=[(x, CNKG.inspiredBy, ID.jaeger, g)])
    private_graph.apply(removed=[(x, CNKG.inspiredBy, ID.jaeger, g)])
    change = private_graph.update(added=[(y, CNKG.inspiredBy, x, g)])
    ancestors = {q[2] for q in change.added if q[:2] == (y, CNKG.hasAncestor)}
    assert ancestors == {x}
