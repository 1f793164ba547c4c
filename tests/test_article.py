"""The article's knowledge graph, end to end: real facts, their sources, and what the reasoner adds."""
from __future__ import annotations

from rdflib import RDF, RDFS, URIRef
from rdflib.namespace import DCTERMS

from cnkg.namespaces import CNKG, ID, INFERRED_GRAPH, ONTOLOGY_GRAPH, STAGE
from cnkg.vocabulary import sub_properties

ARTICLE_PROJECTS = {
    "kubernetes", "helm", "telepresence", "prometheus", "openmetrics", "cortex", "fluentd", "opentracing", "jaeger",
    "harbor", "rook", "vitess", "tikv", "rkt", "containerd", "coredns", "linkerd", "envoy", "falco", "spiffe",
    "spire", "tuf", "notary", "open-policy-agent", "nats", "grpc", "cloudevents",
}


def test_the_27_projects_of_the_article(article_kg):
    projects = {str(p)[len(str(ID)):] for p in article_kg.dataset.subjects(RDF.type, CNKG.Project)}
    assert projects == ARTICLE_PROJECTS


def test_every_project_has_one_stage_and_a_category(article_kg):
    for slug in ARTICLE_PROJECTS:
        project = ID[slug]
        assert len(set(article_kg.dataset.objects(project, CNKG.hasStage))) == 1, slug
        assert set(article_kg.dataset.objects(project, CNKG.inCategory)), slug


def test_exactly_two_projects_are_graduated(article_kg):
    rows = article_kg.query("SELECT DISTINCT ?p WHERE { ?p cnkg:hasStage stage:graduated }")
    assert {row.p for row in rows} == {ID.kubernetes, ID.prometheus}


def test_stages_as_the_article_gives_them(article_kg):
    expected = {"helm": "incubating", "telepresence": "sandbox", "rkt": "incubating", "tuf": "incubating",
                "spire": "sandbox", "cloudevents": "sandbox", "envoy": "incubating", "tikv": "sandbox"}
    for slug, stage in expected.items():
        assert article_kg.dataset.value(ID[slug], CNKG.hasStage) == STAGE[stage], slug


def test_jaeger_ancestors_are_inferred_not_asserted(article_kg):
    inferred = article_kg.dataset.graph(INFERRED_GRAPH)
    asserted = article_kg.graph(include_inferred=False)
    for ancestor in (ID.dapper, ID.zipkin):
        assert (ID.jaeger, CNKG.hasAncestor, ancestor) in inferred
        assert (ID.jaeger, CNKG.hasAncestor, ancestor) not in asserted
        assert (ID.jaeger, CNKG.inspiredBy, ancestor) in asserted


def test_lineage_chains_borg_to_kubernetes_and_borgmon_to_openmetrics(article_kg):
    inferred = article_kg.dataset.graph(INFERRED_GRAPH)
    assert (ID.kubernetes, CNKG.hasAncestor, ID.borg) in inferred
    assert (ID.prometheus, CNKG.hasAncestor, ID.borgmon) in inferred
    # two steps: OpenMetrics based on the Prometheus exposition format, itself inspired by Borgmon
    assert (ID.openmetrics, CNKG.hasAncestor, ID.borgmon) in inferred
    chains = [[article_kg.label(n) for n in c.nodes()] for c in article_kg.lineage("OpenMetrics").ancestors]
    assert ["Borgmon", "Prometheus exposition format", "OpenMetrics"] in chains


def test_integration_is_symmetric(article_kg):
    asserted = article_kg.graph(include_inferred=False)
    assert (ID.prometheus, CNKG.integratesWith, ID.envoy) in asserted
    assert (ID.envoy, CNKG.integratesWith, ID.prometheus) in article_kg.graph()


def test_organisations_behind_projects(article_kg):
    g = article_kg.graph()
    assert (ID.jaeger, CNKG.developedBy, ID.uber) in g  # inferred from originallyDevelopedBy
    assert (ID.uber, CNKG.developed, ID.jaeger) in g
    assert (ID.envoy, CNKG.developedBy, ID.lyft) in g
    assert (ID.containerd, CNKG.donatedBy, None) in g
    assert (ID.kubernetes, CNKG.donatedBy, ID.google) in g


def test_alternative_spellings_resolve_to_one_entity(article_kg):
    same = {"RKT": "rkt", "rkt": "rkt", "Tuf": "tuf", "TUF": "tuf", "The Update Framework": "tuf",
            "Borgman": "borgmon", "Borgmon": "borgmon", "Spiffe": "spiffe", "SPIFFE": "spiffe", "Vitesse": "vitess",
            "open-policy-agent": "open-policy-agent", "OPA": "open-policy-agent"}
    for name, slug in same.items():
        assert article_kg.resolve(name) == ID[slug], name


def test_every_statement_cites_a_section_of_the_article(article_kg):
    ds = article_kg.dataset
    meta = ds.graph(URIRef("https://w3id.org/cnkg/graph/meta"))
    section_graphs = [g for g in ds.graphs() if str(g.identifier).startswith("https://w3id.org/cnkg/graph/guide-2018/")]
    assert len([g for g in section_graphs if len(g)]) >= 12
    for graph in section_graphs:
        section = meta.value(graph.identifier, DCTERMS.source)
        assert section is not None and meta.value(section, RDFS.label) is not None
        assert (section, DCTERMS.isPartOf, URIRef("https://w3id.org/cnkg/source/guide-2018")) in meta


def test_stage_statements_cite_the_section_that_makes_them(article_kg):
    assert "Logging and Tracing" in article_kg.sources_of((ID.jaeger, CNKG.hasStage, STAGE.incubating))
    assert "CNCF Processes" in article_kg.sources_of((ID.kubernetes, CNKG.hasStage, STAGE.graduated))
    assert article_kg.sources_of((ID.jaeger, CNKG.hasAncestor, ID.dapper)) == ["inferred (OWL 2 RL)"]


def test_no_lineage_cycles_and_closure_matches_property_paths(article_kg):
    rows = article_kg.query("ASK { ?x cnkg:hasAncestor ?x }")
    assert not rows.askAnswer
    asserted = article_kg.graph(include_inferred=False)
    # every asserted lineage relation, read from the ontology (the test would miss one added without its axiom)
    relations = sorted(str(p).split("#")[-1] for p in sub_properties(article_kg.dataset.graph(ONTOLOGY_GRAPH),
                                                                      CNKG.hasAncestor))
    assert {"inspiredBy", "basedOn", "forkOf", "mergerOf", "extractedFrom", "implementsDesignOf",
            "successorOf", "builtOn"} <= set(relations)
    path = {(r.x, r.y) for r in asserted.query(
        f"SELECT ?x ?y WHERE {{ ?x ({'|'.join('cnkg:' + name for name in relations)})+ ?y }}",
        initNs={"cnkg": CNKG})}
    assert path == set(article_kg.dataset.graph(INFERRED_GRAPH).subject_objects(CNKG.hasAncestor))
