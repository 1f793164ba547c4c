"""Where every CNCF project comes from: the sourced lineage and origin facts, measured as `cnkg coverage` measures
them, on the graph with both official landscape snapshots imported (skipped without ../shared, by the fixture)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rdflib import URIRef
from rdflib.namespace import DCTERMS

from cnkg.coverage import as_json, as_text, coverage
from cnkg.namespaces import CNKG, ID, META_GRAPH

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def report(real):
    _, graph = real
    return as_json(coverage(graph.store), graph.label)


def test_every_graduated_and_incubating_project_has_a_sourced_origin(report):
    for stage in ("graduated", "incubating"):
        entry = report["stages"][stage]
        assert entry["projects"] == 38, stage
        assert entry["with_origin"] == entry["projects"], (stage, entry["without_origin"])


def test_most_have_a_sourced_lineage_relation_beyond_who_made_them(report):
    with_lineage = sum(report["stages"][stage]["with_lineage"] for stage in ("graduated", "incubating"))
    assert with_lineage >= 55


def test_every_lineage_and_origin_statement_names_its_document(report):
    assert report["statements"] >= 250
    assert report["unsourced_statements"] == []
    assert report["sourced_statements"] == report["statements"]


def test_cited_documents_are_specific_well_formed_urls(real):
    _, graph = real
    cited = {(g, o) for g, _, o in graph.store.graph(META_GRAPH).triples((None, DCTERMS.source, None))
             if graph.store.value(g, CNKG.confidence) is not None}
    assert len(cited) >= 300
    for _, url in cited:
        parts = urlsplit(str(url))
        assert parts.scheme in ("http", "https") and parts.netloc, url
        assert parts.path not in ("", "/"), f"{url} is a site's front page"
        assert not re.search(r"\s", str(url)), url


def test_forks_and_successors_among_landscape_items(real):
    _, graph = real
    lineage = graph.lineage("OpenTofu")
    assert ID.terraform in {chain.ancestor for chain in lineage.ancestors}
    assert graph.store.value(None, CNKG.forkOf, ID.redis) == ID.valkey
    ancestors = {chain.ancestor for chain in graph.lineage("OpenTelemetry").ancestors}
    assert {ID.opentracing, ID.opencensus} <= ancestors


def test_internal_systems_and_papers_are_ancestors(real):
    _, graph = real
    assert (ID.etcd, CNKG.hasAncestor, ID.chubby) in graph.dataset
    assert (ID.etcd, CNKG.implementsDesignOf, URIRef(ID["raft-paper"])) in graph.dataset
    assert str(graph.store.value(ID["raft-paper"], CNKG.publishedIn)) == "2014"
    assert (ID.kubernetes, CNKG.hasAncestor, ID.omega) in graph.dataset


def test_the_article_statements_keep_their_article_provenance(real):
    _, graph = real
    # the article says Jaeger was inspired by Dapper: still cited to its section, not to a lineage document
    titles = graph.sources_of((ID.jaeger, CNKG.inspiredBy, ID.dapper))
    assert "Logging and Tracing" in titles


def test_the_coverage_command_prints_json(cli):
    result = cli("coverage", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data["stages"]) == {"graduated", "incubating", "sandbox", "archived"}
    assert data["unsourced_statements"] == []


def test_the_readme_shows_what_cnkg_coverage_prints(real):
    _, graph = real
    text = README.read_text(encoding="utf-8")
    block = text.split("$ cnkg coverage\n", 1)[1].split("```", 1)[0]
    assert block == as_text(coverage(graph.store), graph.label)
