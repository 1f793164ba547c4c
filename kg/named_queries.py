"""Named SPARQL queries: ``queries/*.rq`` files with a comment header, parsed once at start-up.

Header lines (before the query text)::

    # summary: one line saying what the query answers
    # param: NAME (TYPE, default VALUE) -- what the parameter means

TYPE is one of ``entity`` (a name, altLabel or id, resolved to an IRI), ``stage``, ``category``, ``snapshot``
(the name of an imported landscape snapshot), ``string``, ``integer``, ``date`` or ``iri``. A parameter binds the variable of the same name through rdflib's
``initBindings``; values are never pasted into the query text.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from pyparsing import ParseException
from rdflib import XSD, Literal, URIRef
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from .errors import InvalidInput, Problem
from .namespaces import PREFIXES, QUERIES_DIR

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
    prepared: Query | None = None

    @property
    def form(self) -> str:
        return self.prepared.algebra.name if self.prepared is not None else "Unknown"


def syntax_problem(file: str, text: str, exc: ParseException) -> Problem:
    """A SPARQL syntax error as ``file:line`` plus the column and the offending text."""
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "col", None)
    snippet = text.splitlines()[line - 1].strip() if line and line <= len(text.splitlines()) else ""
    return Problem(file, line, f"SPARQL syntax error at column {column}: {exc.msg}; near {snippet[:60]!r}")


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
    try:
        prepared = prepareQuery(text, initNs=PREFIXES)
    except ParseException as exc:
        problems.append(syntax_problem(file, text, exc))
        prepared = None
    if prepared is not None:
        variables = {str(v) for v in re.findall(r"[?$](\w+)", text)}
        for param in params:
            if param.name not in variables:
                problems.append(Problem(file, None, f"parameter {param.name!r} is not a variable of the query"))
    if problems:
        raise InvalidInput(problems)
    return NamedQuery(path.stem, summary, text, path, params, prepared)


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
