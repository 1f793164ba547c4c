"""Named queries: parsed at start-up, parameters bound safely, each answering with real facts."""
from __future__ import annotations

import pytest

from cnkg.errors import InvalidInput
from cnkg.namespaces import ID, QUERIES_DIR
from cnkg.named_queries import load_named_queries, parse_query_file

NAMES = sorted(p.stem for p in QUERIES_DIR.glob("*.rq"))
# these ask about imported landscape snapshots (tested in test_landscape_import.py on a combined graph)
LANDSCAPE_QUERIES = {"stage-as-of", "article-then-and-now", "article-vs-snapshot", "landscape-growth",
                     "integration-hubs", "audits-by-year", "subprojects", "unresolved-names",
                     "projects-accepted-by-year", "landscape-alignment"}
ARTICLE_QUERIES = [n for n in NAMES if n not in LANDSCAPE_QUERIES]


def test_every_query_file_parses_with_a_summary():
    queries = load_named_queries()
    assert set(queries) == set(NAMES)
    required = {"projects-by-stage", "projects-by-category", "lineage", "integrations", "organizations",
                "entity-facts"}
    assert required <= set(queries)
    for query in queries.values():
        assert query.summary and query.form in ("SelectQuery", "AskQuery", "ConstructQuery", "DescribeQuery")
        for param in query.parameters:
            assert param.default, f"{query.name}: parameter {param.name} has no default"


@pytest.mark.parametrize("name", ARTICLE_QUERIES)
def test_every_query_answers_with_its_defaults(article_kg, name):
    rows = list(article_kg.query(name))
    assert rows, f"{name} returned nothing with its defaults"


def test_projects_by_category(article_kg):
    rows = article_kg.query("projects-by-category", category="Tracing")
    assert {str(r.name) for r in rows} == {"Jaeger", "OpenTracing"}


def test_lineage_query_gives_ancestors_and_descendants_with_paths(article_kg):
    rows = {(str(r.direction), str(r.name), str(r.path)) for r in article_kg.query("lineage", project="jaeger")}
    assert ("ancestor", "Dapper", "Dapper → Jaeger") in rows
    assert ("ancestor", "Zipkin", "Zipkin → Jaeger") in rows
    rows = {(str(r.direction), str(r.name), str(r.path)) for r in article_kg.query("lineage", project="Borgmon")}
    assert ("descendant", "OpenMetrics", "Borgmon → Prometheus exposition format → OpenMetrics") in rows


def test_integrations_query_shows_symmetry_and_source(article_kg):
    rows = {(str(r.name), str(r.stated), str(r.section)) for r in article_kg.query("integrations", project="Envoy")}
    assert ("Prometheus", "by symmetry", "Monitoring") in rows
    assert ("Prometheus", "as stated", "Service Proxies") in rows


def test_organizations_query(article_kg):
    rows = {(str(r.orgName), str(r.role), str(r.thingName)) for r in article_kg.query("organizations")}
    assert ("Uber", "originated", "Jaeger") in rows
    assert ("Google", "donated", "Kubernetes") in rows


def test_entity_facts_cite_sections_and_mark_inferences(article_kg):
    rows = {(r.subject, r.property.split("#")[-1], r.object, str(r.source))
            for r in article_kg.query("entity-facts", entity="Jaeger")}
    assert (ID.jaeger, "inspiredBy", ID.dapper, "Logging and Tracing") in rows
    assert (ID.jaeger, "hasAncestor", ID.dapper, "inferred (OWL 2 RL)") in rows


def test_parameters_are_bound_not_pasted(article_kg):
    """A value that would break out of the query text is only ever a name to look up."""
    with pytest.raises(InvalidInput, match="no entity is named"):
        list(article_kg.query("lineage", project='Jaeger> } ; DROP ALL ; SELECT * { <x'))


def test_unknown_parameter_and_query_names_suggest(article_kg):
    with pytest.raises(InvalidInput, match="did you mean 'project'"):
        article_kg.query("lineage", projet="Jaeger")
    with pytest.raises(InvalidInput, match="did you mean 'lineage'"):
        article_kg.query("linage")


def test_broken_query_file_reports_line_and_column(tmp_path):
    bad = tmp_path / "bad.rq"
    bad.write_text("# summary: broken\nSELECT ?x WHERE {\n  ?x ?y \n}\n")
    with pytest.raises(InvalidInput, match=r"bad.rq:\d+: malformed SPARQL query at line \d+, column"):
        parse_query_file(bad)


def test_header_problems_are_reported(tmp_path):
    bad = tmp_path / "noheader.rq"
    bad.write_text("# param: x (colour, default red) -- a colour\nSELECT ?x WHERE { ?x ?p ?o }\n")
    with pytest.raises(InvalidInput) as caught:
        parse_query_file(bad)
    text = str(caught.value)
    assert "missing '# summary" in text and "unknown parameter type 'colour'" in text


def test_stage_parameter_must_name_a_stage(article_kg):
    with pytest.raises(InvalidInput, match="no stage is named 'Jaeger'"):
        article_kg.query("projects-by-stage", stage="Jaeger")
    with pytest.raises(InvalidInput, match="did you mean 'Graduated'"):
        article_kg.query("projects-by-stage", stage="graduatd")
    assert len(list(article_kg.query("projects-by-stage", stage="incubator"))) >= 15  # the article's own word
