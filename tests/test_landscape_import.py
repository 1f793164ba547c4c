"""Importing landscape snapshots: alignment with the article, provenance, stages through time, the CLI."""
from __future__ import annotations

import json

import pytest
from rdflib import RDFS, SKOS, Literal, URIRef
from rdflib.namespace import DCTERMS

from cnkg import imports
from cnkg.align import name_forms, normal
from cnkg.api import KnowledgeGraph
from cnkg.namespaces import CNKG, ID, META_GRAPH, SOURCE, STAGE, landscape_graph
from cnkg.pipeline import build

from paths import FIXTURES
from test_queries import LANDSCAPE_QUERIES

LANDSCAPES = FIXTURES / "landscape"


@pytest.fixture(scope="module")
def combined(tmp_path_factory):
    """The article with two tiny snapshots: a 2018 one and a current one."""
    directory = tmp_path_factory.mktemp("data")
    imports.import_landscape(LANDSCAPES / "2018.yml", imports.snapshot_info(
        None, "2018-10-26", "760834e61d869824d884bd7abb7789697e41cb94", None, "landscape.yml"), directory)
    imports.import_landscape(LANDSCAPES / "current.yml", imports.snapshot_info(
        "now", "2026-08-07", None, None, "landscape.yml"), directory)
    report = build(landscapes=imports.imported(directory), progress=False)
    return report, KnowledgeGraph(report.dataset)


def rows(graph, name, **params):
    return [{str(k): (str(v) if v is not None else None) for k, v in row.asdict().items()}
            for row in graph.query(name, **params)]


@pytest.mark.parametrize("name", sorted(LANDSCAPE_QUERIES))
def test_every_landscape_query_answers_with_its_defaults(combined, name):
    _, graph = combined
    assert list(graph.query(name)), f"{name} returned nothing with its defaults"


def test_name_forms_accept_initials_aliases_but_never_role_markers():
    assert {"the update framework", "tuf"} <= name_forms("The Update Framework (TUF)")
    assert name_forms("Cortex (member)") == {"cortex (member)"}
    assert name_forms("Meshery (Wasm)") == {"meshery (wasm)"}
    assert normal("Notary Project") == "notary" and normal(" SPIRE ") == normal("Spire")


def test_one_iri_carries_the_article_and_the_landscape(combined):
    report, graph = combined
    dataset = report.dataset
    matched = {m.item: m.entity for m in report.alignment.matches if m.snapshot == "now"}
    assert matched["Notary Project"] == ID["notary"]
    assert matched["Spire"] == ID["spire"]
    assert matched["The Update Framework (TUF)"] == ID["tuf"]
    assert matched["Cortex"] == ID["cortex"]
    assert "Cortex (member)" not in matched          # a member company is not the Cortex project
    member = graph.resolve("Cortex (member)")
    assert member != ID["cortex"] and (member, RDFS.label, Literal("Cortex (member)")) in dataset
    # the article's name stays the label; the landscape's spelling is an altLabel in the snapshot's graph
    assert graph.label(ID["notary"]) == "Notary"
    assert (ID["notary"], SKOS.altLabel, Literal("Notary Project"), landscape_graph("now")) in dataset.quads()
    # both sources' facts on one IRI, each in its own graph
    assert (ID["jaeger"], CNKG.hasStage, STAGE["incubating"], landscape_graph("landscape-2018-10-26")) \
        in dataset.quads()
    assert (ID["jaeger"], CNKG.hasStage, STAGE["graduated"], landscape_graph("now")) in dataset.quads()
    assert "CNCF landscape.yml of 2026-08-07" in graph.sources_of((ID["jaeger"], CNKG.hasStage, STAGE["graduated"]))


def test_unmatched_article_projects_are_reported_with_a_reason(combined):
    report, _ = combined
    unmatched = {u.label: u.reason for u in report.alignment.unmatched if u.snapshot == "now"}
    assert "Kubernetes" in unmatched and "no item has this name" in unmatched["Kubernetes"]
    assert "Cortex" not in unmatched and "Jaeger" not in unmatched
    assert len(unmatched) == 27 - 5                   # the article's 27 projects, 5 of them in the fixture


def test_each_snapshot_is_a_provenance_graph_with_source_commit_and_date(combined):
    report, _ = combined
    meta = report.dataset.graph(META_GRAPH)
    source = SOURCE["landscape/landscape-2018-10-26"]
    assert meta.value(landscape_graph("landscape-2018-10-26"), DCTERMS.source) == source
    assert str(meta.value(source, DCTERMS.date)) == "2018-10-26"
    assert str(meta.value(source, CNKG.commit)) == "760834e61d869824d884bd7abb7789697e41cb94"
    assert str(meta.value(source, CNKG.homepage)) == "https://github.com/cncf/landscape"


def test_landscape_categories_form_a_skos_scheme(combined):
    report, graph = combined
    sub = URIRef(f"{ID}landscape-category/observability-and-analysis/observability")
    assert (ID["jaeger"], CNKG.inLandscapeCategory, sub) in report.dataset
    assert report.dataset.value(sub, SKOS.broader) == URIRef(f"{ID}landscape-category/observability-and-analysis")
    # second_path places count too
    assert (ID["cortex"], CNKG.inLandscapeCategory,
            URIRef(f"{ID}landscape-category/provisioning/security-compliance")) in report.dataset


def test_stage_as_of_a_date_comes_from_the_lifecycle_events(combined):
    _, graph = combined
    then = {r["name"]: r["stageName"] for r in rows(graph, "stage-as-of", date="2018-10-26")}
    assert then["Jaeger"] == "Incubating" and then["Cortex"] == "Sandbox" and then["SPIRE"] == "Sandbox"
    assert "Brand New Tracer" not in then             # accepted in 2025
    later = {r["name"]: r["stageName"] for r in rows(graph, "stage-as-of", date="2023-01-01")}
    assert later["Jaeger"] == "Graduated" and later["SPIRE"] == "Graduated" and later["Cortex"] == "Incubating"


def test_article_then_and_now_and_against_the_2018_snapshot(combined):
    _, graph = combined
    now = {r["name"]: r for r in rows(graph, "article-then-and-now")}
    assert now["Jaeger"]["articleStage"] == "Incubating" and now["Jaeger"]["nowStage"] == "Graduated"
    assert now["Jaeger"]["graduated"] == "2019-10-31" and now["Jaeger"]["change"] == "moved up"
    assert now["Kubernetes"]["change"] == "not in any imported landscape snapshot"
    versus = {r["name"]: r["verdict"] for r in rows(graph, "article-vs-snapshot")}
    assert versus["Container Network Interface (CNI)"] == "left out by the article"
    assert versus["Jaeger"] == "agrees"
    assert versus["Kubernetes"] == "not a CNCF project in the snapshot"
    against_now = {r["name"]: r for r in rows(graph, "article-vs-snapshot", snapshot="now")}
    assert against_now["Jaeger"]["verdict"] == "differs"
    assert (against_now["Jaeger"]["articleStage"], against_now["Jaeger"]["snapshotStage"]) == ("Incubating", "Graduated")


def test_unknown_snapshot_parameter_is_an_error_with_a_suggestion(combined):
    _, graph = combined
    with pytest.raises(Exception, match="no landscape snapshot is named 'landscape-2018'.*did you mean"):
        graph.query("article-vs-snapshot", snapshot="landscape-2018")


def test_cli_import_check_list_replace_and_remove(cli, tmp_path):
    result = cli("import-landscape", LANDSCAPES / "current.yml", "--date", "2026-08-07", "--check")
    assert result.code == 0 and "nothing imported" in result.out
    assert cli("landscapes").out.startswith("no landscape snapshots imported")
    result = cli("import-landscape", LANDSCAPES / "current.yml", "--date", "2026-08-07", "--no-build")
    assert result.code == 0, result.err
    assert "'project' is misplaced under 'extra'" in result.err
    assert "landscape-2026-08-07: 2026-08-07" in cli("landscapes").out
    again = cli("import-landscape", LANDSCAPES / "current.yml", "--date", "2026-08-07", "--no-build")
    assert again.code == 1 and "already imported" in again.err and "--replace" in again.err
    assert cli("import-landscape", LANDSCAPES / "current.yml", "--date", "2026-08-07", "--no-build",
               "--replace").code == 0
    assert cli("landscapes", "--remove", "landscape-2026-08-07").code == 0
    assert cli("landscapes").out.startswith("no landscape snapshots imported")


def test_cli_import_builds_and_reports_the_alignment(cli):
    result = cli("import-landscape", LANDSCAPES / "2018.yml", "--date", "2018-10-26")
    assert result.code == 0, result.err
    assert "Jaeger  (line" in result.out
    assert "article projects not in this snapshot: 25" in result.out
    assert "Kubernetes: no item has this name" in result.out
    table = cli("query", "projects-by-stage", "--param", "stage=Sandbox")
    assert "CNCF landscape.yml of 2018-10-26" in table.out          # the landscape's claim, with its source
    assert "CNCF landscape.yml" not in cli("--no-landscapes", "query", "projects-by-stage",
                                           "--param", "stage=Sandbox").out


@pytest.mark.parametrize("path", sorted((LANDSCAPES / "broken").glob("*.yml")), ids=lambda p: p.stem)
def test_a_broken_file_imports_nothing(cli, path):
    result = cli("import-landscape", path, "--date", "2026-08-07")
    assert result.code == 1
    assert f"{path}:" in result.err
    assert not imports.landscapes_dir().exists() or not any(imports.landscapes_dir().iterdir())


def test_bad_options_are_clear_errors(cli):
    assert "is not a date" in cli("import-landscape", LANDSCAPES / "2018.yml", "--date", "26/10/2018").err
    assert "not a git commit" in cli("import-landscape", LANDSCAPES / "2018.yml", "--date", "2018-10-26",
                                     "--commit", "main").err
    assert "not a snapshot name" in cli("import-landscape", LANDSCAPES / "2018.yml", "--date", "2018-10-26",
                                        "--name", "My Snapshot").err


def test_a_changed_copy_is_detected_not_trusted(cli):
    assert cli("import-landscape", LANDSCAPES / "2018.yml", "--date", "2018-10-26", "--no-build").code == 0
    copy = imports.landscapes_dir() / "landscape-2018-10-26.yml"
    copy.write_text(copy.read_text() + "\n# edited\n")
    result = cli("landscapes")
    assert result.code == 1 and "hash mismatch" in result.err
    record = json.loads((imports.landscapes_dir() / "landscape-2018-10-26.json").read_text())
    assert record["items"] == 3 and record["schema"] == "2018"


def _landscape(path, names):
    """A small valid landscape.yml with one item per name."""
    items = "".join(f"          - item:\n            name: {n}\n            homepage_url: https://example.org/{i}\n"
                    f"            logo: item-{i}.svg\n" for i, n in enumerate(names))
    path.write_text("landscape:\n  - category:\n    name: C\n    subcategories:\n      - subcategory:\n"
                    "        name: S\n        items:\n" + items)
    return path


def test_far_fewer_items_than_the_previous_import_of_the_same_source_needs_force(cli, tmp_path):
    """Regression: a snapshot cut to a third of its items imported as a smaller landscape without a word."""
    whole = _landscape(tmp_path / "whole.yml", [f"Item {i}" for i in range(12)])
    cut = _landscape(tmp_path / "cut.yml", [f"Item {i}" for i in range(4)])
    assert cli("import-landscape", whole, "--date", "2026-01-01", "--no-build").code == 0
    for options in ((), ("--check",)):
        result = cli("import-landscape", cut, "--date", "2026-08-07", "--no-build", *options)
        assert result.code == 1
        assert f"{cut}: 4 items, far fewer than the 12 of snapshot 'landscape-2026-01-01' (2026-01-01)" in result.err
        assert "--force" in result.err
    assert not (imports.landscapes_dir() / "landscape-2026-08-07.json").exists()
    # an older snapshot, another repository, or most of the items are not suspicious
    assert cli("import-landscape", cut, "--date", "2018-10-26", "--no-build").code == 0
    assert cli("import-landscape", cut, "--date", "2026-08-07", "--no-build", "--url",
               "https://github.com/example/landscape").code == 0
    most = _landscape(tmp_path / "most.yml", [f"Item {i}" for i in range(9)])
    assert cli("import-landscape", most, "--date", "2026-03-01", "--no-build").code == 0
    result = cli("import-landscape", cut, "--date", "2026-08-07", "--no-build", "--name", "forced", "--force")
    assert result.code == 0, result.err
    assert json.loads((imports.landscapes_dir() / "forced.json").read_text())["items"] == 4


def test_the_stored_copy_is_exactly_the_bytes_that_were_checked(tmp_path):
    """Regression: the file was read twice (check, then copy), so a FIFO (or a file changed in between) could store
    other bytes than the ones checked. A FIFO yields its content once: a second read would get nothing, or hang."""
    import os
    import threading

    from bounded import AVAILABLE, run_bounded
    if not AVAILABLE or not hasattr(os, "mkfifo"):
        pytest.skip("needs fork, /proc and mkfifo")
    content = _landscape(tmp_path / "source.yml", ["Jaeger", "Zipkin"]).read_bytes()
    fifo = tmp_path / "landscape.yml"
    os.mkfifo(fifo)

    def serve_once():
        with open(fifo, "wb") as out:
            out.write(content)

    writer = threading.Thread(target=serve_once, daemon=True)
    result = None
    try:
        writer.start()
        result = run_bounded("import-landscape", fifo, "--date", "2026-08-07", "--no-build", timeout=30)
    finally:
        if writer.is_alive():                         # nobody opened the FIFO: unblock the writer
            with open(fifo, "rb"):
                pass
    assert result.code == 0, result.err
    copy = imports.landscapes_dir() / "landscape-2026-08-07.yml"
    assert copy.read_bytes() == content
    assert json.loads(copy.with_suffix(".json").read_text())["items"] == 2
