"""The article plus the official landscape at scale: build time, peak memory, cached load, cached start of
`cnkg serve` and named-query latency, for the combined graph and a synthetic 10x landscape.

    python bench/bench_landscape.py [--data DIR] [--scales 1,10]   # -> bench/results/landscape.md

DIR holds landscape-current.yml and landscape-2018-10.yml (default: ../shared/data/landscape beside the
checkout). Scale 1 imports both snapshots as they are. Scale N imports the 2018 snapshot and a synthetic current
file with every item listed N times under distinct names (copies k = 2..N get the suffix " #k" and no
repository), so the graph grows N-fold with the same shape. Each build runs in a fresh process: its peak RSS
is the build's own.
"""
from __future__ import annotations

import argparse
from copy import deepcopy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench_startup import serving_memory, start_to_first_answer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SNAPSHOTS = {"landscape-current.yml": ("2026-08-07", "153d699bddf74038d21775b14d09052f62021441"),
             "landscape-2018-10.yml": ("2018-10-26", "760834e61d869824d884bd7abb7789697e41cb94")}
QUERIES = {"stage-as-of": {"date": "2018-10-26"}, "article-then-and-now": {}, "article-vs-snapshot": {},
           "landscape-growth": {}, "landscape-alignment": {}, "projects-accepted-by-year": {},
           "projects-by-stage": {"stage": "Graduated"}, "projects-by-category": {}, "projects": {},
           "entity-facts": {"entity": "jaeger"}, "integrations": {}, "lineage": {}, "organizations": {}}

MEASURE_BUILD = """
import json, resource, sys, time
started = time.perf_counter()
from cnkg import imports
from cnkg.api import KnowledgeGraph
from cnkg import cache
from cnkg.pipeline import build
snapshots = imports.imported()
report = build(landscapes=snapshots, progress=False,   # writes the on-disk store
               store_path=cache.writable_path(cache.fingerprint(landscapes=snapshots)))
counts = KnowledgeGraph(report.store).counts()
print(json.dumps({"seconds": time.perf_counter() - started, "steps": report.seconds,
                  "triples": counts.triples, "asserted": counts.asserted, "inferred": counts.inferred,
                  "entities": counts.entities, "projects": counts.projects,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

MEASURE_LOAD = """
import json, statistics, time
started = time.perf_counter()
import cnkg
graph = cnkg.load()
loaded = time.perf_counter() - started
latency = {}
for name, params in json.loads(__import__("sys").argv[1]).items():
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        rows = len(list(graph.query(name, **params)))
        runs.append(time.perf_counter() - t)
    latency[name] = {"median_ms": 1000 * statistics.median(runs), "rows": rows}
print(json.dumps({"load": loaded, "latency": latency}))
"""


def run_python(code: str, env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def synthetic(current: Path, scale: int, target: Path) -> Path:
    data = yaml.load(current.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for category in data["landscape"]:
        for sub in category.get("subcategories") or []:
            items = sub.get("items") or []
            copies = []
            for k in range(2, scale + 1):
                for item in items:
                    copy = dict(deepcopy(item), name=f"{item['name']} #{k}")  # no shared objects: no YAML aliases
                    copy.pop("repo_url", None)
                    copies.append(copy)
            sub["items"] = items + copies
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


class StepFailed(RuntimeError):
    """A measured step exited with an error (or was killed); its time, peak RSS and the end of its output."""

    def __init__(self, step: str, stats: dict, output: str):
        super().__init__(f"{step} failed ({stats}): {output[-2000:]}")
        self.step, self.stats, self.output = step, stats, output


SYNTHETIC = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench_landscape import synthetic
synthetic(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
"""


def run_measured(step: str, command: list[str], env: dict, log: Path) -> tuple[dict, str]:
    """Run ``command`` (output to ``log``); its wall time and peak RSS (from its own rusage: the child alone, not
    every child this process waited for), and its standard output. Raises ``StepFailed``.

    A child's peak counts this process's resident memory at the fork (Linux keeps the high-water mark across
    exec): the caller must stay small, so it writes the synthetic file in a child too."""
    started = time.perf_counter()
    with log.open("wb") as out, log.with_suffix(".err").open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    stats = {"seconds": round(time.perf_counter() - started, 1), "peak_mb": round(usage.ru_maxrss / 1024),
             "exit": process.returncode}
    output = log.read_text(errors="replace")
    if process.returncode != 0:
        raise StepFailed(step, stats, output + log.with_suffix(".err").read_text(errors="replace"))
    return stats, output


def import_snapshots(scale: int, data: Path, work: Path, steps: dict | None = None, **extra_env) -> dict:
    """Import both official snapshots (the current one listed ``scale`` times) into a data directory under
    ``work``; the environment that points cnkg at it (and at a cache beside it). A synthetic file over the default
    16 MiB is imported with ``--max-size`` (100x is about 100 MB). ``steps``: each import's time and peak RSS."""
    env = dict(os.environ, CNKG_DATA_DIR=str(work / "data"), CNKG_CACHE_DIR=str(work / "cache"), CI="1",
               **extra_env)
    for name, (date, commit) in SNAPSHOTS.items():
        source = data / name
        options = []
        if scale > 1 and name == "landscape-current.yml":
            target = work / f"landscape-x{scale}.yml"     # written by a child: this process stays small
            stats, _ = run_measured("synthetic", [sys.executable, "-c", SYNTHETIC, str(Path(__file__).parent),
                                                  str(source), str(scale), str(target)], env, work / "synthetic.log")
            if steps is not None:
                steps["synthetic"] = stats
            source = target
            size_mib = -(-source.stat().st_size >> 20)
            if size_mib > 16:
                options = ["--max-size", str(size_mib)]
        command = [sys.executable, "-m", "cnkg.cli", "import-landscape", str(source), "--date", date,
                   "--commit", commit, "--no-build", *options]
        stats, _ = run_measured(f"import {source.name}", command, env, work / f"import-{source.stem}.log")
        if steps is not None:
            steps[f"import {source.name}"] = {**stats, "bytes": source.stat().st_size}
    return env


def measure(scale: int, data: Path, work: Path) -> dict:
    env = import_snapshots(scale, data, work)
    built = run_python(MEASURE_BUILD, env)
    loaded = [run_python(MEASURE_LOAD, env, json.dumps(QUERIES)) for _ in range(3)]
    starts = [start_to_first_answer(env) for _ in range(5)]
    return {"scale": scale, "build": built, "load": statistics.median(r["load"] for r in loaded),
            "latency": loaded[-1]["latency"], "start": statistics.median(starts), "start_min": min(starts),
            "memory": serving_memory(env)}


def report(results: list[dict], data: Path) -> str:
    lines = ["# The article plus the official CNCF landscape at scale", "",
             f"Run: `python bench/bench_landscape.py --scales {','.join(str(r['scale']) for r in results)}`, "
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, load "
             f"average {LOAD[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (timings grow with other "
             "work on the machine). Inputs: "
             "the article's facts, landscape-2018-10.yml and landscape-current.yml (scale 1), or the current file "
             "with every item listed N times (scale N). A cold build is import-free (the files are imported "
             "first) and includes OWL 2 RL reasoning (the compiled reasoner), SHACL validation and writing the "
             "on-disk store, in a fresh process. Cached load: `cnkg.load()` opening that store. Start to first answer: "
             "median (and min) of 5 launches of `cnkg serve` until an ASK is answered.", "",
             "| scale | triples | asserted | inferred | entities | cold build s | reason s | SHACL s | peak RSS MB "
             "| cached load s | cached `cnkg serve` start to first answer s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        b = r["build"]
        lines.append(f"| {r['scale']}× | {b['triples']:,} | {b['asserted']:,} | {b['inferred']:,} | "
                     f"{b['entities']:,} | {b['seconds']:.1f} | {b['steps']['reason']:.1f} | "
                     f"{b['steps'].get('shapes', 0):.1f} | {b['peak_mb']:.0f} | {r['load']:.2f} | "
                     f"{r['start']:.2f} ({r['start_min']:.2f}) |")
    lines += ["", "Serving RSS (MB, resident, the server plus its query workers; default `--warm-workers 1`, "
              "`--workers` twice the cores, at least 4): the server alone and with its warm worker after the first "
              "answer; right after 8 concurrent full-scan queries from two client addresses (the pool grows to its "
              "maximum); and once the workers started for them have idled `--retire-after` seconds (2 here, 30 by "
              "default) and stopped.", "",
              "| scale | server alone | with workers after the first answer | after a burst of 8 (workers) | "
              "after the idle ones retire (workers) |", "|---|---|---|---|---|"]
    for r in results:
        m = r["memory"]
        lines.append(f"| {r['scale']}× | {m['server']:.0f} | {m['first']:.0f} | {m['burst']:.0f} "
                     f"({m['burst_workers']}) | {m['retired']:.0f} ({m['retired_workers']}) |")
    lines += ["", "Named-query latency on the cached graph (median of 5, in-process, milliseconds; rows):", "",
              "| query | " + " | ".join(f"{r['scale']}× ms (rows)" for r in results) + " |",
              "|---|" + "---|" * len(results)]
    for name in QUERIES:
        cells = [f"{r['latency'][name]['median_ms']:.1f} ({r['latency'][name]['rows']})" for r in results]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Targets: every named query ≤ 50 ms at 10×; `cnkg serve` start to first answer ≤ 0.3 s at 1× and "
              "≤ 0.5 s at 10×; serving RSS at 10× ≤ 150 MB; cold build ≤ 6 s at 1×.", ""]
    return "\n".join(lines)


def measure_scales(description: str, measure, default_scales: str = "1,10") -> tuple[argparse.Namespace, list]:
    """Parse ``--data DIR --scales N,M`` and run ``measure(scale, data, work directory)`` for each scale, in a
    temporary directory of its own; each result is printed as a JSON line on standard error as it comes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "landscape")
    parser.add_argument("--scales", default=default_scales)
    args = parser.parse_args()
    results = []
    for scale in (int(s) for s in args.scales.split(",")):
        with tempfile.TemporaryDirectory(prefix=f"cnkg-bench-x{scale}-") as work:
            results.append(measure(scale, args.data, Path(work)))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    return args, results


LOAD = os.getloadavg()  # when the run started


def main() -> None:
    args, results = measure_scales(__doc__.splitlines()[0], measure)
    text = report(results, args.data)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "landscape.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
