"""Search by part of a name: the index (cnkg.search), KnowledgeGraph.search, ``cnkg search`` and ``GET /search``."""
from __future__ import annotations

import csv
import io
import json

import pytest
from cnkg import imports
from cnkg.api import KnowledgeGraph
from cnkg.errors import InvalidInput
from cnkg.namespaces import CNKG, ID
from cnkg.search import MAX_QUERY, fold


def labels(result) -> list[str]:
    return [hit.label for hit in result.hits]


def test_ranking_exact_label_then_altlabel_prefix_word_substring_description(article_kg):
    result = article_kg.search("prometheus")
    assert result.hits[0].label == "Prometheus" and result.hits[0].match == "label"
    kinds = [hit.match for hit in result.hits]
    assert kinds == sorted(kinds, key=["label", "altLabel", "prefix", "word", "substring", "description"].index)
    assert article_kg.search("golang").hits[0].label == "Go"                     # an altLabel
    assert article_kg.search("golang").hits[0].match == "altLabel"
    assert article_kg.search("jaeg").hits[0].label == "Jaeger"                   # a prefix
    tracing = article_kg.search("tracing")
    assert tracing.hits[0].match == "label"                                       # the category Tracing
    matches = {hit.label: hit.match for hit in tracing.hits}
    assert matches["OpenTracing"] == "substring"
    assert "description" in matches.values()                                      # Jaeger's own words


def test_case_and_accents_are_ignored(article_kg):
    assert labels(article_kg.search("KUBERNETES"))[0] == "Kubernetes"
    assert labels(article_kg.search("Kubérnetes"))[0] == "Kubernetes"
    assert fold("  Ünïcode\u00a0Text ") == "unicode text"


def test_did_you_mean_for_a_typo(article_kg):
    result = article_kg.search("jaegr")
    assert result.hits == [] and result.suggestion == "Jaeger"
    assert article_kg.search("kubrnetes").suggestion == "Kubernetes"
    assert article_kg.search("zzzzqqqq").suggestion is None


def test_short_queries_and_fts_syntax_are_plain_text(article_kg):
    assert "Go" in labels(article_kg.search("go"))
    for hostile in ('"', "OR", "NEAR(a b)", "a* AND b", "'; DROP TABLE name; --", "%", "_"):
        article_kg.search(hostile)                                                # never an FTS5 syntax error


def test_bad_queries_are_clear_errors(article_kg):
    with pytest.raises(InvalidInput, match="nothing to search for"):
        article_kg.search("   ")
    with pytest.raises(InvalidInput, match=f"at most {MAX_QUERY}"):
        article_kg.search("x" * (MAX_QUERY + 1))
    with pytest.raises(InvalidInput, match="limit 0 is not a number from 1 to 100"):
        article_kg.search("jaeger", 0)


def test_the_limit_bounds_the_answer(article_kg):
    assert len(article_kg.search("o", 3).hits) == 3


def test_the_index_follows_the_graph_version(private_graph):
    assert private_graph.search("Brand New Thing").hits == []
    thing = ID["brand-new-thing"]
    from cnkg.namespaces import CURATED_GRAPH
    from rdflib import RDF, RDFS, Literal

    private_graph.update(added=[(thing, RDF.type, CNKG.Software, CURATED_GRAPH),
                                (thing, RDFS.label, Literal("Brand New Thing"), CURATED_GRAPH)])
    assert [h.iri for h in private_graph.search("brand new").hits] == [str(thing)]


def test_cli_search_formats_and_exit_codes(cli):
    table = cli("--no-landscapes", "search", "jaeg")
    assert table.code == 0 and table.out.splitlines()[2].startswith("Jaeger ")
    answer = json.loads(cli("--no-landscapes", "search", "jaeg", "--format", "json").out)
    assert answer["hits"][0]["iri"] == str(ID.jaeger) and answer["suggestion"] is None
    rows = list(csv.DictReader(io.StringIO(cli("--no-landscapes", "search", "jaeg", "-f", "csv").out)))
    assert rows[0]["label"] == "Jaeger" and rows[0]["match"] == "prefix"
    miss = cli("--no-landscapes", "search", "jaegr")
    assert miss.code == 1 and "did you mean 'Jaeger'?" in miss.err
    assert cli("--no-landscapes", "search", "x", "--limit", "500").code == 1


def test_http_search_json_and_html(client):
    answer = client.get("/search?q=jaeg", headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json["hits"][0]["label"] == "Jaeger"
    page = client.get("/search?q=jaeg", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<a href="/id/jaeger">Jaeger</a>' in html
    typo = client.get("/search?q=jaegr", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Did you mean" in typo and "Jaeger" in typo
    empty = client.get("/search?q=", headers={"Accept": "application/json"})
    assert empty.status_code == 400 and empty.json["error"]["reason"] == "request"
    assert client.get("/search?q=a&limit=abc", headers={"Accept": "application/json"}).status_code == 400
    assert client.get("/search", headers={"Accept": "text/html"}).status_code == 200    # the empty form


def test_every_page_has_the_search_box(client):
    for path in ("/", "/id/jaeger", "/queries", "/ontology", "/search?q=jaeger"):
        html = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert 'id="site-search"' in html and "search.js" in html, path
    script = client.get("/static/search.js")
    assert script.status_code == 200 and "fetch(" in script.get_data(as_text=True)


@pytest.fixture(scope="module")
def real_graph(real_imports):
    """The article with the current official snapshot (the session's import: conftest.real_imports)."""
    from cnkg.pipeline import build

    current = [s for s in imports.imported(real_imports) if str(s.info.date) == "2026-08-07"]
    assert len(current) == 1
    report = build(landscapes=current, progress=False, validate_shapes=False)
    return KnowledgeGraph(report.dataset)


def test_real_data_prometh_lists_prometheus_first(real_graph, cli, monkeypatch):
    assert real_graph.search("prometh").hits[0].iri == str(ID.prometheus)
    monkeypatch.setattr("cnkg.cli._graph", lambda args: real_graph)
    answer = json.loads(cli("search", "prometh", "--format", "json").out)
    assert answer["hits"][0]["label"] == "Prometheus"


def test_real_data_jaeg_lists_jaeger_first_over_http(real_graph, make_app):
    client = make_app(graph=real_graph).test_client()
    answer = client.get("/search?q=jaeg", headers={"Accept": "application/json"}).json
    assert answer["hits"][0]["iri"] == str(ID.jaeger)
    page = client.get("/search?q=jaeg").get_data(as_text=True)
    assert page.index(">Jaeger</a>") < page.index(">Jaeger Operator</a>")
