"""The build's compact dataset (cnkg.quadset): rdflib's graph semantics, and the store written from it."""
from __future__ import annotations

import pyoxigraph as ox
from hypothesis import given, settings, strategies as st
from rdflib import RDFS, XSD, BNode, Dataset, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from cnkg.quadset import QuadSet
from cnkg.store import TripleStore, to_ox

G1, G2, EMPTY = (URIRef(f"http://example.org/graph/{n}") for n in ("one", "two", "empty"))
X = URIRef("http://example.org/x")


def dataset_of(quads) -> Dataset:
    dataset = Dataset(default_union=True)
    for s, p, o, g in quads:
        dataset.graph(g).add((s, p, o))
    return dataset


def quad_set(dataset: Dataset) -> set:
    return {(s, p, o, g) for s, p, o, g in dataset.quads((None, None, None, None)) if g is not None}


# terms rdflib tells apart although they look alike: an IRI and a blank node of the same text, two lexical forms
# of one value, a plain and a language-tagged literal
terms = st.sampled_from([X, BNode("http://example.org/x"), URIRef("http://example.org/y"), Literal("1"),
                         Literal("1", datatype=XSD.integer), Literal("01", datatype=XSD.integer),
                         Literal("x", lang="en"), Literal("x", lang="de"), Literal("x")])
predicates = st.sampled_from([RDFS.label, RDFS.comment, URIRef("http://example.org/p")])
quads = st.lists(st.tuples(terms.filter(lambda t: not isinstance(t, Literal)), predicates, terms,
                           st.sampled_from([G1, G2])), max_size=30)


@settings(max_examples=60, deadline=None)
@given(quads)
def test_a_quadset_holds_what_an_rdflib_dataset_holds(given_quads):
    dataset = dataset_of(given_quads)
    compact = QuadSet.of(dataset)
    assert set(compact.quads()) == quad_set(dataset)
    assert len(compact) == len(quad_set(dataset))
    assert quad_set(compact.to_dataset()) == quad_set(dataset)
    # written through the builders' interface, triple by triple, the same
    added = QuadSet()
    for s, p, o, g in given_quads:
        added.graph(g).add((s, p, o))
    assert set(added.quads()) == quad_set(dataset)


@settings(max_examples=30, deadline=None)
@given(quads)
def test_a_quadset_writes_its_graphs_and_their_union_to_the_store(given_quads):
    """The store holds every named-graph quad of the rdflib dataset (converted term by term, independently of the
    quad set), the union once in the default graph, and the empty graphs."""
    dataset = dataset_of(given_quads)
    dataset.graph(EMPTY)
    store = TripleStore.from_dataset(dataset)   # rdflib datasets go through a QuadSet too
    expected = {ox.Quad(to_ox(s), to_ox(p), to_ox(o), to_ox(g)) for s, p, o, g in quad_set(dataset)}
    expected |= {ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in expected}
    assert set(store.ox) == expected
    assert set(store.ox.named_graphs()) == {to_ox(g.identifier) for g in dataset.graphs()
                                             if g.identifier != DATASET_DEFAULT_GRAPH_ID}
    assert to_ox(EMPTY) in set(store.ox.named_graphs())


def test_a_label_is_found_in_any_graph_and_the_first_one_stays():
    compact = QuadSet()
    assert compact.label(X) is None
    compact.graph(G2).add((X, RDFS.comment, Literal("not a label")))
    assert compact.label(X) is None
    compact.graph(G1).add((X, RDFS.label, Literal("Ex")))
    compact.graph(G2).addN([(X, RDFS.label, Literal("Other")), (X, RDFS.label, Literal("Ex"))])
    assert compact.label(X) == Literal("Ex")
    assert sorted(compact.graphs_holding((X, RDFS.label, Literal("Ex")))) == [G1, G2]
    assert compact.graphs_holding((X, RDFS.label, Literal("nowhere"))) == []


def test_empty_graphs_are_kept_and_set_graph_replaces():
    compact = QuadSet()
    compact.graph(EMPTY)
    compact.graph(G1).add((X, RDFS.label, Literal("a")))
    compact.set_graph(G1, [(X, RDFS.comment, Literal("b"))])
    assert set(compact.graphs) == {EMPTY, G1}
    assert list(compact.quads()) == [(X, RDFS.comment, Literal("b"), G1)]
    assert {g.identifier for g in compact.to_dataset().graphs()} >= {EMPTY, G1}
    assert compact.union() == compact.graphs[G1]
