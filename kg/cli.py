"""The ``cnkg`` command: argument parsing plus one call into the library per sub-command.

Exit codes: 0 ok, 1 invalid input (facts, query, parameter, name), 2 a usage error (argparse's: an unknown option,
a missing argument) or any other error.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path

from rdflib import BNode, Literal, URIRef

from . import __version__, cache, imports
from .api import KnowledgeGraph, load
from .errors import CnkgError, InvalidInput, OutputError
from .export import FORMATS, serialize, write_atomically, write_stream
from .namespaces import FACTS_DIR, ONTOLOGY_DIR, QUERIES_DIR, compact
from .lineage import MAX_PATHS
from .named_queries import NamedQuery, parse_query_file


def build(*args, **kwargs):
    """The build pipeline, imported by the commands that build: owlrl and pySHACL are not needed to serve."""
    from .pipeline import build as run

    return run(*args, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnkg", description="The cloud-native knowledge graph.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--facts", type=Path, default=FACTS_DIR, help="directory of fact YAML files")
    parser.add_argument("--ontology", type=Path, default=ONTOLOGY_DIR, help="directory of the ontology Turtle files")
    parser.add_argument("--no-cache", action="store_true", help="build from the inputs, ignoring the cache")
    parser.add_argument("--reasoner", choices=("rules", "owlrl"), default="rules",
                        help="OWL 2 RL reasoner: rules (compiled, the default) or owlrl (the reference)")
    parser.add_argument("--no-landscapes", action="store_true",
                        help="leave the imported landscape snapshots out: the article's graph alone")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("build", help="load, validate and reason; cache the result; print counts")
    sub.add_parser("validate", help="check facts, ontology, shapes and named queries; write nothing")

    query = sub.add_parser("query", help="run a named query or a .rq file")
    query.add_argument("query", metavar="NAME_OR_FILE",
                       help="a named query (see cnkg queries), a .rq file, or - to read the query from standard input")
    query.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE", help="a query parameter")
    query.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table")

    sub.add_parser("queries", help="list the named queries and their parameters")

    search = sub.add_parser("search", help="find entities by part of their name or description",
                            description="Entities whose label, altLabel or description matches TEXT, best first: "
                                        "exact label, altLabel, prefix, word, substring, description; case- and "
                                        "accent-insensitive. Exit code 1 when nothing matches (with a 'did you "
                                        "mean' when a name is near).")
    search.add_argument("text", metavar="TEXT")
    search.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table")
    search.add_argument("--limit", "-n", type=int, default=20, help="at most this many hits (1-100, default 20)")

    imp = sub.add_parser("import-landscape", help="check a CNCF landscape.yml and include it in every build",
                         description="Check a landscape.yml (either schema) completely; only a clean file is "
                                     "imported, as a snapshot every later build, query and serve includes. "
                                     "Prints how its items align with the article's entities.")
    imp.add_argument("path", type=Path, metavar="PATH", help="the landscape.yml file")
    imp.add_argument("--date", required=True, metavar="YYYY-MM-DD",
                     help="the day the file was taken from the landscape repository (its commit date)")
    imp.add_argument("--commit", metavar="SHA", help="the git commit the file was taken from")
    imp.add_argument("--url", metavar="URL", help="the repository (default https://github.com/cncf/landscape)")
    imp.add_argument("--name", metavar="NAME", help="the snapshot's name (default landscape-DATE)")
    imp.add_argument("--replace", action="store_true", help="overwrite an imported snapshot of the same name")
    imp.add_argument("--force", action="store_true",
                     help="import even when the file has far fewer items than the previous import of the same "
                          "source (by default that is taken for a cut or damaged file)")
    imp.add_argument("--max-size", type=_positive_int, default=None, metavar="MIB",
                     help="refuse a file larger than MIB mebibytes (default 16; the official file is about 1 MB). "
                          "Raise it only for a file you mean to import, e.g. a synthetic benchmark landscape: "
                          "memory grows with the file (the synthetic 10x landscape, 10 MB, builds in about 450 MB; "
                          "the 100x, 99 MB, in 4 GB). "
                          "Builds read the imported copy at the size it was checked at import, so a later build "
                          "needs no --max-size")
    imp.add_argument("--check", action="store_true",
                     help="check and report only (the file is read, and built with the other imports); import nothing")
    imp.add_argument("--no-build", action="store_true",
                     help="import without caching the combined graph (it is still built, in memory, to check the "
                          "file) or listing the alignment")
    imp.add_argument("--report", type=Path, metavar="FILE",
                     help="write every free-text name left unresolved to FILE, one a line (tab-separated: line, "
                          "item, key, name, why), sorted by line")
    imp.add_argument("--quiet", "-q", action="store_true",
                     help="print a summary only: counts of warnings, aligned entities and unresolved names instead "
                          "of one line each (cnkg query unresolved-names lists the names)")

    scapes = sub.add_parser("landscapes", help="list the imported landscape snapshots (or remove one)")
    scapes.add_argument("--remove", metavar="NAME", help="forget the imported snapshot NAME")

    lineage = sub.add_parser("lineage", help="the lineage chains of a project or system")
    lineage.add_argument("name", help="a name, altLabel or id (case-insensitive)")
    lineage.add_argument("--format", "-f", choices=("text", "json", "svg", "png"), default="text",
                         help="text or json; svg or png draw the lineage diagram")
    lineage.add_argument("--output", "-o", type=Path, metavar="FILE", help="write to FILE instead of stdout")

    cover = sub.add_parser("coverage", help="how many CNCF projects have a sourced origin and lineage, per stage")
    cover.add_argument("--format", "-f", choices=("text", "json"), default="text")

    export = sub.add_parser("export", help="write the graph as RDF (default: everything, Turtle, to stdout)")
    export.add_argument("--format", "-f", choices=tuple(FORMATS), default="turtle")
    export.add_argument("--asserted-only", action="store_true", help="leave out the inferred graph")
    export.add_argument("--output", "-o", type=Path, metavar="FILE", help="write to FILE instead of stdout")

    push = sub.add_parser("push", help="send every graph to a SPARQL server's Graph Store (HTTP Protocol)",
                          description="Send every named graph of the built dataset (asserted, inferred, ontology, "
                          "provenance) and their union to a Graph Store Protocol endpoint, one PUT per graph (a "
                          "re-run replaces, never duplicates), then check every graph's triple count. Credentials "
                          "come from the environment only: CNKG_REMOTE_TOKEN (bearer), or CNKG_REMOTE_USER and "
                          "CNKG_REMOTE_PASSWORD (Basic, or Digest when the store asks for it), never from the URL; "
                          "they go over https, or over plain http to a loopback address only unless "
                          "CNKG_REMOTE_ALLOW_CLEARTEXT=1, and never follow a redirect to another host.")
    push.add_argument("gsp_url", metavar="GSP_URL",
                      help="the Graph Store endpoint, e.g. http://127.0.0.1:7878/store (Oxigraph server)")
    push.add_argument("--query-url", metavar="URL",
                      help="the store's SPARQL query endpoint, to check the counts with COUNT (default: read each "
                           "graph back with GET)")
    push.add_argument("--chunk", type=_positive_int, default=None, metavar="TRIPLES",
                      help="triples per request (default 50000): the first chunk of a graph is PUT, the rest POSTed")
    push.add_argument("--retries", type=int, default=4, metavar="N",
                      help="tries again after a refused connection, a reset or a 5xx, waiting 0.5 s, 1 s, 2 s ...")
    push.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS", help="per-request time limit")
    push.add_argument("--dry-run", action="store_true", help="say what would be sent; send nothing")

    serve = sub.add_parser("serve", help="serve the SPARQL endpoint over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per-query time limit")
    serve.add_argument("--rate-limit", type=int, default=600, metavar="PER_MINUTE",
                       help="queries per minute per client address (0: no limit)")
    serve.add_argument("--connection-limit", type=int, default=1000, metavar="N",
                       help="open connections accepted at once; more wait to be accepted (default 1000)")
    serve.add_argument("--idle-timeout", type=int, default=30, metavar="SECONDS",
                       help="close a connection that sends nothing for this long, half-sent requests included "
                            "(default 30)")
    serve.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="close a connection whose request line and headers have not all arrived this long after "
                            "their first byte, however steadily they trickle in (default 10); a body must then "
                            "average 500 bytes a second")
    serve.add_argument("--result-cache", type=int, default=256, metavar="ENTRIES",
                       help="answers of repeated queries kept in memory (0: off)")
    serve.add_argument("--result-cache-mib", type=int, default=64, metavar="MIB",
                       help="memory the result cache may hold, answers and query texts (default 64; 0: off)")
    serve.add_argument("--allow-update", action="store_true",
                       help="accept SPARQL 1.1 Update on POST /sparql, for clients sending the bearer token; the "
                            "inferred graph follows each change. Over the embedded store changes are lost when the "
                            "server stops or restarts (kept in a temporary copy of the store, never in the cache or "
                            "the facts); over --sparql-url they are written to the remote store")
    serve.add_argument("--update-token", metavar="TOKEN",
                       help="the bearer token updates must carry (default: $CNKG_UPDATE_TOKEN); required with "
                            "--allow-update")
    serve.add_argument("--update-timeout", type=_positive_float, default=None, metavar="SECONDS",
                       help="with --allow-update: seconds one update may take, waiting for the one before it "
                            "included (default 30); past it: 503 and nothing is changed")
    serve.add_argument("--update-max-operations", type=_positive_int, default=None, metavar="N",
                       help="with --allow-update: operations one update request may hold (default 20,000); more: "
                            "413 and nothing is changed")
    serve.add_argument("--update-max-triples", type=_positive_int, default=None, metavar="N",
                       help="with --allow-update: triples one update request may add or remove, templates "
                            "expanded (default 250,000); more: 413 and nothing is changed")
    serve.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                       help="the most query worker processes, i.e. queries evaluated at once (default: twice the "
                            "cores, at least 4; in a container with a CPU limit, set it: the cores counted are the "
                            "host's)")
    serve.add_argument("--warm-workers", type=_positive_int, default=None, metavar="N",
                       help="query workers kept running when idle (default 1; ~35 MB each); more start when a query "
                            "finds every worker busy (a start takes ~0.1-0.2 s), up to --workers")
    serve.add_argument("--retire-after", type=float, default=None, metavar="SECONDS",
                       help="stop a query worker beyond the warm ones once it has been idle this long (default 30)")
    serve.add_argument("--worker-memory", type=_positive_int, default=None, metavar="MIB",
                       help="memory one query worker may use, in MiB (default 1024); a query needing more is "
                            "stopped and answered 503 (reason memory)")
    serve.add_argument("--sparql-url", metavar="QUERY_URL",
                       help="serve a dataset sent with cnkg push from this SPARQL query endpoint (e.g. "
                            "http://127.0.0.1:7878/query) instead of the embedded store; credentials from "
                            "CNKG_REMOTE_TOKEN or CNKG_REMOTE_USER/CNKG_REMOTE_PASSWORD (never in the URL), sent "
                            "over https, or over http to a loopback address only unless CNKG_REMOTE_ALLOW_CLEARTEXT=1")
    serve.add_argument("--update-url", metavar="URL",
                       help="with --sparql-url and --allow-update: the remote store's SPARQL Update endpoint, where "
                            "updates go with their inferred delta")
    serve.add_argument("--grace-period", type=float, default=10.0, metavar="SECONDS",
                       help="on SIGTERM or SIGINT, stop accepting connections and let requests in flight finish "
                            "for up to this long, then stop the query workers and exit 0 (default 10; a second "
                            "signal stops at once)")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:  # (NaN too)
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _landscapes(args) -> list:
    return [] if args.no_landscapes else imports.imported()


def _graph(args) -> KnowledgeGraph:
    return load(args.facts, args.ontology, QUERIES_DIR, use_cache=not args.no_cache, landscapes=_landscapes(args),
                reasoner=args.reasoner)


def cmd_build(args) -> int:
    started = time.perf_counter()
    snapshots = _landscapes(args)
    key = cache.fingerprint(args.facts, args.ontology, snapshots, reasoner=args.reasoner)
    report = build(args.facts, args.ontology, landscapes=snapshots, reasoner=args.reasoner,
                   store_path=cache.writable_path(key))
    graph = KnowledgeGraph(report.store)
    path = report.store.path
    c = graph.counts()
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in report.seconds.items())
    print(f"built {c.triples} triples in {c.graphs} graphs: {c.asserted} asserted, {c.inferred} inferred, "
          f"{c.ontology} ontology")
    documents = len({citation.url for citation in report.facts.citations})
    print(f"{c.entities} entities ({c.projects} projects), {len(report.facts.statements)} statements "
          f"from {len(report.facts.sections)} sections and {documents} cited documents")
    print(f"valid (YAML, ontology, OWL 2 RL consistency, SHACL) in {time.perf_counter() - started:.2f}s ({timing})")
    for snapshot, landscape in report.landscapes:
        print(f"landscape {snapshot.info.name}: {len(landscape.items)} items, {len(landscape.projects)} CNCF "
              f"projects, {len(landscape.warnings)} warnings")
    print(f"cached at {path}")
    return 0


def print_alignment(alignment, snapshot: str, out=None, quiet: bool = False) -> None:
    """The article entities one snapshot matched, and every article project it left unmatched, with why
    (``quiet``: the counts only)."""
    out = out or sys.stdout
    matches = [m for m in alignment.matches if m.snapshot == snapshot]
    unmatched = [u for u in alignment.unmatched if u.snapshot == snapshot]
    if quiet:
        print(f"aligned with the article: {len(matches)} entities; article projects not in this snapshot: "
              f"{len(unmatched)}; ambiguous: {sum(t.startswith(f'{snapshot}:') for t in alignment.ambiguous)}",
              file=out)
        print_mentions(alignment, snapshot, out, quiet=True)
        return
    print(f"aligned with the article: {len(matches)} entities share an IRI with a landscape item", file=out)
    for m in sorted(matches, key=lambda m: m.label.lower()):
        same = "" if m.item == m.label else f" = {m.item!r}"
        print(f"  {m.label}{same}  (line {m.line}; by {m.evidence})", file=out)
    print(f"article projects not in this snapshot: {len(unmatched)}", file=out)
    for u in unmatched:
        print(f"  {u.label}: {u.reason}", file=out)
    for text in alignment.ambiguous:
        if text.startswith(f"{snapshot}:"):
            print(f"  ambiguous, not merged: {text[len(snapshot) + 2:]}", file=out)
    print_mentions(alignment, snapshot, out)


def print_mentions(alignment, snapshot: str, out=None, quiet: bool = False) -> None:
    """How the names the snapshot gives in free text resolved, and each unresolved one with its line and why."""
    out = out or sys.stdout
    mentions = [m for m in alignment.mentions if m.snapshot == snapshot]
    if not mentions:
        return
    phrases = [m for m in mentions if m.phrase]
    names = [m for m in mentions if not m.phrase]
    unresolved = [m for m in names if m.entity is None]
    relations = {}
    for m in mentions:
        if m.entity is not None:
            relations.setdefault(m.prop.split("#")[-1], set()).add((m.subject, m.entity))
    stated = ", ".join(f"{len(pairs)} {name}" for name, pairs in sorted(relations.items()))
    share = f" ({100 * len(unresolved) / len(names):.1f} %)" if names else ""
    # pieces of sentences are not names: counted apart, so the share of names left unresolved is about names
    pieces = f"; and {len(phrases)} phrase(s) of sentences, not names" if phrases else ""
    summary = (f"names in free text: {len(names)}, {len(names) - len(unresolved)} resolved ({stated or 'none'}); "
               f"{len(unresolved)} unresolved{share}{pieces}")
    if quiet:
        print(f"{summary} (cnkg query unresolved-names lists them)", file=out)
        return
    print(f"{summary}; kept as cnkg:NameMention (never made entities):", file=out)
    for m in [*unresolved, *phrases]:
        print(f"  line {m.line}: {m.item} {m.key}: {m.text!r}: {m.reason}", file=out)


def unresolved_report(alignment, snapshot: str) -> str:
    """The names of one snapshot's free text that resolved to nothing, as tab-separated lines with a header."""
    rows = sorted((m for m in alignment.mentions if m.snapshot == snapshot and m.entity is None),
                  key=lambda m: (m.line, m.item, m.text))
    clean = lambda text: " ".join(str(text).split())           # noqa: E731 (no tab or line break in a field)
    lines = ["line\titem\tkey\tname\treason"]
    lines += ["\t".join([str(m.line), clean(m.item), m.key, clean(m.text), clean(m.reason)]) for m in rows]
    return "\n".join(lines) + "\n"


def cmd_import_landscape(args) -> int:
    info = imports.snapshot_info(args.name, args.date, args.commit, args.url, args.path.name)
    max_bytes = None if args.max_size is None else args.max_size << 20
    payload, landscape = imports.check(args.path, info, force=args.force, max_bytes=max_bytes)
    if not args.check:
        imports.refuse_existing(args.path, info, None, args.replace)
    # the file is built into the graph with the other imports and checked as every build checks it (SHACL
    # included) before it is kept: a snapshot that fails there would stop every later build, query and serve
    options = {"facts_dir": args.facts, "ontology_dir": args.ontology, "reasoner": args.reasoner}
    cache_to = None if args.check or args.no_build else \
        (lambda snapshots: cache.writable_path(cache.fingerprint(args.facts, args.ontology, snapshots,
                                                                 reasoner=args.reasoner)))
    report = imports.check_build(args.path, payload, info, replace=args.check or args.replace,
                                 build_options=options, store_path=cache_to)
    if args.check:
        print(f"{args.path}: valid landscape.yml ({landscape.schema} schema): {len(landscape.items)} items, "
              f"{len(landscape.projects)} CNCF projects; builds and passes the shapes; nothing imported")
    else:
        imports.store(payload, landscape, info)
        print(f"imported {args.path} as snapshot {info.name!r} ({landscape.schema} schema): "
              f"{len(landscape.items)} items, {len(landscape.projects)} CNCF projects, "
              f"{len(landscape.categories)} categories")
    if args.quiet and landscape.warnings:
        print(f"{len(landscape.warnings)} warning(s) (run without --quiet to see them)", file=sys.stderr)
    for warning in [] if args.quiet else landscape.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.report is not None:
        write_atomically(args.report, unresolved_report(report.alignment, info.name).encode("utf-8"))
        print(f"wrote the unresolved names to {args.report}", file=sys.stderr)
    if args.check or args.no_build:
        return 0
    print_alignment(report.alignment, info.name, quiet=args.quiet)
    c = KnowledgeGraph(report.store).counts()
    print(f"built and cached the combined graph: {c.triples} triples ({c.inferred} inferred), {c.entities} "
          f"entities, {c.projects} projects, {len(report.landscapes)} landscape snapshot(s)")
    return 0


def cmd_landscapes(args) -> int:
    if args.remove:
        imports.remove(args.remove)
        print(f"removed snapshot {args.remove!r}")
        return 0
    snapshots = imports.imported()
    if not snapshots:
        print(f"no landscape snapshots imported (in {imports.landscapes_dir()}); see cnkg import-landscape --help")
    for s in snapshots:
        commit = f" commit {s.info.commit[:12]}" if s.info.commit else ""
        print(f"{s.info.name}: {s.info.date}{commit} from {s.info.url} ({s.path})")
    return 0


def cmd_validate(args) -> int:
    report = build(args.facts, args.ontology, landscapes=_landscapes(args), reasoner=args.reasoner)
    graph = KnowledgeGraph(report.store)
    scapes = "".join(f", landscape {s.info.name} ({len(l.items)} items)" for s, l in report.landscapes)
    print(f"valid: {len(report.facts.entities)} entities, {len(report.facts.statements)} statements, "
          f"{len(report.facts.files)} fact files, {len(graph.queries)} named queries{scapes}")
    return 0


def _term(value) -> str:
    if value is None:
        return ""
    if isinstance(value, URIRef):
        return compact(value)
    if isinstance(value, BNode):
        return f"_:{value}"
    if isinstance(value, Literal):
        return str(value)
    return str(value)


def print_table(variables: list[str], rows: list[list[str]], out=None) -> None:
    out = out or sys.stdout
    widths = [max([len(v), *(len(r[i]) for r in rows)]) for i, v in enumerate(variables)]
    line = "  ".join(v.ljust(w) for v, w in zip(variables, widths))
    print(line.rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=out)


def cmd_query(args) -> int:
    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--param {item!r}: expected KEY=VALUE")
        params[key.strip()] = value
    graph = _graph(args)
    target: str | NamedQuery = args.query
    path = Path(args.query)
    if args.query == "-":  # a query piped in or in a here-document
        target = sys.stdin.read()
        if not target.strip():
            raise InvalidInput("no query on standard input")
    elif path.suffix == ".rq" or path.exists():
        if not path.is_file():
            raise InvalidInput(f"query file {args.query!r} does not exist")
        text = path.read_text(encoding="utf-8")
        target = parse_query_file(path) if "# summary:" in text else text
    result = graph.query(target, **params)
    if result.type == "SELECT":
        if args.format == "table":
            names = [str(v) for v in result.vars]
            print_table(names, [[_term(row[v]) for v in result.vars] for row in result])
        else:
            sys.stdout.write(result.serialize(format=args.format).decode("utf-8"))
            if args.format == "json":
                sys.stdout.write("\n")
    elif result.type == "ASK":
        print(json.dumps({"head": {}, "boolean": bool(result.askAnswer)}) if args.format == "json"
              else str(bool(result.askAnswer)).lower())
    else:
        sys.stdout.write(result.serialize(format="turtle").decode("utf-8"))
    return 0


def cmd_search(args) -> int:
    import csv

    result = _graph(args).search(args.text, args.limit)
    columns = ("label", "match", "types", "iri", "matched")

    def cells(hit) -> list[str]:
        return [hit.label, hit.match, " ".join(hit.types), hit.iri, hit.matched]

    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(cells(hit) for hit in result.hits)
    else:
        print_table(list(columns[:4]), [[*cells(hit)[:3], compact(URIRef(hit.iri))] for hit in result.hits])
    if not result.hits:
        hint = f" (did you mean {result.suggestion!r}?)" if result.suggestion else ""
        print(f"cnkg search: nothing matches {args.text!r}{hint}", file=sys.stderr)
        return 1
    return 0


def cmd_queries(args) -> int:
    graph = _graph(args)
    for name, query in sorted(graph.queries.items()):
        print(f"{name}: {query.summary}")
        for p in query.parameters:
            print(f"    --param {p.name}=…  ({p.type}, default {p.default}) {p.doc}")
    return 0


def lineage_text(graph: KnowledgeGraph, name: str, fmt: str = "text") -> str:
    """The lineage report of ``name`` as text or JSON, each step with its sources (title, URL, confidence)."""
    report = graph.lineage(name)
    label = graph.label
    index = graph.lineage_index

    def step_json(step):
        names = [label(r) for r in step.relations]
        return {"from": label(step.parent), "to": label(step.child), "relation": " / ".join(names),
                "relations": [{"relation": label(r), "sources": [index.citation(x).as_json() for x in secs]}
                              for r, secs in step.cited],
                "sources": [index.citation(x).as_json() for x in step.sources]}

    def chain_json(chain):
        return {"path": [label(n) for n in chain.nodes()], "hops": chain.hops,
                "steps": [step_json(s) for s in reversed(chain.steps)]}

    if fmt == "json":
        return json.dumps({"entity": label(report.entity), "iri": str(report.entity),
                           "ancestors": [chain_json(c) for c in report.ancestors],
                           "descendants": [chain_json(c) for c in report.descendants],
                           "truncated": report.truncated}, indent=2, ensure_ascii=False) + "\n"
    lines = [f"Lineage of {label(report.entity)} <{report.entity}>"]
    for title, chains in (("Ancestors", report.ancestors), ("Descendants", report.descendants)):
        lines.append(f"\n{title}:")
        if not chains:
            lines.append("  (none)")
        # one chain per path: each step names every relation between its two entities, each with its sources
        for chain in chains:
            lines.append("  " + " → ".join(label(n) for n in chain.nodes()))
            for step in reversed(chain.steps):
                for relation, secs in step.cited:
                    lines.append(f"      {label(step.child)} {label(relation)} {label(step.parent)}")
                    for source in secs:
                        lines.append(f"          source: {index.citation(source)}")
    if report.truncated:
        lines.append(f"\n(more paths exist: the {MAX_PATHS} shortest in each direction are shown)")
    return "\n".join(lines) + "\n"


def cmd_lineage(args) -> int:
    graph = _graph(args)
    if args.format in ("svg", "png"):
        diagram = graph.lineage_diagram(args.name)
        payload = diagram.svg().encode("utf-8") if args.format == "svg" else diagram.png()
        if args.output is None and sys.stdout.isatty():
            raise InvalidInput(f"--format {args.format} writes an image: give -o FILE or redirect stdout")
    else:
        text = lineage_text(graph, args.name, args.format)
        if args.output is None:
            sys.stdout.write(text)
            return 0
        payload = text.encode("utf-8")
    if args.output is not None:
        write_atomically(args.output, payload)
        print(f"wrote {len(payload)} bytes of {args.format} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.flush()
        write_stream(sys.stdout.buffer, payload)
    return 0


def cmd_coverage(args) -> int:
    from .coverage import as_json, as_text, coverage

    graph = _graph(args)
    report = coverage(graph.store)
    if args.format == "json":
        sys.stdout.write(json.dumps(as_json(report, graph.label), indent=2) + "\n")
    else:
        sys.stdout.write(as_text(report, graph.label))
    return 0


def cmd_export(args) -> int:
    graph = _graph(args)
    payload = serialize(graph.dataset, args.format, args.asserted_only)
    if args.output:
        write_atomically(args.output, payload)
        print(f"wrote {len(payload)} bytes of {args.format} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.flush()
        write_stream(sys.stdout.buffer, payload)
    return 0


class _StopWhileStarting(Exception):
    """SIGTERM or SIGINT before the server accepts connections: nothing is in flight, so it stops at once."""


def _stop_while_starting(signum, _frame):
    raise _StopWhileStarting(signal.Signals(signum).name)


def cmd_serve(args) -> int:
    from .sandbox import DEFAULT_WORKER_MEMORY_MIB, DEFAULT_WORKERS, Sandbox

    # Until the server runs (it installs its own graceful handlers), a stop signal ends the start-up, workers
    # included: as PID 1 in a container, a signal without a handler would be ignored.
    previous = {signum: signal.signal(signum, _stop_while_starting) for signum in (signal.SIGTERM, signal.SIGINT)}
    own_pool = not Sandbox.has_shared()  # (run in-process, as tests do, an existing pool is not ours to stop)
    try:
        # Start the query workers first: they boot (a fresh interpreter each) while the server imports and loads.
        # Over a remote store, the remote evaluates: no workers.
        if not args.sparql_url:
            Sandbox.shared(args.workers or DEFAULT_WORKERS, warm=args.warm_workers, retire_after=args.retire_after,
                           memory=(args.worker_memory or DEFAULT_WORKER_MEMORY_MIB) * 2**20)
        return _serve(args)
    except _StopWhileStarting as stop:
        print(f"cnkg serve: stopped on {stop} while starting", file=sys.stderr, flush=True)
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if own_pool and Sandbox.has_shared():
            Sandbox.shared(0).close()


def serve_config(args) -> dict:
    """The server's settings (cnkg.server.SETTINGS) from ``cnkg serve``'s arguments; a flag not given leaves its
    setting at the default."""
    import os

    from .server import check_settings, update_token

    token = args.update_token if args.update_token is not None else os.environ.get("CNKG_UPDATE_TOKEN")
    check_settings(args.allow_update, token)
    token = update_token(token) if args.allow_update else None  # "secret\n" from a file or secret: "secret"
    config = {"QUERY_TIMEOUT": args.timeout, "RATE_LIMIT_PER_MINUTE": args.rate_limit,
              "RESULT_CACHE_SIZE": args.result_cache,
              "RESULT_CACHE_MIB": args.result_cache_mib, "ALLOW_UPDATE": args.allow_update,
              "UPDATE_TOKEN": token}
    optional = {"MAX_CONCURRENT_QUERIES": args.workers, "WARM_WORKERS": args.warm_workers,
                "WORKER_RETIRE_SECONDS": args.retire_after, "WORKER_MEMORY_MIB": args.worker_memory,
                "UPDATE_TIMEOUT": args.update_timeout, "UPDATE_MAX_OPERATIONS": args.update_max_operations,
                "UPDATE_MAX_TRIPLES": args.update_max_triples}
    config.update({key: value for key, value in optional.items() if value is not None})
    return config


def _serve(args) -> int:
    from .server import create_app
    from .server.loop_server import LoopServer

    config = serve_config(args)  # before loading: no token with --allow-update is exit code 1
    if args.update_url and not args.sparql_url:
        raise InvalidInput("--update-url needs --sparql-url: it names the remote store's update endpoint")
    if args.sparql_url and args.allow_update and not args.update_url:
        raise InvalidInput("--allow-update over a remote store needs --update-url, its SPARQL Update endpoint")
    if args.sparql_url:
        from .remote import RemoteStore

        graph = KnowledgeGraph(RemoteStore(args.sparql_url, args.update_url, timeout=max(args.timeout, 30.0)))
    else:
        graph = _graph(args)
    # the structured access log: one JSON line per request on standard error (set once the graph is loaded)
    access = logging.getLogger("cnkg.access")
    access.setLevel(logging.INFO)
    if not access.handlers:
        access.addHandler(logging.StreamHandler(sys.stderr))
    access.propagate = False  # one line per request: not again through the root logger's handlers
    app = create_app(config, graph=graph)
    mode = "SPARQL Update allowed with the bearer token" if args.allow_update else "read-only"
    logging.basicConfig()  # the HTTP server's own warnings on stderr
    # (a body past the app's own limit is answered 413 at once, the rest read and dropped: see server/loop_server.py)
    server = LoopServer(app, grace=args.grace_period, host=args.host, port=args.port, threads=8,
                        connection_limit=args.connection_limit, channel_timeout=args.idle_timeout,
                        header_timeout=args.header_timeout)
    over = f", over {args.sparql_url}" if args.sparql_url else ""
    sandbox = app.extensions["cnkg"].sandbox
    if sandbox is not None:  # fail here, not on every query, when the workers cannot be confined
        from .confinement import ConfinementError

        try:
            over += f"; query workers: {sandbox.confinement().describe()}"
        except ConfinementError as exc:
            raise CnkgError(f"the query workers cannot be confined, so queries could reach the network: {exc}") \
                from None
    print(f"cnkg SPARQL endpoint at http://{args.host}:{server.effective_port}/sparql (query timeout "
          f"{args.timeout:g} s, {mode}{over})", flush=True)
    server.run()  # until SIGTERM or SIGINT, then a graceful stop (--grace-period)
    return 0


def cmd_push(args) -> int:
    from . import remote

    client = remote.Client(remote.Credentials.from_env(), timeout=args.timeout, retries=max(0, args.retries))
    for url, what in ((args.gsp_url, "Graph Store URL"), (args.query_url, "query URL")):
        if url:  # before the build: a URL cnkg will not send to is known now
            (remote.check_url if args.dry_run else client.check)(url, what)
    graph = _graph(args)
    report = remote.push(graph.store, args.gsp_url, client=client, chunk=args.chunk or remote.DEFAULT_CHUNK,
                         query_url=args.query_url, dry_run=args.dry_run)
    if args.dry_run:
        print(f"would send {report.triples:,} triples in {len(report.graphs)} graphs to {args.gsp_url} "
              f"({sum(p.requests for p in report.graphs)} requests):")
        for item in report.graphs:
            print(f"  <{item.name}>  {item.triples:,} triples, {item.requests} request"
                  f"{'s' if item.requests != 1 else ''}")
        return 0
    print(f"pushed {report.triples:,} triples in {len(report.graphs)} graphs to {args.gsp_url} in "
          f"{report.seconds:.2f} s ({report.triples_per_second:,.0f} triples/s); every graph's remote count equals "
          "the local one")
    for stale in report.removed_graphs:
        print(f"  deleted <{stale}>: an earlier push sent it; this dataset no longer has it")
    print(f"serve it: cnkg serve --sparql-url QUERY_URL (its default graph, the union with set semantics, is "
          f"<{remote.UNION_GRAPH}>)")
    return 0


COMMANDS = {"build": cmd_build, "push": cmd_push, "validate": cmd_validate, "query": cmd_query, "queries": cmd_queries,
            "search": cmd_search,
            "import-landscape": cmd_import_landscape, "landscapes": cmd_landscapes,
            "lineage": cmd_lineage, "coverage": cmd_coverage, "export": cmd_export, "serve": cmd_serve}


def _flush_stdout() -> None:
    """A full disk shows only when buffered output is flushed: check before exit code 0, not silently at exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}; the output is incomplete") \
            from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
        _flush_stdout()
        return code
    except CnkgError as exc:
        print(f"cnkg {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an unexpected failure: say what, never a bare traceback for users
        print(f"cnkg {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
