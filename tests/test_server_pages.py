"""Linked-data pages (/id, /ontology), canned queries (/queries) and explanations (/explain)."""
from __future__ import annotations

import csv
import html
import io
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from rdflib import RDF, Graph, Literal, URIRef

from cnkg.namespaces import CNKG, ID
from cnkg.server import create_app


HAS_ANCESTOR = str(CNKG.hasAncestor)
INTEGRATES = str(CNKG.integratesWith)
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def article_client(article_kg):
    return create_app({"RATE_LIMIT_PER_MINUTE": 0}, graph=article_kg).test_client()


def explain(client, s, p, o, headers=None, **extra):
    return client.get("/explain?" + urlencode({"s": s, "p": p, "o": o, **extra}), headers=headers or {})


def assert_error(response, status, *fragments):
    assert response.status_code == status, response.data
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    for fragment in fragments:
        assert fragment in body["error"]["message"]


def texts(node) -> list[str]:
    """Every triple text in an explanation tree, depth first."""
    return [node["triple"]["text"], *(t for child in node.get("because", []) for t in texts(child))]


def sections(node) -> set[str]:
    found = {s["section"] for s in node.get("sources", [])}
    for child in node.get("because", []):
        found |= sections(child)
    return found


# ---------------------------------------------------------------------------------------------- /id


def test_entity_html_reads_like_a_reference_work(client):
    """The default view: a summary, the lineage picture, sections by meaning, each value linked and cited."""
    response = client.get("/id/jaeger", headers=HTML)
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = response.get_data(as_text=True)
    assert "<h1>Jaeger" in page and "Jaeger Tracing" in page          # the label and its altLabel
    assert 'aria-label="Summary"' in page
    assert '<figure id="lineage" class="lineage-picture"><svg' in page
    assert 'id="lineage-steps"' in page and 'href="/id/zipkin"' in page  # where it comes from, linked
    assert 'id="sources"' in page and "Section one" in page and "Section two" in page
    assert '<sup class="notes"><a href="#note-' in page                # each value cites its sources
    assert 'href="/id/jaeger?view=all"' in page                         # the complete table, one click away
    assert "inferred (OWL 2 RL)" not in page                            # inferred facts only there


def test_entity_all_statements_view_keeps_the_complete_table(client):
    page = client.get("/id/jaeger?view=all", headers=HTML).get_data(as_text=True)
    assert "<h1>Jaeger</h1>" in page
    assert "Jaeger Tracing" in page                      # altLabel
    assert "Section one" in page and "Section two" in page
    assert 'href="/id/zipkin"' in page                    # links between entities
    assert "inferred (OWL 2 RL)" in page and 'class="why" href="/explain?' in page
    assert '<div id="lineage"><svg' in page
    assert 'href="/ontology#inspiredBy"' in page
    assert 'href="/id/jaeger">Back to the summary' in page


def test_entity_unknown_view_is_a_400(client):
    response = client.get("/id/jaeger?view=everything", headers=HTML)
    assert response.status_code == 400 and "view=all" in response.get_data(as_text=True)


@pytest.mark.parametrize("slug", ["Jaeger", "JAEGER", "Jaeger%20Tracing"])
def test_entity_ids_resolve_case_insensitively_and_by_name(client, slug):
    """Regression: /id/Jaeger was a 404 with no suggestion; it is the entity under another spelling."""
    response = client.get(f"/id/{slug}?view=all", headers=HTML)
    assert response.status_code == 301
    assert response.headers["Location"] == "/id/jaeger?view=all"


def test_entity_lineage_picture_boxes_link_to_their_pages(client):
    page = client.get("/id/jaeger", headers=HTML).get_data(as_text=True)
    svg = page[page.index("<svg"):page.index("</svg>")]
    for slug in ("jaeger", "zipkin", "dapper"):
        assert f'<a xlink:href="/id/{slug}"' in svg, slug


def test_entity_turtle_contains_inferred_ancestor_and_labels(client):
    response = client.get("/id/jaeger", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.content_type == "text/turtle; charset=utf-8"
    g = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    assert (ID.jaeger, CNKG.hasAncestor, ID.dapper) in g
    assert (ID.jaeger, CNKG.inspiredBy, ID.zipkin) in g
    assert (ID.zipkin, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), Literal("Zipkin")) in g


@pytest.mark.parametrize("accept, fmt, parse_as", [
    ("application/ld+json", "jsonld", "json-ld"),
    ("application/n-triples", "nt", "nt"),
])
def test_entity_other_rdf_formats(client, accept, fmt, parse_as):
    for response in (client.get("/id/jaeger", headers={"Accept": accept}), client.get(f"/id/jaeger?format={fmt}")):
        assert response.status_code == 200 and response.mimetype == accept
        g = Graph().parse(data=response.get_data(as_text=True), format=parse_as)
        assert (ID.jaeger, CNKG.hasAncestor, ID.dapper) in g


def test_entity_link_headers_name_alternates(client):
    response = client.get("/id/jaeger", headers=HTML)
    link = response.headers["Link"]
    assert '</id/jaeger?format=ttl>; rel="alternate"; type="text/turtle"' in link
    assert 'type="application/ld+json"' in link and 'type="application/n-triples"' in link
    assert response.headers["Vary"] == "Accept"


def test_entity_with_slash_in_slug(client):
    response = client.get("/id/stage/incubating", headers=HTML)
    assert response.status_code == 200
    assert 'href="/id/jaeger"' in response.get_data(as_text=True)  # incoming: Jaeger hasStage Incubating


def test_unknown_entity_404_suggests(client):
    response = client.get("/id/jaegr", headers=HTML)
    assert response.status_code == 404
    assert 'href="/id/jaeger"' in response.get_data(as_text=True)
    assert_error(client.get("/id/jaegr", headers={"Accept": "application/json"}), 404, "did you mean /id/jaeger")


@pytest.mark.parametrize("slug", ["a&b-" + "long-" * 20000,          # a valid id no entity has
                                  "a&b " + "long " * 20000],         # not even a valid IRI path
                         ids=["valid-id", "invalid-iri"])
def test_unknown_entity_404_echoes_only_the_start_of_a_long_slug(client, slug):
    """A 100 KB id is answered with its first 80 characters (escaped in HTML) and an ellipsis, not echoed whole."""
    shown = slug[:80] + "…"
    response = client.get(f"/id/{slug}", headers={"Accept": "application/json"})
    assert_error(response, 404, repr(slug[:80])[:-1] + "…")
    assert len(response.data) < 1000 and slug[:81] not in response.get_data(as_text=True)
    response = client.get(f"/id/{slug}", headers=HTML)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert len(body) < 5000 and slug[:81] not in body and html.escape(slug[:81]) not in body
    if " " not in slug:  # the HTML page (a JSON error for an invalid path)
        assert html.escape(shown) in body and "a&b" not in body


def test_entity_406_and_bad_format(client):
    assert_error(client.get("/id/jaeger", headers={"Accept": "image/png"}), 406, "text/turtle")
    assert_error(client.get("/id/jaeger?format=pdf"), 400, "format")


def test_ontology_html_and_turtle(client):
    page = client.get("/ontology", headers=HTML).get_data(as_text=True)
    assert 'id="hasAncestor"' in page and "transitive" in page and 'id="Project"' in page
    assert "sub-property of" in page and "domain" in page
    response = client.get("/ontology", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and "rel=\"alternate\"" in response.headers["Link"]
    g = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    assert (CNKG.hasAncestor, RDF.type, URIRef("http://www.w3.org/2002/07/owl#TransitiveProperty")) in g


# ---------------------------------------------------------------------------------------------- /queries


def test_queries_index_html_and_json(client, graph):
    page = client.get("/queries", headers=HTML).get_data(as_text=True)
    assert 'href="/queries/lineage"' in page
    body = client.get("/queries", headers={"Accept": "application/json"}).get_json()
    names = [q["name"] for q in body["queries"]]
    assert names == sorted(graph.queries)
    lineage = next(q for q in body["queries"] if q["name"] == "lineage")
    assert lineage["parameters"][0]["name"] == "project" and lineage["parameters"][0]["default"] == "Jaeger"


def test_canned_query_html_form_has_parameter_field(client):
    response = client.get("/queries/lineage?project=Zipkin", headers=HTML)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<input id="param-project" name="project" value="Zipkin"' in page
    assert "cnkg:hasAncestor" in page                          # the SPARQL text
    assert "Dapper → Zipkin" in page and "Zipkin → Jaeger" in page  # the results table
    default = client.get("/queries/lineage", headers=HTML).get_data(as_text=True)
    assert 'name="project" value="Jaeger"' in default        # prefilled with the default


def test_canned_query_json_and_csv(client):
    response = client.get("/queries/lineage?project=Zipkin&format=json")
    assert response.mimetype == "application/sparql-results+json"
    rows = response.get_json()["results"]["bindings"]
    assert {(r["direction"]["value"], r["name"]["value"]) for r in rows} == {("ancestor", "Dapper"),
                                                                            ("descendant", "Jaeger")}
    response = client.get("/queries/lineage?project=Zipkin", headers={"Accept": "text/csv"})
    assert response.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {(r["direction"], r["name"], r["hops"]) for r in table} == {("ancestor", "Dapper", "1"),
                                                                      ("descendant", "Jaeger", "1")}


def test_canned_query_bad_parameters(client):
    json_ = {"Accept": "application/json"}
    assert_error(client.get("/queries/lineage?projct=Zipkin", headers=json_), 400, "no parameter 'projct'", "project")
    assert_error(client.get("/queries/projects-by-stage?stage=Foo&format=csv"), 400, "no stage is named 'Foo'")
    assert_error(client.get("/queries/lineage?project=Nothing-Like-It", headers=json_), 400, "no entity is named")
    assert_error(client.get("/queries/lineage?format=pdf"), 400, "format")
    assert_error(client.get("/queries/no-such-query"), 404, "no named query")


def test_canned_query_bad_parameter_in_a_browser_shows_the_form(client):
    response = client.get("/queries/projects-by-stage?stage=Foo", headers=HTML)
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'name="stage" value="Foo"' in page and "no stage is named &#39;Foo&#39;" in page


def test_canned_query_timeout_gives_503_not_200(private_graph, make_app):
    """Regression: canned queries ran in the request thread with no timeout; now they run in the sandbox, whose
    worker is killed at the deadline."""
    from cnkg.named_queries import NamedQuery

    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    private_graph.queries["slow"] = NamedQuery("slow", "a cross product that never ends", slow, Path("slow.rq"))
    client = make_app({"QUERY_TIMEOUT": 0.3}, graph=private_graph).test_client()
    for url, headers in [("/queries/slow?format=json", {}), ("/queries/slow", HTML)]:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        assert time.perf_counter() - started < 10
        assert_error(response, 503, "query timed out")
        assert response.mimetype == "application/json"


# ---------------------------------------------------------------------------------------------- /explain


def test_explain_two_step_chain_gives_both_steps(client):
    response = explain(client, ID.jaeger, HAS_ANCESTOR, ID.dapper)
    assert response.status_code == 200
    body = response.get_json()
    assert body["inferred"] is True and body["rule"] == "prp-spo1"          # the direct statement (Section two)
    assert texts(body)[1] == "Jaeger cnkg:inspiredBy Dapper" and sections(body) == {"Section two"}
    chain = next(a for a in body["alternatives"] if a["rule"] == "prp-trp")
    assert [step["triple"]["text"] for step in chain["because"]] == ["Jaeger cnkg:hasAncestor Zipkin",
                                                                    "Zipkin cnkg:hasAncestor Dapper"]
    asserted = [t for t in texts(chain) if "inspiredBy" in t]
    assert asserted == ["Jaeger cnkg:inspiredBy Zipkin", "Zipkin cnkg:inspiredBy Dapper"]
    assert sections(chain) == {"Section one"}


def test_explain_symmetric(client):
    body = explain(client, ID.jaeger, INTEGRATES, ID.prometheus).get_json()
    assert body["rule"] == "prp-symp"
    assert body["because"] == [{"triple": body["because"][0]["triple"], "inferred": False,
                                "sources": body["because"][0]["sources"]}]
    assert body["because"][0]["triple"]["text"] == "Prometheus cnkg:integratesWith Jaeger"
    assert sections(body) == {"Section one"}


def test_explain_inverse_type_and_literal(client):
    body = explain(client, ID.dapper, CNKG.hasDescendant, ID.jaeger).get_json()
    assert body["rule"] in ("prp-inv1", "prp-inv2") and body["because"][0]["rule"] == "prp-spo1"
    body = explain(client, ID.jaeger, RDF.type, "http://usefulinc.com/ns/doap#Project").get_json()
    assert body["rule"] == "cax-sco" and sections(body) == {"curated"}
    body = explain(client, ID.jaeger, "https://schema.org/url", "https://www.jaegertracing.io/",
                   o_datatype="http://www.w3.org/2001/XMLSchema#anyURI").get_json()
    assert body["rule"] == "prp-spo1" and texts(body)[1].startswith("Jaeger cnkg:homepage")


def test_every_inferred_triple_has_a_justification(graph):
    from cnkg.namespaces import INFERRED_GRAPH

    explainer = graph.explainer
    unexplained = [t for t in graph.dataset.graph(INFERRED_GRAPH) if explainer.explain(*t)["rule"] is None]
    assert unexplained == []


def test_explain_asserted_triple_is_not_inferred(client):
    body = explain(client, ID.jaeger, CNKG.inspiredBy, ID.zipkin).get_json()
    assert body["inferred"] is False and sections(body) == {"Section one"}


def test_explain_errors(client):
    assert_error(explain(client, ID.dapper, HAS_ANCESTOR, ID.jaeger), 404, "does not contain")
    assert_error(client.get("/explain?s=" + str(ID.jaeger)), 400, "missing parameter 'p'")
    assert_error(explain(client, "not an iri", HAS_ANCESTOR, ID.dapper), 400, "absolute IRI")


def test_explain_html(client):
    response = explain(client, ID.jaeger, HAS_ANCESTOR, ID.dapper, headers=HTML)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "prp-trp" in page and "Section one" in page and "Jaeger cnkg:inspiredBy Zipkin" in page


def test_why_links_on_entity_page_resolve(client):
    page = client.get("/id/jaeger?view=all", headers=HTML).get_data(as_text=True)
    import re

    links = {href.replace("&amp;", "&") for href in re.findall(r'class="why" href="([^"]+)"', page)}
    assert links
    for href in links:
        response = client.get(href)
        assert response.status_code == 200, href
        assert response.get_json()["rule"] is not None, href


# ---------------------------------------------------------------------------------------------- article graph


def test_article_explain_jaeger_dapper(article_client):
    body = explain(article_client, ID.jaeger, HAS_ANCESTOR, ID.dapper).get_json()
    assert body["rule"] == "prp-spo1"
    assert texts(body)[1] == "Jaeger cnkg:inspiredBy Dapper"
    assert "Logging and Tracing" in sections(body)
    assert json.dumps(body)  # plain JSON all the way down


def test_article_entity_page(article_client):
    response = article_client.get("/id/jaeger", headers=HTML)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Logging and Tracing" in page and "Distributed tracing system" in page
    assert '<figure id="lineage" class="lineage-picture"><svg' in page


@pytest.mark.parametrize("url", ["/", "/id/jaeger", "/ontology", "/queries", "/queries/lineage",
                                 "/explain?s=https://w3id.org/cnkg/id/jaeger&p=https://w3id.org/cnkg/ontology%23"
                                 "hasAncestor&o=https://w3id.org/cnkg/id/dapper"])
def test_every_html_page_has_the_security_headers(client, url):
    """Regression: only / had a Content-Security-Policy; nothing had nosniff or frame protection."""
    response = client.get(url, headers=HTML)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_every_answer_is_nosniff(client):
    response = client.get("/sparql", query_string={"query": "ASK {}"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_lineage_too_large_to_draw_is_not_drawn(private_graph, make_app):
    """Regression: a dense lineage inserted by update made every entity page draw for 19-29 s; pictures of more
    than MAX_DRAWN_ENTITIES entities are not drawn (the .svg is 413) and the page still answers."""
    from cnkg.namespaces import CNKG, CURATED_GRAPH
    from cnkg.server.ui import MAX_DRAWN_ENTITIES

    nodes = [ID[f"wide-{i}"] for i in range(MAX_DRAWN_ENTITIES + 5)]
    private_graph.update(added=[(node, CNKG.inspiredBy, ID.jaeger, CURATED_GRAPH) for node in nodes])
    client = make_app(graph=private_graph).test_client()
    assert client.get("/lineage/jaeger.svg").status_code == 413
    page = client.get("/id/jaeger", headers=HTML)
    assert page.status_code == 200 and b"<svg" not in page.data
    assert client.get("/lineage/prometheus.svg").status_code == 200  # a small lineage is still drawn


def test_ontology_page_documents_the_landscape_terms(client):
    page = client.get("/ontology", headers=HTML).get_data(as_text=True)
    for term in ("subprojectOf", "NameMention", "SourceLine", "AuditEvent", "LandscapeTag", "Persona", "UseCase",
                 "devStats", "annualReview", "releaseRate", "cloMonitorName", "additionalRepository"):
        assert f'id="{term}"' in page, term
    assert "Not lineage" in page                 # why sub-projects stay out of hasAncestor


# ---------------------------------------------------------------------------------------------- both snapshots


@pytest.fixture(scope="module")
def real_client(real):
    return create_app({"RATE_LIMIT_PER_MINUTE": 0}, graph=real[1]).test_client()


def _summary(page: str) -> str:
    return page[page.index('aria-label="Summary"'):page.index("</table>", page.index('aria-label="Summary"'))]


def test_kubernetes_summary_names_stage_category_creator_and_links(real_client):
    page = real_client.get("/id/kubernetes", headers=HTML).get_data(as_text=True)
    summary = _summary(page)
    assert 'href="/id/stage/graduated"' in summary and "since <time" in summary and "2018-03-06" in summary
    assert 'href="/id/category/orchestration"' in summary
    assert 'id="summary-creator"' in summary and 'href="/id/google"' in summary
    for url in ("https://kubernetes.io/", "https://github.com/kubernetes/kubernetes", "https://k8s.devstats.cncf.io/"):
        assert f'href="{url}"' in summary, url                     # homepage, repository, DevStats as links
    assert '<figure id="lineage"' in page and 'id="stages"' in page and 'id="audits"' in page
    assert 'id="integrations"' in page and 'id="organisations"' in page and 'id="languages"' in page


def test_kubernetes_default_view_has_no_plumbing_and_no_inferred_echoes(real_client):
    """Regression: the page was one table of every triple, each asserted fact repeated as its inferred
    super-properties (schema:url, dct:subject, prov:*, rdf:type cnkg:Entity), "Referenced by" mostly the
    landscape's source-line IRIs."""
    page = real_client.get("/id/kubernetes", headers=HTML).get_data(as_text=True)
    assert "w3id.org/cnkg/source/" not in page and "/line/" not in page
    for echo in ("schema:", "https://schema.org/", "prov:", "http://www.w3.org/ns/prov#", "dct:subject",
                 'href="/ontology#Entity"', "inferred (OWL 2 RL)", "Has descendant", "Has ancestor"):
        assert echo not in page, echo
    # a fact stated the other way round (Jaeger runs on Kubernetes) is there once, not again as its inverse
    assert page.count('href="/id/jaeger"') == 1
    complete = real_client.get("/id/kubernetes?view=all", headers=HTML).get_data(as_text=True)
    assert "https://schema.org/url" in complete and "/line/" in complete      # nothing is lost


# ---------------------------------------------------------------------------------------------- snapshot sources

COMMIT_2018 = "760834e61d869824d884bd7abb7789697e41cb94"


@pytest.fixture(scope="module")
def snapshot_client(tmp_path_factory):
    """The article with two tiny snapshots: one from the CNCF repository at a recorded commit, one recorded without a
    commit under the name of a local copy (which need not be its name in any repository)."""
    from cnkg import imports
    from cnkg.api import KnowledgeGraph
    from cnkg.pipeline import build
    from paths import LANDSCAPES

    directory = tmp_path_factory.mktemp("data")
    imports.import_landscape(LANDSCAPES / "2018.yml", imports.snapshot_info(
        None, "2018-10-26", COMMIT_2018, None, "landscape.yml"), directory)
    imports.import_landscape(LANDSCAPES / "current.yml", imports.snapshot_info(
        "now", "2026-08-07", None, None, "my-copy.yml"), directory)
    report = build(landscapes=imports.imported(directory), progress=False)
    return create_app({"RATE_LIMIT_PER_MINUTE": 0}, graph=KnowledgeGraph(report.dataset)).test_client()


def test_a_landscape_snapshot_source_links_to_the_file_at_its_commit(snapshot_client):
    """Regression: a landscape snapshot was a source without a link, although the import records its repository and
    commit. A snapshot without a commit gets no made-up link: its date and the file's name say which it was."""
    url = f"https://github.com/cncf/landscape/blob/{COMMIT_2018}/landscape.yml"
    page = snapshot_client.get("/id/jaeger", headers=HTML).get_data(as_text=True)
    notes = [item.split("</li>")[0] for item in page.split('<li id="note-')[1:]]
    at_commit = [n for n in notes if "2018-10-26" in n]
    assert len(at_commit) == 1 and f'<a href="{url}"' in at_commit[0]
    without = [n for n in notes if "2026-08-07" in n]
    assert len(without) == 1
    assert "CNCF landscape.yml of 2026-08-07 (file my-copy.yml)" in html.unescape(without[0])
    assert "<a " not in without[0]
    complete = snapshot_client.get("/id/jaeger?view=all", headers=HTML).get_data(as_text=True)
    assert f'href="{url}"' in complete and "(file my-copy.yml)" in html.unescape(complete)
    # the explanation of a fact the 2018 file states (JSON for programs, as the page's "why?")
    body = explain(snapshot_client, str(ID.jaeger), str(CNKG.hasStage), str(ID["stage/incubating"]),
                   headers={"Accept": "application/json"}).get_json()
    assert {"section": "CNCF landscape.yml of 2018-10-26, commit 760834e61d86", "url": url}.items() <= \
        next(s for s in body["sources"] if "2018-10-26" in s["section"]).items()
