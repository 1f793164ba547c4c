"""What a release carries besides code: the licence, and one version shared by the package and the ontology."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from rdflib import DCTERMS, OWL, Graph, URIRef

import cnkg
from cnkg.namespaces import ONTOLOGY_IRI
from cnkg.vocabulary import read_ontology
from paths import MINIMAL_FACTS

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_text_is_apache_2_0_and_declared_as_a_licence_file():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert set(project["license-files"]) >= {"LICENSE", "NOTICE"}  # what puts them into the wheel's dist-info


def test_the_ontology_header_states_licence_creator_and_the_package_version():
    ontology = read_ontology()
    assert ontology.value(ONTOLOGY_IRI, OWL.versionInfo).toPython() == cnkg.__version__
    assert ontology.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef(f"{ONTOLOGY_IRI}/{cnkg.__version__}")
    assert ontology.value(ONTOLOGY_IRI, DCTERMS.license) == URIRef("https://www.apache.org/licenses/LICENSE-2.0")
    assert ontology.value(ONTOLOGY_IRI, DCTERMS.creator) is not None


# ------------------------------------------------------------------------------------ a lean core, extras by use

NOT_IN_THE_CORE = ("pandas", "numpy", "matplotlib", "networkx", "pyshacl")


def test_serving_imports_nothing_of_the_extras(tmp_path):
    """`cnkg serve` needs only the core install: create_app and a SPARQL query load none of the extras' packages (a
    fresh interpreter, since the test session itself has them loaded)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, cnkg\n"
        "from cnkg.server import create_app\n"
        f"graph = cnkg.load({str(MINIMAL_FACTS)!r}, landscapes=[])\n"
        "app = create_app({'QUERY_TIMEOUT': 5.0}, graph=graph)\n"
        "answer = app.test_client().get('/sparql', query_string={'query': 'ASK { ?s ?p ?o }'},\n"
        "                               headers={'Accept': 'application/sparql-results+json'})\n"
        "assert answer.status_code == 200, answer.data\n"
        f"print(' '.join(sorted(m for m in {NOT_IN_THE_CORE!r} if m in sys.modules)))\n")
    env = {**os.environ, "CNKG_CACHE_DIR": str(tmp_path / "cache"), "CNKG_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "", f"imported by serving: {result.stdout.strip()}"


@pytest.fixture
def without(monkeypatch):
    """``without("matplotlib", ...)``: those packages cannot be imported (as in an install without their extra)."""
    import sys

    def hide(*names: str) -> None:
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)

    return hide


def test_a_lineage_picture_without_its_extra_names_the_extra(cli, without):
    without("matplotlib")
    result = cli("--facts", MINIMAL_FACTS, "lineage", "Jaeger", "--format", "svg")
    assert result.code == 2
    assert "the lineage diagram needs matplotlib" in result.err and "pip install 'cnkg[diagrams]'" in result.err
    assert cli("--facts", MINIMAL_FACTS, "lineage", "Jaeger").code == 0  # the text lineage needs no extra


def test_the_server_without_the_diagrams_extra_answers_501_and_pages_leave_the_picture_out(make_app, without):
    without("matplotlib", "networkx")
    client = make_app().test_client()
    svg = client.get("/lineage/jaeger.svg", headers={"Accept": "application/json"})
    assert svg.status_code == 501
    assert svg.get_json()["error"]["reason"] == "unsupported"
    assert "cnkg[diagrams]" in svg.get_json()["error"]["message"]
    page = client.get("/id/jaeger", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"Jaeger" in page.data and b"<svg" not in page.data


def test_data_frames_and_pyshacl_without_their_extras_name_them(graph, without):
    from cnkg.extras import MissingExtra
    from cnkg.shapes import pyshacl_violations

    without("pandas")
    with pytest.raises(MissingExtra, match=r"pip install 'cnkg\[notebooks\]'"):
        graph.sparql("SELECT ?s WHERE { ?s a cnkg:Project }")
    without("pyshacl")
    with pytest.raises(MissingExtra, match=r"pip install 'cnkg\[shacl\]'"):
        pyshacl_violations(Graph(), Graph())


def test_the_test_extra_holds_every_optional_package():
    """The README's `pip install -e ".[test]"` must run every test: the test extra includes the others."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "cnkg[diagrams,shacl]" in extras["test"] and any(r.startswith("pandas") for r in extras["test"])
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [r for r in core if r.split(">")[0].split("<")[0].split(";")[0].strip() in NOT_IN_THE_CORE]


def test_every_file_the_program_reads_is_declared_package_data():
    """A file the server or the builder reads but pyproject's package-data does not name is missing from the wheel:
    the checkout works, the install answers 404 (the favicon once did). Every data file of each package matches."""
    import fnmatch

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    missing = []
    for package, directory in config["package-dir"].items():
        patterns = config["package-data"].get(package, [])
        base = ROOT / directory
        for path in base.rglob("*"):
            relative = path.relative_to(base).as_posix()
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in relative or "/." in f"/{relative}":
                continue  # code, caches and hidden files are not data
            if not any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
                missing.append(f"{directory}/{relative}")
    assert not missing, f"not in [tool.setuptools.package-data], so not in the wheel: {missing}"
