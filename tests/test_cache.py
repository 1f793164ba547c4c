"""The build cache: keyed by the inputs, written atomically, never trusted when damaged."""
from __future__ import annotations

import shutil

import pytest

import cnkg
from cnkg import cache
from paths import MINIMAL_FACTS


def test_second_load_comes_from_cache(tmp_path):
    facts = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, facts)
    first = cnkg.load(facts, cache_dir=tmp_path / "c")
    stores = list((tmp_path / "c").glob("kg-*.oxigraph"))
    assert len(stores) == 1 and stores[0].is_dir()
    assert not [p for p in (tmp_path / "c").iterdir() if p.name.startswith(".")]  # no temporary left behind
    second = cnkg.load(facts, cache_dir=tmp_path / "c")
    assert second.store.read_only and second.store.path == stores[0]
    assert set(second.store.quads()) == set(first.store.quads())


def test_changed_input_changes_the_key(tmp_path):
    facts = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, facts)
    before = cache.fingerprint(facts)
    (facts / "one.yaml").write_text((facts / "one.yaml").read_text().replace("Jaeger Tracing", "Jaeger tracer"))
    assert cache.fingerprint(facts) != before


@pytest.mark.parametrize("damage", ["a file", "an empty directory", "garbage files"])
def test_damaged_cache_is_rebuilt(tmp_path, damage):
    key = cache.fingerprint(MINIMAL_FACTS)
    directory = tmp_path / "c"
    directory.mkdir()
    path = cache.store_path(key, directory)
    if damage == "a file":
        path.write_text("not a store")
    else:
        path.mkdir()
        if damage == "garbage files":
            (path / "CURRENT").write_text("MANIFEST-999999\n")
    graph = cnkg.load(MINIMAL_FACTS, cache_dir=directory)
    assert graph.counts().projects == 2
    assert cache.open_cached(key, directory) is not None


def test_a_cached_graph_is_never_changed_by_the_api(tmp_path):
    """A change through the API goes to a private copy; the cached store stays as built."""
    from rdflib import RDFS, Literal

    from cnkg.namespaces import CURATED_GRAPH, ID
    graph = cnkg.load(MINIMAL_FACTS, cache_dir=tmp_path / "c")
    graph.apply(added=[(ID.jaeger, RDFS.comment, Literal("changed"), CURATED_GRAPH)])
    assert (ID.jaeger, RDFS.comment, Literal("changed")) in graph.store and not graph.store.read_only
    again = cnkg.load(MINIMAL_FACTS, cache_dir=tmp_path / "c")
    assert (ID.jaeger, RDFS.comment, Literal("changed")) not in again.store
