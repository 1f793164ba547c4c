"""Export: every format round-trips (parse it back, same triples); quad formats keep the provenance graphs."""
from __future__ import annotations

import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

import cnkg
from cnkg.export import FORMATS, serialize
from cnkg.namespaces import CNKG, INFERRED_GRAPH


@pytest.fixture(scope="module")
def minimal_kg():
    from paths import MINIMAL_FACTS
    return cnkg.load(MINIMAL_FACTS, use_cache=False)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_round_trips(minimal_kg, fmt):
    rdflib_format, quads, _, _ = FORMATS[fmt]
    payload = serialize(minimal_kg.dataset, fmt)
    if quads:
        parsed = Dataset()
        parsed.parse(data=payload, format=rdflib_format)
        original = {(s, p, o, g) for s, p, o, g in minimal_kg.dataset.quads((None, None, None, None))}
        again = {(s, p, o, g) for s, p, o, g in parsed.quads((None, None, None, None)) if len(parsed.graph(g))}
        assert again == original
    else:
        parsed = Graph().parse(data=payload, format=rdflib_format)
        assert isomorphic(parsed, minimal_kg.graph())


def test_asserted_only_leaves_out_inferred(minimal_kg):
    payload = serialize(minimal_kg.dataset, "nquads", asserted_only=True)
    assert str(INFERRED_GRAPH).encode() not in payload
    parsed = Dataset().parse(data=payload, format="nquads")
    assert not list(parsed.quads((None, CNKG.hasAncestor, None, None)))
    assert list(parsed.quads((None, CNKG.inspiredBy, None, None)))
    full = serialize(minimal_kg.dataset, "nquads")
    assert str(INFERRED_GRAPH).encode() in full


def test_cli_export_to_file_and_stdout(minimal_kg, cli, tmp_path):
    from paths import MINIMAL_FACTS
    out = tmp_path / "kg.trig"
    result = cli("--facts", MINIMAL_FACTS, "export", "--format", "trig", "-o", out)
    assert result.code == 0
    assert len(Dataset().parse(out, format="trig")) > 0 or sum(1 for _ in Dataset().parse(out, format="trig").quads())
    result = cli("--facts", MINIMAL_FACTS, "export", "--format", "nt")
    assert result.code == 0
    assert len(Graph().parse(data=result.out, format="nt")) == len(minimal_kg.graph())


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    from cnkg.export import write_atomically
    target = tmp_path / "out.ttl"
    write_atomically(target, b"")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
