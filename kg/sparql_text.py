"""A small SPARQL-aware lexer: comments, strings, IRIs, variables, prefixed names, keywords and punctuation.

It is not a parser. It finds what must be known *before* a query reaches the engine, cheaply and without the
engine: the query form, the ``SERVICE`` / ``LOAD`` / ``FROM`` / ``USING`` / ``WITH`` keywords and the graphs they
name (so a public endpoint can refuse them before anything is fetched), and the positions of variables (so a named
query's parameter is replaced by an RDF term, never by pasting user text). Hand-written because neither Oxigraph
nor rdflib offers a parse-only API that is both fast and safe to call concurrently; it is checked against the W3C
syntax suites in the tests.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import urljoin

# SPARQL 1.1 grammar [164] PN_CHARS_BASE, as code point ranges
_PN_CHARS_BASE = ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x2FF), (0x370, 0x37D),
                  (0x37F, 0x1FFF), (0x200C, 0x200D), (0x2070, 0x218F), (0x2C00, 0x2FEF), (0x3001, 0xD7FF),
                  (0xF900, 0xFDCF), (0xFDF0, 0xFFFD), (0x10000, 0xEFFFF))
_DIGITS = ((0x30, 0x39),)
_PN_CHARS_EXTRA = ((0xB7, 0xB7), (0x300, 0x36F), (0x203F, 0x2040))  # with "_", "-" and the digits: [166] PN_CHARS


def _char_class(*chars: str | tuple[int, int]) -> str:
    """A regular-expression class matching PN_CHARS_BASE and ``chars`` (single characters, or code point ranges),
    written as the negation of its complement: the same characters, but Python's ``re`` compiles a class by marking
    each code point below U+10000 that it lists, and the complement lists ~12,000 of them, not ~62,000 (the 12
    classes of the token pattern took ~40 ms to compile, which every start of the server and of each query worker
    paid; now ~8 ms)."""
    ranges = sorted([*_PN_CHARS_BASE, *((ord(c), ord(c)) if isinstance(c, str) else c for c in chars)])
    gaps, low = [], 0
    for first, last in ranges:
        if first > low:
            gaps.append((low, first - 1))
        low = max(low, last + 1)
    if low <= 0x10FFFF:
        gaps.append((low, 0x10FFFF))
    return "[^" + "".join(f"\\U{a:08X}" if a == b else f"\\U{a:08X}-\\U{b:08X}" for a, b in gaps) + "]"


_START = _char_class()                                     # PN_CHARS_BASE
_START_U = _char_class("_")                                # [164] PN_CHARS_U
_START_U_DIGIT = _char_class("_", *_DIGITS)                # VARNAME's and BLANK_NODE_LABEL's first character
_VAR_CHAR = _char_class("_", *_DIGITS, *_PN_CHARS_EXTRA)   # VARNAME's other characters
_CHAR = _char_class("_", "-", *_DIGITS, *_PN_CHARS_EXTRA)  # [166] PN_CHARS
_CHAR_DOT = _char_class("_", "-", ".", *_DIGITS, *_PN_CHARS_EXTRA)
_CHAR_COLON = _char_class("_", "-", ":", *_DIGITS, *_PN_CHARS_EXTRA)
_CHAR_DOT_COLON = _char_class("_", "-", ".", ":", *_DIGITS, *_PN_CHARS_EXTRA)
_LOCAL_START = _char_class("_", ":", *_DIGITS)             # PN_LOCAL's first character (without PLX)
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_IRI_CHARS = r"[^<>\"{}|^`\\\x00-\x20]"
_UCHAR = r"(?:\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})"

_TOKEN_PATTERN = (
    r"(?P<ws>\s+)"
    r"|(?P<comment>#[^\n\r]*)"
    # IRIREF, with the \u and \U escapes Oxigraph decodes inside it (as Turtle does: SPARQL 1.1 §19.2); written
    # as an unrolled loop, so that a long IRI is matched in linear time
    rf"|(?P<iri><{_IRI_CHARS}*(?:{_UCHAR}{_IRI_CHARS}*)*>)"
    r"|(?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^\"\\]|\\.|\"(?!\"\"))*\"\"\""
    r"|'(?:[^'\\\n\r]|\\.)*'|\"(?:[^\"\\\n\r]|\\.)*\")"
    rf"|(?P<var>[?$]{_START_U_DIGIT}{_VAR_CHAR}*)"
    rf"|(?P<blank>_:{_START_U_DIGIT}(?:{_CHAR_DOT}*{_CHAR})?)"
    rf"|(?P<pname>(?:{_START}(?:{_CHAR_DOT}*{_CHAR})?)?:"
    rf"(?:(?:{_LOCAL_START}|{_PLX})(?:(?:{_CHAR_DOT_COLON}|{_PLX})*(?:{_CHAR_COLON}|{_PLX}))?)?)"
    r"|(?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)"
    r"|(?P<number>[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?))"
    rf"|(?P<word>{_START_U}{_CHAR}*)"
    r"|(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\].,;*/+\-=<>!|^?])"
    r"|(?P<other>.)"
)

# The keywords that start each query form and update operation.
QUERY_FORMS = {"SELECT": "SelectQuery", "ASK": "AskQuery", "CONSTRUCT": "ConstructQuery",
               "DESCRIBE": "DescribeQuery"}
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "ADD", "MOVE", "COPY", "WITH"}


class Token:
    """One significant token. (A plain class with slots, not a frozen dataclass: a query has dozens of tokens,
    every request lexes one, and a frozen dataclass's ``__init__`` took a fifth of the lexing time.)"""

    __slots__ = ("kind", "text", "start", "keyword")

    def __init__(self, kind: str, text: str, start: int):
        self.kind = kind        # iri, string, var, blank, pname, langtag, number, word, punct, other
        self.text = text
        self.start = start      # offset in the text
        # the upper-cased word for keyword comparisons ('' for anything that is not a bare word), computed once:
        # the checks of one request ask for it a few dozen times
        self.keyword = text.upper() if kind == "word" else ""

    def __eq__(self, other) -> bool:
        return (isinstance(other, Token) and self.kind == other.kind and self.text == other.text
                and self.start == other.start)

    def __hash__(self) -> int:
        return hash((self.kind, self.text, self.start))

    def __repr__(self) -> str:
        return f"Token(kind={self.kind!r}, text={self.text!r}, start={self.start!r})"


@cache
def _token_re() -> re.Pattern:
    return re.compile(_TOKEN_PATTERN, re.S)  # compiled on first use (~8 ms: see _char_class)


# Texts up to this many characters have their tokens remembered (the last 16 of them, a few MB at most): one request
# asks several questions of the same text. Of longer texts only the last one is kept, until the request is over
# (forget_large), so that distinct large queries cannot grow the server's memory (16 of 1 MiB each held ~1.7 GB).
CACHED_TEXT_LENGTH = 16 * 1024


_large: tuple[str, tuple[Token, ...]] | None = None  # the last longer text and its tokens (see forget_large)


def tokens(text: str) -> tuple[Token, ...]:
    """The significant tokens of ``text`` (no whitespace, no comments)."""
    global _large
    if len(text) <= CACHED_TEXT_LENGTH:
        return _remembered_tokens(text)
    last = _large
    if last is not None and last[0] == text:
        return last[1]
    found = _tokens(text)
    _large = (text, found)
    return found


def forget_large() -> None:
    """Drop the one longer text kept (a server calls this after each request, so none outlives its request)."""
    global _large, _last_prologue
    _large = _last_prologue = None


@lru_cache(maxsize=16)
def _remembered_tokens(text: str) -> tuple[Token, ...]:
    return _tokens(text)


def _tokens(text: str) -> tuple[Token, ...]:
    found = []
    for match in _token_re().finditer(text):
        kind = match.lastgroup
        if kind != "ws" and kind != "comment":
            found.append(Token(kind, match.group(), match.start()))
    return tuple(found)


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


@dataclass
class Prologue:
    base: str | None
    prefixes: dict[str, str]
    end: int  # index of the first token after the prologue


def prologue(toks) -> Prologue:
    """The BASE and PREFIX declarations at the start of a query or of an update operation."""
    base, prefixes, i = None, {}, 0
    while i < len(toks):
        word = toks[i].keyword
        if word == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            base, i = iri_text(toks[i + 1]), i + 2
        elif word == "PREFIX" and i + 2 < len(toks) and toks[i + 1].kind == "pname" and toks[i + 2].kind == "iri":
            prefixes[toks[i + 1].text[:-1]] = iri_text(toks[i + 2])
            i += 3
        else:
            break
    return Prologue(base, prefixes, i)


_last_prologue: tuple | None = None  # (tokens, their Prologue): the checks of one request each ask for it


def _prologue_of(toks: tuple[Token, ...]) -> Prologue:
    """``prologue(toks)`` for a token tuple from :func:`tokens`, reading it once for the several questions a request
    asks of one text (the same tuple, by identity: it is cached; callers only read the answer)."""
    global _last_prologue
    last = _last_prologue
    if last is not None and last[0] is toks:
        return last[1]
    found = prologue(toks)
    _last_prologue = (toks, found)
    return found


def query_form(text: str) -> str | None:
    """``SelectQuery``, ``AskQuery``, ``ConstructQuery``, ``DescribeQuery``, ``Update`` or None (not recognisable:
    the engine's parser will say why)."""
    toks = tokens(text)
    first = _prologue_of(toks).end
    if first >= len(toks):
        return None
    word = toks[first].keyword
    if word in QUERY_FORMS:
        return QUERY_FORMS[word]
    if word in UPDATE_KEYWORDS:
        return "Update"
    return None


_UCHAR_RE = re.compile(r"\\u(?P<u>[0-9A-Fa-f]{4})|\\U(?P<U>[0-9A-Fa-f]{8})")


def _decode(match: re.Match) -> str:
    code = int(match.group("u") or match.group("U"), 16)
    return chr(code) if code <= 0x10FFFF else match.group()  # (not a character: left for the engine to refuse)


def iri_text(token: Token) -> str:
    """The IRI an ``iri`` token writes, its ``\\u`` / ``\\U`` escapes decoded (``<urn:\\u0061>`` is ``urn:a``)."""
    inner = token.text[1:-1]
    return _UCHAR_RE.sub(_decode, inner) if "\\" in inner else inner


def nesting_depth(toks) -> int:
    """How deeply the brackets of a text nest (``{``, ``(`` and ``[``, whichever kind)."""
    depth = deepest = 0
    for token in toks:
        if token.kind == "punct":
            if token.text in "{([":
                depth += 1
                deepest = max(deepest, depth)
            elif token.text in "})]":
                depth -= 1
    return deepest


def resolve(token: Token, prologue_: Prologue, prefixes: dict[str, str] | None = None) -> str | None:
    """The absolute IRI an ``iri`` or ``pname`` token names (relative IRIs against BASE), or None when a prefix is
    undeclared."""
    if token.kind == "iri":
        iri = iri_text(token)
        return urljoin(prologue_.base, iri) if prologue_.base and not _ABSOLUTE.match(iri) else iri
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        namespace = prologue_.prefixes.get(prefix, (prefixes or {}).get(prefix))
        return None if namespace is None else namespace + re.sub(r"\\(.)", r"\1", local)
    return None


def matching_brace(toks, i: int) -> int:
    """The index of the brace closing the first ``{`` at or after token ``i`` (``len(toks)`` when unbalanced)."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind == "punct" and toks[j].text in "{}":
            depth += 1 if toks[j].text == "{" else -1
            if depth == 0:
                return j
    return len(toks)


@dataclass
class DatasetClauses:
    default: list[str]        # FROM
    named: list[str]          # FROM NAMED
    text: str                 # the query without them
    unresolved: list[str]     # graph names whose prefix is undeclared (the engine will report them)


def dataset_clauses(text: str, prefixes: dict[str, str] | None = None) -> DatasetClauses:
    """The ``FROM`` / ``FROM NAMED`` graphs of a query, and the query text without those clauses (so a caller can
    build the dataset itself: Oxigraph 0.5 merges several FROM graphs as a bag, counting a triple once per graph)."""
    toks = tokens(text)
    pro = _prologue_of(toks)
    default, named, unresolved, cut = [], [], [], []
    i = pro.end
    while i < len(toks):
        if toks[i].keyword == "FROM":
            is_named = i + 1 < len(toks) and toks[i + 1].keyword == "NAMED"
            j = i + 2 if is_named else i + 1
            if j < len(toks) and toks[j].kind in ("iri", "pname"):
                iri = resolve(toks[j], pro, prefixes)
                if iri is None:
                    unresolved.append(toks[j].text)  # left in place: the engine reports the undeclared prefix
                else:
                    (named if is_named else default).append(iri)
                    cut.append((toks[i].start, toks[j].start + len(toks[j].text)))
                i = j + 1
                continue
        if toks[i].kind == "punct" and toks[i].text == "{":
            if toks[i - 1].keyword != "CONSTRUCT":
                break  # dataset clauses come before the WHERE clause of the outer query
            i = matching_brace(toks, i)  # a CONSTRUCT template comes before them
        i += 1
    out, last = [], 0
    for start, end in cut:
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    return DatasetClauses(default, named, "".join(out), unresolved)


def undeclared_prefixes(text: str, predeclared=()) -> list[Token]:
    """Prefixed names whose prefix neither the text nor ``predeclared`` declares."""
    toks = tokens(text)
    declared = set(_prologue_of(toks).prefixes) | set(predeclared)
    declared |= {t.text[:-1] for i, t in enumerate(toks) if t.kind == "pname" and i and toks[i - 1].keyword == "PREFIX"}
    return [t for t in toks if t.kind == "pname" and t.text.partition(":")[0] not in declared]


def select_star_order(text: str, variables: list[str]) -> list[int] | None:
    """For a ``SELECT *`` query, the positions in ``variables`` (the engine's columns) in the order the variables
    first appear in the query text; None for any other query or when the engine's order is that order already.

    SPARQL leaves the column order of ``SELECT *`` open; Oxigraph sorts the names (``?s ?p ?o`` comes back as o, p,
    s), where a reader expects the query's own order, the one Apache Jena gives."""
    if "*" not in text:  # no SELECT * without a star: the query is not lexed for nothing (a worker's every SELECT)
        return None
    toks = tokens(text)
    i = _prologue_of(toks).end
    if i >= len(toks) or toks[i].keyword != "SELECT":
        return None
    i += 1
    if i < len(toks) and toks[i].keyword in ("DISTINCT", "REDUCED"):
        i += 1
    if i >= len(toks) or toks[i].text != "*":
        return None
    where = {name: n for n, name in enumerate(variables)}
    order: list[int] = []
    for token in toks[i + 1:]:
        if token.kind == "var":
            n = where.pop(token.text[1:], None)
            if n is not None:
                order.append(n)
    order += sorted(where.values())  # any the text does not name (none for a query the engine accepted)
    return None if order == sorted(order) else order


def substitute_variables(text: str, values: dict[str, str]) -> str:
    """``text`` with every occurrence of the variables ``?name`` / ``$name`` in ``values`` replaced by the given
    term syntax (an escaped IRI or literal, e.g. ``str(pyoxigraph.Literal(...))``). Only variable tokens are
    replaced: a ``?name`` inside a string, an IRI or a comment is left alone."""
    out, last = [], 0
    for token in tokens(text):
        if token.kind == "var" and token.text[1:] in values:
            out.append(text[last:token.start])
            out.append(values[token.text[1:]])
            last = token.start + len(token.text)
    out.append(text[last:])
    return "".join(out)


__all__ = ["Token", "tokens", "forget_large", "iri_text", "nesting_depth", "position", "Prologue", "prologue",
           "query_form", "select_star_order", "substitute_variables", "resolve",
           "DatasetClauses", "dataset_clauses", "undeclared_prefixes", "matching_brace",
           "QUERY_FORMS", "UPDATE_KEYWORDS"]
