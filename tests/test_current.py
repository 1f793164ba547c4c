"""The current view under change (cnkg.current): after any update, the default graph holds what a fresh build of
the updated quads would hold — the latest dated source's value of each time-varying property, and nothing the
reasoner derived only from a superseded one. A differential suite: update, then rebuild from scratch and compare."""
from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import RDFS, Literal

from cnkg import current
from cnkg.api import KnowledgeGraph
from cnkg.namespaces import CNKG, ID, INFERRED_GRAPH, STAGE, landscape_graph
from cnkg.quadset import QuadSet
from cnkg.reason import reason_quads
from cnkg.server import create_app
from cnkg.store import TripleStore

TOKEN = "s3cret-token"
NOW = landscape_graph("now")                      # the 2026-08-07 snapshot: Jaeger graduated
OLD = landscape_graph("landscape-2018-10-26")     # the 2018 snapshot: Jaeger incubating, as the article says
ARTICLE = "https://w3id.org/cnkg/graph/guide-2018/logging-and-tracing"    # the article's section, 2018-10-26
LATER = landscape_graph("later")                  # no such snapshot until an update dates it
META = "<https://w3id.org/cnkg/graph/meta>"
ONTOLOGY = "<https://w3id.org/cnkg/graph/ontology>"
DATED_LATER = (f"GRAPH {META} {{ <{LATER}> dct:source <https://w3id.org/cnkg/source/landscape/later> . "
               "<https://w3id.org/cnkg/source/landscape/later> a cnkg:LandscapeSnapshot ; "
               "dct:date '2027-01-01'^^xsd:date }")

# Updates a user may send, each touching what is current in another way (and some touching nothing of it).
UPDATES = {
    "older source states another stage": f"INSERT DATA {{ GRAPH <{OLD}> {{ id:jaeger cnkg:hasStage stage:sandbox }} }}",
    "the current statement is deleted": f"DELETE DATA {{ GRAPH <{NOW}> {{ id:jaeger cnkg:hasStage stage:graduated }} }}",
    "same source, second stage": f"INSERT DATA {{ GRAPH <{NOW}> {{ id:jaeger cnkg:hasStage stage:archived }} }}",
    "newer dated snapshot": f"INSERT DATA {{ {DATED_LATER} GRAPH <{LATER}> {{ id:jaeger cnkg:hasStage "
                            "stage:archived } }",
    "undated graph states another stage": "INSERT DATA { id:jaeger cnkg:hasStage stage:archived }",
    "older source places it elsewhere": f"INSERT DATA {{ GRAPH <{OLD}> {{ id:jaeger cnkg:primaryLandscapeCategory "
                                        "<https://w3id.org/cnkg/id/x-test-elsewhere> } }",
    "every stage goes": "DELETE WHERE { GRAPH ?g { ?p cnkg:hasStage ?s } }",
    "the current snapshot loses its date": f"DELETE {{ GRAPH {META} {{ ?src dct:date ?d }} }} "
                                           f"WHERE {{ GRAPH {META} {{ ?src dct:date ?d ; a cnkg:LandscapeSnapshot }} "
                                           "FILTER (?d > '2020-01-01'^^xsd:date) }",
    "the current snapshot is dropped": f"DROP GRAPH <{NOW}>",
    "stage is no longer time-varying": f"DELETE DATA {{ GRAPH {ONTOLOGY} {{ cnkg:hasStage a "
                                       "cnkg:TimeVaryingProperty } }",
    "old stages copied into the current snapshot": f"ADD <{OLD}> TO <{NOW}>",
    "nothing time-varying": "INSERT DATA { id:jaeger rdfs:comment 'traced' }",
}


@pytest.fixture(scope="module")
def built(two_snapshots_build):
    """The article with two tiny snapshots (Jaeger: incubating in 2018, graduated now): the session's build."""
    return two_snapshots_build


@pytest.fixture
def fresh(built):
    """A private graph over its own store (the module's build stays as built)."""
    return KnowledgeGraph(TripleStore.from_dataset(built.dataset))


def default_graph(store: TripleStore) -> set:
    return {(q.subject, q.predicate, q.object) for q in store.ox.quads_for_pattern(None, None, None,
                                                                                     ox.DefaultGraph())}


def rebuilt(graph: KnowledgeGraph) -> TripleStore:
    """A store built from scratch from the graph's asserted quads as they are now: reasoned, then the current view
    computed, as the build does."""
    quads = QuadSet()
    for s, p, o, g in graph.store.quads():
        if g != INFERRED_GRAPH:
            quads.graph(g).add((s, p, o))
    reason_quads(quads)
    return TripleStore.from_dataset(quads)


def assert_as_rebuilt(graph: KnowledgeGraph) -> None:
    again = rebuilt(graph)
    assert set(graph.store.quads((None, None, None, INFERRED_GRAPH))) == \
        set(again.quads((None, None, None, INFERRED_GRAPH)))
    have, want = default_graph(graph.store), default_graph(again)
    assert have == want, {"stale in the default graph": sorted(map(str, have - want))[:10],
                          "missing from it": sorted(map(str, want - have))[:10]}


def post(app, text: str):
    response = app.test_client().post("/sparql", data=text, content_type="application/sparql-update",
                                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.data
    return response


def served(graph: KnowledgeGraph):
    return create_app({"RATE_LIMIT_PER_MINUTE": 0, "QUERY_TIMEOUT": 5.0, "ALLOW_UPDATE": True,
                       "UPDATE_TOKEN": TOKEN}, graph=graph)


def stages(graph: KnowledgeGraph, project=ID.jaeger) -> set:
    return {r.s for r in graph.query(f"SELECT ?s {{ <{project}> cnkg:hasStage ?s }}")}


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_a_sparql_update_leaves_the_default_graph_as_a_fresh_build_would(fresh, name):
    assert_as_rebuilt(fresh)            # the starting point agrees (the build is the reference)
    post(served(fresh), UPDATES[name])
    assert_as_rebuilt(fresh)


def test_updates_in_sequence_keep_the_current_values_exact(fresh):
    app = served(fresh)
    for name in sorted(UPDATES):
        post(app, UPDATES[name])
        assert_as_rebuilt(fresh)


def test_what_stage_after_the_current_statement_goes_or_a_newer_source_comes(fresh):
    """Issue 24: deleting the statement that was current brings back the one before it; a stage in a newer dated
    snapshot replaces it; a stage in an older source, or in the undated updates graph, does not."""
    app = served(fresh)
    assert stages(fresh) == {STAGE.graduated}
    post(app, f"INSERT DATA {{ GRAPH <{ARTICLE}> {{ id:jaeger cnkg:hasStage stage:sandbox }} }}")
    post(app, UPDATES["undated graph states another stage"])
    assert stages(fresh) == {STAGE.graduated}
    post(app, UPDATES["the current statement is deleted"])
    assert stages(fresh) == {STAGE.incubating}   # the 2018 snapshot's: on the same day it outranks the article
    post(app, f"INSERT DATA {{ GRAPH <{LATER}> {{ id:jaeger cnkg:hasStage stage:archived }} }}")
    assert stages(fresh) == {STAGE.incubating}                   # a graph without a dated source supersedes nothing
    post(app, f"INSERT DATA {{ {DATED_LATER} }}")                # ... until its source is dated
    assert stages(fresh) == {STAGE.archived}
    rows = {(str(r.name), str(r.stage)) for r in fresh.query("projects")}
    assert ("Jaeger", "Archived") in rows and ("Jaeger", "Incubating") not in rows


def test_the_library_update_and_apply_follow_too(fresh):
    fresh.update(removed=[(ID.jaeger, CNKG.hasStage, STAGE.graduated, NOW)])
    assert stages(fresh) == {STAGE.incubating}
    assert_as_rebuilt(fresh)
    fresh.apply(added=[(ID.jaeger, CNKG.hasStage, STAGE.graduated, NOW)])
    assert stages(fresh) == {STAGE.graduated}


def test_an_update_touching_nothing_time_varying_recomputes_nothing(fresh, monkeypatch):
    """Most updates state no time-varying property: they pay a look at their own quads, not a recomputation."""
    calls = []
    monkeypatch.setattr(current, "superseded", lambda quads, dates=None: calls.append(quads) or set())
    fresh.update(added=[(ID.jaeger, RDFS.comment, Literal("traced"), landscape_graph("x-test"))])
    fresh.update(removed=[(ID.jaeger, RDFS.comment, Literal("traced"), landscape_graph("x-test"))])
    assert calls == []
    fresh.update(added=[(ID.jaeger, CNKG.hasStage, STAGE.sandbox, OLD)])
    assert len(calls) == 1


def test_entity_facts_say_which_stage_is_current_and_since_when(fresh):
    """Issue 24: "what stage is Jaeger at, and since when?" entity-facts lists every source's stage (its columns
    as before) and says which one is current, as of which source's date, and since when (the lifecycle's day)."""
    facts = [{k: (str(v) if v is not None else None) for k, v in row.asdict().items()}
             for row in fresh.query("entity-facts", entity="Jaeger")]
    stage = {(r["object"].rsplit("/", 1)[-1], r["source"]): (r.get("status"), r.get("asOf"), r.get("since"))
             for r in facts if r["property"] == str(CNKG.hasStage)}
    assert stage == {
        ("graduated", "CNCF landscape.yml of 2026-08-07"): ("current", "2026-08-07", "2019-10-31"),
        ("incubating", "CNCF landscape.yml of 2018-10-26, commit 760834e61d86"): ("superseded", "2018-10-26", None),
        ("incubating", "Logging and Tracing"): ("superseded", "2018-10-26", None),
    }
    assert {r.get("status") for r in facts if r["property"] == str(RDFS.label)} == {None}   # not time-varying
    assert {(r.get("status"), r.get("asOf")) for r in facts
            if r["property"] == str(CNKG.primaryLandscapeCategory)} == {("current", "2026-08-07"),
                                                                        ("superseded", "2018-10-26")}
