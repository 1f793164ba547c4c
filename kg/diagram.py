"""Lineage diagrams: a layered picture of where an entity comes from and what came from it, as SVG or PNG.

    >>> cnkg.load().lineage_diagram("Jaeger").svg()     # or .png(); shown inline in notebooks
    >>> LineageDiagram(digraph, focus=iri)               # any DiGraph shaped like KnowledgeGraph.lineage_digraph()

Layers are generations relative to the focus entity: ancestors above, descendants below (without a focus, the
oldest entities of each family on top). Arrows point from ancestor to descendant and carry the asserted relation,
read "descendant <relation> ancestor" (Jaeger *inspired by* Dapper); under each name are the organisations that
(originally) developed it. Each relation label sits on its arrow where it clears every box and every other label
(rows are spread further apart when a crowded gap needs it); ``overlaps()`` lists any labels that still
intersect. The layout is computed here and drawn with matplotlib's Agg / SVG canvases on a
private Figure (never pyplot), so importing this module changes no global matplotlib state; output is
deterministic (fixed SVG hash salt and ids, no dates in the metadata).
"""
from __future__ import annotations

import io
from collections.abc import Callable
import textwrap
from pathlib import Path
import matplotlib
import networkx as nx
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

# Geometry in inches (the axes map one data unit to one inch, so font sizes and boxes agree).
COLUMN = 2.35          # distance between neighbouring node centres
BOX_WIDTH = 2.05
ROW = 1.5              # distance between generations (the least; crowded gaps between rows widen it)
MAX_ROW = 4.5
LABEL_CLEARANCE = 0.04  # the least space around a relation label, for renderers whose fonts run a little wider
NAME_LINE = 0.2
ORG_LINE = 0.17
PADDING = 0.1
MARGIN = 0.25
TITLE_SPACE = 0.45
CAPTION_SPACE = 0.45

FILL = {"Project": "#d9f2d9", "InternalSystem": "#dce8f7"}
OTHER_FILL = "#f2f2f2"
EDGE_COLOUR = "#555555"
RC = {"svg.hashsalt": "cnkg", "svg.fonttype": "none", "svg.id": "cnkg-lineage", "font.family": "DejaVu Sans"}
CAPTION = ("arrows run from ancestor to descendant: read “descendant ‹relation› ancestor”\n"
           "green: CNCF project · blue: internal system · bold border: focus")


class LineageDiagram:
    """A lineage DiGraph (nodes: IRI strings with ``label``, ``types``, ``organisations``; edges from ancestor to
    descendant with ``relation``) drawn as a layered DAG around ``focus`` (every family when None); ``title``
    replaces the default "Lineage of …". In SVG each box links to ``node_url(iri)`` (default: the entity's IRI;
    the server's pages point it at their own /id page; None for no link)."""

    def __init__(self, digraph: nx.DiGraph, focus: str | None = None, title: str | None = None,
                 node_url: Callable[[str], str | None] | None = str):
        if focus is not None and focus not in digraph:
            raise ValueError(f"the focus {focus} is not a node of the lineage graph")
        self.focus = focus
        self.node_url = node_url
        self.digraph = digraph
        self.title = title or (f"Lineage of {self.digraph.nodes[self.focus]['label']}" if self.focus is not None
                               else "Lineage of the cloud-native ecosystem")
        self.layers = self._layers()
        self.row = ROW
        self.positions = self._positions()

    # ------------------------------------------------------------------ layout

    def _layers(self) -> dict[str, int]:
        """Generation of each node: 0 for the focus, -k k steps above it, +k below (longest path, so every
        arrow points downwards); without a focus, 0 for the oldest node of each family."""
        g, layer = self.digraph, {}
        order = list(nx.lexicographical_topological_sort(g))
        if self.focus is None:
            for node in order:
                layer[node] = max((layer[p] + 1 for p in g.predecessors(node)), default=0)
            # an entity with no ancestor sits just above its highest descendant rather than in the top row,
            # so a family's roots spread over its rows instead of crowding the first
            for node in order:
                if g.in_degree(node) == 0 and g.out_degree(node):
                    layer[node] = min(layer[c] for c in g.successors(node)) - 1
            return layer
        layer[self.focus] = 0
        below, above = nx.descendants(g, self.focus), nx.ancestors(g, self.focus)
        for node in order:
            if node in below:
                layer[node] = max(layer[p] + 1 for p in g.predecessors(node) if p in layer)
        for node in reversed(order):
            if node in above:
                layer[node] = min(layer[c] - 1 for c in g.successors(node) if c in layer)
        return layer

    def _positions(self) -> dict[str, tuple[float, float]]:
        """x by barycentre ordering within each layer, families side by side; y = -layer * row."""
        g, label = self.digraph, (lambda n: self.digraph.nodes[n]["label"].lower())
        families = sorted((sorted(c, key=label) for c in nx.weakly_connected_components(g)),
                          key=lambda c: label(min(c, key=lambda n: self.layers[n])))
        positions, offset = {}, 0.0
        for family in families:
            x = self._family_x(family, label)
            left = min(x.values())
            for node, value in x.items():
                positions[node] = (offset + value - left, -self.layers[node] * self.row)
            offset += max(x.values()) - left + COLUMN
        return positions

    def _family_x(self, family: list[str], label) -> dict[str, float]:
        g, layers = self.digraph, sorted({self.layers[n] for n in family})
        rows = {k: sorted((n for n in family if self.layers[n] == k), key=label) for k in layers}
        x = {}
        for k in layers:
            for i, node in enumerate(rows[k]):
                x[node] = (i - (len(rows[k]) - 1) / 2) * COLUMN
        # two sweeps: order each layer by the mean x of its neighbours in the layer above, then below
        for sweep, neighbours in ((layers[1:], g.predecessors), (list(reversed(layers[:-1])), g.successors)):
            for k in sweep:
                def centre(node, nbrs=neighbours, k=k):
                    xs = [x[m] for m in nbrs(node) if m in x and self.layers[m] != k]
                    return sum(xs) / len(xs) if xs else x[node]

                targets = {n: centre(n) for n in rows[k]}
                rows[k].sort(key=lambda n: (targets[n], label(n)))
                placed = []
                for node in rows[k]:  # as close to the target as the spacing allows, order kept
                    value = targets[node] if not placed else max(targets[node], placed[-1] + COLUMN)
                    placed.append(value)
                shift = (sum(targets.values()) - sum(placed)) / len(placed)
                for node, value in zip(rows[k], placed):
                    x[node] = value + shift
        return x

    # ------------------------------------------------------------------ drawing

    def _box_lines(self, node: str) -> tuple[list[str], list[str]]:
        data = self.digraph.nodes[node]
        name = textwrap.wrap(data["label"], 20) or [data["label"]]
        orgs = textwrap.wrap(", ".join(data.get("organisations", [])), 28)
        return name, orgs

    def _content_height(self, node: str) -> float:
        name, orgs = self._box_lines(node)
        return len(name) * NAME_LINE + len(orgs) * ORG_LINE + 2 * PADDING

    def _box_height(self, node: str) -> float:
        """The tallest content in the node's generation, so each row of boxes lines up."""
        if not hasattr(self, "_row_heights"):  # once per diagram: the layers never change
            self._row_heights: dict[int, float] = {}
            for n in self.digraph:
                layer = self.layers[n]
                self._row_heights[layer] = max(self._row_heights.get(layer, 0.0), self._content_height(n))
        return self._row_heights[self.layers[node]]

    def figure(self) -> Figure:
        """The diagram as a matplotlib Figure (on an Agg canvas; no pyplot)."""
        return self._laid_out()[0]

    def _laid_out(self):
        with matplotlib.rc_context(RC):  # the fonts measured are the fonts drawn
            while True:
                fig, texts, unplaced = self._draw()
                if not unplaced or self.row >= MAX_ROW:
                    return fig, texts
                # a gap too crowded for its labels: spread the rows further apart (arrows fan out) and redraw
                self.row = min(MAX_ROW, self.row + 0.5)
                self.positions = self._positions()

    def overlaps(self) -> list[tuple[str, str]]:
        """Pairs of drawn labels (names, organisations, relations, title, caption) whose extents intersect, and
        relation labels lying on an entity's box: empty when every label can be read."""
        fig, texts = self._laid_out()
        renderer = fig.canvas.get_renderer()
        extents = [(text.get_text(), self._extent(text, renderer), owner) for owner, text in texts]
        found = []
        for i, (a, box_a, owner_a) in enumerate(extents):
            for b, box_b, owner_b in extents[i + 1:]:
                if _intersect(box_a, box_b):
                    found.append((a, b))
            if owner_a == "relation":
                for node in self.digraph:
                    if _intersect(box_a, self._node_rect(node)):
                        found.append((a, self.digraph.nodes[node]["label"]))
        return found

    @staticmethod
    def _extent(text, renderer) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in inches (data units) of a text with its background, if any."""
        box = text.get_window_extent(renderer)
        pad = 0.2 * text.get_fontsize() / 72 if text.get_bbox_patch() is not None else 0.0
        ax = text.axes
        (x0, y0), (x1, y1) = ax.transData.inverted().transform([(box.x0, box.y0), (box.x1, box.y1)])
        return x0 - pad, y0 - pad, x1 + pad, y1 + pad

    def _node_rect(self, node: str) -> tuple[float, float, float, float]:
        x, y = self.positions[node]
        height = self._box_height(node)
        return x - BOX_WIDTH / 2, y - height / 2, x + BOX_WIDTH / 2, y + height / 2

    def _draw(self):
        """The figure, its texts as (owner, Text) with owner "relation", "node", "title" or "caption", and the
        relation labels that found no free place on their arrow."""
        g, pos = self.digraph, self.positions
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        tallest = max(self._box_height(n) for n in g)
        left, right = min(xs) - BOX_WIDTH / 2 - MARGIN, max(xs) + BOX_WIDTH / 2 + MARGIN
        if right - left < 5.0:  # room for the caption
            middle = (left + right) / 2
            left, right = middle - 2.5, middle + 2.5
        bottom = min(ys) - tallest / 2 - MARGIN - CAPTION_SPACE
        top = max(ys) + tallest / 2 + MARGIN + TITLE_SPACE
        fig = Figure(figsize=(right - left, top - bottom), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
        ax.set_axis_off()
        texts = [("title", ax.text((left + right) / 2, top - MARGIN, self.title, ha="center", va="top",
                                   fontsize=13, fontweight="bold")),
                 ("caption", ax.text((left + right) / 2, bottom + 0.1, CAPTION, ha="center", va="bottom",
                                     fontsize=7, color="#666666", linespacing=1.4))]
        for node in sorted(g):
            data, (x, y) = g.nodes[node], pos[node]
            height = self._box_height(node)
            types = data.get("types", [])
            fill = next((FILL[t] for t in ("Project", "InternalSystem") if t in types), OTHER_FILL)
            box = ax.add_patch(FancyBboxPatch((x - BOX_WIDTH / 2, y - height / 2), BOX_WIDTH, height,
                                              boxstyle="round,pad=0,rounding_size=0.08", facecolor=fill,
                                              edgecolor="#222222", linewidth=2.4 if node == self.focus else 0.9))
            url = self.node_url(node) if self.node_url is not None else None
            if url:   # in SVG, the box and its words link to the entity (a click anywhere on it)
                box.set_url(url)
            first_text = len(texts)
            name, orgs = self._box_lines(node)
            line_y = y + self._content_height(node) / 2 - PADDING - NAME_LINE / 2
            for line in name:
                texts.append(("node", ax.text(x, line_y, line, ha="center", va="center", fontsize=11,
                                              fontweight="bold")))
                line_y -= NAME_LINE
            line_y += NAME_LINE / 2 - ORG_LINE / 2
            for line in orgs:
                texts.append(("node", ax.text(x, line_y, line, ha="center", va="center", fontsize=8.5,
                                              color="#444444")))
                line_y -= ORG_LINE
            if url:
                for _, text in texts[first_text:]:
                    text.set_url(url)
        renderer = fig.canvas.get_renderer()
        taken = [self._node_rect(n) for n in g]
        taken += [self._extent(t, renderer) for owner, t in texts if owner in ("title", "caption")]
        unplaced = []
        for parent, child, data in sorted(g.edges(data=True)):
            (x1, y1), (x2, y2) = pos[parent], pos[child]
            start, end = (x1, y1 - self._box_height(parent) / 2), (x2, y2 + self._box_height(child) / 2)
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=EDGE_COLOUR,
                                         linewidth=1.2, shrinkA=2, shrinkB=2))
            label = ax.text(0, 0, data["relation"].replace(" / ", "\n"), ha="center", va="center", fontsize=8.5,
                            fontstyle="italic", color="#333333",
                            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"})
            if data.get("source_urls"):   # in SVG, the relation links to the document stating it (the best first)
                label.set_url(data["source_urls"][0])
            x0, y0, x1_, y1_ = self._extent(label, renderer)
            half_w, half_h = (x1_ - x0) / 2 + LABEL_CLEARANCE, (y1_ - y0) / 2 + LABEL_CLEARANCE
            # the middle of the arrow first, then ever further towards either end, the first place that is free
            for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.12, 0.88, 0.05, 0.95):
                cx, cy = start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])
                rect = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
                if not any(_intersect(rect, other) for other in taken):
                    break
            else:
                cx, cy = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
                rect = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
                unplaced.append(data["relation"])
            label.set_position((cx, cy))
            taken.append(rect)
            texts.append(("relation", label))
        return fig, texts, unplaced

    def _render(self, fmt: str) -> bytes:
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        with matplotlib.rc_context(RC):
            self.figure().savefig(buffer, format=fmt, metadata=metadata)
        return buffer.getvalue()

    def svg(self) -> str:
        return self._render("svg").decode("utf-8")

    def png(self) -> bytes:
        return self._render("png")

    def save(self, path: Path | str) -> bytes:
        """Write the diagram to ``path`` (SVG or PNG by suffix) atomically; returns what was written."""
        from .export import write_atomically

        path = Path(path)
        payload = self.svg().encode("utf-8") if path.suffix.lower() == ".svg" else self.png()
        write_atomically(path, payload)
        return payload

    def _repr_svg_(self) -> str:
        return self.svg()


def _intersect(a, b) -> bool:
    """Whether two (x0, y0, x1, y1) rectangles share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


__all__ = ["LineageDiagram"]
