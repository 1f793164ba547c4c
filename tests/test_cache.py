"""The build cache: keyed by the inputs, written atomically, never trusted when damaged."""
from __future__ import annotations

import shutil

import cnkg
from cnkg import cache
from paths import MINIMAL_FACTS


def test_second_load_comes_from_cache(tmp_path):
    facts = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, facts)
    first = cnkg.load(facts, cache_dir=tmp_path / "c")
    files = list((tmp_path / "c").glob("kg-*.pickle"))
    assert len(files) == 1
    second = cnkg.load(facts, cache_dir=tmp_path / "c")
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
    graph = cnkg.load(MINIMAL_FACTS, cache_dir=directory)
    assert graph.counts().projects == 2
    assert cache.read_cached(key, directory) is not None


def test_a_build_shares_one_object_per_term_and_keeps_every_quad_graph_and_prefix(tmp_path):
    from rdflib import Literal, URIRef
    from cnkg.build import compacted, new_dataset

    dataset = new_dataset()
    dataset.bind("ex", "https://example.org/")
    dataset.graph(URIRef("https://example.org/empty"))        # an empty named graph survives too
    for graph in ("https://example.org/g1", "https://example.org/g2"):
        dataset.graph(URIRef(graph)).add((URIRef("https://example.org/a"), URIRef("https://example.org/p"),
                                          Literal("x", lang="en")))
    out = compacted(dataset)
    assert set(out.quads()) == set(dataset.quads())
    assert {g.identifier for g in out.graphs()} == {g.identifier for g in dataset.graphs()}
    assert ("ex", URIRef("https://example.org/")) in set(out.namespaces())
    subjects = [s for s, _, _, _ in out.quads((None, None, None, None))]
    assert len(subjects) == 2 and subjects[0] is subjects[1]

    graph = cnkg.load(MINIMAL_FACTS, cache_dir=tmp_path / "c")       # what a build hands out and caches
    mentions = [s for s in graph.dataset.subjects() if str(s).endswith("/jaeger")]
    assert mentions and all(s is mentions[0] for s in mentions)
