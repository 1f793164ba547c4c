"""OWL 2 RL inference: lineage chains, symmetry and inverses land in the inferred graph, noise does not."""
from __future__ import annotations

import shutil

import pytest
from rdflib import OWL, RDF, Graph, Literal, URIRef

import cnkg
from paths import BROKEN_FACTS
from cnkg.build import build_dataset
from cnkg.errors import ReasoningError
from cnkg.namespaces import CNKG, ID, INFERRED_GRAPH, META_GRAPH
from cnkg.vocabulary import Vocabulary, read_ontology
from cnkg.reason import is_meaningful, reason
from cnkg.records import read_facts


@pytest.fixture
def minimal_kg(minimal_facts):
    return cnkg.load(minimal_facts, use_cache=False)


def test_lineage_chain_is_inferred_not_asserted(minimal_kg):
    inferred = minimal_kg.dataset.graph(INFERRED_GRAPH)
    asserted = minimal_kg.graph(include_inferred=False)
    chain = (ID.jaeger, CNKG.hasAncestor, ID.dapper)
    assert chain in inferred
    assert chain not in asserted
    # the two-step chain Jaeger -> Zipkin -> Dapper, and the inverse direction
    assert (ID.zipkin, CNKG.hasAncestor, ID.dapper) in inferred
    assert (ID.dapper, CNKG.hasDescendant, ID.jaeger) in inferred


def test_symmetric_integration_is_inferred(minimal_kg):
    assert (ID.prometheus, CNKG.integratesWith, ID.jaeger) in minimal_kg.graph(include_inferred=False)
    assert (ID.jaeger, CNKG.integratesWith, ID.prometheus) in minimal_kg.dataset.graph(INFERRED_GRAPH)


def test_alignment_and_typing_are_inferred(minimal_kg):
    inferred = minimal_kg.dataset.graph(INFERRED_GRAPH)
    assert (ID.dapper, URIRef("https://schema.org/creator"), ID.google) in inferred
    assert (ID.google, CNKG.developed, ID.dapper) in inferred
    assert (ID.jaeger, RDF.type, URIRef("http://usefulinc.com/ns/doap#Project")) in inferred


def test_inferred_graph_has_no_noise(minimal_kg):
    inferred = minimal_kg.dataset.graph(INFERRED_GRAPH)
    assert not list(inferred.triples((None, OWL.sameAs, None)))
    assert not any(isinstance(s, Literal) for s in inferred.subjects())
    assert not list(inferred.triples((None, RDF.type, OWL.Thing)))
    assert all(str(s).startswith(str(ID)) for s in inferred.subjects())


def test_noise_filter_rules():
    assert not is_meaningful((ID.a, OWL.sameAs, ID.a))
    assert not is_meaningful((CNKG.inspiredBy, RDF.type, OWL.ObjectProperty))
    assert not is_meaningful((ID.a, RDF.type, RDF.Property))
    assert is_meaningful((ID.a, CNKG.hasAncestor, ID.b))


def test_reasoner_inconsistency_becomes_an_error(minimal_facts):
    """A cycle that slips past the YAML checker still fails the build through owlrl's err: report."""
    ontology = read_ontology()
    facts = read_facts(Vocabulary(ontology), minimal_facts)
    dataset = build_dataset(facts, ontology)
    # assert the cycle directly in a section graph, behind the checker's back
    dataset.graph(URIRef("https://w3id.org/cnkg/graph/mini/one")).add((ID.dapper, CNKG.basedOn, ID.jaeger))
    with pytest.raises(ReasoningError, match="lineage cycle"):
        reason(dataset)


def test_lineage_cycle_in_yaml_fails_the_build_with_locations(minimal_facts, cli):
    shutil.copy(BROKEN_FACTS / "lineage-cycle.yaml", minimal_facts)
    result = cli("--facts", minimal_facts, "build")
    assert result.code == 1
    assert "lineage cycle" in result.err and "lineage-cycle.yaml:5" in result.err


def test_sparql_property_path_agrees_with_materialised_closure(minimal_kg):
    """Cross-check: the inferred hasAncestor pairs equal the SPARQL path over the asserted lineage edges."""
    asserted = minimal_kg.graph(include_inferred=False)
    path = {(r.x, r.y) for r in asserted.query(
        "SELECT ?x ?y WHERE { ?x (cnkg:inspiredBy|cnkg:basedOn|cnkg:rewriteOf|cnkg:forkOf|cnkg:revisionOf"
        "|cnkg:renamedFrom)+ ?y }", initNs={"cnkg": CNKG})}
    closure = set(minimal_kg.dataset.graph(INFERRED_GRAPH).subject_objects(CNKG.hasAncestor))
    assert path == closure and len(path) == 3


def test_shape_violation_fails_the_build(minimal_facts, cli):
    (minimal_facts / "extra.yaml").write_text(
        "section: one\nentities:\n  - {id: fluentd, type: Project, label: Fluentd, inCategory: logging}\n")
    result = cli("--facts", minimal_facts, "validate")
    assert result.code == 1
    assert "Fluentd" in result.err and "cnkg:hasStage" in result.err


def test_name_clash_is_reported_with_both_places(minimal_facts, cli):
    (minimal_facts / "extra.yaml").write_text(
        "section: one\nentities:\n  - {id: jaeger-2, type: Software, label: jaeger tracing}\n")
    result = cli("--facts", minimal_facts, "validate")
    assert result.code == 1
    assert "'jaeger tracing'" in result.err and "names must identify one entity" in result.err
    assert "extra.yaml:3" in result.err and "one.yaml:14" in result.err


def test_shapes_catch_a_name_shared_by_two_entities(minimal_facts):
    """The SHACL check is the second line of defence behind the YAML checker."""
    from rdflib import RDFS, Literal

    from cnkg.build import union_graph
    from cnkg.pipeline import build
    from cnkg.shapes import read_shapes, shape_problems
    data = union_graph(build(minimal_facts).dataset, exclude=(META_GRAPH,))
    data.add((ID.zipkin, RDFS.label, Literal("Dapper")))
    messages = [str(p) for p in shape_problems(data, read_shapes())]
    assert any("Dapper" in m and "names must identify one entity" in m for m in messages)
    assert any("zipkin" in m and "exactly one rdfs:label" in m for m in messages)


def test_shapes_catch_an_unresolved_reference(minimal_facts):
    from cnkg.build import union_graph
    from cnkg.pipeline import build
    from cnkg.shapes import read_shapes, shape_problems
    data = union_graph(build(minimal_facts).dataset, exclude=(META_GRAPH,))
    data.add((ID.jaeger, CNKG.integratesWith, ID.nowhere))
    messages = [str(p) for p in shape_problems(data, read_shapes())]
    assert any("id/nowhere" in m and "not declared" in m for m in messages)


def test_rdflib_graph_is_plain_triples(minimal_kg):
    assert isinstance(minimal_kg.graph(), Graph)
