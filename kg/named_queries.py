"""Named SPARQL queries: ``queries/*.rq`` files with a comment header, parsed once at start-up.

Header lines (before the query text)::

    # summary: one line saying what the query answers
    # param: NAME (TYPE, default VALUE) -- what the parameter means

TYPE is one of ``entity`` (a name, altLabel or id, resolved to an IRI), ``stage``, ``category``, ``snapshot``
(the name of an imported landscape snapshot), ``string``, ``integer``, ``date`` or ``iri``. A parameter binds the
variable of the same name: the value is checked and turned into an RDF term, and every occurrence of the variable
is replaced by that term's escaped syntax (:func:`cnkg.sparql_text.substitute_variables`, which touches variable
tokens only), so it also reaches subqueries; user text is never pasted into the query.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import XSD, Literal, URIRef

from .engine import syntax_error
from .errors import InvalidInput, Problem
from .syntax_errors import readable
from .namespaces import QUERIES_DIR
from .sparql_text import query_form, substitute_variables, tokens
from .store import OX_PREFIXES, to_ox

PARAM_TYPES = ("entity", "stage", "category", "snapshot", "string", "integer", "date", "iri")
_SUMMARY_RE = re.compile(r"^#\s*summary:\s*(?P<text>.+?)\s*$")
_PARAM_RE = re.compile(r"^#\s*param:\s*(?P<name>[A-Za-z_]\w*)\s*\((?P<type>\w+)(?:,\s*default\s+(?P<default>[^)]*?))?\)"
                       r"\s*(?:--|—)\s*(?P<doc>.+?)\s*$")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str | None
    doc: str


@dataclass
class NamedQuery:
    name: str
    summary: str
    text: str
    path: Path
    parameters: list[Parameter] = field(default_factory=list)

    @property
    def form(self) -> str:
        """SelectQuery, AskQuery, ConstructQuery or DescribeQuery."""
        return query_form(self.text) or "Unknown"

    def bound(self, bindings: dict[str, object]) -> str:
        """The query text with each parameter variable replaced by its value's RDF term syntax."""
        return substitute_variables(self.text, {name: str(to_ox(term)) for name, term in bindings.items()})


def syntax_problem(file: str, text: str, message: str) -> Problem:
    """A SPARQL syntax error reported by Oxigraph (``error at LINE:COLUMN: ...``) as ``file:line`` plus the column
    and the offending text."""
    line, column, said = syntax_error(message)
    said = readable(said)   # Oxigraph's alternatives in SPARQL terms, no character ranges
    if line is None:
        return Problem(file, None, f"malformed SPARQL query: {said}")
    lines = text.splitlines()
    snippet = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return Problem(file, line, f"malformed SPARQL query at line {line}, column {column}: {said}; near {snippet[:60]!r}")


def check_syntax(text: str) -> str | None:
    """Oxigraph's syntax error for ``text`` (cnkg's prefixes predeclared), or None when it parses."""
    try:
        ox.Store().query(text, prefixes=OX_PREFIXES)
    except SyntaxError as exc:
        return str(exc)
    return None


def parse_query_file(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    file = str(path.name if path.parent == QUERIES_DIR else path)
    summary, params, problems = None, [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        if match := _SUMMARY_RE.match(line):
            summary = match["text"]
        elif line.lstrip("# ").startswith("param:"):
            match = _PARAM_RE.match(line)
            if not match:
                problems.append(Problem(file, number, "cannot read parameter line; expected "
                                        "'# param: NAME (TYPE, default VALUE) -- description'"))
            elif match["type"] not in PARAM_TYPES:
                problems.append(Problem(file, number, f"unknown parameter type {match['type']!r}; expected one of "
                                        f"{', '.join(PARAM_TYPES)}"))
            else:
                params.append(Parameter(match["name"], match["type"], match["default"], match["doc"]))
    if summary is None:
        problems.append(Problem(file, 1, "missing '# summary: ...' header line"))
    error = check_syntax(text)
    if error is not None:
        problems.append(syntax_problem(file, text, error))
    else:
        variables = {t.text[1:] for t in tokens(text) if t.kind == "var"}
        for param in params:
            if param.name not in variables:
                problems.append(Problem(file, None, f"parameter {param.name!r} is not a variable of the query"))
        if not problems and params:  # each parameter must be a place a term can stand (not projected or BIND's target)
            error = check_syntax(substitute_variables(text, {p.name: "<urn:cnkg:parameter>" for p in params}))
            if error is not None:
                problems.append(Problem(file, None, f"a parameter variable cannot be replaced by its value (is it "
                                        f"projected or the target of AS?): {error}"))
    if problems:
        raise InvalidInput(problems)
    return NamedQuery(path.stem, summary, text, path, params)


def load_named_queries(directory: Path = QUERIES_DIR) -> dict[str, NamedQuery]:
    """Parse every ``*.rq`` file; all problems across files are reported together."""
    queries, problems = {}, []
    for path in sorted(Path(directory).glob("*.rq")):
        try:
            queries[path.stem] = parse_query_file(path)
        except InvalidInput as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidInput(problems)
    return queries


def literal_parameter(param: Parameter, value: str) -> Literal | URIRef:
    """Convert a text value for a non-entity parameter, with a clear error when it does not fit."""
    if param.type == "integer":
        try:
            return Literal(int(value))
        except ValueError:
            raise InvalidInput(f"parameter {param.name!r}: expected a whole number, got {value!r}") from None
    if param.type == "date":
        try:
            return Literal(dt.date.fromisoformat(value), datatype=XSD.date)
        except ValueError:
            raise InvalidInput(f"parameter {param.name!r}: expected a date YYYY-MM-DD, got {value!r}") from None
    if param.type == "iri":
        if not re.match(r"^[a-z][a-z0-9+.-]*:[^\s<>\"{}|\\^`]*$", value, re.I):
            raise InvalidInput(f"parameter {param.name!r}: expected an absolute IRI, got {value!r}")
        return URIRef(value)
    return Literal(value)
