"""OWL 2 RL materialisation with owlrl, kept apart in the inferred graph and cleaned of noise.

owlrl's raw closure is mostly noise for users: a reflexive owl:sameAs for every term, datatype and
annotation typings, literal-subject triples, TBox entailments. We keep the triples about our own
entities that say something (lineage chains, inverse and symmetric edges, typings, aligned properties).
owlrl reports inconsistencies by adding ``err:ErrorMessage`` nodes instead of raising: those become a
``ReasoningError`` naming the entities involved.
"""
from __future__ import annotations

import re
import owlrl
from rdflib import OWL, RDF, RDFS, XSD, BNode, Dataset, Graph, URIRef

from .build import union_graph
from .errors import Problem, ReasoningError
from .namespaces import ERR, ID, INFERRED_GRAPH, META_GRAPH

_BUILTIN = (str(OWL), str(RDF), str(RDFS), str(XSD))


def owl_rl_closure(graph: Graph) -> Graph:
    """Run owlrl's OWL 2 RL rules over a copy of ``graph`` and return the raw new triples."""
    work = Graph()
    for triple in graph:
        work.add(triple)
    before = set(work)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(work)
    new = Graph()
    for triple in work:
        if triple not in before:
            new.add(triple)
    return new


def is_meaningful(triple: tuple) -> bool:
    """True for an inferred triple about one of our entities that a user would want to see."""
    s, p, o = triple
    if not isinstance(s, URIRef) or not str(s).startswith(str(ID)) or isinstance(o, BNode):
        return False
    if p == OWL.sameAs:
        return s != o
    if p == RDF.type:
        return isinstance(o, URIRef) and not str(o).startswith(_BUILTIN)
    return not str(p).startswith(_BUILTIN)


def inconsistencies(closure: Graph, labels: Graph) -> list[Problem]:
    """owlrl's ``err:ErrorMessage`` reports, with IRIs replaced by labels."""
    problems = []
    for node in closure.subjects(RDF.type, ERR.ErrorMessage):
        for message in closure.objects(node, ERR.error):
            text = re.sub(r"\s+", " ", str(message)).strip()
            for iri in set(re.findall(r"https?://\S+?(?=[\s,>)]|$)", text)):
                label = labels.value(URIRef(iri), RDFS.label)
                if label is not None:
                    text = text.replace(iri, f"{iri} ({label})")
            hint = ""
            if "Irreflexive" in text and "hasAncestor" in text:
                hint = "; this is a lineage cycle: an entity cannot be its own ancestor"
            problems.append(Problem("OWL 2 RL reasoner", None, f"inconsistent facts: {text}{hint}"))
    return problems


def reason(dataset: Dataset) -> Graph:
    """Materialise the OWL 2 RL closure of ``dataset`` into its inferred graph and return that graph."""
    source = union_graph(dataset, exclude=(META_GRAPH, INFERRED_GRAPH))  # ontology, curated and section graphs
    closure = owl_rl_closure(source)
    problems = inconsistencies(closure, source)
    if problems:
        raise ReasoningError(problems)
    inferred = dataset.graph(INFERRED_GRAPH)
    inferred.remove((None, None, None))
    for triple in closure:
        if is_meaningful(triple) and triple not in source:
            inferred.add(triple)
    return inferred

