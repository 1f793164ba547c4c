"""The default reasoner: the ontology's OWL 2 RL axioms compiled into rules, evaluated semi-naively over integers.

owlrl re-scans every triple against every OWL 2 RL rule until nothing changes (14.7 s on the article plus two
landscape snapshots). Our TBox uses a handful of constructs, so we read its axioms once and compile them into
look-up tables: prp-spo1 (subPropertyOf), prp-dom, prp-rng, cax-sco (subClassOf), prp-inv1/2 (inverseOf),
prp-symp, prp-trp. With those tables every rule but prp-trp has a single premise, so evaluation is semi-naive
(each triple, asserted or derived, goes through the rules once) and joins only on the transitive properties. The
closure from scratch goes a relation at a time (a rule takes a whole batch of one predicate's new pairs with set
operations; the transitive ones are closed by a search); updates go a triple at a time from a work list.
Terms are interned as integers so the sets and dicts hash small ints, not rdflib terms. No library did this over
rdflib terms at this speed (owlrl is naive; reasonable lacks datatype checks and deletion), hence hand-written.

The schema rules (scm-sco, scm-spo, scm-dom1/2, scm-rng1/2) need no tables of their own: following subPropertyOf
and subClassOf one step at a time gives the ABox what owlrl gets from the closed TBox, and the TBox triples they
derive never pass the output filter (builtin predicates).

Consistency checks, with owlrl's own messages so both reasoners report alike: prp-irp, prp-asyp, prp-pdw,
cax-dw, cls-nothing2, and owlrl's datatype checks (dt-not-type on each typed literal's lexical form, and cax-dw
over the disjoint XSD datatypes in use, e.g. a literal typed both xsd:string and, through a range, xsd:anyURI).
owlrl's datatype tables are used directly.

Anything else in the input's RDF/RDFS/OWL vocabulary is refused by a whitelist (``unsupported``) so the caller can
fall back to owlrl instead of being silently wrong. ``Materialisation`` keeps the closure and maintains it under
``add`` (semi-naive delta) and ``remove`` (DRed: over-delete, then re-derive), so after any sequence of updates the
closure equals a full re-closure.
"""
from __future__ import annotations

import gc
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Callable, Iterable, Iterator

from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes
from rdflib import OWL, RDF, RDFS, XSD, BNode, Literal, URIRef
from rdflib.term import Node

from .errors import Problem, ReasoningError
from .namespaces import compact
from .terms import IntTriple, TermTable

Triple = tuple[Node, Node, Node]

BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))

# Schema axioms the compiled rules read (and consistency axioms the checks read).
SCHEMA_PREDICATES = frozenset({RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.inverseOf,
                               OWL.disjointWith, OWL.propertyDisjointWith})
CHARACTERISTICS = frozenset({OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.IrreflexiveProperty,
                             OWL.AsymmetricProperty})
# Built-in predicates no OWL 2 RL rule reads (annotations and the ontology header): harmless.
NEUTRAL_PREDICATES = frozenset({RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, OWL.versionInfo,
                                OWL.versionIRI, OWL.priorVersion, OWL.backwardCompatibleWith,
                                OWL.incompatibleWith, OWL.deprecated, OWL.imports})
SUPPORTED_PREDICATES = SCHEMA_PREDICATES | NEUTRAL_PREDICATES | {RDF.type}
# Built-in classes an rdf:type may name: declarations (only TBox triples follow from them), the characteristics
# the rules compile, and owl:Nothing (cls-nothing2, an inconsistency).
SUPPORTED_TYPES = CHARACTERISTICS | {OWL.Class, RDFS.Class, OWL.ObjectProperty, OWL.DatatypeProperty,
                                     OWL.AnnotationProperty, RDF.Property, OWL.Ontology, OWL.NamedIndividual,
                                     OWL.Thing, OWL.Nothing}
# Built-in objects a schema axiom may name. A datatype as a range only types literals; owl:Thing adds nothing.
DATA_RANGES = frozenset(OWL_RL_Datatypes) | {XSD.gYear, XSD.gYearMonth, XSD.gMonthDay, XSD.gDay, XSD.gMonth}

_BUILTIN_OBJECTS = {RDFS.subClassOf: {OWL.Thing}, RDFS.domain: {OWL.Thing}, RDFS.range: {OWL.Thing} | DATA_RANGES}
_SUBSUMPTIONS = {dt: tuple(supers) for dt, supers in OWL_Datatype_Subsumptions.items()}
_RL_DATATYPES = frozenset(OWL_RL_Datatypes)


def _is_typed(term: Node) -> bool:
    """A literal with one of owlrl's datatypes (checked by the datatype rules)."""
    return isinstance(term, Literal) and term.datatype in _RL_DATATYPES


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building the closure allocates many small sets and tuples (no
    cycles), and each collection they trigger walks every object alive, rdflib's whole dataset included, so at 10x
    the collections cost more than the closure itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def is_builtin(term: Node) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(BUILTIN_NAMESPACES)


@dataclass(frozen=True)
class Unsupported:
    """One triple using OWL vocabulary the compiled rules do not implement."""

    construct: URIRef
    triple: Triple
    graph: Node | None = None

    def __str__(self) -> str:
        s, p, o = (compact(t) if isinstance(t, URIRef) else t.n3() for t in self.triple)
        where = f" in graph {compact(self.graph)}" if self.graph is not None else ""
        return f"{compact(self.construct)} ({s} {p} {o}{where})"


class UnsupportedConstruct(Exception):
    """The input uses OWL constructs the compiled reasoner does not implement: use owlrl instead."""

    def __init__(self, found: list[Unsupported]):
        self.found = found
        shown = "; ".join(str(u) for u in found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        super().__init__(f"the compiled OWL 2 RL reasoner does not support {shown}")


def unsupported(triple: Triple) -> URIRef | None:
    """The construct of ``triple`` the compiled rules do not implement, or None when they cover it.

    A whitelist: any built-in (rdf:, rdfs:, owl:, xsd:) predicate or class that is not listed is refused, so a
    construct added to the ontology later (a property chain, an equivalence, a restriction, a key) cannot be
    ignored silently. Schema axioms about built-in terms are refused too: owlrl gives those terms behaviour
    (datatype subsumption, axiomatic triples) the tables do not have."""
    s, p, o = triple
    if isinstance(p, URIRef) and not is_builtin(p):
        return None
    if isinstance(p, (BNode, Literal)):
        return None
    if p not in SUPPORTED_PREDICATES:
        return p
    if p == RDF.type:
        if is_builtin(o) and o not in SUPPORTED_TYPES:
            return o
        if o in CHARACTERISTICS and (is_builtin(s) or isinstance(s, Literal)):
            return o
        return None
    if p in NEUTRAL_PREDICATES:
        return None
    # a schema axiom
    if is_builtin(s) or isinstance(s, Literal) or isinstance(o, Literal):
        return p
    if is_builtin(o) and o not in _BUILTIN_OBJECTS.get(p, ()):
        return o
    return None


def find_unsupported(triples: Iterable[Triple], graph: Node | None = None) -> list[Unsupported]:
    found = []
    for triple in triples:
        construct = unsupported(triple)
        if construct is not None:
            found.append(Unsupported(construct, triple, graph))
    return found


# The messages owlrl writes into err:ErrorMessage nodes, reused word for word.
def _irreflexive(x, p) -> str:
    return "Irreflexive property used on %s with %s" % (x, p)


def _asymmetric(p, x, y) -> str:
    return "Erroneous usage of asymmetric property %s on %s and %s" % (p, x, y)


def _disjoint_properties(p1, p2, x, y) -> str:
    return "Erroneous usage of disjoint properties %s and %s on %s and %s" % (p1, p2, x, y)


def _disjoint_classes(c1, c2, x) -> str:
    return "Disjoint classes %s and %s have a common individual %s" % (c1, c2, x)


def _nothing(x) -> str:
    return "%s is defined of type 'Nothing'" % x


def _ill_typed(lt: Literal) -> str:
    return "Lexical value of the literal '%s' does not match its datatype (%s)" % (lt, lt.datatype)


def inconsistency_problem(message: str, label_of: Callable[[URIRef], object]) -> Problem:
    """One reasoner message as a user-facing problem: IRIs followed by their labels, and a lineage cycle named."""
    text = re.sub(r"\s+", " ", str(message)).strip()
    for iri in set(re.findall(r"https?://\S+?(?=[\s,>)]|$)", text)):
        label = label_of(URIRef(iri))
        if label is not None:
            text = text.replace(iri, f"{iri} ({label})")
    hint = ""
    if "Irreflexive" in text and "hasAncestor" in text:
        hint = "; this is a lineage cycle: an entity cannot be its own ancestor"
    return Problem("OWL 2 RL reasoner", None, f"inconsistent facts: {text}{hint}")


def _indexed(triples: Iterable[IntTriple]) -> dict[int, dict[int, set[int]]]:
    """Objects by subject by predicate."""
    by_predicate: dict[int, dict[int, set[int]]] = {}
    for s, p, o in triples:
        objects_of = by_predicate.get(p)
        if objects_of is None:
            objects_of = by_predicate[p] = {}
        objects = objects_of.get(s)
        if objects is None:
            objects_of[s] = {o}
        else:
            objects.add(o)
    return by_predicate


def _inverted(pairs: dict[int, set[int]]) -> dict[int, set[int]]:
    """Objects by subject turned into subjects by object."""
    inverted: dict[int, set[int]] = {}
    for s, objects in pairs.items():
        for o in objects:
            subjects = inverted.get(o)
            if subjects is None:
                inverted[o] = {s}
            else:
                subjects.add(s)
    return inverted


def _well_typed(lt: Literal) -> bool:
    try:
        AltXSDToPYTHON.get(lt.datatype, lambda v: v)(str(lt))
    except ValueError:
        return False
    return True


class _Rules:
    """The TBox compiled into per-term look-up tables (both directions: forward for derivation, backward for
    DRed's re-derivation)."""

    def __init__(self, schema: list[Triple], intern: Callable[[Node], int], type_id: int):
        def table() -> dict[int, list[int]]:
            return {}

        self.supers, self.subs = table(), table()            # direct rdfs:subPropertyOf
        self.sco, self.sub_classes = table(), table()        # direct rdfs:subClassOf
        self.dom, self.dom_of = table(), table()
        self.rng, self.rng_of = table(), table()
        self.inv = table()                                   # owl:inverseOf, both ways
        self.builtin_range_of: dict[int, list[int]] = {}     # datatype -> properties with it as range
        self.builtin_range: dict[int, list[int]] = {}        # and back
        self.symmetric: set[int] = set()
        self.transitive: set[int] = set()
        self.irreflexive: set[int] = set()
        self.asymmetric: set[int] = set()
        self.property_disjoint: list[tuple[int, int]] = []
        self.class_disjoint: list[tuple[int, int]] = []

        def link(forward: dict, backward: dict, a: int, b: int) -> None:
            if b not in forward.setdefault(a, []):
                forward[a].append(b)
                backward.setdefault(b, []).append(a)

        characteristics = {OWL.TransitiveProperty: self.transitive, OWL.SymmetricProperty: self.symmetric,
                           OWL.IrreflexiveProperty: self.irreflexive, OWL.AsymmetricProperty: self.asymmetric}
        for subject, name, obj in schema:
            s, o = intern(subject), intern(obj)
            if name == RDF.type:
                characteristics[obj].add(s)
                continue
            if name == RDFS.subPropertyOf and s != o:
                link(self.supers, self.subs, s, o)
            elif is_builtin(obj) and name in (RDFS.subClassOf, RDFS.domain, RDFS.range):
                # owl:Thing or a datatype (the whitelist allows no other): no rule reads such a typing and the
                # output filter drops it, so it is not stored; the datatype checks find it through range_of.
                if name == RDFS.range:
                    self.builtin_range_of.setdefault(o, []).append(s)
                    self.builtin_range.setdefault(s, []).append(o)
            elif name == RDFS.subClassOf and s != o:
                link(self.sco, self.sub_classes, s, o)
            elif name == RDFS.domain:
                link(self.dom, self.dom_of, s, o)
            elif name == RDFS.range:
                link(self.rng, self.rng_of, s, o)
            elif name == OWL.inverseOf:
                link(self.inv, {}, s, o)
                link(self.inv, {}, o, s)
            elif name == OWL.propertyDisjointWith:
                self.property_disjoint.append((s, o))
            elif name == OWL.disjointWith:
                self.class_disjoint.append((s, o))
        # One record per predicate with rules, so predicates without any (labels, most data) cost one dict miss.
        self.plan: dict[int, tuple] = {}
        for p in set(self.supers) | set(self.dom) | set(self.rng) | set(self.inv) | self.symmetric | self.transitive:
            self.plan[p] = (tuple(self.supers.get(p, ())), tuple(self.dom.get(p, ())), tuple(self.rng.get(p, ())),
                            tuple(self.inv.get(p, ())), p in self.symmetric, p in self.transitive)
        self.sco_plan = {c: tuple(d) for c, d in self.sco.items()}
        # The predicates whose triples are also indexed by object: those a rule or check looks up by object (the
        # transitive joins, the objects of a range, the members of a class). Most of the data is not among them.
        self.by_object = {type_id} | self.transitive | set(self.rng) | set(self.builtin_range)
        # The predicates a rule can derive a triple of; the others hold only asserted triples.
        self.derivable = ({type_id} | self.symmetric | self.transitive | {q for qs in self.supers.values() for q in qs}
                          | {q for qs in self.inv.values() for q in qs})
        self._superclasses: dict[int, set[int]] = {}

    def superclasses(self, c: int) -> set[int]:
        """The classes ``c`` is a subclass of, directly or not (cax-sco's reach)."""
        found = self._superclasses.get(c)
        if found is None:
            found, frontier = set(), list(self.sco.get(c, ()))
            while frontier:
                d = frontier.pop()
                if d not in found:
                    found.add(d)
                    frontier.extend(self.sco.get(d, ()))
            self._superclasses[c] = found
        return found


class Materialisation:
    """The OWL 2 RL closure of a set of triples, kept up to date under ``add`` and ``remove``.

    ``keep`` says which inferred triples are reported (``inferred()``, and the changes ``add``/``remove`` return);
    by default every inferred triple that is not asserted. Raises ``UnsupportedConstruct`` when the triples use OWL
    the rules do not implement, and ``ReasoningError`` when they are inconsistent."""

    # What _load builds from the asserted triples (and _reload puts back when the new state is inconsistent).
    _STATE = ("_asserted", "_rules", "_out", "_in", "_size", "_literals", "_literal_extent", "_disjoint_pairs")

    def __init__(self, triples: Iterable[Triple] | set[IntTriple], keep: Callable[[Triple], bool] | None = None,
                 reflexive: bool = False, table: TermTable | None = None):
        """``triples``: rdflib triples, or, with ``table``, triples already interned in it (shared, not copied:
        the build's dataset hands over its own table and the union of its graphs)."""
        self._keep_terms = keep
        self._reflexive = reflexive
        interned = table is not None
        self._table = table = table if interned else TermTable()
        self._terms = table.terms
        # ids of the literals with one of owlrl's datatypes
        self._typed_literals: set[int] = {i for i, term in enumerate(table.terms) if _is_typed(term)}
        self._keep_cache: dict[IntTriple, bool] = {}
        self._type = self._intern(RDF.type)
        self._label = self._intern(RDFS.label)
        self._nothing_id = self._intern(OWL.Nothing)
        self._schema_predicates = {self._intern(p) for p in SCHEMA_PREDICATES}
        self._characteristics = {self._intern(c) for c in CHARACTERISTICS}
        with paused_gc():
            self._load(triples if interned else self._intern_all(triples))
            messages = self._violations()
        if messages:
            raise ReasoningError(self._problems(messages))

    # ---------------------------------------------------------------- terms
    def _intern(self, term: Node) -> int:
        before = len(self._terms)
        found = self._table.intern(term)
        if found == before and _is_typed(term):
            self._typed_literals.add(found)
        return found

    def _intern_all(self, triples: Iterable[Triple]) -> set[IntTriple]:
        before = len(self._terms)
        out = self._table.intern_triples(triples)
        self._typed_literals.update(i for i in range(before, len(self._terms)) if _is_typed(self._terms[i]))
        return out

    def _id(self, term: Node) -> int | None:
        return self._table.id(term)

    def _term_triple(self, t: IntTriple) -> Triple:
        terms = self._terms
        return terms[t[0]], terms[t[1]], terms[t[2]]

    def _is_schema(self, t: IntTriple) -> bool:
        return t[1] in self._schema_predicates or (t[1] == self._type and t[2] in self._characteristics)

    def _check_supported(self, by_predicate: dict[int, dict[int, set[int]]]) -> None:
        """Raise ``UnsupportedConstruct`` for the triples (objects by subject by predicate) that ``unsupported``
        refuses. Most predicates are ours or annotations: those are decided once for all their triples."""
        found, builtin_class = [], {}
        for p, objects_of in by_predicate.items():
            term = self._terms[p]
            if not is_builtin(term) or term in NEUTRAL_PREDICATES:
                continue
            for s, objects in objects_of.items():
                for o in objects:
                    if p == self._type:   # decide once per class, but look at each characteristic's subject
                        builtin = builtin_class.get(o)
                        if builtin is None:
                            builtin = builtin_class[o] = is_builtin(self._terms[o])
                        if not builtin:
                            continue
                    triple = self._term_triple((s, p, o))
                    construct = unsupported(triple)
                    if construct is not None:
                        found.append(Unsupported(construct, triple))
        if found:
            raise UnsupportedConstruct(found)

    # ---------------------------------------------------------------- state
    def _load(self, asserted: set[IntTriple]) -> None:
        """Check ``asserted`` (``UnsupportedConstruct``), compile its TBox and compute the closure from scratch."""
        self._asserted = asserted
        # predicate -> subject -> objects, and for the predicates in rules.by_object, predicate -> object -> subjects
        self._out: dict[int, dict[int, set[int]]] = _indexed(asserted)
        self._check_supported(self._out)
        instances = _inverted(self._out.get(self._type, {}))
        self._rules = _Rules(self._schema(instances), self._intern, self._type)
        self._in: dict[int, dict[int, set[int]]] = {
            p: instances if p == self._type else _inverted(self._out.get(p, {})) for p in self._rules.by_object}
        self._size = len(asserted)
        self._literals: Counter[int] = Counter()     # typed literals (owlrl's datatypes) in asserted objects
        self._literal_extent: dict[int, set[int]] = {}   # datatype -> those literals dt-type2 types with it
        uses = Counter(map(itemgetter(2), asserted))
        for o in self._typed_literals.intersection(uses):
            self._count_literal(o, uses[o])
        self._close()
        self._disjoint_pairs = self._class_disjoint_pairs()

    def _schema(self, instances: dict[int, set[int]]) -> list[Triple]:
        """The TBox axioms among the asserted triples, found through the index (``instances``: the asserted
        rdf:type triples, subjects by class): the schema predicates' triples and the characteristics' typings."""
        found = [(s, p, o) for p in self._schema_predicates for s, objects in self._out.get(p, {}).items()
                 for o in objects]
        found += [(s, self._type, c) for c in self._characteristics for s in instances.get(c, ())]
        return [self._term_triple(t) for t in found]

    def _count_literal(self, o: int, step: int) -> bool:
        """Count ``step`` more (or fewer) asserted uses of a typed literal; True when it appears or disappears."""
        if o not in self._typed_literals:
            return False
        self._literals[o] += step
        if self._literals[o] <= 0:
            del self._literals[o]
            for datatype in self._literal_types(o):
                members = self._literal_extent[datatype]
                members.discard(o)
                if not members:
                    del self._literal_extent[datatype]
            return True
        if self._literals[o] == step and step > 0:
            for datatype in self._literal_types(o):
                self._literal_extent.setdefault(datatype, set()).add(o)
            return True
        return False

    def _literal_types(self, o: int) -> tuple[int, ...]:
        """The datatypes owlrl's dt-type2 gives an asserted typed literal (its own and its supertypes)."""
        datatype = self._terms[o].datatype
        return tuple(self._intern(d) for d in (datatype, *_SUBSUMPTIONS.get(datatype, ())))

    def _class_disjoint_pairs(self) -> list[tuple[int, int]]:
        """TBox disjointWith pairs plus owlrl's disjointness of the top-level datatypes that are in use."""
        used = self._literal_extent
        pairs = list(self._rules.class_disjoint)
        for c1, _, c2 in OWLRL_Datatypes_Disjointness:
            pair = self._intern(c1), self._intern(c2)
            if pair[0] in used and pair[1] in used:
                pairs.append(pair)
        return pairs

    def _store(self, t: IntTriple) -> bool:
        s, p, o = t
        by_subject = self._out.get(p)
        if by_subject is None:
            by_subject = self._out[p] = {}
        objects = by_subject.get(s)
        if objects is None:
            by_subject[s] = {o}
        elif o in objects:
            return False
        else:
            objects.add(o)
        by_object = self._in.get(p)
        if by_object is not None:
            subjects = by_object.get(o)
            if subjects is None:
                by_object[o] = {s}
            else:
                subjects.add(s)
        self._size += 1
        return True

    def _unstore(self, t: IntTriple) -> None:
        s, p, o = t
        objects = self._out[p][s]
        objects.discard(o)
        if not objects:
            del self._out[p][s]
        by_object = self._in.get(p)
        if by_object is not None:
            subjects = by_object[o]
            subjects.discard(s)
            if not subjects:
                del by_object[o]
        self._size -= 1

    def __contains__(self, triple: Triple) -> bool:
        s, p, o = (self._id(x) for x in triple)
        return None not in (s, p, o) and self._has(s, p, o)

    def __len__(self) -> int:
        return self._size

    def _has(self, s: int, p: int, o: int) -> bool:
        return o in self._out.get(p, {}).get(s, ())

    # ---------------------------------------------------------------- rules
    def _consequences(self, s: int, p: int, o: int) -> Iterator[IntTriple]:
        """Everything one rule application derives with (s p o) as a premise (the other premises from the store)."""
        plan = self._rules.plan.get(p)
        if plan is not None:
            supers, domains, ranges, inverses, symmetric, transitive = plan
            for q in supers:                      # prp-spo1
                yield s, q, o
            for c in domains:                     # prp-dom
                yield s, self._type, c
            for c in ranges:                      # prp-rng
                yield o, self._type, c
            for q in inverses:                    # prp-inv1, prp-inv2
                yield o, q, s
            if symmetric:                         # prp-symp
                yield o, p, s
            if transitive:                        # prp-trp, joined both ways
                by_subject, by_object = self._out[p], self._in[p]
                for z in tuple(by_subject.get(o, ())):
                    yield s, p, z
                for w in tuple(by_object.get(s, ())):
                    yield w, p, o
        if p == self._type:
            for d in self._rules.sco_plan.get(o, ()):   # cax-sco
                yield s, p, d

    def _close(self) -> None:
        """Store everything the rules derive from the stored (asserted) triples, a relation at a time: each rule
        applies to a whole batch of one predicate's new pairs with set operations (prp-spo1 merges object sets,
        prp-dom takes the subjects), and each pair of a predicate is in one batch only (semi-naive). Properties
        first: no rule derives a property triple from a typing, so the typings prp-dom and prp-rng give are
        collected and closed under cax-sco once, at the end. The same fixpoint as ``_propagate`` reaches triple
        by triple, at a fraction of the Python-level work."""
        rules = self._rules
        typed: dict[int, set[int]] = {}    # class -> instances, by prp-dom and prp-rng
        # predicate -> subject -> objects not yet through the predicate's rules: at first every stored pair (copied
        # when a rule can add to the store's sets while the batch waits)
        pending = {p: {s: set(objects) for s, objects in self._out[p].items()} if p in rules.derivable else self._out[p]
                   for p in rules.plan if p in self._out}
        while pending:
            p, batch = pending.popitem()
            supers, domains, ranges, inverses, symmetric, transitive = rules.plan[p]
            for c in domains:                                                # prp-dom
                typed.setdefault(c, set()).update(batch)
            if ranges:                                                       # prp-rng
                objects = set().union(*batch.values())
                for c in ranges:
                    typed.setdefault(c, set()).update(objects)
            derived = [(q, batch) for q in supers]                          # prp-spo1
            if inverses or symmetric:
                backwards = _inverted(batch)
                derived += [(q, backwards) for q in inverses]                # prp-inv1, prp-inv2
                if symmetric:
                    derived.append((p, backwards))                           # prp-symp
            for q, pairs in derived:
                self._wait(pending, q, self._store_pairs(q, pairs))
            if transitive:                                                   # prp-trp
                self._wait(pending, p, self._store_pairs(p, self._transitive_gaps(p)))
        self._store_typings(typed)

    def _wait(self, pending: dict[int, dict[int, set[int]]], p: int, fresh: dict[int, set[int]]) -> None:
        """Queue ``fresh`` pairs of ``p`` for its rules (if it has any)."""
        if not fresh or p not in self._rules.plan:
            return
        queued = pending.get(p)
        if queued is None:
            pending[p] = fresh
            return
        for s, objects in fresh.items():
            waiting = queued.get(s)
            if waiting is None:
                queued[s] = objects
            else:
                waiting |= objects

    def _store_pairs(self, p: int, pairs: dict[int, set[int]]) -> dict[int, set[int]]:
        """Store the triples (s p o) for the objects by subject in ``pairs``; return those that were not stored
        yet, likewise (new sets, never the store's)."""
        by_subject = self._out.setdefault(p, {})
        by_object = self._in.get(p)
        fresh = {}
        for s, objects in pairs.items():
            stored = by_subject.get(s)
            if stored is None:
                by_subject[s] = set(objects)
                new = set(objects)
            else:
                new = objects - stored
                if not new:
                    continue
                stored |= new
            fresh[s] = new
            self._size += len(new)
            if by_object is not None:
                for o in new:
                    subjects = by_object.get(o)
                    if subjects is None:
                        by_object[o] = {s}
                    else:
                        subjects.add(s)
        return fresh

    def _transitive_gaps(self, p: int) -> dict[int, set[int]]:
        """prp-trp in one go: for each subject of the transitive ``p``, what it reaches through ``p`` (a search
        over the stored pairs) that is not yet among its objects."""
        successors = self._out[p]
        gaps = {}
        for s, direct in successors.items():
            reached, frontier = set(), list(direct)
            while frontier:
                x = frontier.pop()
                if x not in reached:
                    reached.add(x)
                    frontier.extend(successors.get(x, ()))
            missing = reached - direct
            if missing:
                gaps[s] = missing
        return gaps

    def _store_typings(self, typed: dict[int, set[int]]) -> None:
        """Store the typings of ``typed`` (instances by class) and cax-sco's: an instance of a class, typed
        there or stored, is an instance of each of the class's superclasses."""
        rules, instances = self._rules, self._in[self._type]
        wanted: dict[int, set[int]] = {}
        for c, members in typed.items():
            for d in (c, *rules.superclasses(c)):
                wanted.setdefault(d, set()).update(members)
        for c, members in instances.items():
            for d in rules.superclasses(c):
                wanted.setdefault(d, set()).update(members)
        classes_of = self._out.setdefault(self._type, {})
        for c, members in wanted.items():
            stored = instances.get(c)
            if stored is None:
                new = instances[c] = members
            else:
                new = members - stored
                stored |= new
            self._size += len(new)
            for s in new:
                classes = classes_of.get(s)
                if classes is None:
                    classes_of[s] = {c}
                else:
                    classes.add(c)

    def _propagate(self, work: list[IntTriple]) -> list[IntTriple]:
        """Semi-naive evaluation of an update, triple by triple: every triple on the work list (already stored)
        is joined once with the store; returns the triples it adds. The rules of ``_consequences`` and the store
        are inlined: this loop is where an update's time goes."""
        added = []
        plans, type_id, sco = self._rules.plan, self._type, self._rules.sco_plan
        out, into = self._out, self._in
        while work:
            s, p, o = work.pop()
            plan = plans.get(p)
            if plan is not None:
                supers, domains, ranges, inverses, symmetric, transitive = plan
                found = []
                if supers:
                    found += [(s, q, o) for q in supers]
                if domains:
                    found += [(s, type_id, c) for c in domains]
                if ranges:
                    found += [(o, type_id, c) for c in ranges]
                if inverses:
                    found += [(o, q, s) for q in inverses]
                if symmetric:
                    found.append((o, p, s))
                if transitive:
                    found += [(s, p, z) for z in out[p].get(o, ())]
                    found += [(w, p, o) for w in into[p].get(s, ())]
                if p == type_id and o in sco:
                    found += [(s, p, d) for d in sco[o]]
            elif p == type_id and o in sco:
                found = [(s, p, d) for d in sco[o]]
            else:
                continue
            for t in found:
                s2, p2, o2 = t
                by_subject = out.get(p2)
                if by_subject is None:
                    by_subject = out[p2] = {}
                objects = by_subject.get(s2)
                if objects is None:
                    by_subject[s2] = {o2}
                elif o2 in objects:
                    continue
                else:
                    objects.add(o2)
                by_object = into.get(p2)
                if by_object is not None:
                    subjects = by_object.get(o2)
                    if subjects is None:
                        by_object[o2] = {s2}
                    else:
                        subjects.add(s2)
                work.append(t)
                added.append(t)
        self._size += len(added)
        return added

    def _derivable(self, t: IntTriple) -> bool:
        """Whether one rule derives ``t`` from the triples now stored (DRed's re-derivation test)."""
        s, p, o = t
        rules, has = self._rules, self._has
        if any(has(s, q, o) for q in rules.subs.get(p, ())):
            return True
        if any(has(o, q, s) for q in rules.inv.get(p, ())):
            return True
        if p in rules.symmetric and has(o, p, s):
            return True
        if p in rules.transitive:
            successors = self._out.get(p, {}).get(s, ())
            predecessors = self._in.get(p, {}).get(o, ())
            if len(successors) > len(predecessors):
                successors, predecessors = predecessors, successors
            if any(y in predecessors for y in successors):
                return True
        if p == self._type:
            if any(s in self._out.get(q, ()) for q in rules.dom_of.get(o, ())):
                return True
            if any(s in self._in.get(q, ()) for q in rules.rng_of.get(o, ())):
                return True
            if any(has(s, p, c) for c in rules.sub_classes.get(o, ())):
                return True
        return False

    # ---------------------------------------------------------------- checks
    def _extent(self, c: int) -> set[int]:
        """The members of class ``c``: typed in the store, or (a datatype) typed literals owlrl's dt-type2 types."""
        members = set(self._in.get(self._type, {}).get(c, ())) | self._literal_extent.get(c, set())
        for p in self._rules.builtin_range_of.get(c, ()):   # prp-rng to a datatype, not stored
            members.update(self._in.get(p, ()))
        return members

    def _is_a(self, x: int, c: int) -> bool:
        return (self._has(x, self._type, c) or x in self._literal_extent.get(c, ())
                or any(x in self._in.get(p, ()) for p in self._rules.builtin_range_of.get(c, ())))

    def _violations(self, new: list[IntTriple] | None = None, new_literals: Iterable[int] = (),
                    new_pairs: Iterable[tuple[int, int]] = ()) -> list[str]:
        """owlrl's inconsistency messages: of the whole closure when ``new`` is None, else only those that the
        ``new`` triples (already stored), new literals and newly disjoint datatype pairs can have caused."""
        rules, terms, has = self._rules, self._terms, self._has
        messages: list[str] = []
        if new is None:
            for p in rules.irreflexive:
                for x, objects in self._out.get(p, {}).items():
                    if x in objects:
                        messages.append(_irreflexive(terms[x], terms[p]))
            for p in rules.asymmetric:
                for x, objects in self._out.get(p, {}).items():
                    messages.extend(_asymmetric(terms[p], terms[x], terms[y]) for y in objects if has(y, p, x))
            for p1, p2 in rules.property_disjoint:
                for x, objects in self._out.get(p1, {}).items():
                    messages.extend(_disjoint_properties(terms[p1], terms[p2], terms[x], terms[y])
                                    for y in objects if has(x, p2, y))
            messages.extend(_nothing(terms[x]) for x in self._in.get(self._type, {}).get(self._nothing_id, ()))
            messages.extend(_ill_typed(terms[o]) for o in self._literals if not _well_typed(terms[o]))
            new_pairs = self._disjoint_pairs
        else:
            pairs_by_class: dict[int, list[tuple[int, int]]] = {}
            for pair in self._disjoint_pairs:
                for c in set(pair):
                    pairs_by_class.setdefault(c, []).append(pair)
            property_pairs: dict[int, list[tuple[int, int]]] = {}
            for pair in rules.property_disjoint:
                for p in set(pair):
                    property_pairs.setdefault(p, []).append(pair)
            for x, p, y in new:
                if p in rules.irreflexive and x == y:
                    messages.append(_irreflexive(terms[x], terms[p]))
                if p in rules.asymmetric and has(y, p, x):
                    messages.append(_asymmetric(terms[p], terms[x], terms[y]))
                    if x != y:
                        messages.append(_asymmetric(terms[p], terms[y], terms[x]))
                for p1, p2 in property_pairs.get(p, ()):
                    if has(x, p1, y) and has(x, p2, y):
                        messages.append(_disjoint_properties(terms[p1], terms[p2], terms[x], terms[y]))
                for c in rules.builtin_range.get(p, ()):    # a typing by a datatype range is not stored
                    for c1, c2 in pairs_by_class.get(c, ()):
                        if self._is_a(y, c1) and self._is_a(y, c2):
                            messages.append(_disjoint_classes(terms[c1], terms[c2], terms[y]))
                if p == self._type:
                    if y == self._nothing_id:
                        messages.append(_nothing(terms[x]))
                    for c1, c2 in pairs_by_class.get(y, ()):
                        if self._is_a(x, c1) and self._is_a(x, c2):
                            messages.append(_disjoint_classes(terms[c1], terms[c2], terms[x]))
            for o in new_literals:
                if not _well_typed(terms[o]):
                    messages.append(_ill_typed(terms[o]))
                for c in self._literal_types(o):
                    for c1, c2 in pairs_by_class.get(c, ()):
                        if self._is_a(o, c1) and self._is_a(o, c2):
                            messages.append(_disjoint_classes(terms[c1], terms[c2], terms[o]))
        for c1, c2 in new_pairs:
            second = self._extent(c2)
            messages.extend(_disjoint_classes(terms[c1], terms[c2], terms[x]) for x in self._extent(c1)
                            if x in second)
        return sorted(set(messages))

    def _label_of(self, iri: URIRef):
        i = self._id(iri)
        labels = self._out.get(self._label, {}).get(i, ()) if i is not None else ()
        return self._terms[min(labels)] if labels else None

    def _problems(self, messages: list[str]) -> list[Problem]:
        return [inconsistency_problem(m, self._label_of) for m in messages]

    # ---------------------------------------------------------------- results
    def _kept(self, t: IntTriple) -> bool:
        """Stored, not asserted, and (by ``keep``) worth reporting. owlrl drops triples with a blank-node
        predicate after its fixpoint (they may still take part in derivations), so they are never reported."""
        verdict = self._keep_cache.get(t)
        if verdict is False or t in self._asserted or not self._has(*t):
            return False
        if verdict is None:
            triple = self._term_triple(t)
            verdict = not isinstance(triple[1], BNode) and (self._keep_terms is None or self._keep_terms(triple))
            self._keep_cache[t] = verdict
        return verdict

    def _all(self) -> Iterator[IntTriple]:
        for p, by_subject in self._out.items():
            for s, objects in by_subject.items():
                for o in objects:
                    yield s, p, o

    def inferred(self) -> set[Triple]:
        """The inferred triples ``keep`` accepts (not those asserted)."""
        asserted, keep, terms, found = self._asserted, self._keep_terms, self._terms, []
        with paused_gc():   # _kept, inlined and uncached: this runs over the closure
            for p in self._rules.derivable:   # only asserted triples have another predicate
                by_subject = self._out.get(p)
                predicate = terms[p]
                if by_subject is None or isinstance(predicate, BNode):
                    continue
                for s, objects in by_subject.items():
                    subject = terms[s]
                    for o in objects:
                        if (s, p, o) not in asserted:
                            found.append((subject, predicate, terms[o]))
            result = set(found if keep is None else filter(keep, found))
            if self._reflexive:
                for triple in self._reflexive_axioms():
                    if (keep is None or keep(triple)) and not self._asserted_triple(triple):
                        result.add(triple)
        return result

    def _asserted_triple(self, triple: Triple) -> bool:
        ids = [self._id(term) for term in triple]
        return None not in ids and tuple(ids) in self._asserted

    def _reflexive_axioms(self) -> Iterator[Triple]:
        """What OWL 2 RL's reflexive rules add, which derive nothing further here and which cnkg's own pipeline does
        not keep (they are about every term, not about entities): eq-ref (every resource ``owl:sameAs`` itself),
        scm-cls (a class is its own subclass and equivalent, a subclass of ``owl:Thing``, a superclass of
        ``owl:Nothing``), scm-op and scm-dp (a property is its own sub-property and equivalent)."""
        terms = self._terms
        seen: set[int] = set()
        for s, p, o in self._all():
            seen.update((s, p, o))
        for i in seen:
            term = terms[i]
            if not isinstance(term, Literal):
                yield term, OWL.sameAs, term
        for c, types in self._out.get(self._type, {}).items():
            kinds = {terms[k] for k in types}
            term = terms[c]
            if OWL.Class in kinds:
                yield from ((term, RDFS.subClassOf, term), (term, OWL.equivalentClass, term),
                            (term, RDFS.subClassOf, OWL.Thing), (OWL.Nothing, RDFS.subClassOf, term))
            if OWL.ObjectProperty in kinds or OWL.DatatypeProperty in kinds:
                yield from ((term, RDFS.subPropertyOf, term), (term, OWL.equivalentProperty, term))

    def triples(self) -> Iterator[Triple]:
        """The whole closure, asserted triples included."""
        return (self._term_triple(t) for t in self._all())

    def asserted(self) -> set[Triple]:
        return {self._term_triple(t) for t in self._asserted}

    # ---------------------------------------------------------------- updates
    def _changes(self, touched: Iterable[IntTriple], before: dict[IntTriple, bool]) -> tuple[set, set]:
        added, removed = set(), set()
        for t in touched:
            now = self._kept(t)
            if now != before[t]:
                (added if now else removed).add(self._term_triple(t))
        return added, removed

    def _reload(self, asserted: set[IntTriple]) -> tuple[set[Triple], set[Triple]]:
        """A TBox change: recompile and re-close from scratch; on an inconsistency restore the old state."""
        old = {name: getattr(self, name) for name in self._STATE}
        kept_before = {t for t in self._all() if self._kept(t)}
        self._keep_cache.clear()
        self._load(asserted)
        messages = self._violations()
        if messages:
            for name, value in old.items():
                setattr(self, name, value)
            raise ReasoningError(self._problems(messages))
        kept_after = {t for t in self._all() if self._kept(t)}
        return ({self._term_triple(t) for t in kept_after - kept_before},
                {self._term_triple(t) for t in kept_before - kept_after})

    def add(self, triples: Iterable[Triple]) -> tuple[set[Triple], set[Triple]]:
        """Assert ``triples``; return the reported inferred triples (added, removed). A triple that was inferred
        and is now asserted leaves the inferred set. Raises (state unchanged) ``UnsupportedConstruct`` or
        ``ReasoningError`` when the result would use unsupported OWL or be inconsistent, e.g. a lineage cycle."""
        with paused_gc():
            return self._add(triples)

    def _add(self, triples: Iterable[Triple]) -> tuple[set[Triple], set[Triple]]:
        new = self._intern_all(triples) - self._asserted
        self._check_supported(_indexed(new))
        if not new:
            return set(), set()
        if any(self._is_schema(t) for t in new):
            return self._reload(self._asserted | new)
        before = {t: self._kept(t) for t in new}
        stored = [t for t in new if self._store(t)]
        derived = self._propagate(list(new))
        fresh_literals = [t[2] for t in new if self._count_literal(t[2], 1)]
        pairs = self._class_disjoint_pairs()
        new_pairs = [pair for pair in pairs if pair not in self._disjoint_pairs]
        old_pairs, self._disjoint_pairs = self._disjoint_pairs, pairs
        messages = self._violations(stored + derived, fresh_literals, new_pairs)
        if messages:
            problems = self._problems(messages)
            for t in stored + derived:
                self._unstore(t)
            for t in new:
                self._count_literal(t[2], -1)
            self._disjoint_pairs = old_pairs
            raise ReasoningError(problems)
        self._asserted |= new
        before.update((t, False) for t in derived)
        return self._changes(before, before)

    def remove(self, triples: Iterable[Triple]) -> tuple[set[Triple], set[Triple]]:
        """Retract asserted ``triples`` (others are ignored: an inferred triple stays while its premises do);
        return the reported inferred triples (added, removed). Uses DRed: over-delete everything derived from
        them, then re-derive what still follows from the rest."""
        with paused_gc():
            return self._remove(triples)

    def _remove(self, triples: Iterable[Triple]) -> tuple[set[Triple], set[Triple]]:
        gone = set()
        for triple in triples:
            t = tuple(self._id(x) for x in triple)
            if t in self._asserted:
                gone.add(t)
        if not gone:
            return set(), set()
        if any(self._is_schema(t) for t in gone):
            return self._reload(self._asserted - gone)
        # over-delete: everything with a derivation through a deleted triple (asserted triples stay)
        deleted, work = set(gone), list(gone)
        remaining = self._asserted - gone
        while work:
            for c in self._consequences(*work.pop()):
                if c not in deleted and c not in remaining and self._has(*c):
                    deleted.add(c)
                    work.append(c)
        before = {t: self._kept(t) for t in deleted}
        for t in deleted:
            self._unstore(t)
        self._asserted = remaining
        for t in gone:
            self._count_literal(t[2], -1)
        # re-derive: what still has a one-step derivation comes back, and everything that follows from it
        back = [t for t in deleted if self._derivable(t)]
        for t in back:
            self._store(t)
        self._propagate(back)
        self._disjoint_pairs = self._class_disjoint_pairs()   # fewer literals: some datatype pairs may go
        return self._changes(before, before)
