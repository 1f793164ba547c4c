"""What keeping the current values exact costs an update (cnkg.current.follow), in process, on the real data (the
article and both official snapshots): the median time of KnowledgeGraph.update for an update that touches no
time-varying property, one that states a stage, and one that re-dates a source (every subject recomputed); and
entity-facts for Jaeger. Each round adds the quads, then removes them; the time is per update.

    python bench/bench_current.py --rounds 15

Writes bench/results/current.md.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rdflib import RDFS, XSD, Literal, URIRef
from rdflib.namespace import DCTERMS

from cnkg import imports
from cnkg.api import KnowledgeGraph
from cnkg.namespaces import CNKG, ID, META_GRAPH, STAGE, landscape_graph
from cnkg.pipeline import build

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = [("landscape-current.yml", "2026-08-07", "153d699bddf74038d21775b14d09052f62021441"),
             ("landscape-2018-10.yml", "2018-10-26", "760834e61d869824d884bd7abb7789697e41cb94")]
OLD = landscape_graph("landscape-2018-10-26")
CASES = {
    "no time-varying property (an rdfs:comment)": [(ID.jaeger, RDFS.comment, Literal("traced"), URIRef("urn:x-bench"))],
    "a stage in the 2018 snapshot's graph (one subject)": [(ID.jaeger, CNKG.hasStage, STAGE.sandbox, OLD)],
    "a source's date (every subject)": [(URIRef("https://w3id.org/cnkg/source/landscape/landscape-2018-10-26"),
                                         DCTERMS.date, Literal("2018-10-27", datatype=XSD.date), META_GRAPH)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "landscape")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, date, commit in SNAPSHOTS:
            imports.import_landscape(args.data / name, imports.snapshot_info(None, date, commit, None,
                                                                             "landscape.yml"), Path(tmp))
        report = build(landscapes=imports.imported(Path(tmp)), progress=False)
    graph = KnowledgeGraph(report.store.writable())
    graph.update(added=[(ID.x, RDFS.comment, Literal("warm"), URIRef("urn:x-bench"))])  # the reasoner's state made
    lines = ["# Current values under updates", "", f"`python bench/bench_current.py --rounds {args.rounds}`; "
             "article and both official snapshots, in process, median of the rounds.", "",
             "| update | ms per update |", "|---|---|"]
    for name, quads in CASES.items():
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            graph.update(added=quads)
            graph.update(removed=quads)
            times.append((time.perf_counter() - started) / 2)
        lines.append(f"| {name} | {statistics.median(times) * 1000:.1f} |")
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        rows = list(graph.query("entity-facts", entity="Jaeger"))
        times.append(time.perf_counter() - started)
    lines += ["", f"entity-facts for Jaeger: {statistics.median(times) * 1000:.1f} ms, {len(rows)} rows.", ""]
    (ROOT / "bench" / "results" / "current.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
