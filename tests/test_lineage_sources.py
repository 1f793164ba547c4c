"""Every lineage step shows the documents that state it: title, link and confidence, wherever lineage is shown
(the CLI's text and JSON, the diagram, /explain, the entity page, the lineage frame)."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS

from cnkg.cli import lineage_text
from cnkg.namespaces import CNKG, GRAPH, ID, META_GRAPH
from cnkg.server import create_app
from conftest import _copy

JAEGER_PROPOSAL = ("https://github.com/cncf/toc/blob/4acc1dcf3e5cab23fb02eba784baff82449e87f5/projects/jaeger/"
                   "jaeger-incubation-proposal.adoc")


@pytest.fixture(scope="module")
def client(article_kg):
    return create_app({"RATE_LIMIT_PER_MINUTE": 0}, graph=article_kg).test_client()


def test_cli_json_gives_each_step_its_documents(article_kg):
    report = json.loads(lineage_text(article_kg, "Jaeger", "json"))
    steps = {(s["from"], s["relation"]): s["sources"] for c in report["ancestors"] for s in c["steps"]}
    zipkin = steps[("Zipkin", "inspired by")]
    cited = next(s for s in zipkin if s.get("url") == JAEGER_PROPOSAL)
    assert cited["confidence"] == "high" and cited["read"] == "2026-12-06" and "proposal" in cited["title"]
    article = next(s for s in zipkin if "confidence" not in s)   # the article's section, as it always was
    assert article["title"] == "Logging and Tracing"
    assert article["url"] == "https://www.cloudops.com/blog/the-beginners-guide-to-the-cncf-landscape/"


def test_cli_text_names_one_path_once_with_every_relation(article_kg):
    text = lineage_text(article_kg, "Kubernetes")
    ancestors = text.split("Descendants:")[0]
    assert ancestors.count("  Borg → Kubernetes\n") == 1
    for relation in ("inspired by", "successor of", "renamed from"):
        assert f"Kubernetes {relation} Borg" in ancestors
    assert "high confidence" in ancestors and "<https://" in ancestors


def test_diagram_links_each_relation_to_a_document(article_kg):
    svg = article_kg.lineage_diagram("Jaeger").svg()
    assert f'xlink:href="{JAEGER_PROPOSAL}"' in svg


def test_lineage_frame_has_source_urls(article_kg):
    frame = article_kg.lineage_frame("OpenTofu")
    row = frame[frame.ancestor == "Terraform"].iloc[0]
    assert "https://opentofu.org/manifesto" in row.source_urls.split("; ")
    assert "(high)" in row.sources


def test_explain_and_entity_page_link_the_document(client):
    query = urlencode({"s": str(ID.jaeger), "p": str(CNKG.inspiredBy), "o": str(ID.zipkin)})
    body = client.get("/explain?" + query).get_json()
    cited = [s for s in body["sources"] if s.get("url") == JAEGER_PROPOSAL]
    assert cited and cited[0]["confidence"] == "high" and cited[0]["note"]
    page = client.get("/id/jaeger", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'href="{JAEGER_PROPOSAL}"' in page and "(high confidence)" in page


def test_a_non_web_source_written_by_an_update_is_never_a_link(article_kg):
    graph = _copy(article_kg)   # the session's graph stays as built
    hostile = URIRef("javascript:alert(1)")
    cited = GRAPH["cited/jaeger/hostile"]
    graph.update(added=[(ID.jaeger, CNKG.forkOf, ID.zipkin, cited),
                        (cited, DCTERMS.source, hostile, META_GRAPH),
                        (cited, CNKG.confidence, Literal("high"), META_GRAPH)])
    assert "javascript:" not in graph.lineage_diagram("Jaeger").svg()
    report = json.loads(lineage_text(graph, "Jaeger", "json"))
    urls = [s.get("url") for c in report["ancestors"] for step in c["steps"] for s in step["sources"]]
    assert "javascript:alert(1)" not in urls
    page = create_app({"RATE_LIMIT_PER_MINUTE": 0}, graph=graph).test_client().get(
        "/id/jaeger", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'href="javascript:' not in page


def test_cli_json_gives_one_step_per_pair_naming_every_relation(article_kg):
    """Regression: Borg → Kubernetes came back once per asserted relation (four chains through the same two
    entities); a reader expects one step naming each relation, with each one's sources."""
    report = json.loads(lineage_text(article_kg, "Kubernetes", "json"))
    paths = [chain["path"] for chain in report["ancestors"]]
    assert paths.count(["Borg", "Kubernetes"]) == 1 and len(paths) == len({tuple(p) for p in paths})
    step = next(c for c in report["ancestors"] if c["path"] == ["Borg", "Kubernetes"])["steps"][0]
    names = [r["relation"] for r in step["relations"]]
    assert {"inspired by", "renamed from", "rewrite of", "successor of"} <= set(names)
    assert step["relation"] == " / ".join(names)
    assert all(r["sources"] for r in step["relations"])              # every relation cites its own sources
    every = {s["title"] for r in step["relations"] for s in r["sources"]}
    assert {s["title"] for s in step["sources"]} == every


def test_entity_page_names_every_relation_of_a_step_once(client):
    page = client.get("/id/kubernetes", headers={"Accept": "text/html"}).get_data(as_text=True)
    steps = page[page.index('id="lineage-steps"'):page.index("</section>", page.index('id="lineage-steps"'))]
    assert steps.count('href="/id/borg"') == 1
    assert "(inspired by, renamed from, rewrite of, successor of)" in steps
