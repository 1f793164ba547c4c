"""The build cache: keyed by the inputs, written atomically, never trusted when damaged."""
from __future__ import annotations

import shutil

import kg
from kg import cache
from conftest import MINIMAL_FACTS


def test_second_load_comes_from_cache(tmp_path):
    facts = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, facts)
    first = kg.load(facts, cache_dir=tmp_path / "c")
    files = list((tmp_path / "c").glob("kg-*.pickle"))
    assert len(files) == 1
    second = kg.load(facts, cache_dir=tmp_path / "c")
    assert set(second.dataset.quads()) == set(first.dataset.quads())


def test_changed_input_changes_the_key(tmp_path):
    facts = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, facts)
    before = cache.fingerprint(facts)
    (facts / "one.yaml").write_text((facts / "one.yaml").read_text().replace("Jaeger Tracing", "Jaeger tracer"))
    assert cache.fingerprint(facts) != before


def test_damaged_cache_is_rebuilt(tmp_path):
    key = cache.fingerprint(MINIMAL_FACTS)
    directory = tmp_path / "c"
    directory.mkdir()
    cache.cache_path(key, directory).write_text("not a pickle")
    graph = kg.load(MINIMAL_FACTS, cache_dir=directory)
    assert graph.counts().projects == 2
    assert cache.read_cached(key, directory) is not None
