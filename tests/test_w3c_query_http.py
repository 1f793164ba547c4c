"""W3C SPARQL 1.1 query-evaluation tests sent through HTTP to the endpoint, results compared as the suites mean.

Every ``mf:QueryEvaluationTest`` of the suites listed in ``manifest-sparql11-query.ttl`` is run end to end:
the test's files are loaded into an app (one app per distinct data set), the query is POSTed as a form with
the test's dataset given by protocol parameters (``default-graph-uri`` naming the graph that holds the
``qt:data`` files, ``named-graph-uri`` for each ``qt:graphData``; none when the query names its own with
``FROM``), and the SPARQL JSON results (or N-Triples for CONSTRUCT) are parsed and compared with
``w3c_manifest.same_results``. This exercises the whole stack:
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

from cnkg.sparql_text import dataset_clauses
from w3c_http import DEFAULT_GRAPH, SUITE, SUITE_MISSING, app_for
from w3c_manifest import TestCase, load_expected, read_manifest, same_results

if not SUITE.is_dir():
    pytest.skip(SUITE_MISSING, allow_module_level=True)

# rdflib's own Dataset.query still calls the deprecated Dataset.default_context (in the worker): not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning")

ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9"

CASES = [c for c in read_manifest(SUITE / "manifest-sparql11-query.ttl") if c.type == "QueryEvaluationTest"]
FEDERATED = [c for c in read_manifest(SUITE / "service" / "manifest.ttl") if c.type == "QueryEvaluationTest"]

# Cases cnkg refuses (400) rather than answer as Oxigraph 0.5.13 would, wrongly: case -> what the message names.
# (Apache Jena ARQ 4.5 fails bnode01 too, making a fresh blank node per call.)
REFUSED: dict[str, str] = {
    "bnode01": "BNODE with an argument",  # Oxigraph: the same blank node for the same string across solutions
}
# Cases expected to fail, with the reason; strict, so a fix shows up as XPASS.
EXPECTED_FAILURES: dict[str, str] = {}

# SERVICE queries that fail before our SERVICE check can refuse them (none since the parser's RecursionError
# on deeply nested SERVICE is answered 400 in server/safety.py).
FEDERATED_FAILURES: dict[str, str] = {}


@cache
def _client(files: tuple):
    return app_for(list(files), empty_graphs=[DEFAULT_GRAPH]).test_client()  # the default graph, even when empty


def client_for(case: TestCase):
    files = [(DEFAULT_GRAPH, p) for p in case.data] + list(case.graph_data)
    return _client(tuple(files))


def ask_endpoint(case: TestCase):
    """POST the query with the suite's dataset. The suite takes a query's base IRI to be its file's location; over
    HTTP the base would be the endpoint URL (Protocol §2.3), so a query without a BASE of its own is sent with
    ``BASE <its file>``: the same query as the suite means it. A query with ``FROM`` / ``FROM NAMED`` is sent
    without dataset parameters, which would replace its own dataset (Protocol §2.1.4)."""
    text = case.query.read_text(encoding="utf-8")
    if not re.match(r"\s*BASE\b", text, re.IGNORECASE):
        text = f"BASE <{case.query.as_uri()}>\n{text}"
    form = {"query": text}
    clauses = dataset_clauses(text)
    if not (clauses.default or clauses.named):  # a query's FROM is its dataset: parameters would override it
        form["default-graph-uri"] = str(DEFAULT_GRAPH)
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
    if case.name in REFUSED:
        assert response.status_code == 400, f"{case.name}: {response.status_code} {response.data[:300]!r}"
        assert REFUSED[case.name] in response.get_json()["error"]["message"]
        return
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
    assert set(EXPECTED_FAILURES) | set(REFUSED) <= {c.name for c in CASES}
    assert set(FEDERATED_FAILURES) <= {c.name for c in FEDERATED}


def test_case_names_are_unique() -> None:
    """EXPECTED_FAILURES is keyed by name; two suites must not share one (else a reason would cover both)."""
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
