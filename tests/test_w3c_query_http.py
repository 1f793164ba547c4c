"""W3C SPARQL 1.1 query-evaluation tests sent through HTTP to the endpoint, results compared as the suites mean.

Every ``mf:QueryEvaluationTest`` of the suites listed in ``manifest-sparql11-query.ttl`` is run end to end:
the test's files are loaded into an app (one app per distinct data set), the query is POSTed as a form with
the test's dataset given by protocol parameters (``default-graph-uri`` naming the graph that holds the
``qt:data`` files, ``named-graph-uri`` for each ``qt:graphData``), and the SPARQL JSON results (or N-Triples
for CONSTRUCT) are parsed and compared with ``w3c_manifest.same_results``. This exercises the whole stack:
protocol, safety checks, the forked worker, serialisation and parsing back.

The federation suite's evaluation tests (``service/``) use SERVICE, which this endpoint refuses before
evaluation: they must get 400. See docs/conformance-protocol.md for the counts.
"""
from __future__ import annotations

import io
import re
from functools import cache

import pytest
from rdflib import Graph
from rdflib.query import Result

from w3c_http import DEFAULT_GRAPH, SUITE, SUITE_MISSING, app_for
from w3c_manifest import TestCase, load_expected, read_manifest, same_results

if not SUITE.is_dir():
    pytest.skip(SUITE_MISSING, allow_module_level=True)

# rdflib's own Dataset.query still calls the deprecated Dataset.default_context (in the worker): not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning")

ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9"

CASES = [c for c in read_manifest(SUITE / "manifest-sparql11-query.ttl") if c.type == "QueryEvaluationTest"]
FEDERATED = [c for c in read_manifest(SUITE / "service" / "manifest.ttl") if c.type == "QueryEvaluationTest"]

# Why each entry that fails through HTTP fails; strict, so a fix shows up as XPASS. Three kinds:
RDFLIB = "rdflib 7.6 (fails the same way when rdflib evaluates the test directly): "
ENDPOINT = "endpoint bug (passes when rdflib evaluates the test directly): "
BASE = ("base IRI, by design: the query names a graph or IRI relative to its own file, as the suite assumes; "
        "through the endpoint the base is the endpoint URL (Protocol §2.3), so ")

EXPECTED_FAILURES: dict[str, str] = {
    # aggregates
    "agg-err-01": RDFLIB + "AVG over a group holding a non-numeric value must be an error (unbound ?avg); rdflib "
                           "returns a number",
    "agg-empty-group-max-1": RDFLIB + "an explicit GROUP BY over no solutions must give no group; rdflib yields "
                                      "one empty solution",
    "agg-empty-group-count-1": RDFLIB + "an explicit GROUP BY over no solutions must give no group; rdflib yields "
                                        "one empty solution",
    "agg-group-fn": RDFLIB + "GROUP BY a function call gives 4 solutions instead of the expected 7",
    # casts
    "cast-bool": RDFLIB + "xsd:boolean() casts from numerics and strings do not follow XPath casting rules",
    "cast-int": RDFLIB + "xsd:integer() of booleans, decimals and lexical forms does not follow XPath casting rules",
    "cast-float": RDFLIB + "xsd:float() of booleans is an error in rdflib (XPath gives 1.0 / 0.0)",
    "cast-double": RDFLIB + "xsd:double() of booleans is an error in rdflib (XPath gives 1.0 / 0.0)",
    "cast-decimal": RDFLIB + "xsd:decimal() of booleans is an error in rdflib (XPath gives 1.0 / 0.0)",
    "cast-string": RDFLIB + "xsd:string() of numerics keeps non-canonical lexical forms",
    # functions
    "strdt01": RDFLIB + "STRDT() of an xsd:string-typed literal must be an error (unbound); rdflib binds it",
    "strdt03-rdf11": RDFLIB + "STRDT() type errors (non-simple arguments) are not raised",
    "strlang03-rdf11": RDFLIB + "STRLANG() type errors (non-simple arguments) are not raised",
    "concat-empty": RDFLIB + "CONCAT() without arguments leaves the variable unbound instead of \"\"",
    "bnode01": RDFLIB + "BNODE(str) must give the same blank node for the same string within one solution and "
                        "different ones across solutions; rdflib reuses one across solutions",
    "coalesce-empty": RDFLIB + "COALESCE() binds a Python str instead of leaving the variable unbound; the "
                               "result serializer then fails ('Unknown term type'), so the endpoint answers 500",
    "replace-case-insensitive": RDFLIB + "REPLACE() ignores the 'i' flag",
    # project expressions, paths, subqueries
    "projexp03": RDFLIB + "a projected expression variable reused in a later projection expression is unbound",
    "pp37": RDFLIB + "nested (:p*)* returns an extra (duplicate) solution",
    "values_and_path": RDFLIB + "a zero-length path matches a VALUES term that is not in the graph",
    "nps_inverse": RDFLIB + "negated property set with an inverse, !(^:p): 'Invalid path in NegatedPath' (500)",
    "nps_direct_and_inverse": RDFLIB + "negated property set with an inverse, !(:p|^:q): 'Invalid path in "
                                       "NegatedPath' (500)",
    "nps_a_inverse": RDFLIB + "negated property set with an inverse, !(^rdf:type): 'Invalid path in NegatedPath' "
                              "(500)",
    "subquery13": RDFLIB + "sq13 'subqueries don't inject bindings': 12 of the 16 expected solutions",
    # base IRI
    "constructwhere04": BASE + "FROM <data.ttl> names http://localhost/data.ttl, not a graph of the endpoint: "
                               "refused with 400 (it would be a remote fetch)",
    "exists03": BASE + "GRAPH <exists02.ttl> names a graph the endpoint does not hold: no solutions",
    "graph": BASE + "VALUES (?g ...) { (<data01.ttl> ...) } names a graph the endpoint does not hold",
    "pp34": BASE + "GRAPH <ng-01.ttl> names a graph the endpoint does not hold: no solutions",
    "pp35": BASE + "FILTER (?g = <ng-01.ttl>) compares with a graph name the endpoint does not hold",
}

# SERVICE queries that fail before our SERVICE check can refuse them (none since the parser's RecursionError
# on deeply nested SERVICE is answered 400 in server/safety.py).
FEDERATED_FAILURES: dict[str, str] = {}


@cache
def _client(files: tuple):
    return app_for(list(files)).test_client()


def client_for(case: TestCase):
    files = [(DEFAULT_GRAPH, p) for p in case.data] + list(case.graph_data)
    return _client(tuple(files))


def ask_endpoint(case: TestCase):
    form = {"query": case.query.read_text(encoding="utf-8"), "default-graph-uri": str(DEFAULT_GRAPH)}
    if case.graph_data:
        form["named-graph-uri"] = [str(name) for name, _ in case.graph_data]
    return client_for(case).post("/sparql", data=form, headers={"Accept": ACCEPT})


def _param(case: TestCase):
    reason = EXPECTED_FAILURES.get(case.name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=f"{case.manifest.parent.name}/{case.name}", marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_query_evaluation_over_http(case: TestCase) -> None:
    response = ask_endpoint(case)
    assert response.status_code == 200, f"{case.name}: {response.status_code} {response.data[:300]!r}"
    if response.mimetype == "application/n-triples":
        actual = Graph().parse(data=response.data, format="nt")
    else:
        assert response.mimetype == "application/sparql-results+json", response.mimetype
        actual = Result.parse(io.BytesIO(response.data), format="json")
    query = case.query.read_text(encoding="utf-8")
    ordered = re.search(r"\bORDER\s+BY\b", query, re.IGNORECASE) is not None
    ok, why = same_results(actual, load_expected(case.result), ordered=ordered)
    assert ok, f"{case.name} ({case.label}): {why}"


def _federated(case: TestCase):
    reason = FEDERATED_FAILURES.get(case.name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=f"service/{case.name}", marks=marks)


@pytest.mark.parametrize("case", [_federated(c) for c in FEDERATED])
def test_service_is_refused(case: TestCase) -> None:
    response = ask_endpoint(case)
    assert response.status_code == 400, response.data
    assert "SERVICE" in response.get_json()["error"]["message"]


def test_expected_failures_name_real_tests() -> None:
    assert set(EXPECTED_FAILURES) <= {c.name for c in CASES}
    assert set(FEDERATED_FAILURES) <= {c.name for c in FEDERATED}


def test_case_names_are_unique() -> None:
    """EXPECTED_FAILURES is keyed by name; two suites must not share one (else a reason would cover both)."""
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
