"""The research notebooks run top to bottom on a clean checkout, and say what the graph says.

Each notebook is executed (nbclient, kernel "python3") from a temporary copy, with the checkout first on the
kernel's PYTHONPATH and a cache directory of this module's own, shared by its notebooks: the first notebook to need a
graph builds it, later ones open it (a cached graph is the built one: tests/test_cache.py); the committed notebooks
keep no outputs.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from paths import SHARED

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat (pip install -e '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient (pip install -e '.[test]')")
pytest.importorskip("ipykernel", reason="the notebook tests need ipykernel for the python3 kernel "
                                        "(pip install -e '.[test]')")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01-lineage.ipynb", "02-landscape-2018.ipynb", "03-integration-network.ipynb",
         "04-landscape-then-and-now.ipynb", "05-integration-network-then-and-now.ipynb",
         "06-ecosystem-lineage.ipynb"]
LANDSCAPE_DATA = SHARED / "data" / "landscape"
PROJECTS = {"Helm", "Telepresence", "Harbor", "Fluentd", "Cortex", "OpenMetrics", "Prometheus", "Kubernetes",
            "containerd", "rkt", "Falco", "Notary", "Open Policy Agent", "SPIFFE", "SPIRE", "TUF", "CoreDNS",
            "Linkerd", "Envoy", "Rook", "TiKV", "Vitess", "CloudEvents", "gRPC", "NATS", "Jaeger", "OpenTracing"}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """name -> the executed notebook (each run once per module)."""
    done = {}
    cache = tmp_path_factory.mktemp("nbcache")  # e.g. notebooks 04 and 06 read the same two snapshots: one build

    def run(name: str, data_dir: Path | None = None):
        if name not in done:
            workdir = tmp_path_factory.mktemp("notebook")
            shutil.copy(NOTEBOOKS / name, workdir / name)
            notebook = nbformat.read(workdir / name, as_version=4)
            client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                             resources={"metadata": {"path": str(workdir)}})
            with pytest.MonkeyPatch.context() as env:  # the kernel inherits this process's environment
                env.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
                env.setenv("CNKG_CACHE_DIR", str(cache))
                env.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
                env.setenv("CNKG_DATA_DIR", str(data_dir or tmp_path_factory.mktemp("nbdata")))
                client.execute()
            nbformat.write(notebook, workdir / name)
            done[name] = notebook
        return done[name]

    return run


def outputs(notebook, mime: str = "text/plain") -> list[str]:
    """The text of every code cell's outputs (stream text and the given display type), cell by cell. Consecutive
    pieces of one stream are joined as Jupyter shows them: the kernel flushes what a cell prints in pieces, and a
    piece may end in the middle of a line (one print's arguments are separate writes)."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        parts, stream = [], None
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                if stream == out.name:
                    parts[-1] += out.text
                else:
                    parts.append(out.text)
                stream = out.name
            elif "data" in out and mime in out.data:
                parts.append(out.data[mime])
                stream = None
            else:
                stream = None
        cells.append("\n".join(parts))
    return cells


def displays(notebook, mime: str) -> list[str]:
    """Every displayed item of one type, in order."""
    return [out.data[mime] for cell in notebook.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if "data" in out and mime in out.data]


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    notebook = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)
    markdown = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    assert "**Question.**" in markdown and "## Finding" in markdown


@pytest.mark.parametrize("name", ["01-lineage.ipynb", "06-ecosystem-lineage.ipynb"])
def test_findings_type_no_numbers(name):
    """The lineage notebooks' findings are read off computed output: their Finding text names no number."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    finding = next(c.source for c in notebook.cells if c.cell_type == "markdown" and c.source.startswith("## Finding"))
    assert not re.search(r"\d", finding), finding


@pytest.fixture(scope="module")
def article_lineage(tmp_path_factory):
    """The article graph's lineage (no landscape), as the notebooks compute it: chains and families."""
    import networkx as nx

    import cnkg

    graph = cnkg.load(landscapes=[], cache_dir=tmp_path_factory.mktemp("lineage-cache"), progress=False)
    chains = graph.lineage_frame()
    families = list(nx.weakly_connected_components(graph.lineage_digraph()))
    return chains, families


def test_lineage_notebook(executed, article_lineage):
    chains, families = article_lineage
    notebook = executed("01-lineage.ipynb")
    text = "\n".join(outputs(notebook))
    # the seeds table is long (pandas may show only its ends): its summary line below names Google's systems
    hops = chains.hops.value_counts().sort_index().to_dict()
    assert f"{len(chains)} distinct chains; hops: {hops}" in text
    assert f"lineage chains: {len(chains)} in {len(families)} families; single steps: {hops[1]}" in text
    assert f"longest chains: {max(hops)} hops ({hops[max(hops)]})" in text
    longest = chains[chains.hops == max(hops)]
    assert f"longest: {max(hops)} hops, {len(longest)} chains, e.g. {longest.path.iloc[0]}" in text
    assert "Borgmon → Prometheus exposition format → OpenMetrics" in set(chains.path)  # as the finding says
    seeded = text.split("most: ", 1)[1].split("\n", 1)[0]
    assert seeded.startswith("Google, ") and "Borg, Borgmon, Dapper" in seeded
    assert all(p in seeded for p in ("Jaeger", "Kubernetes", "OpenMetrics", "Prometheus"))
    drawn = [f for f in families if len(f) >= 3]
    assert f"diagrams: {len(drawn)}; labels overlapping: 0" in text
    diagrams = displays(notebook, "image/svg+xml")
    titles = [d.split(">Lineage of ", 1)[1].split("<", 1)[0] for d in diagrams]
    assert len(titles) == len(drawn) and titles[0] == "Kubernetes"
    assert {"Jaeger", "TiKV", "Borgmon"} <= set(titles)
    assert "Redis → Valkey (fork of)" in text       # a single step, listed rather than drawn


def test_landscape_notebook(executed):
    text = "\n".join(outputs(executed("02-landscape-2018.ipynb")))
    assert "27 projects in 13 categories" in text
    assert "by stage: {'Incubating': 15, 'Sandbox': 10, 'Graduated': 2}" in text
    assert "largest category: Security 6" in text
    assert "Falco, Notary, Open Policy Agent, SPIFFE, SPIRE, TUF" in text
    assert len(displays(executed("02-landscape-2018.ipynb"), "image/png")) == 1  # the matrix plot


def test_integration_network_notebook(executed):
    notebook = executed("03-integration-network.ipynb")
    text = "\n".join(outputs(notebook))
    top = text.split("top hub: ", 1)[1].split(" ", 1)[0]
    assert top in PROJECTS and top == "Prometheus"
    assert "isolated projects: CloudEvents, Cortex, OpenMetrics, Telepresence, TiKV" in text
    assert "communities: 8 with links, 5 isolated projects" in text
    assert len(displays(notebook, "image/png")) == 1  # the network drawing


@pytest.fixture(scope="module")
def both_snapshots(tmp_path_factory) -> Path:
    """A data directory with both official snapshots imported, for notebooks 04 and 06 (they only read it)."""
    from cnkg import imports

    data_dir = tmp_path_factory.mktemp("both-landscapes")
    for name, date in (("landscape-2018-10.yml", "2018-10-26"), ("landscape-current.yml", "2026-08-07")):
        imports.import_landscape(LANDSCAPE_DATA / name, imports.snapshot_info(None, date, None, None, name),
                                 data_dir)
    return data_dir


@pytest.mark.skipif(not (LANDSCAPE_DATA / "landscape-current.yml").exists(),
                    reason="../shared/data/landscape is absent: the notebook needs imported landscape snapshots")
def test_landscape_then_and_now_notebook(executed, both_snapshots):
    notebook = executed("04-landscape-then-and-now.ipynb", both_snapshots)
    text = "\n".join(outputs(notebook))
    assert "moved up     18\nunchanged     6\narchived      3" in text
    assert "agrees                     27\nleft out by the article     2" in text
    assert "Container Network Interface (CNI)" in text and "Buildpacks" in text
    assert "rkt   Incubating     Sandbox 2017-03-29" in text          # the lifecycle-data gap
    assert "2018    597        29" in text
    assert "2021    42" in text
    assert len(displays(notebook, "image/png")) == 2                   # the timeline and the yearly bars


@pytest.mark.skipif(not (LANDSCAPE_DATA / "landscape-current.yml").exists(),
                    reason="../shared/data/landscape is absent: the notebook needs an imported landscape snapshot")
def test_integration_network_then_and_now_notebook(executed, tmp_path_factory):
    from cnkg import imports

    data_dir = tmp_path_factory.mktemp("landscape-now")
    imports.import_landscape(LANDSCAPE_DATA / "landscape-current.yml",
                             imports.snapshot_info(None, "2026-08-07", "153d699", None, "landscape.yml"), data_dir)
    notebook = executed("05-integration-network-then-and-now.ipynb", data_dir)
    text = "\n".join(outputs(notebook))
    assert "article: 69 links; landscape landscape-2026-08-07: 504 links" in text
    assert "top hub then: Prometheus; top hub today: Kubernetes" in text
    assert "projects linked: 22 then, 104 today" in text
    assert "stated by both: 10; only the article: 59; only the landscape: 494" in text
    assert "article projects with no landscape link: OpenTracing, rkt" in text
    assert "integration names: 572, unresolved: 57 (10%); pieces of sentences, not names: 20" in text
    assert len(displays(notebook, "image/png")) == 1                   # the two networks


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


@pytest.mark.skipif(not (LANDSCAPE_DATA / "landscape-current.yml").exists(),
                    reason="../shared/data/landscape is absent: the notebook needs imported landscape snapshots")
def test_ecosystem_lineage_notebook(executed, both_snapshots):
    notebook = executed("06-ecosystem-lineage.ipynb", both_snapshots)
    text = "\n".join(outputs(notebook))
    assert "CNCF landscape.yml of 2026-08-07" in text and "CNCF landscape.yml of 2018-10-26" in text
    # the forest: one readable tree per family of three or more, Kubernetes' the largest
    families, drawn = _line(text, "families (all / drawn as trees): ").split(": ")[1].split(" / ")
    diagrams = displays(notebook, "image/svg+xml")
    assert len(diagrams) == int(drawn) and 0 < int(drawn) < int(families)
    assert ">The family of Kubernetes (" in diagrams[0]
    assert f"family diagrams: {drawn}; labels overlapping: 0" in text
    kubernetes = _line(text, "Kubernetes' family: ").split(": ")[1].split(", ")
    assert {"Borg", "Omega", "Kubernetes", "Helm", "Envoy"} <= set(kubernetes)
    assert "Kubernetes descends from: Borg, Omega" in text
    # organisations: Google first among graduated and incubating projects
    top = _line(text, "top origin organisations (graduated + incubating): ").split(": ")[1].split(", ")
    assert top[0].startswith("Google ") and int(top[0].split()[-1]) >= int(top[1].split()[-1])
    assert "Kubernetes" in _line(text, "top organisation: Google")
    mature = _line(text, "graduated and incubating projects with a sourced origin: ")
    have, total = map(int, mature.split(": ")[1].split(" of "))
    assert total > 0 and have / total > 0.9
    # Google's internal systems and papers
    google = int(_line(text, "CNCF projects from Google's internal systems: ").split(": ")[1].split()[0])
    assert google >= 10
    assert "Borgmon" in text and "Dapper" in text and "Zanzibar" in text
    papers = _line(text, "CNCF projects from papers: ")
    assert int(papers.split(": ")[1].split()[0]) > 0
    assert "In Search of an Understandable Consensus Algorithm" in text   # Raft, behind etcd and TiKV
    # forks of 2019 onward
    forks = _line(text, "recent forks: ")
    assert "OpenTofu ← Terraform (2023)" in forks and "Valkey ← Redis (2024)" in forks
    assert all(int(year) >= 2019 for year in re.findall(r"\((\d{4})\)", forks))
    # from origin to the CNCF: positive medians, graduation later than acceptance
    accept = float(_line(text, "median years origin → acceptance: ").split(": ")[1])
    graduate = float(_line(text, "median years origin → graduation: ").split(": ")[1])
    assert 0 < accept < graduate
    assert len(displays(notebook, "image/png")) == 1                    # the origin-to-graduation plot


def test_ecosystem_lineage_notebook_stops_without_snapshots(tmp_path):
    """With no landscape imported the notebook stops at once and says what to do."""
    shutil.copy(NOTEBOOKS / "06-ecosystem-lineage.ipynb", tmp_path / "06.ipynb")
    notebook = nbformat.read(tmp_path / "06.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        env.setenv("CNKG_CACHE_DIR", str(tmp_path / "cache"))
        env.setenv("CNKG_DATA_DIR", str(tmp_path / "empty"))
        with pytest.raises(nbclient.exceptions.CellExecutionError, match="No landscape snapshot is imported"):
            client.execute()
