"""The Oxigraph store: the default graph is the RDF merge (a set), writes keep it so, terms come back as rdflib's."""
from __future__ import annotations

import pytest
from rdflib import RDFS, XSD, BNode, Dataset, Literal, URIRef

import cnkg
from cnkg.namespaces import CURATED_GRAPH, ID
from cnkg.store import TripleStore, from_ox, to_ox, write_store

EX = "https://example.org/"
A, P, B = URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "b")
G1, G2 = URIRef(EX + "g1"), URIRef(EX + "g2")


@pytest.fixture
def two_graphs() -> Dataset:
    """One triple stated in two graphs."""
    dataset = Dataset(default_union=True)
    dataset.graph(G1).add((A, P, B))
    dataset.graph(G2).add((A, P, B))
    dataset.graph(G2).add((B, P, A))
    return dataset


@pytest.mark.parametrize("where", ["", f"FROM <{G1}> FROM <{G2}>"])
def test_a_triple_in_two_graphs_counts_once(two_graphs, where):
    """The default graph (the whole dataset, or a FROM merge) is a set: oxigraph#1919 must not show through."""
    store = TripleStore.from_dataset(two_graphs)
    rows = list(store.select(f"SELECT (COUNT(*) AS ?n) {where} WHERE {{ ?s ?p ?o }}"))
    assert int(rows[0].n) == 2
    assert int(list(store.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))[0].n) == 3


def test_protocol_datasets_are_sets_too(two_graphs):
    store = TripleStore.from_dataset(two_graphs)
    rows = list(store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=[G1, G2]))
    assert int(rows[0].n) == 2
    named_only = list(store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", named_graphs=[G1]))
    assert int(named_only[0].n) == 0  # named graphs alone: an empty default graph (SPARQL 1.1 §13.2)


def test_removing_from_one_graph_keeps_the_triple_while_another_states_it(two_graphs):
    store = TripleStore.from_dataset(two_graphs)
    store.apply(removed=[(A, P, B, G1)])
    assert (A, P, B) in store
    store.apply(removed=[(A, P, B, G2)])
    assert (A, P, B) not in store and (B, P, A) in store


def test_one_term_per_string():
    """RDF 1.1: "x" and "x"^^xsd:string are one term; both come back as the plain literal."""
    assert from_ox(to_ox(Literal("x", datatype=XSD.string))) == Literal("x")
    dataset = Dataset(default_union=True)
    dataset.graph(G1).add((A, P, Literal("Rocket")))
    dataset.graph(G2).add((A, P, Literal("Rocket", datatype=XSD.string)))
    store = TripleStore.from_dataset(dataset)
    assert int(list(store.select(f'SELECT (COUNT(*) AS ?n) WHERE {{ <{A}> <{P}> "Rocket" }}'))[0].n) == 1


TERMS = [A, BNode("b1"), Literal("x"), Literal("x", lang="en-GB"), Literal("01", datatype=XSD.integer),
         Literal("2018-10-26", datatype=XSD.date), Literal("not a date", datatype=XSD.date),
         Literal("y", datatype=URIRef(EX + "custom"))]


@pytest.mark.parametrize("term", TERMS, ids=repr)
def test_terms_come_back_as_the_rdflib_terms_they_were(term):
    """from_ox builds IRIs without URIRef's check (Oxigraph's are valid): the same type, value, hash and
    equality as rdflib's own constructor gives; so is a literal's datatype."""
    back = from_ox(to_ox(term)) if not isinstance(term, BNode) else BNode(from_ox(to_ox(term)))
    assert type(back) is type(term) and back == term and hash(back) == hash(term)
    if isinstance(term, Literal):
        assert back.datatype == term.datatype and type(back.datatype) is type(term.datatype)
        assert back.value == term.value   # (a language tag comes back lower-cased: tags are case-insensitive)
        assert (back.language or "").lower() == (term.language or "").lower()


def test_query_answers_convert_each_repeated_term_to_one_object(two_graphs):
    store = TripleStore.from_dataset(two_graphs)
    rows = list(store.select("SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY ?s"))
    assert [(row.s, row.o) for row in rows] == [(A, B), (B, A)]
    assert rows[0].s is rows[1].o   # one conversion of <a> for the whole answer


def test_the_built_graph_has_no_xsd_string_literals(article_kg):
    typed = [(s, p, o) for s, p, o, _ in article_kg.dataset.quads((None, None, None, None))
             if isinstance(o, Literal) and o.datatype == XSD.string]
    assert not typed, f"literals typed xsd:string (RDF 1.1: the same term as plain): {typed[:5]}"
    assert list(article_kg.query('SELECT ?p WHERE { ?p cnkg:nameMeaning "hunter" }'))


def test_a_published_store_is_written_atomically_and_reopens(tmp_path, two_graphs):
    path = write_store(two_graphs, tmp_path / "store")
    assert [p.name for p in tmp_path.iterdir()] == ["store"]
    reopened = TripleStore.open(path)
    assert reopened.read_only and set(reopened.quads()) == set(TripleStore.from_dataset(two_graphs).quads())
    with pytest.raises(PermissionError):
        reopened.apply(added=[(A, P, A, G1)])


def test_empty_named_graphs_are_kept(tmp_path):
    dataset = Dataset(default_union=True)
    dataset.graph(G1)
    assert G1 in TripleStore.from_dataset(dataset).graph_names()
    assert G1 in TripleStore.open(write_store(dataset, tmp_path / "s")).graph_names()


def test_the_python_api_reads_the_store(article_kg):
    assert article_kg.label(ID.jaeger) == "Jaeger"
    assert (ID.jaeger, RDFS.label, Literal("Jaeger")) in article_kg.store
    assert CURATED_GRAPH in article_kg.store.graph_names()
    assert isinstance(article_kg, cnkg.KnowledgeGraph)
