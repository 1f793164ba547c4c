"""Read W3C test manifests and compare SPARQL results the way the W3C suites mean them.

The SPARQL (and RDF) test suites describe each test in a Turtle manifest (``mf:entries`` lists,
``mf:action``, ``mf:result``) and give expected answers as SPARQL result documents
(``.srx``, ``.srj``, ``.tsv``, ``.csv``), as result sets in the DAWG ``rs:`` vocabulary, or as RDF
graphs for CONSTRUCT/DESCRIBE. Comparing those with rdflib's answers needs care that plain ``==``
lacks: solutions are a bag (order only matters when the test says so), blank node labels are
arbitrary (only a consistent renaming matters), and ``"a"`` equals ``"a"^^xsd:string`` in RDF 1.1.

Public API:

* ``read_manifest(path) -> list[TestCase]``: the entries, following ``mf:include``.
* ``load_expected(path) -> Results``: an expected result file, whatever its format.
* ``to_results(x) -> Results``: an rdflib ``Result``/``Graph``/``bool`` in the same form.
* ``same_results(actual, expected) -> (bool, reason)``.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef, Variable
from rdflib.collection import Collection
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.query import Result
from rdflib.term import Node

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
DAWGT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")
RS = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/result-set#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
ENT = Namespace("http://www.w3.org/ns/entailment/")

# Both spellings occur in the wild (the SPARQL 1.1 entailment manifest uses sd:entailmentRegime and
# sd:EntailmentProfile); accept all so a manifest's typo does not silently drop a regime.
_REGIME_PREDICATES = (SD.entailmentRegime, SD.EntailmentRegime, ENT.entailmentRegime)
_PROFILE_PREDICATES = (SD.EntailmentProfile, SD.entailmentProfile, ENT.entailmentProfile)

_NUMERIC = {XSD[t] for t in (
    "integer decimal float double nonPositiveInteger negativeInteger long int short byte "
    "nonNegativeInteger unsignedLong unsignedInt unsignedShort unsignedByte positiveInteger").split()}


@dataclass(frozen=True)
class TestCase:
    """One manifest entry. Paths are local files; ``iri`` values are kept where names matter.

    ``name`` is the entry IRI's fragment (``rdfs01``): unique within a manifest, unlike ``mf:name``,
    which is a description and repeats (two entailment tests are both "RDF inference test").
    ``regimes``/``profiles``/``requires`` hold IRI local names (``RDFS``, ``OWL-RDF-Based``, ``RL``).
    ``graph_data`` maps each named graph's IRI (the file IRI unless the manifest gives an
    ``rdfs:label``) to its file. ``graph``/``node`` give access to anything not modelled here,
    e.g. protocol tests' ``ht:requests``.
    """

    __test__ = False  # a data class named Test*, not a pytest test class

    iri: URIRef
    name: str
    label: str
    type: str
    manifest: Path
    query: Path | None = None
    data: tuple[Path, ...] = ()
    graph_data: tuple[tuple[URIRef, Path], ...] = ()
    result: Path | None = None
    action: Path | None = None
    update: Path | None = None
    result_data: tuple[Path, ...] = ()
    result_graph_data: tuple[tuple[URIRef, Path], ...] = ()
    regimes: frozenset[str] = frozenset()
    profiles: frozenset[str] = frozenset()
    requires: frozenset[str] = frozenset()
    approval: str | None = None
    graph: Graph | None = field(default=None, repr=False, compare=False)
    node: Node | None = field(default=None, repr=False, compare=False)

    @property
    def base(self) -> str:
        """The IRI to resolve the query against: its own file IRI, as the suites assume."""
        return self.query.as_uri() if self.query else self.manifest.as_uri()


def _path(node: Node | None) -> Path | None:
    """A ``file:`` IRI (what rdflib makes of the manifest's relative IRIs) as a local path."""
    if not isinstance(node, URIRef):
        return None
    url = urlparse(str(node))
    return Path(url2pathname(unquote(url.path))) if url.scheme == "file" else None


def _local(node: Node) -> str:
    text = str(node)
    return text.rsplit("#", 1)[-1] if "#" in text else text.rstrip("/").rsplit("/", 1)[-1]


def _values(graph: Graph, subjects: Iterable[Node], predicates: Iterable[URIRef]) -> list[Node]:
    """All objects of the predicates on any of the subjects, with RDF lists flattened."""
    out: list[Node] = []
    for s, p in itertools.product(subjects, predicates):
        for o in graph.objects(s, p):
            if (o, RDF.first, None) in graph or o == RDF.nil:
                out.extend(Collection(graph, o))
            else:
                out.append(o)
    return out


def _graph_data(graph: Graph, node: Node | None, predicate: URIRef) -> tuple[tuple[URIRef, Path], ...]:
    """``qt:graphData <f>`` names the graph by the file IRI; ``[ qt:graph <f>; rdfs:label "g" ]`` by the label."""
    pairs = []
    for o in graph.objects(node, predicate) if node is not None else ():
        if isinstance(o, BNode):
            file = graph.value(o, QT.graph) or graph.value(o, UT.graph)
            label = graph.value(o, RDFS.label)
            pairs.append((URIRef(str(label)) if label is not None else file, _path(file)))
        else:
            pairs.append((o, _path(o)))
    return tuple(sorted(pairs))


def read_manifest(path: str | Path, follow_includes: bool = True) -> list[TestCase]:
    """The entries of a manifest, in ``mf:entries`` order, then those of its ``mf:include``s."""
    path = Path(path).resolve()
    graph = Graph().parse(path, format="turtle", publicID=path.as_uri())
    cases: list[TestCase] = []
    # Not every manifest types itself mf:Manifest; the node carrying the lists is what counts.
    manifests = set(graph.subjects(MF.entries)) | set(graph.subjects(MF.include))
    for manifest in sorted(manifests, key=str):
        for entry in _values(graph, [manifest], [MF.entries]):
            cases.append(_case(graph, entry, path))
        if follow_includes:
            for inc in _values(graph, [manifest], [MF.include]):
                cases.extend(read_manifest(_path(inc), follow_includes))
    return cases


def _case(graph: Graph, entry: Node, manifest: Path) -> TestCase:
    """An entry; ``mf:action`` is a file (syntax tests) or a node with query/update and data."""
    action = graph.value(entry, MF.action)
    result = graph.value(entry, MF.result)
    act = action if isinstance(action, BNode) else None
    res = result if isinstance(result, BNode) else None
    annotated = [entry] + ([act] if act is not None else [])  # regimes sit on either
    return TestCase(
        iri=entry,
        name=_local(entry),
        label=str(graph.value(entry, MF.name) or _local(entry)),
        type=_local(graph.value(entry, RDF.type) or MF.Test),
        manifest=manifest,
        query=_path(graph.value(act, QT.query)) if act is not None else None,
        data=tuple(sorted(_path(o) for o in _values(graph, [act], [QT.data, UT.data]))) if act is not None else (),
        graph_data=_graph_data(graph, act, QT.graphData) + _graph_data(graph, act, UT.graphData),
        result=_path(result),
        action=_path(action),
        update=_path(graph.value(act, UT.request)) if act is not None else None,
        result_data=tuple(_path(o) for o in graph.objects(res, UT.data)) if res is not None else (),
        result_graph_data=_graph_data(graph, res, UT.graphData),
        regimes=frozenset(_local(o) for o in _values(graph, annotated, _REGIME_PREDICATES)),
        profiles=frozenset(_local(o) for o in _values(graph, annotated, _PROFILE_PREDICATES)),
        requires=frozenset(_local(o) for o in _values(graph, annotated, [MF.requires])),
        approval=_local(a) if (a := graph.value(entry, DAWGT.approval)) is not None else None,
        graph=graph,
        node=entry,
    )


# --------------------------------------------------------------------------- results


@dataclass
class Results:
    """A result in one shape for every format: a solution list, a boolean or a graph.

    ``lexical`` is set for CSV, which drops term kinds and datatypes: such results can only be
    compared by the terms' string forms.
    """

    kind: str  # "bindings" | "boolean" | "graph"
    vars: tuple[Variable, ...] = ()
    rows: list[dict[Variable, Node]] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None
    lexical: bool = False


_RESULT_FORMATS = {".srx": "xml", ".srj": "json", ".tsv": "tsv", ".csv": "csv"}
_RDF_FORMATS = {".ttl": "turtle", ".nt": "nt", ".rdf": "xml", ".n3": "n3", ".nq": "nquads", ".trig": "trig"}


def load_expected(path: str | Path) -> Results:
    """An expected-result file as ``Results``; an RDF file is a ``rs:ResultSet`` or else a graph."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _RESULT_FORMATS:
        with path.open("rb") as f:
            out = to_results(Result.parse(f, format=_RESULT_FORMATS[suffix]))
        out.lexical = suffix == ".csv"
        return out
    if suffix in _RDF_FORMATS:
        graph = Graph().parse(path, format=_RDF_FORMATS[suffix], publicID=path.as_uri())
        rs = graph.value(None, RDF.type, RS.ResultSet)
        return _rs_results(graph, rs) if rs is not None else Results("graph", graph=graph)
    raise ValueError(f"unknown result format: {path.name}")


def _rs_results(graph: Graph, rs: Node) -> Results:
    """A result set written in the DAWG ``rs:`` vocabulary, ordered by ``rs:index`` when given."""
    boolean = graph.value(rs, RS.boolean)
    if boolean is not None:
        return Results("boolean", boolean=bool(boolean.toPython()))
    variables = tuple(Variable(str(v)) for v in graph.objects(rs, RS.resultVariable))
    solutions = []
    for s in graph.objects(rs, RS.solution):
        row = {Variable(str(graph.value(b, RS.variable))): value
               for b in graph.objects(s, RS.binding) if (value := graph.value(b, RS.value)) is not None}
        index = graph.value(s, RS.index)
        solutions.append((int(index) if index is not None else 0, row))
    solutions.sort(key=lambda pair: pair[0])
    return Results("bindings", vars=variables, rows=[row for _, row in solutions])


def to_results(value: Result | Graph | bool | Results) -> Results:
    """rdflib's query answer (or a bare graph or boolean) as ``Results``."""
    if isinstance(value, Results):
        return value
    if isinstance(value, bool):
        return Results("boolean", boolean=value)
    if isinstance(value, Graph):
        return Results("graph", graph=value)
    if value.type == "ASK":
        return Results("boolean", boolean=bool(value.askAnswer))
    if value.type in ("CONSTRUCT", "DESCRIBE"):
        return Results("graph", graph=value.graph)
    variables = tuple(value.vars or ())
    rows = [{v: t for v, t in b.items() if t is not None} for b in value.bindings]
    return Results("bindings", vars=variables, rows=rows)


def _canon(term: Node, numeric_by_value: bool, lexical: bool) -> object:
    """A hashable key under which equal terms coincide; blank nodes are returned unchanged.

    ``"a"`` and ``"a"^^xsd:string`` are one term (RDF 1.1) and language tags are case-insensitive.
    With ``numeric_by_value`` numeric literals of the same datatype compare by value, so
    ``"01"^^xsd:integer`` matches ``"1"^^xsd:integer`` (not ``"1.0"^^xsd:decimal``).
    """
    if isinstance(term, BNode):
        return term
    if lexical:
        return ("lex", str(term))
    if isinstance(term, Literal):
        if term.language:
            return ("lang", str(term), term.language.lower())
        datatype = term.datatype or XSD.string
        if numeric_by_value and datatype in _NUMERIC and not term.ill_typed and term.value is not None:
            return ("num", datatype, term.value)
        return ("lit", str(term), datatype)
    return term


def _shape(row: dict) -> tuple:
    """A row's key with every blank node replaced by one marker: rows that can match share it."""
    pairs = ((str(v), "_:" if isinstance(t, BNode) else t) for v, t in row.items())
    return tuple(sorted(pairs, key=lambda pair: pair[0]))


def _fmt(row: dict) -> str:
    return "{" + ", ".join(f"?{v}={t!r}" for v, t in sorted(row.items())) + "}"


def _unify(a: dict, e: dict, fwd: dict, back: dict) -> list[tuple[BNode, BNode]] | None:
    """Blank-node pairs to add so that row ``a`` maps onto row ``e`` under a bijection, or None."""
    added: list[tuple[BNode, BNode]] = []
    f, b = dict(fwd), dict(back)
    for v, ta in a.items():
        te = e[v]
        if isinstance(ta, BNode):
            if f.get(ta, te) != te or b.get(te, ta) != ta:
                return None
            if ta not in f:
                f[ta], b[te] = te, ta
                added.append((ta, te))
    return added


def _match_bag(actual: list[dict], expected: list[dict]) -> bool:
    """Is there a one-to-one row pairing with one consistent blank-node bijection? (backtracking)

    The caller already matched rows without blank nodes as a multiset, so the search only sees
    rows with blank nodes, and only tries rows of the same shape: small for any real test.
    """
    by_shape: dict[tuple, list[int]] = {}
    for i, row in enumerate(actual):
        by_shape.setdefault(_shape(row), []).append(i)
    order = sorted(range(len(expected)), key=lambda j: len(by_shape.get(_shape(expected[j]), ())))
    used: set[int] = set()
    fwd: dict[BNode, BNode] = {}
    back: dict[BNode, BNode] = {}

    def search(k: int) -> bool:
        if k == len(order):
            return True
        e = expected[order[k]]
        for i in by_shape.get(_shape(e), ()):
            if i in used:
                continue
            added = _unify(actual[i], e, fwd, back)
            if added is None:
                continue
            used.add(i)
            for ta, te in added:
                fwd[ta], back[te] = te, ta
            if search(k + 1):
                return True
            used.discard(i)
            for ta, te in added:
                del fwd[ta], back[te]
        return False

    return search(0)


def same_results(actual: Result | Graph | bool | Results, expected: Results | Result | Graph | bool, *,
                 ordered: bool = False, numeric_by_value: bool = True) -> tuple[bool, str]:
    """Compare two answers as the W3C suites intend; return ``(equal, reason when not)``.

    Solutions are a bag unless ``ordered`` (for ORDER BY tests); blank nodes match under one
    consistent renaming across the whole answer; graphs are compared up to isomorphism.
    """
    a, e = to_results(actual), to_results(expected)
    if a.kind != e.kind:
        return False, f"expected a {e.kind} result, got a {a.kind} result"
    if e.kind == "boolean":
        return (True, "") if a.boolean == e.boolean else (False, f"expected {e.boolean}, got {a.boolean}")
    if e.kind == "graph":
        if isomorphic(a.graph, e.graph):
            return True, ""
        _, only_a, only_e = graph_diff(to_isomorphic(a.graph), to_isomorphic(e.graph))
        return False, (f"graphs differ: {len(only_e)} expected triples missing "
                       f"{sorted(only_e)[:5]}, {len(only_a)} unexpected {sorted(only_a)[:5]}")
    if e.vars and a.vars and set(map(str, a.vars)) != set(map(str, e.vars)):
        return False, f"variables differ: expected {sorted(map(str, e.vars))}, got {sorted(map(str, a.vars))}"
    lexical = a.lexical or e.lexical
    ca = [{str(v): _canon(t, numeric_by_value, lexical) for v, t in r.items()} for r in a.rows]
    ce = [{str(v): _canon(t, numeric_by_value, lexical) for v, t in r.items()} for r in e.rows]
    if len(ca) != len(ce):
        return False, _diff(a.rows, e.rows, ca, ce, f"expected {len(ce)} solutions, got {len(ca)}")
    if ordered:
        fwd: dict = {}
        back: dict = {}
        for n, (ra, re_) in enumerate(zip(ca, ce)):
            added = _unify(ra, re_, fwd, back) if _shape(ra) == _shape(re_) else None
            if added is None:
                return False, f"solution {n} differs: expected {_fmt(e.rows[n])}, got {_fmt(a.rows[n])}"
            for ta, te in added:
                fwd[ta], back[te] = te, ta
        return True, ""
    # Equal shape multisets settle every row without blank nodes; only the others need a search.
    if Counter(map(_shape, ca)) != Counter(map(_shape, ce)):
        return False, _diff(a.rows, e.rows, ca, ce, "solutions differ")
    if not _match_bag(_with_bnodes(ca), _with_bnodes(ce)):
        return False, "solutions differ only in blank nodes, which no consistent renaming maps onto each other"
    return True, ""


def _with_bnodes(rows: list[dict]) -> list[dict]:
    return [r for r in rows if any(isinstance(t, BNode) for t in r.values())]


def _diff(raw_a: list[dict], raw_e: list[dict], ca: list[dict], ce: list[dict], head: str) -> str:
    """A readable summary: which expected solutions are missing and which are extra (by shape)."""
    sa, se = Counter(map(_shape, ca)), Counter(map(_shape, ce))
    missing = [_fmt(r) for r, c in zip(raw_e, ce) if se[_shape(c)] > sa[_shape(c)]]
    extra = [_fmt(r) for r, c in zip(raw_a, ca) if sa[_shape(c)] > se[_shape(c)]]
    return f"{head}; missing {len(missing)}: {missing[:5]}; unexpected {len(extra)}: {extra[:5]}"


def iter_graph_files(case: TestCase) -> Iterator[tuple[URIRef | None, Path]]:
    """(graph name, file) for the default graph (name None) and each named graph of a test."""
    for p in case.data:
        yield None, p
    yield from case.graph_data
