"""Real SPARQL clients against the endpoint served as `cnkg serve` serves it on 127.0.0.1: SPARQLWrapper and rdflib's SPARQLStore."""
from __future__ import annotations


import pytest
from rdflib import Graph, Literal
from rdflib.namespace import RDFS
from rdflib.plugins.stores.sparqlstore import SPARQLStore

from cnkg.namespaces import ID


SPARQLWrapper = pytest.importorskip("SPARQLWrapper")

PROJECTS = "PREFIX cnkg: <https://w3id.org/cnkg/ontology#> SELECT ?p WHERE { ?p a cnkg:Project } ORDER BY ?p"


@pytest.fixture
def endpoint(make_app, live_server):
    with live_server(make_app({"QUERY_TIMEOUT": 10.0}), threads=4) as base:
        yield f"{base}/sparql"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("return_format", ["json", "xml"])
def test_sparqlwrapper_select(endpoint, method, return_format):
    sparql = SPARQLWrapper.SPARQLWrapper(endpoint)
    sparql.setMethod(method)
    sparql.setReturnFormat(return_format)
    sparql.setQuery(PROJECTS)
    result = sparql.query()
    assert result.response.status == 200
    if return_format == "json":
        values = [b["p"]["value"] for b in result.convert()["results"]["bindings"]]
    else:
        doc = result.convert()  # an xml.dom.minidom document
        values = [node.firstChild.data for node in doc.getElementsByTagName("uri")]
    assert values == [str(ID.jaeger), str(ID.prometheus)]


def test_sparqlwrapper_ask_and_construct(endpoint):
    sparql = SPARQLWrapper.SPARQLWrapper(endpoint)
    sparql.setReturnFormat(SPARQLWrapper.JSON)
    sparql.setQuery("ASK { ?p a <https://w3id.org/cnkg/ontology#Project> }")
    assert sparql.queryAndConvert()["boolean"] is True

    sparql = SPARQLWrapper.SPARQLWrapper(endpoint)
    sparql.setReturnFormat(SPARQLWrapper.TURTLE)
    sparql.setQuery("CONSTRUCT WHERE { ?p a <https://w3id.org/cnkg/ontology#Project> }")
    graph = Graph().parse(data=sparql.queryAndConvert(), format="turtle")
    assert set(graph.subjects()) == {ID.jaeger, ID.prometheus}


def test_sparqlwrapper_sees_errors(endpoint):
    sparql = SPARQLWrapper.SPARQLWrapper(endpoint)
    sparql.setReturnFormat(SPARQLWrapper.JSON)
    sparql.setQuery("SELECT * WHERE { ?s ?p ")
    with pytest.raises(SPARQLWrapper.SPARQLExceptions.QueryBadFormed):
        sparql.query()


def test_sparqlwrapper_update_is_refused(endpoint):
    sparql = SPARQLWrapper.SPARQLWrapper(endpoint)
    sparql.setMethod(SPARQLWrapper.POST)
    sparql.setQuery("INSERT DATA { <urn:a> <urn:b> <urn:c> }")  # SPARQLWrapper sends it as update=
    with pytest.raises(Exception) as info:
        sparql.query()
    assert "403" in str(info.value) or "Forbidden" in str(info.value)


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore(endpoint, method):
    # rdflib's default returnFormat "xml" accepts SPARQL results XML and RDF/XML, so every query form works
    graph = Graph(SPARQLStore(endpoint, method=method))
    assert "Jaeger" in {str(label) for label in graph.objects(ID.jaeger, RDFS.label)}
    assert (ID.jaeger, RDFS.label, Literal("Jaeger")) in graph
    assert ID.jaeger in set(graph.subjects(RDFS.label, None))
    assert [row.p for row in graph.query(PROJECTS)] == [ID.jaeger, ID.prometheus]
    assert graph.query("ASK { ?s ?p ?o }").askAnswer is True
    constructed = graph.query("CONSTRUCT WHERE { ?p a <https://w3id.org/cnkg/ontology#Project> }").graph
    assert set(constructed.subjects()) == {ID.jaeger, ID.prometheus}


def test_rdflib_sparqlstore_json(endpoint):
    graph = Graph(SPARQLStore(endpoint, returnFormat="json"))
    assert [row.p for row in graph.query(PROJECTS)] == [ID.jaeger, ID.prometheus]
    assert len(graph) > 10  # SELECT (COUNT(*) ...) under the hood
