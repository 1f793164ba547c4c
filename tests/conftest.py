"""Shared fixtures: the article graph (built once per session), fixture fact directories and a CLI runner."""
from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

import cnkg
from cnkg.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL_FACTS = FIXTURES / "facts" / "minimal"
BROKEN_FACTS = FIXTURES / "facts" / "broken"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets a cache and a data directory of its own: tests never read or write the user's cache
    or imported landscapes."""
    monkeypatch.setenv("CNKG_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("CNKG_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def article_kg() -> cnkg.KnowledgeGraph:
    """The knowledge graph of the article, built from the shipped facts (no cache)."""
    return cnkg.load(use_cache=False)


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
