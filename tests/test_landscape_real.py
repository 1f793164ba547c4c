"""The official landscape files (2018-10 and current) imported beside the article: the combined graph.

Reads ``../shared/data/landscape``; skipped when it is absent (a fresh clone has no landscape data: users
download their own copy)."""
from __future__ import annotations

import pytest
from rdflib import RDF, XSD, Literal
from rdflib.namespace import DCTERMS

from cnkg import imports
from cnkg.api import KnowledgeGraph
from cnkg.namespaces import CNKG, ID, META_GRAPH, SOURCE, landscape_graph
from cnkg.pipeline import build

from paths import SHARED

DATA = SHARED / "data" / "landscape"
SNAPSHOTS = [  # file, date and commit as SOURCE.md there records them
    ("landscape-current.yml", "2026-08-07", "153d699bddf74038d21775b14d09052f62021441"),
    ("landscape-2018-10.yml", "2018-10-26", "760834e61d869824d884bd7abb7789697e41cb94"),
]

pytestmark = pytest.mark.skipif(not (DATA / "landscape-current.yml").exists(),
                                reason="../shared/data/landscape is absent: no official landscape.yml to import")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    directory = tmp_path_factory.mktemp("data")
    for name, date, commit in SNAPSHOTS:
        imports.import_landscape(DATA / name, imports.snapshot_info(None, date, commit, None, "landscape.yml"),
                                 directory)
    report = build(landscapes=imports.imported(directory), progress=False)   # reasons and checks SHACL too
    return report, KnowledgeGraph(report.store, dataset=report.dataset)


def test_the_compiled_shapes_agree_with_pyshacl_on_the_real_data(real):
    """The build checks the shapes as SPARQL on the store (cnkg.shacl_sparql); pySHACL, the reference, gives
    the same results on the real data, and on it with landscape facts broken the ways the shapes catch."""
    from cnkg.build import union_graph
    from cnkg.shapes import read_shapes

    from test_shacl_sparql import both

    report, _ = real
    data = union_graph(report.dataset, exclude=(META_GRAPH,))
    assert both(data, read_shapes()) == (set(), set())
    line = next(data.subjects(RDF.type, CNKG.SourceLine))
    audit = next(data.subjects(RDF.type, CNKG.AuditEvent))
    mention = next(data.subjects(RDF.type, CNKG.NameMention))
    data.remove((line, CNKG.lineNumber, None))
    data.remove((audit, CNKG.auditDate, None))
    data.add((mention, CNKG.unresolvedReason, Literal("and resolved too")))
    data.add((ID.jaeger, CNKG.memberSince, Literal("2019-13-01", datatype=XSD.date)))
    compiled, reference = both(data, read_shapes())
    assert compiled == reference
    assert {focus for focus, *_ in compiled} >= {line, audit, mention, ID.jaeger}


def table(graph, name, **params):
    return [{str(k): (str(v) if v is not None else None) for k, v in row.asdict().items()}
            for row in graph.query(name, **params)]


def test_every_item_and_every_cncf_project_is_in_the_graph(real):
    report, graph = real
    current = dict(report.landscapes)[next(s for s, _ in report.landscapes if s.info.date.year == 2026)]
    assert len(current.items) == 2413 and len(current.projects) == 255
    items = set(report.dataset.subjects(RDF.type, CNKG.LandscapeItem))
    assert len(items) > 2400
    assert graph.counts().projects == 255      # every 2018 CNCF project is still listed today


def test_every_article_project_is_aligned_with_no_false_merge(real):
    report, graph = real
    assert [u.label for u in report.alignment.unmatched if u.snapshot == "landscape-2026-08-07"] == []
    assert report.alignment.ambiguous == []
    now = {m.label: m.item for m in report.alignment.matches if m.snapshot == "landscape-2026-08-07"}
    assert now["Notary"] == "Notary Project"
    assert now["SPIRE"] == "SPIRE"
    assert now["TUF"] == "The Update Framework (TUF)"
    assert now["Cortex"] == "Cortex"
    assert graph.resolve("Cortex (member)") != ID["cortex"]
    assert (graph.resolve("Cortex (member)"), RDF.type, CNKG.Organization) in report.dataset
    then = {m.label: m.item for m in report.alignment.matches if m.snapshot == "landscape-2018-10-26"}
    assert then["SPIRE"] == "Spire"


def test_snapshot_provenance(real):
    report, _ = real
    meta = report.dataset.graph(META_GRAPH)
    for _, date, commit in SNAPSHOTS:
        source = SOURCE[f"landscape/landscape-{date}"]
        assert meta.value(source, CNKG.commit) == Literal(commit)
        assert str(meta.value(source, DCTERMS.date)) == date


def test_stage_as_of_the_article_date(real):
    _, graph = real
    stages = {r["name"]: r["stageName"] for r in table(graph, "stage-as-of", date="2018-10-26")}
    assert stages["Kubernetes"] == "Graduated" and stages["Prometheus"] == "Graduated"
    assert stages["Jaeger"] == "Incubating" and stages["Envoy"] == "Incubating"   # Envoy graduated 2018-11-28
    assert "OpenTelemetry" not in stages                                           # accepted 2019


def test_the_article_then_and_now(real):
    _, graph = real
    now = {r["name"]: r for r in table(graph, "article-then-and-now")}
    assert len(now) == 27
    assert now["rkt"]["change"] == "archived" and now["rkt"]["archived"] == "2019-08-16"
    assert now["OpenTracing"]["archived"] == "2021-08-20"
    assert now["Envoy"]["graduated"] == "2018-11-28"
    assert now["NATS"]["change"] == "unchanged"


def test_what_the_article_leaves_out_of_october_2018(real):
    _, graph = real
    verdicts = {r["name"]: r["verdict"] for r in table(graph, "article-vs-snapshot")}
    left_out = sorted(n for n, v in verdicts.items() if v == "left out by the article")
    assert left_out == ["Buildpacks", "Container Network Interface (CNI)"]
    assert list(verdicts.values()).count("agrees") == 27


def test_landscape_growth_by_category_and_year(real):
    _, graph = real
    growth = {(int(r["year"]), r["category"]): int(r["items"]) for r in table(graph, "landscape-growth")}
    by_year = {}
    for (year, _), items in growth.items():
        by_year[year] = by_year.get(year, 0) + items
    assert by_year[2026] > 4 * by_year[2018]
    projects = {}
    for r in table(graph, "landscape-growth"):
        projects[int(r["year"])] = projects.get(int(r["year"]), 0) + int(r["projects"])
    # Kgateway is listed twice (the project under API Gateway, a plain entry under AI Native Infra): it has one
    # primary place, so it is counted once, as everywhere else (issue 24: 256 here against 255)
    assert projects[2026] == 255 == graph.counts().projects
    accepted = table(graph, "projects-accepted-by-year")
    assert sum(int(r["accepted"]) for r in accepted if r["year"] == "2018") >= 10


NOW = landscape_graph("landscape-2026-08-07")


@pytest.mark.parametrize("a, b", [("Kairos", "Flux"), ("KubeEdge", "Harbor"), ("Meshery", "Helm"),
                                  ("Kairos", "KubeVirt")])
def test_the_landscape_states_integrations_each_way_by_symmetry(real, a, b):
    report, graph = real
    first, second = graph.resolve(a), graph.resolve(b)
    assert (first, CNKG.integratesWith, second) in report.dataset.graph(NOW)    # stated by the snapshot
    assert graph.query(f"ASK {{ <{second}> cnkg:integratesWith <{first}> }}").askAnswer   # and inferred back


@pytest.mark.parametrize("child, parent", [("Hubble", "Cilium"), ("Tetragon", "Cilium"), ("Flagger", "Flux")])
def test_sub_projects(real, child, parent):
    report, graph = real
    assert (graph.resolve(child), CNKG.subprojectOf, graph.resolve(parent)) in report.dataset.graph(NOW)


def test_unresolved_integration_names_are_recorded_not_invented(real):
    report, graph = real
    mentions = [m for m in report.alignment.mentions if m.snapshot == "landscape-2026-08-07"]
    kairos = {m.text: m for m in mentions if m.item == "Kairos"}
    assert kairos["EdgeVPN"].entity is None and "no entity" in kairos["EdgeVPN"].reason
    assert kairos["Kubevirt"].entity == ID["kubevirt"]
    with pytest.raises(Exception, match="no entity is named"):
        graph.resolve("EdgeVPN")
    integrated = {str(r.p) for r in graph.query(
        "SELECT DISTINCT ?p WHERE { { GRAPH ?g { ?p cnkg:integratesWith ?q } } UNION { GRAPH ?g { ?q "
        "cnkg:integratesWith ?p } } ?p a cnkg:Project FILTER(STRSTARTS(STR(?g), 'https://w3id.org/cnkg/graph/landscape/')) }")}
    assert len(integrated) > 80                          # the network now reaches far beyond the article's 27


def test_languages_audits_and_tags_of_real_projects(real):
    report, graph = real
    now = report.dataset.graph(NOW)
    assert (ID.linkerd, CNKG.writtenIn, ID.rust) in now and (ID.linkerd, CNKG.writtenIn, ID.go) in now
    vendors = {str(r.vendor) for r in graph.query(
        "SELECT ?vendor WHERE { id:linkerd cnkg:audit/cnkg:auditVendor ?vendor }")}
    assert vendors == {"Cure53", "Trail of Bits"}
    audited = graph.query("SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p cnkg:audit ?a }")
    assert int(next(iter(audited)).n) == 35


def test_named_queries_for_hubs_audits_and_sub_projects(real):
    _, graph = real
    hubs = [r for r in table(graph, "integration-hubs") if r["date"] == "2026-08-07"]
    assert int(hubs[0]["partners"]) >= 10
    assert {"Kubernetes", "Prometheus"} <= {r["name"] for r in hubs[:5]}
    years = {r["year"] for r in table(graph, "audits-by-year")}
    assert {"2019", "2022"} <= years
    subs = {(r["name"], r["parentName"]) for r in table(graph, "subprojects")}
    assert {("Hubble", "Cilium"), ("Tetragon", "Cilium"), ("Flagger", "Flux")} <= subs


def test_named_queries_answer_as_rdflib_did_on_the_real_data(real):
    """Oxigraph's answers (how cnkg answers now) against rdflib's (how it answered before), as multisets."""
    from differential import differences

    _, graph = real
    assert differences(graph) == {}
