"""Generated SPARQL against the app: whatever comes in, the answer is a clean status (never 500) within the
deadline. A fixed-seed run in CI; a longer run: ``CNKG_FUZZ_EXAMPLES=10000 python -m pytest tests/test_fuzz_sparql.py``."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

EXAMPLES = int(os.environ.get("CNKG_FUZZ_EXAMPLES", "150"))
TIMEOUT = 2.0
ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9"

TERMS = ["?s", "?p", "?o", "?x", "$y", "id:jaeger", "id:dapper", "cnkg:inspiredBy", "cnkg:hasAncestor", "rdfs:label",
         "<https://w3id.org/cnkg/id/zipkin>", "<urn:x>", '"Jaeger"', '"x"@en', '"1"^^xsd:integer', "42", "3.5",
         "true", "_:b", "[]", "a", "nope:x", "<http://127.0.0.1:9/remote>", '"\\u00e9"', "'''multi\nline'''"]
PATHS = ["cnkg:inspiredBy+", "^cnkg:inspiredBy", "!cnkg:inspiredBy", "!^cnkg:inspiredBy", "(cnkg:inspiredBy|cnkg:basedOn)*",
         "rdfs:label?", "cnkg:inspiredBy/rdfs:label"]
FUNCTIONS = ["STR", "LCASE", "STRLEN", "ISIRI", "BOUND", "ABS", "YEAR", "DATATYPE", "LANG", "MD5"]


@st.composite
def expressions(draw, depth=0):
    choice = draw(st.integers(0, 5 if depth < 3 else 1))
    if choice <= 1:
        return draw(st.sampled_from(TERMS[:5] + ["1", '"a"', "?s"]))
    if choice == 2:
        return f"{draw(st.sampled_from(FUNCTIONS))}({draw(expressions(depth + 1))})"
    if choice == 3:
        op = draw(st.sampled_from(["=", "!=", "<", ">", "&&", "||", "+", "*", "/"]))
        return f"({draw(expressions(depth + 1))} {op} {draw(expressions(depth + 1))})"
    if choice == 4:
        return f"SUBSTR({draw(expressions(depth + 1))}, {draw(st.integers(-2, 5))}, {draw(st.integers(0, 4))})"
    return f"EXISTS {{ {draw(patterns(depth + 1))} }}"


@st.composite
def patterns(draw, depth=0):
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 9 if depth < 2 else 2))
        if kind <= 2:
            predicate = draw(st.sampled_from(TERMS[:9] + PATHS))
            parts.append(f"{draw(st.sampled_from(TERMS))} {predicate} {draw(st.sampled_from(TERMS))} .")
        elif kind == 3:
            parts.append(f"FILTER ({draw(expressions(depth + 1))})")
        elif kind == 4:
            parts.append(f"OPTIONAL {{ {draw(patterns(depth + 1))} }}")
        elif kind == 5:
            parts.append(f"{{ {draw(patterns(depth + 1))} }} UNION {{ {draw(patterns(depth + 1))} }}")
        elif kind == 6:
            parts.append(f"MINUS {{ {draw(patterns(depth + 1))} }}")
        elif kind == 7:
            parts.append(f"GRAPH {draw(st.sampled_from(['?g', '<urn:g>', 'id:x']))} {{ {draw(patterns(depth + 1))} }}")
        elif kind == 8:
            parts.append(f"BIND ({draw(expressions(depth + 1))} AS ?b{draw(st.integers(0, 3))})")
        else:
            parts.append(f"VALUES ?v {{ {' '.join(draw(st.lists(st.sampled_from(TERMS[5:16]), max_size=3)))} }}")
    return " ".join(parts)


@st.composite
def queries(draw):
    form = draw(st.sampled_from(["SELECT", "SELECT DISTINCT", "SELECT (COUNT(*) AS ?n)", "ASK", "CONSTRUCT",
                                 "DESCRIBE"]))
    where = draw(patterns())
    modifiers = draw(st.sampled_from(["", "LIMIT 3", "ORDER BY ?s", "OFFSET 1 LIMIT 2", "GROUP BY ?s",
                                      "LIMIT 999999999999999999999", "ORDER BY DESC(STR(?o))"]))
    head = {"SELECT": "SELECT *", "SELECT DISTINCT": "SELECT DISTINCT ?s ?o", "ASK": "ASK",
            "CONSTRUCT": "CONSTRUCT { ?s ?p ?o }", "DESCRIBE": "DESCRIBE ?s"}.get(form, form)
    text = f"{head} WHERE {{ {where} }} {modifiers if form.startswith('SELECT') or form == 'CONSTRUCT' else ''}"
    if draw(st.booleans()):  # mangle it: the endpoint must answer bad SPARQL with 400, not 500
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "}", "{", "SERVICE <http://127.0.0.1:9/> {", "'", "\\", "\x00",
                                                   "FROM <urn:g>", "\ud800"[:0], "#"])) + text[cut:]
    return text


@pytest.fixture(scope="module")
def fuzz_client(graph):
    from cnkg.server import create_app

    return create_app({"QUERY_TIMEOUT": TIMEOUT, "RATE_LIMIT_PER_MINUTE": 0, "RESULT_CACHE_SIZE": 0},
                      graph=graph).test_client()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(queries())
def test_generated_queries_never_500_and_answer_within_the_deadline(fuzz_client, no_connections, query):
    response = fuzz_client.post("/sparql", data={"query": query}, headers={"Accept": ACCEPT})
    assert response.status_code in (200, 400, 406, 503), (response.status_code, query, response.data[:300])
    assert response.status_code < 500 or response.get_json()["error"]["reason"] == "timeout", query
    assert not no_connections, query  # SERVICE in any position never opened a connection
