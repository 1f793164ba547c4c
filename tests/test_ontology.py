"""The ontology: the terms clients rely on exist, every term is documented, alignments stay safe."""
from __future__ import annotations

from rdflib import OWL, RDF, RDFS, SKOS, URIRef

from cnkg.namespaces import CNKG, STAGE
from cnkg.vocabulary import Vocabulary, read_ontology

ONTOLOGY = read_ontology()


def test_required_terms_exist():
    for cls in ("Project", "Category", "Stage", "Organization"):
        assert (CNKG[cls], RDF.type, OWL.Class) in ONTOLOGY, cls
    for prop in ("inCategory", "hasStage", "developedBy", "inspiredBy", "integratesWith", "hasAncestor"):
        assert (CNKG[prop], RDF.type, OWL.ObjectProperty) in ONTOLOGY, prop
    assert (CNKG.integratesWith, RDF.type, OWL.SymmetricProperty) in ONTOLOGY
    assert (CNKG.hasAncestor, RDF.type, OWL.TransitiveProperty) in ONTOLOGY


def test_lineage_properties_are_non_transitive_sub_properties_of_has_ancestor():
    vocab = Vocabulary(ONTOLOGY)
    lineage = set(vocab.lineage_properties)
    expected = {CNKG[p] for p in ("inspiredBy", "basedOn", "rewriteOf", "forkOf", "revisionOf", "renamedFrom", "builtOn",
                                   "mergerOf", "extractedFrom", "implementsDesignOf", "successorOf")}
    assert lineage == expected
    for prop in lineage:
        assert (prop, RDF.type, OWL.TransitiveProperty) not in ONTOLOGY, prop


def test_every_term_has_a_label_and_a_definition():
    terms = {s for s in ONTOLOGY.subjects(RDF.type, None) if str(s).startswith(str(CNKG))}
    assert len(terms) > 40
    for term in terms:
        assert ONTOLOGY.value(term, RDFS.label) is not None, term
        assert ONTOLOGY.value(term, SKOS.definition) is not None, term


def test_alignments_are_sub_class_or_sub_property_only():
    for pred in (OWL.equivalentClass, OWL.equivalentProperty, OWL.sameAs):
        assert not list(ONTOLOGY.triples((None, pred, None))), pred
    # the DOAP traps: foaf:Person ranges and an inverse-functional homepage must never reach the reasoner
    doap = "http://usefulinc.com/ns/doap#"
    for bad in ("developer", "maintainer", "homepage"):
        assert not list(ONTOLOGY.triples((None, None, URIRef(doap + bad)))), bad


def test_stage_labels():
    labels = {str(ONTOLOGY.value(s, RDFS.label)) for s in ONTOLOGY.subjects(RDF.type, CNKG.Stage)}
    assert labels == {"Sandbox", "Incubating", "Graduated", "Archived"}
    ranks = {s: int(ONTOLOGY.value(s, CNKG.stageRank)) for s in ONTOLOGY.subjects(RDF.type, CNKG.Stage)}
    assert ranks[STAGE.sandbox] < ranks[STAGE.incubating] < ranks[STAGE.graduated]


def test_categories_form_a_skos_scheme():
    categories = set(ONTOLOGY.subjects(RDF.type, CNKG.Category))
    assert len(categories) == 13
    for category in categories:
        assert ONTOLOGY.value(category, SKOS.inScheme) is not None


def test_core_targets_select_what_the_sparql_target_selects(article_kg):
    """ResolvedReferences is checked with core targets computed from the data; the report is the one the shape's
    SPARQL target gives, on the article graph and on one with unresolved references under any predicate."""
    from rdflib import Graph, Literal, URIRef

    from cnkg.namespaces import CNKG, ID, META_GRAPH
    from cnkg.shapes import read_shapes, shape_problems

    data = Graph()
    for s, p, o, g in article_kg.store.quads():
        if g != META_GRAPH:
            data.add((s, p, o))
    data.add((ID.jaeger, CNKG.integratesWith, ID["no-such-entity"]))
    data.add((ID.jaeger, URIRef("https://example.org/anyPredicate"), ID["nor-this-one"]))
    data.add((ID.jaeger, URIRef("https://example.org/note"), Literal("https://w3id.org/cnkg/id/a-string")))
    shapes = read_shapes()
    fast, reference = shape_problems(data, shapes), shape_problems(data, shapes, core_targets=False)
    assert fast == reference
    assert any("no-such-entity" in str(p) for p in fast) and any("nor-this-one" in str(p) for p in fast)
