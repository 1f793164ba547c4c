"""Shared fixtures: the graphs (built once per session), an app and its client over the minimal graph (fresh per
test, as in Flask's tutorial), fixture fact directories and a CLI runner. Input locations are in ``paths``."""
from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import Dataset

import cnkg
from cnkg.cli import main
from cnkg.server import create_app
from paths import MINIMAL_FACTS, REAL_LANDSCAPES, REAL_SNAPSHOTS

# what most server tests want: a generous timeout and no rate limit (the rate-limit tests set their own)
TEST_CONFIG = {"QUERY_TIMEOUT": 5.0, "RATE_LIMIT_PER_MINUTE": 0}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets a cache and a data directory of its own: tests never read or write the user's cache
    or imported landscapes."""
    monkeypatch.setenv("CNKG_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("CNKG_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def article_kg() -> cnkg.KnowledgeGraph:
    """The knowledge graph of the article, built from the shipped facts (no cache)."""
    return cnkg.load(use_cache=False, landscapes=[])  # never the user's imported snapshots


@pytest.fixture(scope="session")
def graph() -> cnkg.KnowledgeGraph:
    """The minimal graph (Dapper, Zipkin, Jaeger, Prometheus, Google), built once; tests must not change it
    (use ``private_graph`` for that)."""
    return cnkg.load(MINIMAL_FACTS, use_cache=False, landscapes=[])


@pytest.fixture(scope="session")
def two_snapshots_build(tmp_path_factory):
    """The article with the two tiny fixture snapshots (tests/two_snapshots.py): the build report, once per session
    for the modules that only read it."""
    from two_snapshots import build_with_two_snapshots

    return build_with_two_snapshots(tmp_path_factory.mktemp("two-snapshots"))


@pytest.fixture(scope="session")
def real_imports(tmp_path_factory) -> Path:
    """A data directory with both official landscape snapshots imported (``REAL_SNAPSHOTS``), once per session:
    the import reads and checks each file, most of a real-data build's time. Tests only read it."""
    from cnkg import imports

    if not (REAL_LANDSCAPES / "landscape-current.yml").exists():
        pytest.skip("../shared/data/landscape is absent: no official landscape.yml to import")
    directory = tmp_path_factory.mktemp("real-landscapes")
    for name, date, commit in REAL_SNAPSHOTS:
        imports.import_landscape(REAL_LANDSCAPES / name,
                                 imports.snapshot_info(None, date, commit, None, "landscape.yml"), directory)
    return directory


@pytest.fixture(scope="session")
def real(real_imports):
    """Both official landscape snapshots imported beside the article: (build report, KnowledgeGraph)."""
    from cnkg import imports
    from cnkg.api import KnowledgeGraph
    from cnkg.pipeline import build

    report = build(landscapes=imports.imported(real_imports), progress=False)   # reasons and checks SHACL too
    return report, KnowledgeGraph(report.store, dataset=report.dataset)


@pytest.fixture
def private_graph(graph) -> cnkg.KnowledgeGraph:
    """A copy of the minimal graph that a test may change (SPARQL updates)."""
    return _copy(graph)


def _copy(graph: cnkg.KnowledgeGraph) -> cnkg.KnowledgeGraph:
    dataset = Dataset(default_union=True)
    dataset.addN(graph.dataset.quads((None, None, None, None)))
    for prefix, namespace in graph.dataset.namespaces():
        dataset.bind(prefix, namespace)
    return cnkg.KnowledgeGraph(dataset, queries=graph.queries)


@pytest.fixture
def make_app(graph):
    """``make_app(config=None, graph=None)``: a fresh app over ``graph`` (default: the minimal graph) with the
    test settings plus ``config``."""

    def make(config: dict | None = None, graph: cnkg.KnowledgeGraph | None = None):
        if graph is None:  # an app that allows updates takes its graph's store over: never the shared one
            graph = _copy(default) if (config or {}).get("ALLOW_UPDATE") else default
        return create_app({**TEST_CONFIG, **(config or {})}, graph=graph)

    default = graph
    return make


@pytest.fixture
def app(make_app):
    """A fresh app over the minimal graph: every test starts with empty caches and metrics."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@contextmanager
def served(app, threads: int = 8, **options) -> Iterator[str]:
    """``app`` served as ``cnkg serve`` serves it (:class:`cnkg.server.loop_server.LoopServer`, the common query
    answered on its event loop) on an ephemeral loopback port; yields its base URL, e.g. http://127.0.0.1:PORT. The
    process-wide query workers are left running for the next test."""
    from cnkg.server.loop_server import LoopServer

    with open(os.devnull, "w") as log:
        server = LoopServer(app, grace=1.0, log=log, stop_workers=False, host="127.0.0.1", port=0, threads=threads,
                            **options)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.effective_port}"
        finally:
            server.stop()
            thread.join(5)


@pytest.fixture
def live_server():
    """``live_server(app, threads=8)``: a context manager serving ``app`` on 127.0.0.1 (see ``served``)."""
    return served


@pytest.fixture
def minimal_facts(tmp_path) -> Path:
    """A writable copy of the minimal fact set (Dapper, Zipkin, Jaeger, Prometheus, Google)."""
    target = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, target)
    return target


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run ``cnkg ARGS...`` in-process and capture its exit code and output."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def no_connections(monkeypatch):
    """Record (and block) every outbound connection attempt made in this process."""
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("outbound connections are forbidden in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.fixture(scope="session")
def jena(tmp_path_factory):
    """Apache Jena ARQ as an independent SPARQL engine (tests/jena_oracle.py), one JVM per session; skips where
    Java or Jena is absent."""
    from jena_oracle import Jena, unavailable

    if unavailable():
        pytest.skip(f"the Jena oracle cannot run: {unavailable()}")
    oracle = Jena(tmp_path_factory.mktemp("jena-oracle"))
    yield oracle
    oracle.close()
