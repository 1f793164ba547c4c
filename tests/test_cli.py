"""The cnkg command: each sub-command end to end, with its exit codes."""
from __future__ import annotations

import json

import pytest

from rdflib import Graph

from paths import MINIMAL_FACTS


def test_build_prints_counts_and_caches(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CNKG_CACHE_DIR", str(tmp_path))
    result = cli("build")
    assert result.code == 0
    assert "27 projects" in result.out and "inferred" in result.out
    assert len(list(tmp_path.glob("kg-*.oxigraph"))) == 1


def test_validate_ok(cli):
    result = cli("validate")
    assert result.code == 0 and result.out.startswith("valid: ")


def test_query_formats(cli):
    table = cli("query", "projects-by-category", "--param", "category=Tracing")
    assert table.code == 0 and "Jaeger" in table.out and "(2 rows)" in table.out
    as_json = cli("query", "projects-by-category", "-p", "category=tracing", "--format", "json")
    data = json.loads(as_json.out)
    assert {b["name"]["value"] for b in data["results"]["bindings"]} == {"Jaeger", "OpenTracing"}
    as_csv = cli("query", "projects-by-category", "-p", "category=tracing", "--format", "csv")
    assert as_csv.out.splitlines()[0] == "project,name,stage,categoryName"


def test_query_from_file_and_ask(cli, tmp_path):
    query = tmp_path / "graduated.rq"
    query.write_text("ASK { id:kubernetes cnkg:hasStage stage:graduated }")
    result = cli("query", query)
    assert result.code == 0 and result.out.strip() == "true"


def test_query_errors_exit_1(cli):
    assert cli("query", "lineage", "-p", "project=Nonexistent").code == 1
    assert cli("query", "lineage", "-p", "noequals").code == 1
    assert cli("query", "missing-file.rq").code == 1


def test_lineage_text_and_json(cli):
    text = cli("lineage", "JAEGER")
    assert text.code == 0 and "Dapper → Jaeger" in text.out
    assert "source: Logging and Tracing (The Beginner's Guide to the CNCF Landscape) <https://" in text.out
    data = json.loads(cli("lineage", "kubernetes", "--format", "json").out)
    assert ["Borg", "Kubernetes"] in [c["path"] for c in data["ancestors"]]


def test_lineage_miss_suggests(cli):
    result = cli("lineage", "Promethus")
    assert result.code == 1 and "did you mean 'Prometheus'?" in result.err


def test_export_default_is_whole_graph_as_turtle(cli):
    result = cli("--facts", MINIMAL_FACTS, "export")
    assert result.code == 0
    graph = Graph().parse(data=result.out, format="turtle")
    assert any("hasAncestor" in str(p) for _, p, _ in graph)


def test_usage_error_exits_2(cli, capsys):
    import pytest
    with pytest.raises(SystemExit) as exit_info:
        cli("export", "--format", "yaml")
    assert exit_info.value.code == 2


def test_the_reasoner_option_builds_with_owlrl_and_caches_it_apart(cli, tmp_path, monkeypatch):
    """--reasoner owlrl (the reference) gives the same graph as the default compiled reasoner, cached separately."""
    monkeypatch.setenv("CNKG_CACHE_DIR", str(tmp_path))
    assert cli("--facts", MINIMAL_FACTS, "build").code == 0
    assert cli("--facts", MINIMAL_FACTS, "--reasoner", "owlrl", "build").code == 0
    assert len(list(tmp_path.glob("kg-*.oxigraph"))) == 2
    outputs = [cli("--facts", MINIMAL_FACTS, "--reasoner", name, "export", "--format", "nquads").out
               for name in ("rules", "owlrl")]
    assert outputs[0] and sorted(outputs[0].splitlines()) == sorted(outputs[1].splitlines())
    with pytest.raises(SystemExit) as refused:  # argparse: not a choice, usage error
        cli("--reasoner", "pellet", "build")
    assert refused.value.code == 2


def test_version_prints_the_package_version(capsys):
    import cnkg
    from cnkg.cli import main
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"cnkg {cnkg.__version__}"


def test_query_dash_reads_the_query_from_standard_input(cli, monkeypatch):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("ASK { id:kubernetes cnkg:hasStage stage:graduated }\n"))
    result = cli("query", "-")
    assert result.code == 0 and result.out.strip() == "true"
    monkeypatch.setattr("sys.stdin", io.StringIO("  \n"))
    empty = cli("query", "-")
    assert empty.code == 1 and "no query on standard input" in empty.err


def test_a_missing_required_option_is_a_usage_error_exit_2_as_documented(cli, capsys):
    """README: a usage error (here import-landscape without --date) prints the usage and exits 2."""
    with pytest.raises(SystemExit) as exit_info:
        cli("import-landscape", "landscape.yml")
    assert exit_info.value.code == 2
    assert "usage: cnkg import-landscape" in capsys.readouterr().err


def test_help_texts_say_what_the_program_does():
    """--allow-update: the server keeps the inferred graph up to date (as every update answer says), and no option's
    help stops mid-sentence."""
    from cnkg.cli import _parser
    from cnkg.server.update import NOTE

    parser = _parser()
    subparsers = next(a for a in parser._actions if a.choices and "serve" in a.choices).choices
    allow_update = next(a for a in subparsers["serve"]._actions if "--allow-update" in a.option_strings)
    assert "inferred graph follows" in allow_update.help and "inferred graph follows" in NOTE
    assert "not recomputed" not in allow_update.help
    max_size = next(a for a in subparsers["import-landscape"]._actions if "--max-size" in a.option_strings)
    assert max_size.help.endswith("needs no --max-size")
