"""cnkg.diagram: lineage diagrams as SVG and PNG, in notebooks and from the CLI."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from cnkg.diagram import LineageDiagram


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()).strip() for t in ET.fromstring(svg).iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def jaeger(article_kg):
    return article_kg.lineage_diagram("Jaeger")


def test_svg_is_xml_with_the_labels(jaeger):
    labels = texts(jaeger.svg())
    for expected in ("Lineage of Jaeger", "Jaeger", "Dapper", "Zipkin", "Google", "Twitter", "Uber", "inspired by"):
        assert expected in labels


def test_png_signature(jaeger):
    assert jaeger.png().startswith(PNG_SIGNATURE)


def test_deterministic(article_kg, jaeger):
    again = article_kg.lineage_diagram("jaeger")
    assert again.svg() == jaeger.svg() and again.png() == jaeger.png()
    assert jaeger._repr_svg_() == jaeger.svg()
    assert "<dc:date>" not in jaeger.svg()


def test_layers_put_ancestors_above_and_descendants_below(article_kg):
    diagram = article_kg.lineage_diagram("Borgmon")
    layers = {diagram.digraph.nodes[n]["label"]: k for n, k in diagram.layers.items()}
    assert layers == {"Borgmon": 0, "Prometheus": 1, "Prometheus exposition format": 1, "OpenMetrics": 2,
                      "Cortex": 2, "Thanos": 2}   # both built on Prometheus (their sourced lineage)
    y = {diagram.digraph.nodes[n]["label"]: p[1] for n, p in diagram.positions.items()}
    assert y["Borgmon"] > y["Prometheus"] > y["OpenMetrics"]
    up = article_kg.lineage_diagram("OpenMetrics")
    assert sorted(up.layers.values()) == [-2, -1, 0]


def test_no_overlapping_boxes(article_kg):
    diagram = article_kg.lineage_diagram()  # every family side by side
    rows: dict[float, list[float]] = {}
    for x, y in diagram.positions.values():
        rows.setdefault(y, []).append(x)
    for xs in rows.values():
        xs.sort()
        assert all(b - a >= 2.0 for a, b in zip(xs, xs[1:]))


def test_entity_without_lineage(article_kg):
    labels = texts(article_kg.lineage_diagram("Envoy").svg())
    assert "Envoy" in labels and "Lyft" in labels


def test_graph_method(article_kg):
    assert "Kubernetes" in texts(article_kg.lineage_diagram("Borg").svg())


def test_cli_writes_svg_and_png(cli, tmp_path, jaeger):
    svg = tmp_path / "jaeger.svg"
    result = cli("lineage", "Jaeger", "--format", "svg", "-o", svg)
    assert result.code == 0 and "wrote" in result.err
    assert svg.read_text(encoding="utf-8") == jaeger.svg()
    png = tmp_path / "jaeger.png"
    assert cli("lineage", "jaeger", "-f", "png", "-o", png).code == 0
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no temporary left behind


def test_cli_svg_to_stdout_and_text_to_file(cli, tmp_path):
    result = cli("lineage", "Jaeger", "--format", "svg")
    assert result.code == 0 and "Dapper" in result.out and result.out.lstrip().startswith("<?xml")
    text = tmp_path / "jaeger.txt"
    assert cli("lineage", "Jaeger", "-o", text).code == 0
    assert "Dapper → Jaeger" in text.read_text(encoding="utf-8")


def test_cli_unknown_name(cli, tmp_path):
    result = cli("lineage", "jaegr", "--format", "svg", "-o", tmp_path / "x.svg")
    assert result.code == 1 and "Jaeger" in result.err
    assert not (tmp_path / "x.svg").exists()


def test_a_diagram_is_drawn_from_plain_data():
    """The diagram takes a DiGraph, not a KnowledgeGraph: any lineage shaped like lineage_digraph() draws."""
    import networkx as nx

    digraph = nx.DiGraph()
    digraph.add_node("urn:a", label="Alpha", types=["Project"], organisations=["Org A"])
    digraph.add_node("urn:b", label="Beta", types=["InternalSystem"], organisations=[])
    digraph.add_edge("urn:b", "urn:a", relation="inspired by")
    labels = set(texts(LineageDiagram(digraph, focus="urn:a").svg()))
    assert {"Alpha", "Beta", "Org A", "inspired by"} <= labels
    with pytest.raises(ValueError, match="not a node"):
        LineageDiagram(digraph, focus="urn:c")


def _digraph(nodes, edges):
    import networkx as nx

    digraph = nx.DiGraph()
    for node, label in nodes.items():
        digraph.add_node(node, label=label, types=["Software"], organisations=[])
    for parent, child, relation in edges:
        digraph.add_edge(parent, child, relation=relation)
    return digraph


def test_relation_labels_clear_boxes_and_each_other():
    """An arrow that skips a generation passes the middle row, and arrows meeting at one entity crowd their
    labels: each relation label is moved along its arrow to a free place."""
    digraph = _digraph({"urn:a": "Alpha", "urn:b": "Beta", "urn:c": "Gamma", "urn:d": "Delta", "urn:e": "Epsilon"},
                       [("urn:a", "urn:b", "inspired by"), ("urn:b", "urn:c", "built on"),
                        ("urn:a", "urn:c", "implements design of / successor of"),
                        ("urn:d", "urn:c", "implements design of"), ("urn:e", "urn:c", "rewrite of / renamed from")])
    diagram = LineageDiagram(digraph)
    assert diagram.overlaps() == []
    assert {"implements design of", "built on"} <= set(texts(diagram.svg()))


def test_overlaps_reports_labels_that_collide():
    wide = ["W" * 19 + "A", "W" * 19 + "B"]  # one line each (names wrap at 20 characters), wider than a box
    digraph = _digraph({"urn:a": wide[0], "urn:b": wide[1], "urn:c": "Child"},
                       [("urn:a", "urn:c", "inspired by"), ("urn:b", "urn:c", "inspired by")])
    assert (wide[0], wide[1]) in LineageDiagram(digraph).overlaps()


def test_every_family_of_the_lineage_is_readable(article_kg):
    assert article_kg.lineage_diagram().overlaps() == []
