"""The compiled OWL 2 RL reasoner (cnkg.rules) side by side with owlrl on the same input, at 1x and 10x.

    python bench/bench_reasoner.py [--data DIR] [--scales 1,10]   # -> bench/results/reasoner.md (+ .json)

Input: the article's facts plus landscape-2018-10.yml and landscape-current.yml (scale 1), or the current file with
every item listed N times (scale N, generated as in bench_landscape.py). Each (scale, reasoner) runs in a fresh
child process that builds the dataset without reasoning, then times one ``cnkg.reason.reason(dataset, reasoner)``
call (the pipeline's "reason" step: read the named graphs, close, filter, write the inferred graph) and the
closure alone, each reasoner given its input already in memory: owlrl ``owl_rl_closure(union graph)``, timed inside
that call (the union graph is built before it); rules ``Materialisation(source triples)`` plus the filtered
``inferred()``, timed after it on the list of source triples read beforehand (reading them from the rdflib dataset
is part of the reason step, as building the union graph is for owlrl; the garbage collector runs once before the
timing starts, so that a collection owed to that earlier work does not land in it). Peak RSS is the child's ``ru_maxrss`` before and after reasoning. The inferred graphs are
compared by count and by a hash of their sorted N-Triples. The compiled child then times single-fact
incremental inserts and deletes (median of 5) and checks the result against a full re-closure.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench_landscape import import_snapshots, measure_scales

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

MEASURE = r"""
import gc, hashlib, json, resource, statistics, sys, time
import cnkg.reason as R
from cnkg import imports
from cnkg.build import build_dataset
from cnkg.namespaces import CNKG, FACTS_DIR, ID
from cnkg.vocabulary import Vocabulary, read_ontology
from cnkg.pipeline import add_landscapes
from cnkg.quadset import QuadSet
from cnkg.records import read_facts
from cnkg.rules import Materialisation

reasoner = sys.argv[1]
ontology = read_ontology()
article = build_dataset(read_facts(Vocabulary(ontology), FACTS_DIR), ontology)
quads = QuadSet.of(article)
add_landscapes(quads, article, imports.imported())
dataset = quads.to_dataset()
del article, quads
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
closure_seconds = []

def timed(function):
    def run(*args, **kwargs):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        closure_seconds.append(time.perf_counter() - started)
        return result
    return run

if reasoner == "owlrl":       # owlrl's closure, timed inside the reason step (it is too slow to run twice)
    R.owl_rl_closure = timed(R.owl_rl_closure)
started = time.perf_counter()
inferred = R.reason(dataset, reasoner)
reason_seconds = time.perf_counter() - started
if reasoner == "rules":       # the compiled closure and its filtered inferred set, timed on their own after it
    source = list(R._source_triples(dataset))
    gc.collect()              # what the steps before owe the collector is not the closure's to pay
    started = time.perf_counter()
    m = Materialisation(source, keep=R.is_meaningful)
    m.inferred()
    closure_seconds.append(time.perf_counter() - started)
source_triples = len(set(R._source_triples(dataset)))
lines = sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in inferred)
result = {"reasoner": reasoner, "input_triples": source_triples, "inferred": len(lines),
          "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
          "reason_s": reason_seconds, "closure_s": closure_seconds[0],
          "rss_before_mb": rss_before, "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

if reasoner == "rules":
    full = m.inferred()
    new_edge = [(ID.jaeger, CNKG.basedOn, ID.kubernetes)]        # a new lineage edge: ancestry and typing change
    old_edge = [(ID.jaeger, CNKG.inspiredBy, ID.zipkin)]         # an asserted lineage edge
    assert old_edge[0] in m.asserted() and new_edge[0] not in m.asserted()
    timings = {"insert new edge": [], "delete it again": [], "delete asserted edge": [], "insert it back": []}
    for _ in range(5):
        for name, op, edge in (("insert new edge", m.add, new_edge), ("delete it again", m.remove, new_edge),
                               ("delete asserted edge", m.remove, old_edge), ("insert it back", m.add, old_edge)):
            started = time.perf_counter()
            added, removed = op(edge)
            timings[name].append(time.perf_counter() - started)
            if name == "insert new edge":
                changed = (len(added), len(removed))
                same = m.inferred() == Materialisation(m.asserted(), keep=R.is_meaningful).inferred()
    result["incremental_ms"] = {k: 1000 * statistics.median(v) for k, v in timings.items()}
    result["incremental_insert_changes"] = changed
    result["incremental_equals_full"] = same and m.inferred() == full
print(json.dumps(result))
"""


def run_child(reasoner: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, reasoner], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(scale: int, data: Path, work: Path) -> dict:
    env = import_snapshots(scale, data, work, PYTHONWARNINGS="ignore")
    runs = {reasoner: run_child(reasoner, env) for reasoner in ("rules", "owlrl")}
    return {"scale": scale, **runs}


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, Python {sys.version.split()[0]}"


def report(results: list[dict], command: str) -> str:
    lines = ["# Reasoners: compiled rules (cnkg.rules) against owlrl", "",
             f"Run: `{command}`, {time.strftime('%Y-%m-%d')}, {machine()}. Each (scale, reasoner) in a fresh "
             "process; the machine's 2 cores were shared with other work, so times carry some noise.", "",
             "Input: the article's facts and both official landscape snapshots (1×), or the current snapshot with "
             "every item listed N times (N×, as in `bench_landscape.py`). *closure* is the reasoning alone "
             "with its input in memory (owlrl: `owl_rl_closure` on the union graph; rules: `Materialisation` on the list of "
             "source triples, after one `gc.collect()`, and the filtered `inferred()`); *reason step* "
             "is the whole `reason(dataset, reasoner)` call the pipeline times (reading the named graphs and "
             "writing the inferred graph included).", "",
             "| scale | input triples | reasoner | closure s | reason step s | peak RSS MB (before → after) "
             "| inferred triples | identical output |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        same = r["rules"]["sha256"] == r["owlrl"]["sha256"] and r["rules"]["inferred"] == r["owlrl"]["inferred"]
        for name in ("owlrl", "rules"):
            x = r[name]
            lines.append(f"| {r['scale']}× | {x['input_triples']:,} | {name} | {x['closure_s']:.3f} | "
                         f"{x['reason_s']:.3f} | {x['rss_before_mb']:.0f} → {x['rss_peak_mb']:.0f} | "
                         f"{x['inferred']:,} | {'yes (same sha256)' if same else '**NO**'} |")
    lines += ["", "| scale | closure speed-up | reason step speed-up |", "|---|---|---|"]
    for r in results:
        lines.append(f"| {r['scale']}× | {r['owlrl']['closure_s'] / r['rules']['closure_s']:.0f}× | "
                     f"{r['owlrl']['reason_s'] / r['rules']['reason_s']:.0f}× |")
    lines += ["", "Incremental maintenance (`Materialisation.add` / `remove`, one fact, median of 5, ms); after the "
              "insert the state was checked against a full re-closure:", "",
              "| scale | insert new lineage edge | delete it again | delete an asserted edge | insert it back "
              "| inferred changes on insert (+/−) | equals full re-closure |", "|---|---|---|---|---|---|---|"]
    for r in results:
        inc = r["rules"]["incremental_ms"]
        plus, minus = r["rules"]["incremental_insert_changes"]
        lines.append(f"| {r['scale']}× | {inc['insert new edge']:.2f} | {inc['delete it again']:.2f} | "
                     f"{inc['delete asserted edge']:.2f} | {inc['insert it back']:.2f} | +{plus} / −{minus} | "
                     f"{'yes' if r['rules']['incremental_equals_full'] else '**NO**'} |")
    lines += ["", "Target: closure at least 100× faster than owlrl at 1× and 10×, identical output.", ""]
    return "\n".join(lines)


def main() -> None:
    args, results = measure_scales(__doc__.splitlines()[0], measure)
    command = f"python bench/bench_reasoner.py --scales {args.scales}"
    text = report(results, command)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reasoner.md").write_text(text, encoding="utf-8")
    (RESULTS / "reasoner.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
