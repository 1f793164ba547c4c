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
    return LineageDiagram(article_kg, "Jaeger")


def test_svg_is_xml_with_the_labels(jaeger):
    labels = texts(jaeger.svg())
    for expected in ("Lineage of Jaeger", "Jaeger", "Dapper", "Zipkin", "Google", "Twitter", "Uber", "inspired by"):
        assert expected in labels


def test_png_signature(jaeger):
    assert jaeger.png().startswith(PNG_SIGNATURE)


def test_deterministic(article_kg, jaeger):
    again = LineageDiagram(article_kg, "jaeger")
    assert again.svg() == jaeger.svg() and again.png() == jaeger.png()
    assert jaeger._repr_svg_() == jaeger.svg()
    assert "<dc:date>" not in jaeger.svg()


def test_layers_put_ancestors_above_and_descendants_below(article_kg):
    diagram = LineageDiagram(article_kg, "Borgmon")
    layers = {diagram.digraph.nodes[n]["label"]: k for n, k in diagram.layers.items()}
    assert layers == {"Borgmon": 0, "Prometheus": 1, "Prometheus exposition format": 1, "OpenMetrics": 2}
    y = {diagram.digraph.nodes[n]["label"]: p[1] for n, p in diagram.positions.items()}
    assert y["Borgmon"] > y["Prometheus"] > y["OpenMetrics"]
    up = LineageDiagram(article_kg, "OpenMetrics")
    assert sorted(up.layers.values()) == [-2, -1, 0]


def test_no_overlapping_boxes(article_kg):
    diagram = LineageDiagram(article_kg)  # every family side by side
    rows: dict[float, list[float]] = {}
    for x, y in diagram.positions.values():
        rows.setdefault(y, []).append(x)
    for xs in rows.values():
        xs.sort()
        assert all(b - a >= 2.0 for a, b in zip(xs, xs[1:]))


def test_entity_without_lineage(article_kg):
    labels = texts(LineageDiagram(article_kg, "Envoy").svg())
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
