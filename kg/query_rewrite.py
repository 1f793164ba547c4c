"""Where Oxigraph's answer departs from SPARQL 1.1, cnkg rewrites the query into an equivalent form Oxigraph answers
right, or refuses it; and it refuses queries the spec forbids that Oxigraph accepts. Each rewrite applies only to
the construct it is for, and gives the spec's answer exactly (tests/test_query_rewrite.py proves each against Apache
Jena and on random data); the README's conformance notes list them.

- **Alternative paths keep duplicates.** Oxigraph evaluates ``P|Q`` (and a negated property set mixing forward and
  inverse members, ``!(p|^q)``, which §18.4 translates to ``alt(NPS, inv(NPS))``) as a set; the spec's alternative
  is a union (§18.5), a multiset. ``S P|Q O`` becomes ``{ S P O } UNION { S Q O }`` and ``S !(p|^q) O`` becomes
  ``{ S !(p) O } UNION { S !(^q) O }``. An alternative under ``*``, ``+`` or ``?`` is left alone (those are sets by
  definition). A path in a property list (``S p|q o ; r t``) is first written as separate triples with the same
  subject (the same basic graph pattern, §4.2.1); one in a blank node's property list or a collection cannot be
  rewritten exactly and is refused.
- **GROUP_CONCAT yields a simple literal** (§18.5.1.7); Oxigraph keeps a language tag the values share:
  ``GROUP_CONCAT(...)`` becomes ``STR(GROUP_CONCAT(...))``.
- **``(aggregate AS ?v)`` with ``?v`` already in scope** is a syntax error (§18.2.1; W3C ``syntax-SELECTscope2``),
  which Oxigraph accepts for aggregates.

Refusals are raised as ``SyntaxError("error at LINE:COLUMN: message")``, Oxigraph's own shape, so every caller
reports them as it reports a syntax error (HTTP 400).
"""
from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache

from .sparql_text import CACHED_TEXT_LENGTH, Token, position, tokens

# A SELECT expression's "AS ?v", which the scope check looks at
# (each pattern starts with a literal, which the regular-expression engine scans for quickly)
_AS_VARIABLE = re.compile(r"as\s*[?$]")
# a variable's name: every character VARNAME allows (SPARQL 1.1 §19.8) is outside ASCII's punctuation and spaces,
# and in a query the engine accepts one of those ends the name
_MENTION = re.compile(r"[?$]([^\s\x00-\x2F\x3A-\x40\x5B-\x5E\x60\x7B-\x7F]+)")
# a "?" that does not start a variable: a path closure
_QUESTION_CLOSURE = re.compile(r"\?(?=[\s)/|^*+?.;,{}\[\]#]|$)")
_MODIFIERS = {"*", "+", "?"}
_AGGREGATES = {"COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT"}
# tokens that may precede a triple's subject / follow its object for the triple to stand on its own
_BEFORE_SUBJECT = {"{", ".", "}", ")"}
_AFTER_OBJECT = {".", "}", "{"}
_PATTERN_KEYWORDS = {"FILTER", "OPTIONAL", "MINUS", "BIND", "VALUES", "GRAPH", "SERVICE"}
_MAX_PASSES = 64


def refuse(text: str, token: Token, message: str) -> SyntaxError:
    line, column = position(text, token.start)
    return SyntaxError(f"error at {line}:{column}: {message}")


def rewrite(text: str) -> str:
    """``text`` rewritten where Oxigraph would answer it wrongly (or unchanged); SyntaxError for a query the spec
    forbids or whose construct cannot be rewritten exactly."""
    if len(text) <= CACHED_TEXT_LENGTH:
        return _remembered(text)  # a named query, a client's repeated query: rewritten once
    return _checked(text)


@lru_cache(maxsize=256)
def _remembered(text: str) -> str:
    return _checked(text)  # (a refusal is not remembered: it is raised again each time)


def _checked(text: str) -> str:
    try:
        return _rewrite(text)
    except RecursionError:
        raise SyntaxError("the query nests its brackets too deeply to be checked; write it with fewer levels") \
            from None


def _rewrite(text: str) -> str:
    # each step first looks for what it is about in the text (a substring search: the query is passed on
    # untouched, at the cost of a few microseconds, when none is there)
    lowered = text.lower()
    if _AS_VARIABLE.search(lowered):
        check_select_scope(text)
    if "bnode" in lowered:
        check_bnode(text)
    graph = lowered.find("graph")
    if graph >= 0 and (lowered.find("select", graph) >= 0 or lowered.find("values", graph) >= 0
                       or lowered.find("minus", graph) >= 0):  # what the step rewrites sits inside a GRAPH
        text = _repeat(rewrite_graph_patterns, text, "MINUS or VALUES clauses inside GRAPH")
    text = _repeat(rewrite_alternative, text, "path alternatives")
    return wrap_group_concat(rewrite_zero_length(text) or text)


def _repeat(step, text: str, what: str) -> str:
    """``step`` applied until it changes nothing (each application rewrites one construct)."""
    for _ in range(_MAX_PASSES):
        changed = step(text)
        if changed is None:
            return text
        text = changed
    raise SyntaxError(f"the query has more than {_MAX_PASSES} {what} to rewrite; write some of them otherwise")


# ------------------------------------------------------------------------------------------ brackets

def _match(toks, i: int) -> int:
    """The index of the bracket closing the one at ``i`` (``(`` or ``{`` or ``[``); len(toks) when unbalanced."""
    opening = toks[i].text
    closing = {"(": ")", "{": "}", "[": "]"}[opening]
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind == "punct":
            if toks[j].text == opening:
                depth += 1
            elif toks[j].text == closing:
                depth -= 1
                if depth == 0:
                    return j
    return len(toks)


def _is(token: Token, *texts: str) -> bool:
    return token.kind == "punct" and token.text in texts


# ------------------------------------------------------------------------------------------ GROUP_CONCAT

def wrap_group_concat(text: str) -> str:
    """Every ``GROUP_CONCAT(...)`` as ``STR(GROUP_CONCAT(...))``: the spec's simple literal, whatever the values'
    language tags (STR of an error is an error, so an unbound or failing group stays so)."""
    if "group_concat" not in text.lower():
        return text
    toks = tokens(text)
    cuts = []  # (offset, inserted text)
    for i, token in enumerate(toks):
        if token.keyword == "GROUP_CONCAT" and i + 1 < len(toks) and _is(toks[i + 1], "("):
            end = _match(toks, i + 1)
            if end < len(toks):
                cuts += [(token.start, "STR("), (toks[end].start + 1, ")")]
    out, last = [], 0
    for offset, inserted in sorted(cuts):
        out += [text[last:offset], inserted]
        last = offset
    out.append(text[last:])
    return "".join(out)


# ------------------------------------------------------------------------------------------ BNODE

def check_bnode(text: str) -> None:
    """Refuse ``BNODE(expression)``: the spec gives the same blank node for the same string within one solution
    and distinct ones across solutions (§17.4.2.9); Oxigraph gives the same one across solutions too."""
    if "bnode" not in text.lower():
        return
    toks = tokens(text)
    for i, token in enumerate(toks[:-2]):
        if token.keyword == "BNODE" and _is(toks[i + 1], "(") and not _is(toks[i + 2], ")"):
            raise refuse(text, token, "BNODE with an argument is not answered here: the engine gives the same blank "
                         "node for the same string in different solutions, where SPARQL 1.1 §17.4.2.9 gives a new "
                         "one per solution; use BNODE() (a new blank node each time)")


# ------------------------------------------------------------------------------------------ SELECT scope

def check_select_scope(text: str) -> None:
    """Refuse ``(expression AS ?v)`` where ``?v`` is in scope in the SELECT's WHERE clause (SPARQL 1.1 §18.2.1).
    Oxigraph refuses some of these itself, but not an aggregate's nor a sub-SELECT's projection."""
    toks = tokens(text)
    lowered = text.lower()
    found = lowered.find("select")
    while found >= 0:  # every SELECT keyword starts where the text says "select" (found without a pass per token)
        at, found = found, lowered.find("select", found + 6)
        k = bisect_left(toks, at, key=_start)
        if k == len(toks) or toks[k].start != at or toks[k].keyword != "SELECT":
            continue
        body = _where_start(toks, k)
        if body is None:
            continue
        named = [var for _, _, var in _select_expressions(toks, k + 1, body)]
        if not named:
            continue
        end = _match(toks, body)
        where = text[toks[body].start:toks[end].start if end < len(toks) else len(text)]
        # only a name the WHERE clause mentions at all can be in its scope: the exact walk is for those (one regex
        # pass over the clause's text finds every mention, and some in strings or comments besides)
        mentioned = set(_MENTION.findall(where))
        named = [var for var in named if var.text[1:] in mentioned]
        if not named:
            continue
        in_scope = _in_scope(toks, body)
        for var in named:
            if var.text[1:] in in_scope:
                raise refuse(text, var, f"the SELECT expression (... AS {var.text}) names {var.text}, a variable "
                             "already in scope in its WHERE clause; an expression must bind a new variable (SPARQL "
                             "1.1 §18.2.1)")


def _start(token: Token) -> int:
    return token.start


def _where_start(toks, k: int) -> int | None:
    """The ``{`` opening the WHERE clause of the SELECT at ``k``."""
    depth = 0
    for j in range(k + 1, len(toks)):
        token = toks[j]
        if token.kind == "punct":
            if token.text == "(":
                depth += 1
            elif token.text == ")":
                depth -= 1
            elif depth == 0 and token.text == "{":
                return j
    return None


def _select_expressions(toks, i: int, end: int):
    """(start, end, variable token) of each ``( expression AS ?v )`` of a projection."""
    while i < end:
        if _is(toks[i], "("):
            close = _match(toks, i)
            if (close < len(toks) and close - 2 > i and toks[close - 2].keyword == "AS"
                    and toks[close - 1].kind == "var"):
                yield i + 1, close - 2, toks[close - 1]
            i = close + 1
        else:
            i += 1


def _in_scope(toks, brace: int) -> set[str]:
    """The variables in scope in the group at ``brace`` (§18.2.1): those of its patterns, not those used only in a
    FILTER, a MINUS, an EXISTS or a BIND expression; of a sub-SELECT, only what it projects."""
    found: set[str] = set()
    end = _match(toks, brace)
    i = brace + 1
    while i < end:
        token = toks[i]
        word = token.keyword if token.kind == "word" else ""
        if word == "FILTER":
            j = i + 1
            while j < end and toks[j].keyword in ("NOT", "EXISTS"):
                j += 1
            while j < end and not _is(toks[j], "(", "{"):  # a function call's name
                j += 1
            i = (_match(toks, j) if j < end else end) + 1
        elif word == "MINUS" and i + 1 < end and _is(toks[i + 1], "{"):
            i = _match(toks, i + 1) + 1
        elif word == "BIND" and i + 1 < end and _is(toks[i + 1], "("):
            close = _match(toks, i + 1)
            if toks[close - 1].kind == "var":
                found.add(toks[close - 1].text[1:])
            i = close + 1
        elif word == "SELECT":
            inner = _where_start(toks, i)
            if inner is None:
                return found
            projection = toks[i + 1:inner]
            if any(_is(t, "*") for t in projection):
                found |= _in_scope(toks, inner)
            else:
                found |= {v.text[1:] for v in _projected(projection)}
            # the sub-SELECT's group (and its modifiers) end where the group holding it ends
            i = _match(toks, i - 1) + 1 if _is(toks[i - 1], "{") else end
        else:
            if token.kind == "var":
                found.add(token.text[1:])
            i += 1
    return found


def _projected(projection):
    """The variables a projection names: plain ``?v`` and ``( ... AS ?v )``."""
    depth = 0
    for n, t in enumerate(projection):
        if _is(t, "("):
            depth += 1
        elif _is(t, ")"):
            depth -= 1
        elif t.kind == "var" and (depth == 0 or (depth == 1 and n and projection[n - 1].keyword == "AS")):
            yield t


# ------------------------------------------------------------------------------------------ GRAPH ?g

def rewrite_graph_patterns(text: str) -> str | None:
    """The text with one construct inside ``GRAPH ?g`` rewritten (None when there is nothing to rewrite).

    Inside ``GRAPH ?g { P }`` the spec evaluates P once per named graph, then binds ?g (§18.6); Oxigraph instead
    puts ?g into each triple pattern of P. That is the same answer except where a part of P has no triple pattern
    of its own or hides ?g: a sub-SELECT (evaluated once, over the whole dataset), a group holding only VALUES (no
    ?g, not repeated per graph), and MINUS (its two sides now share ?g, so a MINUS whose sides share no variable
    removes solutions). A MINUS whose sides share no variable at all removes nothing (§18.5) and is dropped; one
    whose sides share a variable every solution of both binds is answered right; a sub-SELECT that is the GRAPH's
    whole pattern is rewritten to take ?g in (:func:`_graph_sub_select`); the rest is refused."""
    toks = tokens(text)
    for k, token in enumerate(toks):
        if (token.kind != "word" or token.keyword != "GRAPH" or k + 2 >= len(toks) or toks[k + 1].kind != "var"
                or not _is(toks[k + 2], "{")):
            continue
        graph_var, end = toks[k + 1].text[1:], _match(toks, k + 2)
        for i in range(k + 3, end):
            if toks[i].kind != "word":
                continue
            word = toks[i].keyword
            if word == "SELECT" and not _sub_select_answered(toks, k, i, graph_var):
                changed = _graph_sub_select(text, toks, k, i)
                if changed is not None:
                    return changed
                raise refuse(text, toks[i], f"this sub-SELECT inside GRAPH ?{graph_var} is not answered here: the "
                             "engine evaluates it once over all the named graphs together, not once per graph, and "
                             f"leaves ?{graph_var} unbound (SPARQL 1.1 §18.6); it is rewritten only as the whole "
                             f"pattern of the GRAPH, without LIMIT, OFFSET, VALUES, a nested SELECT or GRAPH, or "
                             f"?{graph_var} inside it; project ?{graph_var} from it (and GROUP BY ?{graph_var} for "
                             "an aggregate), or put the GRAPH inside it")
            if word == "VALUES" and _enclosing_brace(toks, i) == k + 2 and _values_end(toks, i) == end:
                # the GRAPH's whole pattern: per graph, the table joined with ?g is the join of the table with
                # every graph name, which GRAPH ?g {} gives (one solution per named graph)
                return (text[:toks[k].start] + "{ GRAPH " + toks[k + 1].text + " { } "
                        + text[toks[i].start:toks[end].start] + "}" + text[_end(toks[end]):])
            if word == "VALUES" and not _group_has_pattern(toks, _enclosing_brace(toks, i), i):
                raise refuse(text, toks[i], f"VALUES as the only pattern of a group inside GRAPH ?{graph_var} is not "
                             "answered here: the engine neither repeats it per named graph nor binds the graph "
                             "(SPARQL 1.1 §18.6); join it with a triple pattern of that graph, or move it out of "
                             "GRAPH")
            if word == "MINUS" and i + 1 < end and _is(toks[i + 1], "{"):
                changed = _graph_minus(text, toks, _enclosing_brace(toks, i), i, graph_var)
                if changed is not None:
                    return changed
    return None


def _sub_select_answered(toks, graph: int, select: int, graph_var: str) -> bool:
    """Whether Oxigraph answers the sub-SELECT at ``select`` inside the ``GRAPH ?g`` at ``graph`` as the spec does.
    It gives the spec's rows, with ?g bound, when the sub-SELECT projects ?g and has no LIMIT or OFFSET; without ?g
    projected, its rows are still right (counted once per graph holding their triples) when nothing merges or cuts
    them (no aggregate, GROUP BY, DISTINCT, REDUCED, LIMIT or OFFSET) and nothing outside reads ?g."""
    body = _where_start(toks, select)
    if body is None:
        return True  # not a SELECT the engine will parse: it reports the error
    holder = select - 1 if _is(toks[select - 1], "{") else None
    stop = _match(toks, holder) if holder is not None else len(toks)
    inner = toks[select:stop]
    if any(t.keyword in ("LIMIT", "OFFSET") for t in inner):
        return False
    if any(v.text[1:] == graph_var for v in _projected(toks[select + 1:body])):
        return True
    if any(t.keyword in ("GROUP", "DISTINCT", "REDUCED") or t.keyword in _AGGREGATES for t in inner):
        return False
    for j, t in enumerate(toks):
        if t.kind == "var" and t.text[1:] == graph_var and j != graph + 1 and not select <= j < stop:
            return False  # ?g read outside: it would be unbound
        if t.keyword in ("SELECT", "DESCRIBE") and j < graph and j + 1 < len(toks) and (
                _is(toks[j + 1], "*") or toks[j + 1].keyword in ("DISTINCT", "REDUCED") and _is(toks[j + 2], "*")):
            return False  # SELECT * projects ?g
    return True


def _graph_sub_select(text: str, toks, graph: int, select: int) -> str | None:
    """``GRAPH ?g { SELECT proj WHERE { P } mods }`` (the sub-SELECT the GRAPH's whole pattern) rewritten so that
    the engine evaluates it per graph, as §18.6 does, by making ?g part of it; None when that is not exact.

    - an aggregate with GROUP BY keys: ``SELECT ?g proj WHERE { GRAPH ?g { P } } GROUP BY ?g keys``;
    - an aggregate without GROUP BY (one group per graph, even where P matches nothing, §18.5.1): the same grouped
      by ?g for the graphs where P matches, and for every other named graph the aggregates over no solution, which
      the engine computes itself: ``{ GRAPH ?g { } MINUS { GRAPH ?g { P } } { SELECT proj WHERE { FILTER(false) }
      mods } }`` (the MINUS removes exactly the graphs where P matches: both sides bind ?g);
    - a selection (DISTINCT or not): ``SELECT ?g proj WHERE { GRAPH ?g { P } }``.
    P must not name ?g (in the sub-SELECT it is another variable, hidden by the projection) nor hold a SELECT or
    GRAPH of its own; LIMIT, OFFSET and a trailing VALUES cut or join per graph, which has no such form."""
    group = graph + 2
    while _is(toks[group + 1], "{") and _match(toks, group + 1) == _match(toks, group) - 1:
        group += 1  # GRAPH ?g { { SELECT ... } }
    if group + 1 != select:
        return None  # the sub-SELECT is one pattern among others
    stop = _match(toks, group)
    where = _where_start(toks, select)
    if where is None or stop >= len(toks):
        return None
    where_end = _match(toks, where)
    if where_end >= stop:
        return None
    graph_text = toks[graph + 1].text
    for j in range(graph - 1, -1, -1):  # inside another GRAPH: the active graph is no longer the named one
        if toks[j].keyword == "GRAPH" and j + 2 < len(toks) and _is(toks[j + 2], "{") and _match(toks, j + 2) > graph:
            return None
    body = toks[where + 1:where_end]
    if any(t.kind == "var" and t.text[1:] == graph_text[1:] or t.keyword in ("SELECT", "GRAPH", "SERVICE")
           for t in body):
        return None
    modifiers = toks[where_end + 1:stop]
    if any(t.keyword in ("LIMIT", "OFFSET", "VALUES") for t in modifiers):
        return None
    projection = toks[select + 1:where]
    aggregate = any(t.keyword in ("GROUP", "HAVING") for t in modifiers) or any(
        t.keyword in _AGGREGATES and n + 1 < len(part) and _is(part[n + 1], "(")
        for part in (projection, modifiers) for n, t in enumerate(part))
    star = any(_is(t, "*") for t in projection[:2])
    if aggregate and star:
        return None  # not a query the engine accepts: it reports the error
    head = select + 1 if projection and projection[0].keyword in ("DISTINCT", "REDUCED") else select
    projected = text[toks[select].start:_end(toks[head])] + ("" if star else f" {graph_text}") + \
        text[_end(toks[head]):toks[where].start]
    pattern = text[toks[where].start:_end(toks[where_end])]
    tail = text[_end(toks[where_end]):toks[stop].start]
    by = next((n for n, t in enumerate(modifiers[:-1]) if t.keyword == "GROUP" and modifiers[n + 1].keyword == "BY"),
              None)
    if by is not None:
        cut = _end(modifiers[by + 1]) - _end(toks[where_end])
        grouped = f"{tail[:cut]} {graph_text}{tail[cut:]}"
    elif aggregate:
        grouped = f" GROUP BY {graph_text}{tail}"
    else:
        grouped = tail
    per_graph = f"{{ {projected}{{ GRAPH {graph_text} {pattern} }}{grouped}\n}}"
    if aggregate and by is None:
        original = text[toks[select].start:toks[where].start]
        per_graph = (f"{{ {per_graph} UNION {{ GRAPH {graph_text} {{ }} MINUS {{ GRAPH {graph_text} {pattern} }} "
                     f"{{ {original}{{ FILTER(false) }}{tail}\n}} }} }}")
    return text[:toks[graph].start] + per_graph + text[_end(toks[_match(toks, graph + 2)]):]


def _enclosing_brace(toks, i: int) -> int:
    depth = 0
    for j in range(i - 1, -1, -1):
        if _is(toks[j], "}"):
            depth += 1
        elif _is(toks[j], "{"):
            if depth == 0:
                return j
            depth -= 1
    return 0


def _values_end(toks, i: int) -> int:
    """The index after the VALUES clause at ``i``."""
    j = i + 1
    while j < len(toks) and not _is(toks[j], "{"):
        j += 1
    return _match(toks, j) + 1 if j < len(toks) else len(toks)


def _group_has_pattern(toks, brace: int, values: int) -> bool:
    """Whether the group at ``brace`` holds a term outside the VALUES clause at ``values`` and outside any
    parenthesised expression: a triple pattern (or a nested group's) that carries the graph."""
    end, skip_to, depth = _match(toks, brace), _values_end(toks, values), 0
    for j in range(brace + 1, end):
        if values <= j < skip_to:
            continue
        depth += _is(toks[j], "(") - _is(toks[j], ")")
        if depth == 0 and (toks[j].kind in ("var", "iri", "pname", "blank", "string", "number") or _is(toks[j], "[")):
            return True
    return False


def _certain(toks, start: int, end: int) -> set[str]:
    """Variables of triple patterns at the top level of tokens [start, end) of a group: bound in every solution."""
    found, brace, paren, j = set(), 0, 0, start
    while j < end:
        token = toks[j]
        if token.keyword == "VALUES":
            j = _values_end(toks, j)
            continue
        brace += _is(token, "{") - _is(token, "}")
        paren += _is(token, "(", "[") - _is(token, ")", "]")
        if brace == 0 and paren == 0 and token.kind == "var":
            found.add(token.text[1:])
        j += 1
    return found


def _graph_minus(text: str, toks, brace: int, minus: int, graph_var: str) -> str | None:
    """The text without the MINUS at ``minus`` when it can remove nothing; None when Oxigraph answers it right;
    SyntaxError otherwise."""
    close = _match(toks, minus + 1)
    left = {t.text[1:] for t in toks[brace + 1:minus] if t.kind == "var"}
    right = {t.text[1:] for t in toks[minus + 2:close] if t.kind == "var"}
    if graph_var not in right:
        if not left & right:
            return text[:toks[minus].start] + text[_end(toks[close]):]  # disjoint: removes nothing (§18.5)
        if (_certain(toks, brace + 1, minus) & _certain(toks, minus + 2, close)) - {graph_var}:
            return None
    raise refuse(text, toks[minus], f"MINUS inside GRAPH ?{graph_var} is answered here only when its two sides share "
                 "a variable that every solution of both binds (in a triple pattern of each), or share none: the "
                 f"engine also counts ?{graph_var} as shared (SPARQL 1.1 §18.5, §18.6)")


# ------------------------------------------------------------------------------------------ zero-length paths

def rewrite_zero_length(text: str) -> str | None:
    """Every ``C P* ?v`` / ``C P? ?v`` (and the mirror, and two constants) with C a constant: the zero-length path
    matches C whether or not the data holds it (§18.5 ZeroOrMorePath, ZeroOrOnePath); Oxigraph finds nothing when
    it does not (and its other matches are right: without C in the data there are none). Rewritten as the
    disjoint union of the zero-length match and the others: ``{ BIND(C AS ?v) } UNION { C P* ?v FILTER(!sameTerm(?v,
    C)) }``."""
    if "*" not in text and not _QUESTION_CLOSURE.search(text):
        return None
    toks = tokens(text)
    changes = []  # (start offset, end offset, replacement), in text order, not overlapping
    closures = [m for m, t in enumerate(toks) if t.kind == "punct" and (t.text == "*" or t.text == "?") and m > 1]
    for m in closures:
        token = toks[m]
        first = m - 1
        if _is(toks[first], ")"):
            depth = 0
            for first in range(m - 1, -1, -1):
                depth += _is(toks[first], ")") - _is(toks[first], "(")
                if depth == 0:
                    break
            if first > 0 and _is(toks[first - 1], "!"):
                first -= 1
        elif not _primary(toks[first]):
            continue
        elif first > 0 and _is(toks[first - 1], "!"):
            first -= 1
        if first > 0 and _is(toks[first - 1], "^"):
            first -= 1
        before = toks[first - 1]
        if not (before.kind in ("var", "iri", "pname", "blank", "string", "number") or _is(before, ";", "[", "]")):
            continue  # not after a subject (or a property list's ";"): an expression's product, or a longer path
        if m + 1 < len(toks) and _is(toks[m + 1], "/", "|", ")", *_MODIFIERS):
            continue  # part of a longer path: left to the engine (docs/conformance-query.md)
        try:
            _PathParser(text, toks, first, m + 1).path()
        except _NotAPath:
            continue
        triple = _simple_triple(toks, first, m + 1)
        if triple is None:
            if _constant_end(toks, first, m + 1):
                raise refuse(text, token, "a zero-length path (p* or p?) from or to a constant is answered here only "
                             "as a triple pattern of its own, `C p* ?v .` (the engine misses the zero-length match "
                             "when the data lacks the constant, SPARQL 1.1 §18.5); write it so")
            continue
        (s, _), (o, o_end) = triple
        subject, obj = toks[s], toks[o]
        if subject.kind == "var" and obj.kind == "var":
            continue  # zero-length paths between variables: every term of the graph, which Oxigraph gets right
        s_text = subject.text
        o_text = text[obj.start:_end(toks[o_end - 1])]
        path = text[toks[first].start:_end(token)]
        if subject.kind == "var":
            var, const = s_text, o_text
        elif obj.kind == "var":
            var, const = o_text, s_text
        else:
            var = None
        if var is None:
            union = (f"{{ FILTER(sameTerm({s_text}, {o_text})) }} UNION "
                     f"{{ {s_text} {path} {o_text} FILTER(!sameTerm({s_text}, {o_text})) }}")
        else:
            union = (f"{{ BIND({const} AS {var}) }} UNION "
                     f"{{ {s_text} {path} {o_text} FILTER(!sameTerm({var}, {const})) }}")
        if not changes or changes[-1][1] <= subject.start:
            changes.append((subject.start, _end(toks[o_end - 1]), union))
    changes += _zero_length_sequences(text, toks, closures)
    if not changes:
        return None
    changes.sort()
    if any(a[1] > b[0] for a, b in zip(changes, changes[1:])):
        return text  # two rewrites of one triple: cannot be; leave the text to the engine rather than garble it
    for start, end, union in reversed(changes):
        text = text[:start] + union + " " + text[end:]
    return text


def _zero_length_sequences(text: str, toks, closures: list[int]) -> list[tuple[int, int, str]]:
    """The rewrites of every triple ``C P ?v`` (and the mirror, and two constants) whose path P is not a single
    closure (those are rewritten above) but can match with length zero: a sequence every step of which can
    (``:p*/:q?``), a bracketed closure (``(:p*)``). The zero-length match at C is a solution whether or not the data
    holds C (§18.5; Apache Jena answers so). Oxigraph finds no solution at all when the data lacks C, and the right
    ones when it holds C, C itself among them: so exactly when its answer lacks C, the answer is C once.
    ``{ C P ?v } UNION { BIND(C AS ?v) FILTER NOT EXISTS { C P ?v } }`` adds that row then and only then (no new
    variable: nothing leaks into ``SELECT *``)."""
    changes, seen = [], set()
    for m in closures:  # the indices of the * and ? tokens
        token = toks[m]
        span = _path_span(toks, m)
        if span in seen:
            continue
        seen.add(span)
        start, end = span
        if start < 1 or start == end:
            continue
        element = _PathParser(text, toks, start, end)
        try:
            element._element()
            if element.i == end and _is(toks[end - 1], "*", "?"):
                continue  # one closure: rewritten (or refused) by rewrite_zero_length itself
            if not _ZeroLength(text, toks, start, end).path():
                continue  # some step has length one or more: no match without C in the data, as Oxigraph says
        except _NotAPath:
            continue
        triple = _simple_triple(toks, start, end)
        if triple is None:
            if _constant_end(toks, start, end):
                raise refuse(text, token, "a zero-length path (here a path of steps each p* or p?) from or to a "
                             "constant is answered here only as a triple pattern of its own, `C p*/q? ?v .` (the "
                             "engine misses the zero-length match when the data lacks the constant, SPARQL 1.1 "
                             "§18.5); write it so")
            continue
        (s, _), (o, o_end) = triple
        subject, obj = toks[s], toks[o]
        if subject.kind == "var" and obj.kind == "var":
            continue
        s_text, o_text = subject.text, text[obj.start:_end(toks[o_end - 1])]
        pattern = f"{s_text} {text[toks[start].start:_end(toks[end - 1])]} {o_text}"
        if subject.kind == "var":
            zero = f"BIND({o_text} AS {s_text})"
        elif obj.kind == "var":
            zero = f"BIND({s_text} AS {o_text})"
        else:
            zero = f"FILTER(sameTerm({s_text}, {o_text}))"
        changes.append((subject.start, _end(toks[o_end - 1]),
                        f"{{ {pattern} }} UNION {{ {zero} FILTER NOT EXISTS {{ {pattern} }} }}"))
    return changes


class _ZeroLength:
    """Whether a property path (the grammar of _PathParser) can match with length zero: a closure ``*`` or ``?``
    can; a sequence when each step can, an alternative when one member can; an IRI or a negated set cannot."""

    def __init__(self, text: str, toks, start: int, end: int) -> None:
        self.parser = _PathParser(text, toks, start, end)

    def path(self) -> bool:
        zero = self._alternative()
        if self.parser.i != self.parser.end:
            raise _NotAPath
        return zero

    def _alternative(self) -> bool:
        zero = self._sequence()
        while self.parser._peek("|"):
            self.parser.i += 1
            zero = self._sequence() or zero
        return zero

    def _sequence(self) -> bool:
        zero = self._element()
        while self.parser._peek("/"):
            self.parser.i += 1
            zero = self._element() and zero
        return zero

    def _element(self) -> bool:
        parser = self.parser
        if parser._peek("^"):
            parser.i += 1
        if parser._peek("("):
            parser.i += 1
            zero = self._alternative()
            parser._take(")")
        else:
            parser._primary()  # an IRI or a negated set: length one
            zero = False
        if parser._peek(*_MODIFIERS):
            parser.i += 1
            return zero or parser.toks[parser.i - 1].text != "+"
        return zero


# ------------------------------------------------------------------------------------------ alternatives

def rewrite_alternative(text: str) -> str | None:
    """The text with the first path whose alternatives Oxigraph would merge rewritten as a UNION of
    alternative-free paths, or None when there is none. SyntaxError when one cannot be rewritten exactly."""
    if "|" not in text:
        return None
    toks = tokens(text)
    seen = set()
    for i, token in enumerate(toks):
        if not _is(token, "|"):
            continue
        span = _path_around(toks, i)
        if span is None or span in seen:
            continue  # not in a path (the engine's parser reports it), or a path already looked at
        seen.add(span)
        start, end = span
        parser = _PathParser(text, toks, start, end)
        try:
            terms = parser.expand(parser.path())
        except _NotAPath:
            continue  # the engine's parser will say what is wrong
        if len(terms) == 1:
            continue  # every alternative is under *, + or ?, or a one-direction negated set: a set, rightly
        construct = "a negated property set mixing forward and inverse members (!(p|^q))" if parser.mixed else \
                    "an alternative path (p|q)"
        if len(terms) > _MAX_TERMS:
            raise refuse(text, token, f"{construct}: the path expands to more than {_MAX_TERMS} alternatives; "
                         "write it as a UNION")
        triple = _simple_triple(toks, start, end)
        if triple is None:
            split = split_triples_block(text, toks, start, end)
            if split is not None:
                return split   # the next pass finds the path as a triple of its own
            raise refuse(text, token, f"{construct} is answered here only as the predicate of a triple pattern of "
                         "its own, `S path O .` with S and O a variable, an IRI or a literal (the engine would drop "
                         "the duplicates the spec's union keeps, SPARQL 1.1 §18.5); write it so, or as a UNION")
        subject, obj = triple
        s_text = text[toks[subject[0]].start:_end(toks[subject[1] - 1])]
        o_text = text[toks[obj[0]].start:_end(toks[obj[1] - 1])]
        union = " UNION ".join(f"{{ {s_text} {term} {o_text} }}" for term in terms)
        return text[:toks[subject[0]].start] + union + " " + text[_end(toks[obj[1] - 1]):]
    return None


_MAX_TERMS = 64


class _NotAPath(Exception):
    pass


class _PathParser:
    """A property path (SPARQL 1.1 grammar [88]-[96]) parsed from tokens [start, end), expanded into the
    alternative-free paths whose union it is (§18.4-18.5: sequence distributes over alternative, inverse over
    alternative and sequence, and a mixed negated set is alt(NPS, inv(NPS))). Groups under *, + or ? are sets by
    definition and stay as written."""

    def __init__(self, text: str, toks, start: int, end: int) -> None:
        self.text, self.toks, self.i, self.end = text, toks, start, end
        self.mixed = False

    def _peek(self, *texts: str) -> bool:
        return self.i < self.end and _is(self.toks[self.i], *texts)

    def _take(self, *texts: str) -> None:
        if not self._peek(*texts):
            raise _NotAPath
        self.i += 1

    def path(self):
        node = self._alternative()
        if self.i != self.end:
            raise _NotAPath
        return node

    def _alternative(self):
        members = [self._sequence()]
        while self._peek("|"):
            self.i += 1
            members.append(self._sequence())
        return ("alt", members) if len(members) > 1 else members[0]

    def _sequence(self):
        parts = [self._element()]
        while self._peek("/"):
            self.i += 1
            parts.append(self._element())
        return ("seq", parts) if len(parts) > 1 else parts[0]

    def _element(self):
        first = self.i
        inverse = self._peek("^")
        if inverse:
            self.i += 1
        primary = self._primary()
        if self._peek(*_MODIFIERS):
            self.i += 1
            return ("text", self._source(first, self.i))  # a closure: a set, kept as written
        return ("inv", primary) if inverse else primary

    def _primary(self):
        if self.i >= self.end:
            raise _NotAPath
        token = self.toks[self.i]
        if _primary(token):
            self.i += 1
            return ("text", token.text)
        if _is(token, "!"):
            first = self.i
            self.i += 1
            members = []
            if self._peek("("):
                self.i += 1
                members.append(self._one())
                while self._peek("|"):
                    self.i += 1
                    members.append(self._one())
                self._take(")")
            else:
                members.append(self._one())
            forward = [m for inv, m in members if not inv]
            backward = [m for inv, m in members if inv]
            if forward and backward:
                self.mixed = True
                return ("alt", [("text", f"!({'|'.join(forward)})"), ("text", f"!({'|'.join(backward)})")])
            return ("text", self._source(first, self.i))
        if _is(token, "("):
            self.i += 1
            node = self._alternative()
            self._take(")")
            return node
        raise _NotAPath

    def _one(self) -> tuple[bool, str]:
        first = self.i
        inverse = self._peek("^")
        if inverse:
            self.i += 1
        if self.i >= self.end or not _primary(self.toks[self.i]):
            raise _NotAPath
        self.i += 1
        return inverse, self._source(first, self.i)

    def _source(self, first: int, stop: int) -> str:
        return self.text[self.toks[first].start:_end(self.toks[stop - 1])]

    def expand(self, node) -> list[str]:
        """The alternative-free paths (as text) whose union ``node`` is."""
        kind, value = node
        if kind == "text":
            return [value]
        if kind == "alt":
            return [term for member in value for term in self.expand(member)]
        if kind == "inv":
            return [f"^({term})" for term in self.expand(value)]
        terms = [""]
        for part in value:  # a sequence: every combination of its parts' terms, in order
            terms = [f"{left}/({right})" if left else f"({right})" for left in terms for right in self.expand(part)]
            if len(terms) > _MAX_TERMS:
                return terms
        return terms


def _end(token: Token) -> int:
    return token.start + len(token.text)


def _primary(token: Token) -> bool:
    return token.kind in ("iri", "pname") or token.keyword == "A" and token.text == "a"


def _path_around(toks, i: int) -> tuple[int, int] | None:
    """The token span [start, end) of the property path holding the ``|`` at ``i`` (None when it is at an edge)."""
    start, end = _path_span(toks, i)
    if not start < i < end - 1:
        return None
    return start, end


def _path_span(toks, i: int) -> tuple[int, int]:
    """The token span [start, end) of the property path around the token at ``i``: left while tokens can continue a
    path leftwards, right while they can continue it rightwards."""
    start = i
    while start > 0:
        prev, cur = toks[start - 1], toks[start]
        if _is(cur, "|", "/"):
            ok = _primary(prev) or _is(prev, ")", *_MODIFIERS)
        elif _primary(cur) or _is(cur, "("):
            ok = _is(prev, "|", "/", "^", "!", "(")
        elif _is(cur, "^", "!"):
            ok = _is(prev, "|", "/", "^", "(")
        elif _is(cur, ")", *_MODIFIERS):
            ok = _primary(prev) or _is(prev, ")", *_MODIFIERS)
        else:
            ok = False
        if not ok:
            break
        start -= 1
    end = i + 1
    while end < len(toks):
        prev, cur = toks[end - 1], toks[end]
        if _is(prev, "|", "/", "^", "!", "("):
            ok = _primary(cur) or _is(cur, "(", "^", "!")
        elif _primary(prev) or _is(prev, ")", *_MODIFIERS):
            ok = _is(cur, "|", "/", ")") or (_is(cur, *_MODIFIERS) and not _is(prev, *_MODIFIERS))
        else:
            ok = False
        if not ok:
            break
        end += 1
    # trim brackets left unbalanced at either edge (they belong to what surrounds the path)
    while True:
        depth, low = 0, 0
        for t in toks[start:end]:
            depth += _is(t, "(") - _is(t, ")")
            low = min(low, depth)
        if low < 0 and _is(toks[end - 1], ")"):
            end -= 1
        elif depth - low > 0 and _is(toks[start], "("):
            start += 1
        else:
            break
    return start, end


def _constant_end(toks, start: int, end: int) -> bool:
    """Whether the path at [start, end) has a constant (not a variable or blank node) among its objects, or as the
    subject its property list belongs to."""
    depth = 0
    for token in toks[end:]:  # the objects: constants anywhere in the list, not in a nested blank node
        if _is(token, "(", "["):
            depth += 1
        elif _is(token, ")", "]"):
            depth -= 1
        elif depth == 0 and (_is(token, ";", ".", "{", "}") or token.kind == "word" and token.keyword not in (
                "TRUE", "FALSE")):
            break
        elif depth == 0 and (token.kind in ("iri", "pname", "string", "number") or token.keyword in ("TRUE", "FALSE")):
            return True
    depth, j = 0, start - 1
    while j >= 0:
        token = toks[j]
        if _is(token, ")", "]"):
            depth += 1
        elif _is(token, "(", "["):
            if depth == 0:
                return False  # inside a blank node's property list or a collection: its subject is no constant
            depth -= 1
        elif depth == 0 and (_is(token, "{", ".", "}") or token.kind == "word" and token.text != "a"):
            break
        j -= 1
    return j + 1 < start and toks[j + 1].kind in ("iri", "pname", "string", "number")


def _term_start(toks, k: int) -> int | None:
    """The index of the first token of the simple RDF term (variable, IRI, prefixed name, number, boolean,
    literal with its language tag or datatype) that ends at token ``k``; None for anything else."""
    if k < 0:
        return None
    token = toks[k]
    if token.kind == "langtag":
        return k - 1 if k >= 1 and toks[k - 1].kind == "string" else None
    if token.kind in ("iri", "pname") and k >= 2 and _is(toks[k - 1], "^^"):
        return k - 2 if toks[k - 2].kind == "string" else None
    if token.kind in ("var", "iri", "pname", "number", "string") or token.keyword in ("TRUE", "FALSE"):
        return k
    return None


def split_triples_block(text: str, toks, start: int, end: int) -> str | None:
    """The text with the triples block holding the path at [start, end) written as one triple per predicate and
    object (``S p o ; q r , t`` as ``S p o . S q r . S q t``: the same basic graph pattern, SPARQL 1.1 §4.2.1-4.2.2),
    so a path in a property list can be rewritten as a triple of its own; None when the block's subject or objects
    are not simple terms (a blank node's property list, a collection) or it already is one triple."""
    b = start - 1   # walk back to the block's subject, over the verbs and objects before the path
    depth = 0
    while b >= 0:
        token = toks[b]
        if _is(token, "[", "]", "{", "}") or token.keyword in _PATTERN_KEYWORDS:
            break
        if _is(token, ")"):
            depth += 1
        elif _is(token, "("):
            if depth == 0:
                return None   # inside a collection or a bracketed expression
            depth -= 1
        elif _is(token, ".") and depth == 0:
            break
        b -= 1
    if b < 0 or not _is(toks[b], "{", "}", "."):
        return None
    subject = b + 1
    if toks[subject].kind not in ("var", "iri", "pname"):
        return None
    e, depth = end, 0   # forward to the block's end
    while e < len(toks):
        token = toks[e]
        if _is(token, "[", "]", "{"):
            return None
        if _is(token, "("):
            depth += 1
        elif _is(token, ")"):
            depth -= 1
        elif depth == 0 and (_is(token, ".", "}") or token.keyword in _PATTERN_KEYWORDS):
            break
        e += 1
    if e >= len(toks) or depth != 0:
        return None
    segments, first = [], subject + 1   # predicate-object lists, split at ";" outside brackets
    depth = 0
    for k in range(subject + 1, e):
        if _is(toks[k], "("):
            depth += 1
        elif _is(toks[k], ")"):
            depth -= 1
        elif depth == 0 and _is(toks[k], ";"):
            segments.append((first, k))
            first = k + 1
    segments.append((first, e))
    triples = []
    for lo, hi in segments:
        if lo == hi:
            continue   # a trailing ";" is allowed
        objects, k = [], hi - 1
        while True:   # objects from the right: simple terms separated by ","
            term = _term_start(toks, k)
            if term is None or term <= lo:
                return None
            objects.append(text[toks[term].start:_end(toks[k])])
            if _is(toks[term - 1], ","):
                k = term - 2
                continue
            verb = text[toks[lo].start:_end(toks[term - 1])]
            break
        triples.extend((verb, obj) for obj in reversed(objects))
    if len(triples) < 2:
        return None
    subject_text = text[toks[subject].start:_end(toks[subject])]
    block = " . ".join(f"{subject_text} {verb} {obj}" for verb, obj in triples)
    return text[:toks[subject].start] + block + " " + text[_end(toks[e - 1]):]


def _simple_triple(toks, start: int, end: int):
    """((subject span), (object span)) when the path at [start, end) is the predicate of a triple standing on its
    own: one term before it (itself after ``{``, ``.``, ``}`` or ``)``), one term after it (then ``.``, ``}``, ``{``
    or a keyword starting another pattern); else None."""
    s = start - 1
    if s < 1 or toks[s].kind not in ("var", "iri", "pname") or not _is(toks[s - 1], *_BEFORE_SUBJECT):
        return None
    o = end
    if o >= len(toks):
        return None
    kind = toks[o].kind
    if kind in ("var", "iri", "pname", "number") or toks[o].keyword in ("TRUE", "FALSE"):
        after = o + 1
    elif kind == "string":
        after = o + 1
        if after < len(toks) and toks[after].kind == "langtag":
            after += 1
        elif after + 1 < len(toks) and _is(toks[after], "^^") and toks[after + 1].kind in ("iri", "pname"):
            after += 2
    else:
        return None
    if after < len(toks) and not (_is(toks[after], *_AFTER_OBJECT) or toks[after].keyword in _PATTERN_KEYWORDS):
        return None
    return (s, s + 1), (o, after)


__all__ = ["rewrite", "wrap_group_concat", "check_select_scope", "rewrite_alternative", "rewrite_graph_patterns",
           "rewrite_zero_length", "split_triples_block"]
