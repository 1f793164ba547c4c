"""The compiled SHACL validator (shapes as SPARQL on Oxigraph) against pySHACL, the reference: the same
validation results on the article graph with every kind of violation the shapes catch, on random graphs against
shapes using every construct the compiler translates, and a clear refusal (then pySHACL) for the rest."""
from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SKOS

from cnkg.namespaces import CNKG, ID, META_GRAPH
from cnkg.shacl_sparql import SH, UnsupportedShape, compile_shapes
from cnkg.shapes import as_store, pyshacl_violations, read_shapes, shape_problems
from cnkg.shacl_sparql import violations

EX = Namespace("https://example.org/")


def results(violations_found) -> set:
    """What both validators must agree on: focus, component, value and (when an IRI) path of each result."""
    return {(v.focus, v.component, v.value, v.path if isinstance(v.path, URIRef) else None) for v in violations_found}


def both(data: Graph, shapes: Graph) -> tuple[set, set]:
    compiled = results(violations(as_store(data), compile_shapes(shapes)))
    reference = results(pyshacl_violations(data, shapes, core_targets=False))
    return compiled, reference


@pytest.fixture(scope="module")
def article_data(article_kg) -> Graph:
    data = Graph()
    for s, p, o, g in article_kg.store.quads():
        if g != META_GRAPH:
            data.add((s, p, o))
    return data


def test_the_article_graph_conforms_under_both_validators(article_data):
    compiled, reference = both(article_data, read_shapes())
    assert compiled == reference == set()


def test_every_kind_of_violation_is_found_as_pyshacl_finds_it(article_data):
    data = Graph()
    data += article_data
    bad = BNode()
    additions = [
        (ID.zipkin, RDFS.label, Literal("Dapper")),                          # a second label, and a shared name
        (ID.jaeger, SKOS.altLabel, Literal("Jäger", lang="de")),             # altLabel not a plain string
        (ID.jaeger, CNKG.homepage, Literal("ftp://jaeger", datatype=XSD.anyURI)),   # pattern
        (ID.jaeger, CNKG.repository, Literal("https://github.com/jaegertracing")),  # datatype (a string)
        (ID.jaeger, CNKG.openSourcedIn, Literal("2015", datatype=XSD.gYear)),        # a second year
        (ID.jaeger, CNKG.integratesWith, ID["no-such-entity"]),              # unresolved reference
        (ID.jaeger, CNKG.joinOrder, Literal("x", datatype=XSD.integer)),     # ill-typed
        (ID.prometheus, CNKG.joinOrder, Literal(0)),                         # below minInclusive
        (ID.prometheus, CNKG.donatedBy, ID.jaeger),                          # class
        (ID.prometheus, CNKG.description, Literal("Überwachung", lang="de")),
        (ID.linkerd, CNKG.writtenIn, Literal("Rust")),                       # class of a literal
        (ID.kubernetes, CNKG.inCategory, ID.jaeger),                         # class
        (bad, RDF.type, CNKG.Entity), (bad, RDFS.label, Literal("")),        # nodeKind, minLength
        (EX.project, RDF.type, CNKG.Project), (EX.project, RDFS.label, Literal("Lone project")),  # or, stage
        (EX.mention, RDF.type, CNKG.NameMention),                            # xone (neither), counts
        (EX.line, RDF.type, CNKG.SourceLine), (EX.line, CNKG.lineNumber, Literal(0)),
        (EX.line, CNKG.lineNumber, Literal(2)), (EX.line, CNKG.describes, ID.jaeger),
    ]
    for triple in additions:
        data.add(triple)
    compiled, reference = both(data, read_shapes())
    assert compiled == reference
    components = {component.split("#")[1] for _, component, _, _ in compiled}
    assert components >= {"MinCountConstraintComponent", "MaxCountConstraintComponent", "DatatypeConstraintComponent",
                          "PatternConstraintComponent", "ClassConstraintComponent", "NodeKindConstraintComponent",
                          "MinLengthConstraintComponent", "MinInclusiveConstraintComponent", "OrConstraintComponent",
                          "XoneConstraintComponent"}, components
    assert (ID.jaeger, SH.DatatypeConstraintComponent, Literal("x", datatype=XSD.integer), CNKG.joinOrder) in compiled
    assert (ID["no-such-entity"], SH.MinCountConstraintComponent, None, RDFS.label) in compiled


def test_problems_name_the_entity_the_path_and_the_message(article_data):
    data = Graph()
    data += article_data
    data.add((ID.zipkin, RDFS.label, Literal("Dapper")))
    messages = [str(p) for p in shape_problems(data, read_shapes())]
    assert any(m.startswith("SHACL shapes: https://w3id.org/cnkg/id/zipkin (") and "rdfs:label: An entity has "
               "exactly one rdfs:label" in m for m in messages), messages
    assert any("Dapper" in m and "names must identify one entity" in m for m in messages), messages
    assert messages == [str(p) for p in shape_problems(data, read_shapes(), validator="pyshacl")]


# ---------------------------------------------------------------------------------------------- random graphs

SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:Counted a sh:NodeShape ; sh:targetClass ex:C ;
    sh:property [ sh:path ex:p ; sh:minCount 2 ; sh:maxCount 3 ] ;
    sh:property [ sh:path ( ex:p ex:q ) ; sh:maxCount 1 ] ;
    sh:property [ sh:path [ sh:inversePath ex:q ] ; sh:minCount 1 ] ;
    sh:property [ sh:path [ sh:zeroOrMorePath ex:q ] ; sh:nodeKind sh:BlankNodeOrIRI ] ;
    sh:property [ sh:path [ sh:oneOrMorePath ex:p ] ; sh:class ex:D ] ;
    sh:property [ sh:path [ sh:zeroOrOnePath ex:p ] ; sh:nodeKind sh:IRIOrLiteral ] .

ex:D a sh:NodeShape , rdfs:Class ;     # an implicit class target
    sh:nodeKind sh:IRI ;
    sh:property [ sh:path ex:v ; sh:datatype xsd:integer ; sh:minInclusive 1 ; sh:maxExclusive 10 ] ;
    sh:property [ sh:path ex:v ; sh:maxInclusive 7 ; sh:minExclusive -3 ] ;
    sh:property [ sh:path ex:s ; sh:datatype xsd:string ; sh:minLength 2 ; sh:maxLength 4 ] ;
    sh:property [ sh:path ex:s ; sh:pattern "^a" ; sh:flags "i" ] ;
    sh:property [ sh:path [ sh:alternativePath ( ex:s ex:t ) ] ; sh:maxCount 2 ] ;
    sh:property [ sh:path ex:t ; sh:datatype xsd:date ] ;
    sh:property [ sh:path ex:t ; sh:datatype xsd:gYear ] ;
    sh:property [ sh:path ex:t ; sh:nodeKind sh:Literal ; sh:severity sh:Warning ] ;
    sh:property [ sh:path ex:t ; sh:minCount 5 ; sh:deactivated true ] .

ex:Objects a sh:NodeShape ; sh:targetObjectsOf ex:q ; sh:targetNode ex:a , "5"^^xsd:integer ;
    sh:or ( [ sh:path ex:p ; sh:minCount 1 ] [ sh:path ex:v ; sh:minCount 1 ; sh:maxCount 1 ] ) ;
    sh:xone ( [ sh:path ex:s ; sh:minCount 1 ] [ sh:path ex:t ; sh:minCount 1 ] ) ;
    sh:nodeKind sh:BlankNodeOrLiteral .

ex:Subjects a sh:NodeShape ; sh:targetSubjectsOf ex:v ;
    sh:target [ a sh:SPARQLTarget ; sh:prefixes ex:Prefixes ;
                sh:select "SELECT ?this WHERE { ?this ex:s ?any FILTER (isIRI(?this)) }" ] ;
    sh:property [ sh:path ex:v ; sh:nodeKind sh:Literal ; sh:maxCount 1 ] .

ex:Warned a sh:NodeShape ; sh:targetSubjectsOf ex:s ; sh:severity sh:Warning ;
    sh:nodeKind sh:BlankNode ;                               # its own results are warnings: not reported
    sh:property [ sh:path ex:s ; sh:maxCount 1 ] .           # its property shape's are violations

ex:Prefixes sh:declare [ sh:prefix "ex" ; sh:namespace "https://example.org/"^^xsd:anyURI ] .
"""

NODES = [EX.a, EX.b, EX.c, EX.d, BNode("n1"), BNode("n2")]
VALUES = NODES + [EX.C, EX.D] + [
    Literal("a"), Literal("ab"), Literal("Abcd"), Literal("abcde"), Literal(""), Literal("ab", lang="en"),
    Literal("5", datatype=XSD.integer), Literal("07", datatype=XSD.integer), Literal("x", datatype=XSD.integer),
    Literal("-3", datatype=XSD.integer), Literal("10", datatype=XSD.integer), Literal("7.5", datatype=XSD.decimal),
    Literal("2018", datatype=XSD.gYear), Literal("2018-02-03", datatype=XSD.date),
    Literal("2018-02-30", datatype=XSD.date), Literal("http://x", datatype=XSD.anyURI),
]
PREDICATES = [EX.p, EX.q, EX.v, EX.s, EX.t, RDF.type, RDFS.subClassOf]


@st.composite
def graphs(draw):
    data = Graph()
    for s, p, o in draw(st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(PREDICATES),
                                           st.sampled_from(VALUES)), max_size=40)):
        data.add((s, p, o))
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=graphs())
def test_random_graphs_give_pyshacl_s_results(data):
    compiled, reference = both(data, Graph().parse(data=SHAPES, format="turtle"))
    assert compiled == reference


def test_the_shapes_of_the_random_test_are_all_compiled():
    checks = compile_shapes(Graph().parse(data=SHAPES, format="turtle"))
    components = {c.component.split("#")[1].removesuffix("ConstraintComponent") for c in checks}
    assert components == {"MinCount", "MaxCount", "Class", "Datatype", "NodeKind", "Pattern", "MinLength",
                          "MaxLength", "MinInclusive", "MaxInclusive", "MinExclusive", "MaxExclusive", "Or", "Xone"}


# ---------------------------------------------------------------------------------------------- refusals

UNSUPPORTED = {
    "sh:node": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:node ex:T .",
    "sh:in": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:in ( ex:a ) ] .",
    "look-around": 'ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:pattern "a(?=b)" ] .',
    "sh:or member": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:or ( [ sh:path ex:p ; sh:class ex:D ] ) .",
    "zero-length path": "ex:S a sh:NodeShape ; sh:targetNode ex:nowhere ; "
                        "sh:property [ sh:path [ sh:zeroOrMorePath ex:p ] ; sh:minCount 2 ] .",
    "PREFIX in sh:select": 'ex:S a sh:NodeShape ; sh:target [ a sh:SPARQLTarget ; sh:select "PREFIX ex: '
                           '<https://example.org/> SELECT ?this WHERE { ?this ex:p ?o }" ] ; '
                           'sh:property [ sh:path ex:p ; sh:minCount 2 ] .',
    "sh:qualifiedValueShape": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                              "sh:qualifiedValueShape ex:T ; sh:qualifiedMinCount 1 ] .",
}


@pytest.mark.parametrize("construct", sorted(UNSUPPORTED))
def test_an_unsupported_construct_is_named_and_pyshacl_checks_instead(construct, caplog):
    shapes = Graph().parse(data="@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> . "
                                + UNSUPPORTED[construct], format="turtle")
    with pytest.raises(UnsupportedShape) as refused:
        compile_shapes(shapes)
    assert "sh:" in str(refused.value), refused.value
    data = Graph()
    data.add((EX.a, RDF.type, EX.C))
    data.add((EX.a, EX.p, EX.b))
    with caplog.at_level(logging.WARNING, logger="cnkg.shapes"):
        problems = shape_problems(data, shapes)
    assert "checked with pySHACL" in caplog.text
    assert problems == shape_problems(data, shapes, validator="pyshacl")


def test_an_unknown_validator_is_refused():
    with pytest.raises(ValueError, match="unknown SHACL validator 'fast'"):
        shape_problems(Graph(), read_shapes(), validator="fast")


@pytest.mark.parametrize("value", ['"one"', '"1"', "-1", "1.5"])
def test_a_count_that_is_not_a_non_negative_integer_is_a_clear_error(value):
    from cnkg.errors import InvalidInput

    shapes = Graph().parse(data="@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> . "
                                f"ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
                                f"sh:minCount {value} ] .", format="turtle")
    with pytest.raises(InvalidInput) as refused:
        compile_shapes(shapes)
    message = str(refused.value)
    assert "sh:minCount" in message and "https://example.org/S" in message and "non-negative integer" in message
