"""Why does a triple hold? A justification in OWL 2 RL rules, down to asserted triples and their source sections.

    >>> graph.explain(ID.jaeger, CNKG.hasAncestor, ID.dapper)
    {"triple": ..., "inferred": True, "rule": "prp-spo1", "because": [{"triple": ..., "sources": [...]}], ...}

The reasoner does not record how it derived a triple, so the justification is reconstructed here from the rules
that can produce the vocabulary we use: sub-property (prp-spo1), transitivity (prp-trp), symmetry (prp-symp),
inverses (prp-inv1/2), and typing by sub-class, domain and range (cax-sco, prp-dom, prp-rng). Asserted premises
are preferred; an inferred premise is itself explained (nested). Lineage (cnkg:hasAncestor) is walked over the
asserted one-step edges of :mod:`cnkg.lineage`, so every step cites its section, and the other paths to the same
ancestor are given as ``alternatives``. The result is plain JSON-ready data (the server renders it).
"""
from __future__ import annotations

from collections.abc import Callable

from rdflib import OWL, RDF, RDFS, Dataset, Literal
from rdflib.term import Node

from .lineage import LineageIndex
from .namespaces import CNKG, INFERRED_GRAPH, META_GRAPH, ONTOLOGY_GRAPH, compact
from .provenance import sources
from .vocabulary import sub_classes, sub_properties

MAX_DEPTH = 8
MAX_ALTERNATIVES = 10

RULES = {
    "prp-spo1": "sub-property: p1 ⊑ p2 and x p1 y give x p2 y",
    "prp-trp": "transitivity: p transitive, x p y and y p z give x p z",
    "prp-symp": "symmetry: p symmetric and x p y give y p x",
    "prp-inv1": "inverse: p1 inverseOf p2 and x p1 y give y p2 x",
    "prp-inv2": "inverse: p1 inverseOf p2 and x p2 y give y p1 x",
    "cax-sco": "sub-class: C1 ⊑ C2 and x a C1 give x a C2",
    "prp-dom": "domain: p has domain C and x p y give x a C",
    "prp-rng": "range: p has range C and x p y give y a C",
}


class Explainer:
    """Justifications over one knowledge graph (the ontology graph gives the TBox axioms)."""

    def __init__(self, dataset: Dataset, lineage: LineageIndex, label: Callable[[Node], str]):
        self.dataset = dataset
        self.lineage = lineage
        self.label = label
        self.tbox = dataset.graph(ONTOLOGY_GRAPH)

    # -- what is where

    def holds(self, triple) -> bool:
        return any(True for _ in self.dataset.quads(triple))

    def asserted(self, triple) -> bool:
        return any(g not in (INFERRED_GRAPH, META_GRAPH) for *_, g in self.dataset.quads(triple))

    def sources(self, triple) -> list[dict]:
        """The sections (with their document) stating ``triple``; "curated" / "ontology" for those graphs."""
        found = {}
        for source in sources(self.dataset, triple, self.label):
            if source.kind == "inferred":
                continue
            if source.kind in ("curated", "ontology"):
                found[source.kind] = {"section": source.kind}
            elif source.kind == "graph":
                found[str(source.graph)] = {"section": str(source.graph), "graph": str(source.graph)}
            else:
                entry = {"section": source.title, "iri": str(source.iri), "graph": str(source.graph)}
                for key in ("document", "url", "confidence", "read", "note"):
                    if getattr(source, key) is not None:
                        entry[key] = getattr(source, key)
                found[str(source.iri)] = entry
        return sorted(found.values(), key=lambda e: e["section"])

    def triple_json(self, triple) -> dict:
        return {"s": term_json(triple[0]), "p": term_json(triple[1]), "o": term_json(triple[2]),
                "text": " ".join(self._name(t) for t in triple)}

    def _name(self, term) -> str:
        if isinstance(term, Literal):
            return repr(str(term))
        label = self.dataset.value(term, RDFS.label)
        return str(label) if label is not None and not str(term).startswith(str(CNKG)) else compact(term)

    # -- TBox helpers

    def _super_chain(self, sub, sup, relation) -> list[tuple] | None:
        """The axioms sub ⊑ ... ⊑ sup along ``relation`` (subPropertyOf / subClassOf), shortest first."""
        if sub == sup:
            return []
        frontier, seen = [(sub, [])], {sub}
        while frontier:
            nxt = []
            for node, path in frontier:
                for parent in self.tbox.objects(node, relation):
                    step = path + [(node, relation, parent)]
                    if parent == sup:
                        return step
                    if parent not in seen:
                        seen.add(parent)
                        nxt.append((parent, step))
            frontier = nxt
        return None

    def _subs(self, term, relation=RDFS.subPropertyOf) -> set:
        below = sub_properties if relation == RDFS.subPropertyOf else sub_classes
        return set(below(self.tbox, term)) - {term}

    def _axioms(self, axioms) -> list[dict]:
        return [{"triple": self.triple_json(a), "sources": [{"section": "ontology"}]} for a in axioms]

    # -- explanation

    def explain(self, s: Node, p: Node, o: Node) -> dict | None:
        """The justification of (s, p, o), or None when the graph does not contain it."""
        if not self.holds((s, p, o)):
            return None
        result = self._explain((s, p, o), 0, frozenset())
        if p == CNKG.hasAncestor and result.get("inferred"):
            alternatives = [alt for alt in self._lineage(s, o, 0, frozenset({(s, p, o)}))
                            if alt.get("because") != result.get("because")]
            if alternatives:
                result["alternatives"] = alternatives[:MAX_ALTERNATIVES]
        return result

    def _premise(self, triple, depth, seen) -> dict:
        if self.asserted(triple):
            return {"triple": self.triple_json(triple), "inferred": False, "sources": self.sources(triple)}
        return self._explain(triple, depth + 1, seen)

    def _explain(self, triple, depth, seen) -> dict:
        if self.asserted(triple):
            return {"triple": self.triple_json(triple), "inferred": False, "sources": self.sources(triple)}
        head = {"triple": self.triple_json(triple), "inferred": True}
        if depth > MAX_DEPTH or triple in seen:
            return {**head, "rule": None, "because": [], "note": "explanation depth limit reached"}
        seen = seen | {triple}
        s, p, o = triple
        for attempt in (self._by_subproperty, self._by_lineage, self._by_symmetry, self._by_inverse,
                        self._by_type, self._by_transitivity):
            found = attempt(s, p, o, depth, seen)
            if found is not None:
                rule, because, axioms = found
                return {**head, "rule": rule, "rule_text": RULES[rule], "because": because,
                        "axioms": self._axioms(axioms)}
        return {**head, "rule": None, "because": [],
                "note": "no justification found with the rules this explainer knows (prp-spo1, prp-trp, prp-symp, "
                        "prp-inv1/2, cax-sco, prp-dom, prp-rng)"}

    def _candidates(self, pattern):
        """Triples matching ``pattern`` outside the ontology and meta graphs, asserted ones first."""
        triples = {(a, b, c) for a, b, c, g in self.dataset.quads(pattern) if g not in (ONTOLOGY_GRAPH, META_GRAPH)}
        return sorted(triples, key=lambda t: (not self.asserted(t), str(t)))

    def _by_subproperty(self, s, p, o, depth, seen):
        options = []
        for sub in self._subs(p):
            for triple in self._candidates((s, sub, o)):
                if triple not in seen:
                    options.append((not self.asserted(triple), len(self._super_chain(sub, p, RDFS.subPropertyOf)),
                                    str(sub), triple))
        if not options:
            return None
        *_, triple = min(options)
        return "prp-spo1", [self._premise(triple, depth, seen)], self._super_chain(triple[1], p, RDFS.subPropertyOf)

    def _by_lineage(self, s, p, o, depth, seen):
        if p != CNKG.hasAncestor:
            return None
        chains = self._lineage(s, o, depth, seen)
        if not chains:
            return None
        best = chains[0]
        return best["rule"], best["because"], []

    def _lineage(self, s, o, depth, seen) -> list[dict]:
        """hasAncestor(s, o) along each asserted lineage path from s up to o, shortest first."""
        index = self.lineage
        out = []
        for chain in index.report(s).ancestors:
            if chain.ancestor != o:
                continue
            out.append(self._chain(chain.steps, depth, seen))
        return out

    def _chain(self, steps, depth, seen) -> dict:
        """hasAncestor from the first child to the last parent: spo1 for one step, else prp-trp of head + rest."""
        first = steps[0]
        one = (first.child, CNKG.hasAncestor, first.parent)
        edge = (first.child, first.relation, first.parent)
        step = {"triple": self.triple_json(one), "inferred": True, "rule": "prp-spo1", "rule_text": RULES["prp-spo1"],
                "because": [{"triple": self.triple_json(edge), "inferred": False, "sources": self.sources(edge)}],
                "axioms": self._axioms(self._super_chain(first.relation, CNKG.hasAncestor, RDFS.subPropertyOf) or [])}
        if len(steps) == 1:
            return step
        rest = self._chain(steps[1:], depth + 1, seen)
        whole = (first.child, CNKG.hasAncestor, steps[-1].parent)
        return {"triple": self.triple_json(whole), "inferred": True, "rule": "prp-trp", "rule_text": RULES["prp-trp"],
                "because": [step, rest],
                "axioms": self._axioms([(CNKG.hasAncestor, RDF.type, OWL.TransitiveProperty)])}

    def _by_symmetry(self, s, p, o, depth, seen):
        if (p, RDF.type, OWL.SymmetricProperty) not in self.tbox or (o, p, s) in seen or not self.holds((o, p, s)):
            return None
        if not self.asserted((o, p, s)) and not self._reaches_asserted((o, p, s)):
            return None
        return "prp-symp", [self._premise((o, p, s), depth, seen)], [(p, RDF.type, OWL.SymmetricProperty)]

    def _reaches_asserted(self, triple) -> bool:
        """A symmetric or inverse premise that is itself only inferred would loop back; accept it only when some
        sub-property of it is asserted (then prp-spo1 explains it)."""
        s, p, o = triple
        return any(self.asserted((s, sub, o)) for sub in self._subs(p))

    def _by_inverse(self, s, p, o, depth, seen):
        for q in self.tbox.objects(p, OWL.inverseOf):      # p inverseOf q, o q s  =>  s p o   (prp-inv2)
            if (o, q, s) not in seen and self.holds((o, q, s)):
                return "prp-inv2", [self._premise((o, q, s), depth, seen)], [(p, OWL.inverseOf, q)]
        for q in self.tbox.subjects(OWL.inverseOf, p):     # q inverseOf p, o q s  =>  s p o   (prp-inv1)
            if (o, q, s) not in seen and self.holds((o, q, s)):
                return "prp-inv1", [self._premise((o, q, s), depth, seen)], [(q, OWL.inverseOf, p)]
        return None

    def _by_type(self, s, p, o, depth, seen):
        if p != RDF.type:
            return None
        # cax-sco: an asserted type below o
        for cls in self._subs(o, RDFS.subClassOf):
            if self.asserted((s, RDF.type, cls)):
                return "cax-sco", [self._premise((s, RDF.type, cls), depth, seen)], \
                    self._super_chain(cls, o, RDFS.subClassOf)
        # prp-dom / prp-rng: a fact using a property whose domain / range is o (or below it)
        for rule, relation, position in (("prp-dom", RDFS.domain, 0), ("prp-rng", RDFS.range, 2)):
            for cls in {o} | self._subs(o, RDFS.subClassOf):
                for prop in self.tbox.subjects(relation, cls):
                    pattern = (s, prop, None) if position == 0 else (None, prop, s)
                    for fact in self._candidates(pattern):
                        if fact in seen:
                            continue
                        axioms = [(prop, relation, cls)] + (self._super_chain(cls, o, RDFS.subClassOf) or [])
                        return rule, [self._premise(fact, depth, seen)], axioms
        # an inferred type below o (explained in turn)
        for cls in self._subs(o, RDFS.subClassOf):
            if (s, RDF.type, cls) not in seen and self.holds((s, RDF.type, cls)):
                return "cax-sco", [self._premise((s, RDF.type, cls), depth, seen)], \
                    self._super_chain(cls, o, RDFS.subClassOf)
        return None

    def _by_transitivity(self, s, p, o, depth, seen):
        if (p, RDF.type, OWL.TransitiveProperty) not in self.tbox:
            return None
        for _, _, mid in self._candidates((s, p, None)):
            if mid not in (s, o) and self.holds((mid, p, o)) and (s, p, mid) not in seen and (mid, p, o) not in seen:
                return "prp-trp", [self._premise((s, p, mid), depth, seen), self._premise((mid, p, o), depth, seen)], \
                    [(p, RDF.type, OWL.TransitiveProperty)]
        return None


def term_json(term) -> dict:
    """A term in the SPARQL 1.1 JSON results shape."""
    if isinstance(term, Literal):
        out = {"type": "literal", "value": str(term)}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype:
            out["datatype"] = str(term.datatype)
        return out
    return {"type": "uri", "value": str(term)}


__all__ = ["Explainer", "RULES", "term_json"]
