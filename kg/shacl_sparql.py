"""SHACL shapes compiled to SPARQL queries that Oxigraph evaluates; pySHACL stays the reference.

pySHACL walks the data focus node by focus node in Python (3.1 s of a 8.3 s cold build at 1×, 26 s at 10×, and
it needs the whole graph as an rdflib Graph); the same checks as set-at-a-time SPARQL take a fraction of that on
the store the build writes anyway. The compiler covers the SHACL Core subset cnkg's shapes use (and the
symmetrical constraints next to it); any other construct raises :class:`UnsupportedShape` naming it, and the
caller falls back to pySHACL: never silently wrong. tests/test_shacl_sparql.py compares the two validators'
reports on hand-made and random graphs, tests/test_landscape_real.py on the real data.

Each check is one query returning the offending focus nodes (and value nodes), so its result is the set of
validation results of one constraint component, as the SHACL specification defines them:
https://www.w3.org/TR/shacl/#core-components
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Iterator

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection

from .errors import InvalidInput, Problem
from .namespaces import compact
from .store import from_ox

SH = Namespace("http://www.w3.org/ns/shacl#")

# Predicates of a shape that change no result (or that the compiler reads itself, below)
INERT = {RDF.type, RDFS.label, RDFS.comment, SH.name, SH.description, SH.order, SH.group, SH.message,
         SH.severity, SH.deactivated, SH.defaultValue}
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
COMPARISONS = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}
LENGTHS = {SH.minLength: "<", SH.maxLength: ">"}   # the violating comparison of STRLEN with the bound
NODE_KINDS = {  # the violating test of each sh:nodeKind value
    SH.IRI: "!isIRI(?v)", SH.BlankNode: "!isBlank(?v)", SH.Literal: "!isLiteral(?v)",
    SH.BlankNodeOrIRI: "isLiteral(?v)", SH.BlankNodeOrLiteral: "isIRI(?v)", SH.IRIOrLiteral: "isBlank(?v)",
}
VALUE_CONSTRAINTS = {SH["class"], SH.datatype, SH.nodeKind, SH.pattern, SH.flags, *COMPARISONS, *LENGTHS}
COUNT_CONSTRAINTS = {SH.minCount, SH.maxCount}
LOGICAL = {SH["or"]: "Or", SH.xone: "Xone"}
STRING_TYPES = {XSD.string, RDF.langString}


class UnsupportedShape(Exception):
    """A shapes graph uses a construct the compiler does not translate (the message says which, and where)."""


@dataclass(frozen=True)
class Violation:
    """One validation result: ``value`` is None for the cardinality components (the specification gives none)."""

    focus: object
    path: object
    component: URIRef
    value: object
    message: str


@dataclass(frozen=True)
class Check:
    """One constraint of one shape as a query. ``returns``: ``"focus"`` (rows bind ?this: cardinality results),
    ``"self"`` (?this, which is also the value: a node shape's logical constraints) or ``"value"`` (?this ?v).
    ``well_formed``: for sh:datatype, the datatype whose lexical forms are checked in Python afterwards."""

    query: str
    returns: str
    component: URIRef
    path: object
    message: str
    well_formed: URIRef | None = None
    focus: str = ""
    values: str = ""
    prologue: str = ""


def sparql_term(term) -> str:
    if isinstance(term, BNode):
        raise UnsupportedShape(f"a blank node {term} used as a value in a shape")
    return term.n3()


def _component(name: str) -> URIRef:
    return SH[f"{name}ConstraintComponent"]


class ShapeCompiler:
    """The checks of a shapes graph; :meth:`checks` raises :class:`UnsupportedShape` on what it cannot translate."""

    def __init__(self, shapes: Graph):
        self.shapes = shapes
        self.prologue = ""
        self.focus_outside_data = False

    def checks(self) -> list[Check]:
        g = self.shapes
        roots = {s for s in g.subjects(RDF.type, SH.NodeShape)} | {s for s in g.subjects(RDF.type, SH.PropertyShape)}
        roots |= {s for t in TARGETS for s in g.subjects(t, None)}
        roots |= {s for s in g.subjects(RDF.type, RDFS.Class) if (s, RDF.type, SH.NodeShape) in g}
        checks: list[Check] = []
        for shape in sorted(roots, key=str):
            self.prologue = ""  # the prefixes of the shape's SPARQL targets, which its sub-SELECTs use
            # sh:targetNode and SPARQL targets may name nodes absent from the data (see path())
            self.focus_outside_data = any((shape, t, None) in g for t in (SH.targetNode, SH.target))
            focus = self._focus(shape)
            if focus is None or self._deactivated(shape):
                continue
            found = self._property_checks(shape, focus) if (shape, SH.path, None) in g else self._node_checks(shape, focus)
            checks += [replace(c, query=self.prologue + c.query, prologue=self.prologue) for c in found]
        return checks

    # ------------------------------------------------------------------ shapes

    def _deactivated(self, shape) -> bool:
        """sh:deactivated true: every node conforms, so nothing of the shape (nor of its sh:property) is checked."""
        deactivated = self.shapes.value(shape, SH.deactivated)
        return isinstance(deactivated, Literal) and deactivated.toPython() is True

    def _reported(self, shape) -> bool:
        """The shape's own results are violations (cnkg reports those only); a sh:property of a shape of another
        severity still reports at its own severity."""
        severity = self.shapes.value(shape, SH.severity)
        return severity is None or severity == SH.Violation

    def _natural(self, shape, predicate, value) -> int:
        """A count or length bound: a non-negative xsd:integer, else the shapes graph is wrong (an error naming
        the shape and the value, whichever validator would read it)."""
        if isinstance(value, Literal) and value.datatype == XSD.integer and isinstance(value.value, int) \
                and value.value >= 0:
            return value.value
        hint = f" (write {value}, without quotes)" if str(value).isdigit() else ""
        raise InvalidInput([Problem("SHACL shapes", None, f"{self.name(shape)}: {_sh(predicate)} {value.n3()} is not "
                                                          f"a non-negative integer{hint}")])

    def _message(self, shape, default: str) -> str:
        message = self.shapes.value(shape, SH.message)
        return str(message) if message is not None else default

    def _allowed(self, shape, allowed: set) -> None:
        for predicate in set(self.shapes.predicates(shape, None)):
            if predicate in INERT or predicate in allowed:
                continue
            if str(predicate).startswith(str(SH)):
                raise UnsupportedShape(f"{_sh(predicate)} (on {self.name(shape)}) is not compiled to SPARQL")

    def _focus(self, shape) -> str | None:
        """A group graph pattern binding ?this to the shape's focus nodes (distinct), or None without targets."""
        g = self.shapes
        parts = [f"?this a/<{RDFS.subClassOf}>* {sparql_term(c)} ." for c in g.objects(shape, SH.targetClass)]
        if (shape, RDF.type, RDFS.Class) in g:
            parts.append(f"?this a/<{RDFS.subClassOf}>* {sparql_term(shape)} .")
        nodes = " ".join(sparql_term(n) for n in g.objects(shape, SH.targetNode))
        if nodes:
            parts.append(f"VALUES ?this {{ {nodes} }}")
        parts += [f"?this {sparql_term(p)} [] ." for p in g.objects(shape, SH.targetSubjectsOf)]
        parts += [f"[] {sparql_term(p)} ?this ." for p in g.objects(shape, SH.targetObjectsOf)]
        for target in g.objects(shape, SH.target):
            parts.append(self._sparql_target(target))
        if not parts:
            return None
        union = " UNION ".join(f"{{ {p} }}" for p in parts)
        return f"{{ SELECT DISTINCT ?this WHERE {{ {union} }} }}"

    def _sparql_target(self, target) -> str:
        g = self.shapes
        select = g.value(target, SH.select)
        if (target, RDF.type, SH.SPARQLTarget) not in g or select is None:
            raise UnsupportedShape(f"sh:target {target}: only sh:SPARQLTarget with sh:select is compiled")
        prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in self._prefixes(target))
        # checked first as it is used, a sub-SELECT (which has no PREFIX or BASE of its own): an error names the
        # target, not a generated query
        try:
            ox.Store().query(prologue + "SELECT * WHERE { " + str(select) + " }")
        except SyntaxError as error:
            raise UnsupportedShape(f"the sh:select of sh:target {target} does not parse: {error}") from None
        self.prologue += prologue
        return "{ " + str(select) + " }"

    def _prefixes(self, node) -> list[tuple[str, str]]:
        g = self.shapes
        found = []
        for owner in g.objects(node, SH.prefixes):
            for declaration in g.objects(owner, SH.declare):
                found.append((str(g.value(declaration, SH.prefix)), str(g.value(declaration, SH.namespace))))
        return found

    def _property_checks(self, shape, focus: str) -> list[Check]:
        self._allowed(shape, {SH.path, *TARGETS, *VALUE_CONSTRAINTS, *COUNT_CONSTRAINTS})
        if not self._reported(shape):
            return []
        path_node = self.shapes.value(shape, SH.path)
        path = self.path(path_node)
        values = f"?this {path} ?v ."
        report_path = path_node
        checks = []
        for bound in self.shapes.objects(shape, SH.minCount):
            n = self._natural(shape, SH.minCount, bound)
            if n == 0:
                continue
            # one value: a NOT EXISTS per focus node is cheaper than counting every value
            where = (f"{focus} FILTER NOT EXISTS {{ {values} }}" if n == 1 else
                     f"{focus} OPTIONAL {{ {values} }}")
            having = "" if n == 1 else f" GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {n})"
            checks.append(Check(f"SELECT DISTINCT ?this WHERE {{ {where} }}{having}", "focus", _component("MinCount"),
                                report_path, self._message(shape, f"fewer than {n} values of {self._show(path_node)}")))
        for bound in self.shapes.objects(shape, SH.maxCount):
            n = self._natural(shape, SH.maxCount, bound)
            checks.append(Check(f"SELECT ?this WHERE {{ {focus} {values} }} GROUP BY ?this "
                                f"HAVING (COUNT(DISTINCT ?v) > {n})", "focus", _component("MaxCount"),
                                report_path, self._message(shape, f"more than {n} values of {self._show(path_node)}")))
        return checks + self._value_checks(shape, focus, values, report_path)

    def _node_checks(self, shape, focus: str) -> list[Check]:
        self._allowed(shape, {SH.property, *TARGETS, *VALUE_CONSTRAINTS, *LOGICAL})
        checks = []
        if self._reported(shape):
            checks += self._value_checks(shape, focus, "BIND (?this AS ?v)", None)
            for predicate, name in LOGICAL.items():
                for members in self.shapes.objects(shape, predicate):
                    checks.append(self._logical(shape, focus, predicate, name,
                                                list(Collection(self.shapes, members))))
        for member in self.shapes.objects(shape, SH.property):
            if self._deactivated(member):
                continue
            if (member, SH.path, None) not in self.shapes:
                raise UnsupportedShape(f"sh:property {member} of {self.name(shape)} has no sh:path")
            if any((member, t, None) in self.shapes for t in TARGETS):
                raise UnsupportedShape(f"sh:property {member} of {self.name(shape)} has targets of its own")
            checks += self._property_checks(member, focus)
        return checks

    def _value_checks(self, shape, focus: str, values: str, path) -> list[Check]:
        """The constraints on each value node (``values`` binds ?v for each ?this)."""
        g = self.shapes
        shown = f" of {self._show(path)}" if path is not None else ""
        checks = []

        def check(condition: str, component: str, default: str, well_formed=None):
            query = f"SELECT DISTINCT ?this ?v WHERE {{ {focus} {values} FILTER ({condition}) }}"
            checks.append(Check(query, "value", _component(component), path, self._message(shape, default),
                                well_formed, focus, values))

        for cls in g.objects(shape, SH["class"]):
            check(f"NOT EXISTS {{ ?v a/<{RDFS.subClassOf}>* {sparql_term(cls)} }}", "Class",
                  f"a value{shown} is not a {compact(cls)}")
        for datatype in g.objects(shape, SH.datatype):
            if datatype in (RDFS.Literal, RDFS.Datatype):
                raise UnsupportedShape(f"sh:datatype {compact(datatype)} (on {self.name(shape)}) is not compiled")
            check(f"!isLiteral(?v) || datatype(?v) != {sparql_term(datatype)}", "Datatype",
                  f"a value{shown} is not a literal of datatype {compact(datatype)}",
                  None if datatype in STRING_TYPES else datatype)
        for kind in g.objects(shape, SH.nodeKind):
            if kind not in NODE_KINDS:
                raise UnsupportedShape(f"sh:nodeKind {kind} (on {self.name(shape)})")
            check(NODE_KINDS[kind], "NodeKind", f"a value{shown} is not of node kind {compact(kind)}")
        flags = g.value(shape, SH.flags)
        for pattern in g.objects(shape, SH.pattern):
            self._check_pattern(str(pattern), str(flags or ""), shape)
            arguments = f"{Literal(str(pattern)).n3()}" + (f", {Literal(str(flags)).n3()}" if flags else "")
            check(f"isBlank(?v) || !REGEX(STR(?v), {arguments})", "Pattern",
                  f"a value{shown} does not match {str(pattern)!r}")
        for predicate, violating in LENGTHS.items():
            for bound in g.objects(shape, predicate):
                n = self._natural(shape, predicate, bound)
                check(f"isBlank(?v) || STRLEN(STR(?v)) {violating} {n}", predicate.split("#")[1][:3].title()
                      + "Length", f"a value{shown} is {'shorter' if violating == '<' else 'longer'} than {n}")
        for predicate, holds in COMPARISONS.items():
            for bound in g.objects(shape, predicate):
                name = predicate.split("#")[1]
                check(f"!COALESCE(?v {holds} {sparql_term(bound)}, false)", name[0].upper() + name[1:],
                      f"a value{shown} is not {holds} {bound}")
        return checks

    def _logical(self, shape, focus: str, predicate, name: str, members: list) -> Check:
        """sh:or / sh:xone over property shapes that only count values: a count per member, then a test of
        how many members the focus node conforms to."""
        counts, tests = [], []
        for i, member in enumerate(members):
            try:
                self._allowed(member, {SH.path, *COUNT_CONSTRAINTS})
            except UnsupportedShape as error:
                raise UnsupportedShape(f"in {_sh(predicate)} of {self.name(shape)}: {error}") from None
            if (member, SH.path, None) not in self.shapes:
                raise UnsupportedShape(f"{_sh(predicate)} member {member} of {self.name(shape)}: only property shapes "
                                       "with sh:minCount / sh:maxCount are compiled")
            path = self.path(self.shapes.value(member, SH.path))
            counts.append(f"OPTIONAL {{ SELECT ?this (COUNT(DISTINCT ?v{i}) AS ?n{i}) "
                          f"WHERE {{ ?this {path} ?v{i} }} GROUP BY ?this }}")
            bounds = [f"COALESCE(?n{i}, 0) >= {self._natural(member, SH.minCount, b)}"
                      for b in self.shapes.objects(member, SH.minCount)]
            bounds += [f"COALESCE(?n{i}, 0) <= {self._natural(member, SH.maxCount, b)}"
                       for b in self.shapes.objects(member, SH.maxCount)]
            tests.append(" && ".join(bounds) or "true")
        if name == "Or":
            violated = "!(" + " || ".join(f"({t})" for t in tests) + ")" if tests else "true"
            default = "conforms to none of the alternatives of sh:or"
        else:
            violated = "(" + " + ".join(f"IF({t}, 1, 0)" for t in tests) + ") != 1" if tests else "true"
            default = "does not conform to exactly one of the alternatives of sh:xone"
        query = f"SELECT DISTINCT ?this WHERE {{ {focus} {' '.join(counts)} FILTER ({violated}) }}"
        return Check(query, "self", _component(name), None, self._message(shape, default))

    def _check_pattern(self, pattern: str, flags: str, shape) -> None:
        """Patterns whose meaning the two regex dialects share: both must accept it (Python's for pySHACL, XPath's
        for Oxigraph), and no construct that only one of them reads (look-around, back-references)."""
        if set(flags) - set("imsx"):
            raise UnsupportedShape(f"sh:flags {flags!r} (on {self.name(shape)})")
        if re.search(r"\(\?[=!<]|\\[1-9]|\\[pPkK]", pattern):
            raise UnsupportedShape(f"sh:pattern {pattern!r} (on {self.name(shape)}) uses a construct the regex dialects "
                                   "read differently")
        try:
            re.compile(pattern)
            solutions = ox.Store().query(f"SELECT (REGEX('', {Literal(pattern).n3()}) AS ?ok) WHERE {{}}")
            if next(iter(solutions))["ok"] is None:
                raise ValueError("Oxigraph refuses it")
        except (re.error, ValueError, SyntaxError) as error:
            raise UnsupportedShape(f"sh:pattern {pattern!r} (on {self.name(shape)}): {error}") from None

    # ------------------------------------------------------------------ paths

    def path(self, node) -> str:
        """A SHACL property path as a SPARQL property path."""
        g = self.shapes
        if isinstance(node, URIRef):
            return sparql_term(node)
        if node is None:
            raise UnsupportedShape("a property shape without sh:path")
        if (node, RDF.first, None) in g:
            return "(" + "/".join(self.path(step) for step in Collection(g, node)) + ")"
        for predicate, template in ((SH.inversePath, "^{}"), (SH.zeroOrMorePath, "{}*"),
                                    (SH.oneOrMorePath, "{}+"), (SH.zeroOrOnePath, "{}?")):
            inner = g.value(node, predicate)
            if inner is None:
                continue
            if predicate in (SH.zeroOrMorePath, SH.zeroOrOnePath) and self.focus_outside_data:
                # Oxigraph 0.5 gives a zero-length path no match from a node absent from the data (W3C tests
                # property-path/zero_or_*_set_start fail the same way), where SHACL's value nodes include it
                raise UnsupportedShape(f"{_sh(predicate)} with sh:targetNode or a SPARQL target: a focus node absent "
                                       "from the data would get no zero-length match from Oxigraph")
            return "(" + template.format(self.path(inner)) + ")"
        alternatives = g.value(node, SH.alternativePath)
        if alternatives is not None:
            return "(" + "|".join(self.path(step) for step in Collection(g, alternatives)) + ")"
        raise UnsupportedShape(f"the property path {node} is not one SHACL defines")

    def name(self, shape) -> str:
        """A shape as a reader finds it in the shapes file: its IRI, or the path of a blank property shape."""
        if not isinstance(shape, BNode):
            return f"shape {shape}"
        path = self.shapes.value(shape, SH.path)
        owner = self.shapes.value(None, SH.property, shape)
        where = f" of {self.name(owner)}" if owner is not None else ""
        return f"the property shape of sh:path {self._show(path)}{where}" if path is not None else f"a shape{where}"

    def _show(self, path) -> str:
        return compact(path) if isinstance(path, URIRef) else "the path"


def _sh(term) -> str:
    return f"sh:{term[len(SH):]}" if str(term).startswith(str(SH)) else compact(term)


def compile_shapes(shapes: Graph) -> list[Check]:
    return ShapeCompiler(shapes).checks()


def _well_formed(term: ox.Literal, datatype: URIRef) -> bool:
    """As the reference reads the lexical form: rdflib's conversion (what pySHACL checks) must not fail."""
    value = Literal(term.value, datatype=datatype)
    return value.ill_typed is not True


def violations(store: ox.Store, checks: list[Check]) -> Iterator[Violation]:
    """The validation results of ``checks`` over the default graph of ``store``."""
    rdflib_log = logging.getLogger("rdflib.term")
    for check in checks:
        if check.returns == "value":
            for row in store.query(check.query):
                yield Violation(from_ox(row["this"]), check.path, check.component, from_ox(row["v"]), check.message)
            if check.well_formed is not None:
                yield from _ill_formed(store, check, rdflib_log)
        else:
            for row in store.query(check.query):
                focus = from_ox(row["this"])
                yield Violation(focus, check.path, check.component, focus if check.returns == "self" else None,
                                check.message)


def _ill_formed(store: ox.Store, check: Check, rdflib_log: logging.Logger) -> Iterator[Violation]:
    """Values of the right datatype whose lexical form is not one of it: each distinct literal is read once."""
    datatype = sparql_term(check.well_formed)
    candidates = f"{check.prologue}SELECT DISTINCT ?v WHERE {{ {check.focus} {check.values} FILTER (datatype(?v) = {datatype}) }}"
    level = rdflib_log.level
    rdflib_log.setLevel(logging.CRITICAL)  # rdflib logs every lexical form it cannot convert: they are our results
    try:
        bad = [row["v"] for row in store.query(candidates) if not _well_formed(row["v"], check.well_formed)]
    finally:
        rdflib_log.setLevel(level)
    if not bad:
        return
    listed = " ".join(str(v) for v in bad)
    query = f"{check.prologue}SELECT DISTINCT ?this ?v WHERE {{ {check.focus} {check.values} VALUES ?v {{ {listed} }} }}"
    for row in store.query(query):
        yield Violation(from_ox(row["this"]), check.path, check.component, from_ox(row["v"]), check.message)
