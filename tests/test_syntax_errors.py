"""Syntax errors a person reads: "query" or "update" as sent, the line and column, and what was expected in SPARQL
terms, never the parser's character ranges; the same in the API and the CLI (the UI shows the API's message)."""
from __future__ import annotations

import re

import pytest

from cnkg.syntax_errors import readable
from paths import SHARED

SUITE = SHARED / "data" / "w3c-sparql11"
TOKEN = "syntax-errors-test-token"
RANGE = re.compile(r"\.\.=|\\u\{|\[_\]|'A'")   # Rust range syntax, escaped code points, "any character"


def test_oxigraph_ranges_become_words():
    raw = ('error at 6:1: expected one of "$", "(", ":", "<", "?", BNODE, BOUND, COUNT, ENCODE_FOR_URI, FLOOR, '
           "['A' ..= 'Z' | 'a' ..= 'z' | '\\u{00C0}'..='\\u{00D6}'], [_]")
    said = readable(raw)
    assert not RANGE.search(said)
    assert said.startswith("error at 6:1: expected ") and "a variable" in said and "an IRI" in said
    assert "a function call (BNODE, BOUND, COUNT, …)" in said


def test_the_parsers_own_sentence_comes_first():
    raw = 'expected one of "$", ABS, AVG, The SELECT contains a variable that is unbound, URI, [_]'
    assert readable(raw).startswith("the SELECT contains a variable that is unbound")


def test_nothing_but_ranges_says_so():
    assert readable("error at 3:1: expected [_]") == "error at 3:1: unexpected text here"
    assert readable("no list here") == "no list here"


def test_a_malformed_query_over_the_api_says_query_with_its_position(client):
    """Regression: the answer named an update, or listed Oxigraph's character ranges."""
    body = client.post("/sparql", data={"query": "SELECT ?x WHERE { ?x a }"}).get_json()
    message = body["error"]["message"]
    assert message.startswith("malformed SPARQL query at line 1, column 25: expected ")
    assert "[_]" not in message and "update" not in message
    body = client.post("/sparql", data={"query": 'SELECT * WHERE { ?s ?p "x }'}).get_json()
    assert not RANGE.search(body["error"]["message"]) and "query" in body["error"]["message"]


def test_a_malformed_query_in_the_cli_says_query_with_its_position(cli, tmp_path):
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT ?x WHERE { ?x a }")
    result = cli("query", bad)
    assert result.code == 1
    assert "malformed SPARQL query at line 1, column 25: expected " in result.err and "[_]" not in result.err


def _negative_cases():
    if not SUITE.is_dir():
        return []
    from w3c_manifest import read_manifest

    cases = []
    for manifest in ("manifest-sparql11-query.ttl", "manifest-sparql11-update.ttl"):
        for case in read_manifest(SUITE / manifest):
            path = case.query or case.action
            if "NegativeSyntax" in case.type or "NegativeUpdateSyntax" in case.type:
                cases.append(pytest.param(path, path.suffix == ".ru", id=path.name))
    return cases


@pytest.fixture(scope="module")
def update_client(graph):
    from conftest import TEST_CONFIG, _copy
    from cnkg.server import create_app

    return create_app({**TEST_CONFIG, "ALLOW_UPDATE": True, "UPDATE_TOKEN": TOKEN}, graph=_copy(graph)).test_client()


@pytest.mark.skipif(not SUITE.is_dir(), reason=f"the W3C SPARQL 1.1 suites are not at {SUITE}")
def test_w3c_negative_syntax_messages_name_the_operation_and_no_ranges(update_client, cli):
    """Every negative syntax test of the W3C suites, over the protocol: a 400 whose message says "query" for a
    query and "update" for an update, and never a character range; the queries through the CLI too."""
    cases = _negative_cases()
    assert len(cases) > 60
    wrong, syntax = [], 0
    for param in cases:
        path, is_update = param.values
        text = path.read_text(encoding="utf-8")
        response = update_client.post("/sparql", data={"update" if is_update else "query": text},
                                      headers={"Authorization": f"Bearer {TOKEN}"})
        error = response.get_json()["error"]
        message = error["message"]
        wanted, other = ("update", "query") if is_update else ("query", "update")
        if response.status_code != 400 or RANGE.search(message) or f"SPARQL {other}" in message:
            wrong.append((path.name, message))
        elif error["reason"] == "syntax":   # (a LOAD is refused before parsing: reason "refused", still a 400)
            syntax += 1
            if f"SPARQL {wanted}" not in message or " at line " not in message:
                wrong.append((path.name, message))
        if not is_update:
            result = cli("query", path)
            if result.code != 1 or RANGE.search(result.err):
                wrong.append((path.name, result.err))
    assert not wrong, wrong
    assert syntax > 50
