"""Time a cold build and a cached load of the article graph and of synthetic graphs 10x and 100x its size.

The synthetic fact sets are N renamed copies of the article's facts (ids, labels and altLabels suffixed per copy),
so they go through the same pipeline: YAML checks, named graphs, owlrl closure, SHACL, cache.

    python bench/bench_build.py                 # sizes 1, 10, 100 -> bench/results/build.md
    python bench/bench_build.py --sizes 1,10    # a quicker run

Each measurement runs in a fresh Python process so imports and caches do not leak between runs.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "kg" / "facts"
RESULTS = ROOT / "bench" / "results"

COLD = """
import json, resource, sys, time
t = time.perf_counter()
import cnkg
from cnkg import cache
report = cnkg.build(sys.argv[1], store_path=cache.writable_path(cache.fingerprint(sys.argv[1])))
total = time.perf_counter() - t
graph = cnkg.KnowledgeGraph(report.store)
c = graph.counts()
print(json.dumps({"seconds": total, "stages": report.seconds, "triples": c.triples, "asserted": c.asserted,
                  "inferred": c.inferred, "entities": c.entities,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CACHED = """
import json, sys, time
t0 = time.perf_counter()
import cnkg
t1 = time.perf_counter()
graph = cnkg.load(sys.argv[1])
t2 = time.perf_counter()
rows = list(graph.query("projects-by-stage"))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first_query": t3 - t2, "triples": len(graph.dataset)}))
"""


def _rename(value, k: int, ids: set[str]):
    if isinstance(value, str):
        return f"{value}-x{k}" if value in ids else value
    if isinstance(value, list):
        return [_rename(v, k, ids) for v in value]
    if isinstance(value, dict):
        return {key: (_rename(v, k, ids) if key in ("id", "about") else v) for key, v in value.items()}
    return value


def synthetic_facts(copies: int, target: Path) -> Path:
    """``copies`` renamed copies of the article facts in ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "sources.yaml").write_bytes((FACTS / "sources.yaml").read_bytes())
    files = {p.name: yaml.safe_load(p.read_text()) for p in sorted(FACTS.glob("*.yaml")) if p.name != "sources.yaml"}
    ids = {e["id"] for doc in files.values() for e in doc.get("entities") or []}
    naming = ("type", "description")
    for k in range(copies):
        for name, doc in files.items():
            out = {"section": doc["section"], "entities": [], "facts": []}
            for entity in doc.get("entities") or []:
                copy = {key: (v if key in naming else _rename(v, k, ids)) for key, v in entity.items()}
                copy["id"] = f"{entity['id']}-x{k}"
                copy["label"] = f"{entity['label']} #{k}"
                if "altLabels" in entity:
                    copy["altLabels"] = [f"{a} #{k}" for a in entity["altLabels"]]
                out["entities"].append(copy)
            for fact in doc.get("facts") or []:
                out["facts"].append({key: _rename(v, k, ids) for key, v in fact.items()} | {"about": f"{fact['about']}-x{k}"})
            (target / f"x{k:03d}-{name}").write_text(yaml.safe_dump(out, sort_keys=False, allow_unicode=True))
    return target


def run(script: str, facts: Path, cache_dir: Path) -> dict:
    env = {"CNKG_CACHE_DIR": str(cache_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script, str(facts)], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100", help="comma-separated multiples of the article graph")
    parser.add_argument("--repeat", type=int, default=3, help="cached loads per size (the median is reported)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            facts = FACTS if size == 1 else synthetic_facts(size, Path(tmp) / f"facts-{size}")
            cache_dir = Path(tmp) / f"cache-{size}"
            cold = run(COLD, facts, cache_dir)
            cached = sorted((run(CACHED, facts, cache_dir) for _ in range(args.repeat)), key=lambda r: r["load"])
            rows.append({"size": size, "cold": cold, "cached": cached[len(cached) // 2]})
            print(json.dumps(rows[-1]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "build.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Build and load times",
        "",
        f"Run: `python bench/bench_build.py --sizes {args.sizes}` on {platform.machine()}, "
        f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}. Each figure is one fresh process; cached loads "
        f"are the median of {args.repeat}.",
        "",
        "| size | entities | triples (asserted / inferred) | cold build s | load+check / reason / SHACL s | peak RSS MB "
        "| cached load s | import s | first query s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        c, k, s = row["cold"], row["cached"], row["cold"]["stages"]
        lines.append(f"| {row['size']}× | {c['entities']} | {c['triples']} ({c['asserted']} / {c['inferred']}) | "
                     f"{c['seconds']:.2f} | {s['load']:.2f} / {s['reason']:.2f} / {s.get('shapes', 0):.2f} | "
                     f"{c['peak_rss_mb']:.0f} | {k['load']:.3f} | {k['import']:.2f} | {k['first_query']:.3f} |")
    lines += ["", "Targets: cached load ≤ 0.5 s, cold build of the article graph (1×) ≤ 3 s.", ""]
    (RESULTS / "build.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
