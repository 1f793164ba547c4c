"""Updates with bounds (issue 22): a request's cost, time and size are bounded, and the liveness probe never waits
for an update. Each test failed before the fix; none measures wall-clock time (bench/ does): the bounds are the
settings, and a request within them must succeed, past them must be refused with nothing changed."""
from __future__ import annotations

import threading

import pytest

from cnkg.server import create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
# counts a cross product of the whole graph with itself, four times: one row, long after any deadline set here
SLOW_WHERE = ("INSERT { <urn:x-test:a> <urn:x-test:b> ?n } WHERE { SELECT (COUNT(*) AS ?n) "
              "WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } }")


def make_client(graph, **config):
    settings = {"RATE_LIMIT_PER_MINUTE": 0, "QUERY_TIMEOUT": 30.0, "ALLOW_UPDATE": True, "UPDATE_TOKEN": TOKEN,
                "MAX_BODY_BYTES": 8 * 2**20, **config}
    return create_app(settings, graph=graph).test_client()


def post_update(client, text):
    return client.post("/sparql", data=text, content_type="application/sparql-update", headers=AUTH)


def quads(client) -> int:
    response = client.get("/sparql", query_string={"query": COUNT}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.data
    return int(response.get_json()["results"]["bindings"][0]["n"]["value"])


def refused(response, status: int, reason: str, *fragments: str) -> None:
    assert response.status_code == status, response.data
    error = response.get_json()["error"]
    assert error["reason"] == reason, error
    for fragment in fragments:
        assert fragment in error["message"], error["message"]


# ---------------------------------------------------------------------------------------------- operations

def test_16000_operations_answer_within_the_deadline_and_one_more_than_the_limit_is_413(private_graph):
    """16,000 small INSERT DATA operations took 110 s (superlinear); now within a deadline setting, and a request
    with more operations than UPDATE_MAX_OPERATIONS is refused whole."""
    text = " ;\n".join(f"INSERT DATA {{ <urn:x-test:op{i}> <urn:x-test:n> {i} }}" for i in range(16_000))
    client = make_client(private_graph, UPDATE_TIMEOUT=120.0, UPDATE_MAX_OPERATIONS=16_000)
    response = post_update(client, text)
    assert response.status_code == 200, response.data
    assert response.get_json()["operations"] == 16_000 and response.get_json()["triples_added"] == 16_000

    client = make_client(private_graph, UPDATE_MAX_OPERATIONS=15_999)
    before = quads(client)
    refused(post_update(client, text + " ; INSERT DATA { <urn:x-test:one> <urn:x-test:more> 1 }"), 413, "too_large",
            "16,001 operations", "UPDATE_MAX_OPERATIONS", "nothing was changed")
    assert quads(client) == before


# ---------------------------------------------------------------------------------------------- triples

def test_12000_deleted_triples_answer_within_the_deadline_and_past_the_triple_limit_is_413(private_graph):
    """Deleting 12,000 triples took 27 s (a scan of the whole change per deleted triple); now within a deadline
    setting, and a change larger than UPDATE_MAX_TRIPLES (DROP of a big graph included) is refused whole."""
    triples = " .\n".join(f"<urn:x-test:d{i}> <urn:x-test:n> {i}" for i in range(12_000))
    client = make_client(private_graph, UPDATE_TIMEOUT=120.0, UPDATE_MAX_TRIPLES=12_000)
    assert post_update(client, f"INSERT DATA {{ {triples} }}").status_code == 200
    before = quads(client)
    response = post_update(client, f"DELETE DATA {{ {triples} }}")
    assert response.status_code == 200, response.data
    assert response.get_json()["triples_removed"] == 12_000 and quads(client) == before - 12_000

    client = make_client(private_graph, UPDATE_MAX_TRIPLES=11_999)
    assert post_update(client, f"INSERT DATA {{ GRAPH <urn:x-test:big> {{ {triples} }} }}").status_code == 413
    client = make_client(private_graph, UPDATE_MAX_TRIPLES=12_000)
    assert post_update(client, f"INSERT DATA {{ GRAPH <urn:x-test:big> {{ {triples} }} }}").status_code == 200
    client = make_client(private_graph, UPDATE_MAX_TRIPLES=11_999)
    before = quads(client)
    refused(post_update(client, "DROP GRAPH <urn:x-test:big>"), 413, "too_large", "UPDATE_MAX_TRIPLES",
            "nothing was changed")
    assert quads(client) == before


def test_a_template_expanding_past_the_triple_limit_is_413_and_nothing_changes(private_graph):
    """A 225-byte template expanded to 325,000 triples: the expansion (solutions x template triples) is counted
    before any of it is built."""
    client = make_client(private_graph, UPDATE_MAX_TRIPLES=5_000)
    nodes = " .\n".join(f"<urn:x-test:node{i}> a <urn:x-test:Node>" for i in range(100))
    assert post_update(client, f"INSERT DATA {{ {nodes} }}").status_code == 200
    before = quads(client)
    response = post_update(client, "INSERT { ?a <urn:x-test:knows> ?b } WHERE { ?a a <urn:x-test:Node> . "
                                   "?b a <urn:x-test:Node> }")  # 100 x 100 = 10,000 triples
    refused(response, 413, "too_large", "10,000", "UPDATE_MAX_TRIPLES", "nothing was changed")
    assert quads(client) == before


# ---------------------------------------------------------------------------------------------- deadline

def test_an_update_past_its_deadline_is_503_timeout_and_nothing_is_applied(private_graph):
    """The deadline covers the whole request, not each WHERE clause: the operations before the slow clause are
    not applied either."""
    client = make_client(private_graph, UPDATE_TIMEOUT=1.0, QUERY_TIMEOUT=30.0)
    before = quads(client)
    response = post_update(client, "INSERT DATA { <urn:x-test:first> <urn:x-test:is> 1 } ; " + SLOW_WHERE)
    refused(response, 503, "timeout", "UPDATE_TIMEOUT", "nothing was changed")
    assert quads(client) == before
    ask = client.get("/sparql", query_string={"query": "ASK { <urn:x-test:first> ?p ?o }"},
                     headers={"Accept": "application/sparql-results+json"})
    assert ask.get_json()["boolean"] is False


# ---------------------------------------------------------------------------------------------- liveness

def test_healthz_answers_while_an_update_holds_the_write_lock(private_graph):
    """The liveness probe waited behind the write lock: a long update made Kubernetes restart the pod (and lose
    every update). Here the lock is held as an update applying its change holds it."""
    client = make_client(private_graph)
    state = client.application.extensions["cnkg"]
    answers = []
    with state.lock.write():
        probe = threading.Thread(target=lambda: answers.append(client.get("/healthz")), daemon=True)
        probe.start()
        probe.join(timeout=60)  # a hang guard, not a measurement: it answers at once or waits for the lock
        answered = bool(answers)
    probe.join()
    assert answered, "/healthz waited for the write lock"
    assert answers[0].status_code == 200 and answers[0].get_json()["status"] == "ok"


@pytest.mark.parametrize("setting", ["UPDATE_TIMEOUT", "UPDATE_MAX_OPERATIONS", "UPDATE_MAX_TRIPLES"])
def test_the_bounds_are_documented_settings(setting):
    from pathlib import Path

    from cnkg.server import SETTINGS

    assert setting in SETTINGS
    readme = Path(__file__).resolve().parent.parent / "README.md"
    assert setting in readme.read_text(encoding="utf-8")


def test_cnkg_serve_passes_the_update_bounds_to_the_app(private_graph):
    """--update-timeout, --update-max-operations and --update-max-triples reach the app's settings and bound its
    updates; not given, the settings keep their defaults."""
    from cnkg.cli import _parser, serve_config
    from cnkg.server import SETTINGS

    args = _parser().parse_args(["serve", "--allow-update", "--update-token", TOKEN, "--update-timeout", "7.5",
                                 "--update-max-operations", "2", "--update-max-triples", "3"])
    app = create_app({**serve_config(args), "RATE_LIMIT_PER_MINUTE": 0}, graph=private_graph)
    assert (app.config["UPDATE_TIMEOUT"], app.config["UPDATE_MAX_OPERATIONS"],
            app.config["UPDATE_MAX_TRIPLES"]) == (7.5, 2, 3)
    client = app.test_client()
    before = quads(client)
    three = " ; ".join(f"INSERT DATA {{ <urn:x-test:b{i}> <urn:x-test:n> {i} }}" for i in range(3))
    refused(post_update(client, three), 413, "too_large", "3 operations", "UPDATE_MAX_OPERATIONS")
    four = "INSERT DATA { " + " ".join(f"<urn:x-test:t{i}> <urn:x-test:n> {i} ." for i in range(4)) + " }"
    refused(post_update(client, four), 413, "too_large", "UPDATE_MAX_TRIPLES")
    assert quads(client) == before

    defaults = serve_config(_parser().parse_args(["serve"]))
    assert not {"UPDATE_TIMEOUT", "UPDATE_MAX_OPERATIONS", "UPDATE_MAX_TRIPLES"} & set(defaults)
    help_text = _parser()._subparsers._group_actions[0].choices["serve"].format_help()
    for flag, setting in [("--update-timeout", "UPDATE_TIMEOUT"), ("--update-max-operations", "UPDATE_MAX_OPERATIONS"),
                          ("--update-max-triples", "UPDATE_MAX_TRIPLES")]:
        assert flag in help_text and f"{SETTINGS[setting][0]:,g}" in " ".join(help_text.split())
    for bad in (["--update-max-operations", "0"], ["--update-max-triples", "-1"], ["--update-timeout", "0"]):
        with pytest.raises(SystemExit):
            _parser().parse_args(["serve", *bad])


def test_cnkg_serve_help_says_updates_do_not_survive_a_restart():
    """No journal is kept: whoever turns updates on is told, where they turn them on, that a restart loses them."""
    from cnkg.cli import _parser

    help_text = " ".join(_parser()._subparsers._group_actions[0].choices["serve"].format_help().split())
    start = help_text.index("--allow-update accept")  # its help, not the usage line
    allow = help_text[start:help_text.index("--update-token", start)]
    assert "lost when the server stops or restarts" in allow and "not recomputed" not in allow
