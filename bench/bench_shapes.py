"""SHACL validation: the shapes compiled to SPARQL on Oxigraph (cnkg.shacl_sparql) against pySHACL, side by side.

Both validate the same built, reasoned graph (the article plus both official landscape snapshots; at N× the
current snapshot's items listed N times, as in bench_landscape.py): the union of every graph but the metadata,
with the shapes of ontology/shapes.ttl. Each validator runs in a fresh process; the compiled one on the
in-memory store holding the data, pySHACL on an rdflib Graph of it with the core targets cnkg gives it. Their
results (focus, component, value, path) are compared.

    python bench/bench_shapes.py --scales 1,10
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_landscape import import_snapshots, measure_scales

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

CHILD = """
import hashlib, json, resource, sys, time
from cnkg import imports
from cnkg.build import union_graph
from cnkg.namespaces import META_GRAPH
from cnkg.pipeline import build
from cnkg.shapes import as_store, pyshacl_violations, read_shapes
from cnkg.shacl_sparql import compile_shapes, violations
report = build(landscapes=imports.imported(), progress=False, validate_shapes=False)
data = union_graph(report.dataset, exclude=(META_GRAPH,))
shapes = read_shapes()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
if sys.argv[1] == "sparql":
    store = as_store(data)
    loaded = time.perf_counter() - started
    found = list(violations(store, compile_shapes(shapes)))
else:
    loaded = 0.0
    found = pyshacl_violations(data, shapes)
seconds = time.perf_counter() - started
keys = sorted(repr((str(v.focus), str(v.component), str(v.value), str(v.path))) for v in found)
print(json.dumps({"seconds": seconds, "load": loaded, "triples": len(data), "results": len(found),
                  "sha256": hashlib.sha256("\\n".join(keys).encode()).hexdigest()[:16],
                  "peak_mb": [before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]}))
"""


def run_child(validator: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, validator], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(scale: int, data: Path, work: Path) -> dict:
    env = import_snapshots(scale, data, work, PYTHONWARNINGS="ignore")
    return {"scale": scale, **{v: run_child(v, env) for v in ("sparql", "pyshacl")}}


def report(results: list[dict], command: str) -> str:
    lines = ["# SHACL validation: shapes compiled to SPARQL (Oxigraph) against pySHACL", "",
             f"Run: `{command}`, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python "
             f"{sys.version.split()[0]}. Each validator in a fresh process, on the same built and reasoned graph "
             "(the union of every graph but the metadata; ontology/shapes.ttl). *compiled* includes loading the "
             "graph into an in-memory Oxigraph store (shown apart; the build validates the store it writes "
             "anyway, so it pays only the queries); *pySHACL* is `pyshacl.validate` with the core targets cnkg "
             "gives it, in place, no inference. *same results*: the sorted (focus, component, value, path) of "
             "every result hash the same.", "",
             "| scale | triples | validator | seconds | of which loading the store | results | peak RSS MB "
             "(before → after) | same results |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        same = "yes" if r["sparql"]["sha256"] == r["pyshacl"]["sha256"] else "**no**"
        for name, key in (("compiled (SPARQL)", "sparql"), ("pySHACL", "pyshacl")):
            m = r[key]
            lines.append(f"| {r['scale']}× | {m['triples']:,} | {name} | {m['seconds']:.2f} | {m['load']:.2f} | "
                         f"{m['results']} | {m['peak_mb'][0]:.0f} → {m['peak_mb'][1]:.0f} | {same} |")
    lines += ["", "| scale | speed-up (compiled, load included) | speed-up (queries only) |", "|---|---|---|"]
    for r in results:
        total, queries = r["sparql"]["seconds"], r["sparql"]["seconds"] - r["sparql"]["load"]
        lines.append(f"| {r['scale']}× | {r['pyshacl']['seconds'] / total:.1f}× | "
                     f"{r['pyshacl']['seconds'] / queries:.1f}× |")
    return "\n".join(lines + [""])


def main() -> None:
    args, results = measure_scales(__doc__.splitlines()[0], measure)
    text = report(results, f"python bench/bench_shapes.py --scales {args.scales}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "shapes.md").write_text(text, encoding="utf-8")
    (RESULTS / "shapes.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
