"""Oxigraph's SPARQL syntax errors in words a person reads.

Oxigraph's parser (rust-peg) says what it expected at the failing position as a list of every alternative it
tried: keywords, quoted punctuation, the grammar's character classes written as Rust ranges
(``['A' ..= 'Z' | 'a' ..= 'z' | '\\u{00C0}'..='\\u{00D6}' | ...]``), ``[_]`` for "any character", and now and then a
sentence naming the real problem ("The SELECT contains a variable that is unbound"). :func:`readable` keeps what
helps: the sentence first when there is one, then a short list in SPARQL terms ("a variable", "an IRI",
"a function call" for the dozens of built-in function names), never a character range.
"""
from __future__ import annotations

import re

# punctuation the parser quotes, in SPARQL terms (the rest is shown quoted as it is)
TOKENS = {'"?"': "a variable", '"$"': "a variable", '"<"': "an IRI", '":"': "a prefixed name",
          '"_:"': "a blank node", '"\\""': "a string", "'\"'": "a string", '"\'"': "a string", '"\\\\"': None,
          '"\\\\u"': None, '"\\\\U"': None, "EOF": "the end of the text", "IRI parsing failed": "a valid IRI"}
# SPARQL 1.1 built-in calls and aggregates: a list naming several means "an expression" was expected
FUNCTIONS = set("""ABS AVG BNODE BOUND CEIL COALESCE CONCAT CONTAINS COUNT DATATYPE DAY ENCODE_FOR_URI EXISTS FLOOR
GROUP_CONCAT HOURS IF IRI ISBLANK ISIRI ISLITERAL ISNUMERIC ISURI ISTRIPLE LANG LANGDIR LANGMATCHES LCASE MAX MD5 MIN
MINUTES MONTH NOW OBJECT PREDICATE RAND REGEX REPLACE ROUND SAMEGRAPH SAMETERM SAMPLE SECONDS SHA1 SHA256 SHA384
SHA512 STR STRAFTER STRBEFORE STRDT STRENDS STRLANG STRLANGDIR STRLEN STRSTARTS STRUUID SUBJECT SUBSTR SUM TIMEZONE
TRIPLE TZ UCASE URI UUID YEAR HASLANG HASLANGDIR ISTRIPLE""".split())
MAX_ITEMS = 8
_EXPECTED = re.compile(r"expected (one of )?")


def _items(text: str) -> list[str]:
    """The comma-separated alternatives of Oxigraph's list; quoted items and bracketed ranges kept whole."""
    items, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        if i >= n:
            break
        start = i
        if text[i] == '"':                       # "..." with backslash escapes
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif text[i] == "[":                     # [...] with quoted characters inside, ']' among them
            depth = 0
            while i < n:
                if text[i] == "'":
                    i += 1
                    while i < n and text[i] != "'":
                        i += 2 if text[i] == "\\" else 1
                elif text[i] == "[":
                    depth += 1
                elif text[i] == "]":
                    depth -= 1
                    if depth == 0:
                        i += 1
                        break
                i += 1
        else:
            while i < n and text[i] != ",":
                i += 1
        items.append(text[start:i].strip())
    return [item for item in items if item]


def readable(message: str) -> str:
    """``message`` with its "expected ..." part in SPARQL terms: a sentence naming the problem first, then at most
    MAX_ITEMS alternatives, no character ranges. Text before "expected" is kept as it is."""
    match = _EXPECTED.search(message)
    if match is None:
        return message
    head, items = message[:match.start()], _items(message[match.end():])
    sentences, words, functions, names = [], [], [], False
    for item in items:
        if item.startswith("["):                    # a character class ('A' ..= 'Z' ...: a name goes here)
            names = names or "'A'" in item or "'a'" in item
            continue
        if item in TOKENS:
            if TOKENS[item] is not None:
                words.append(TOKENS[item])
        elif item.upper() in FUNCTIONS and item.isupper():
            functions.append(item)
        elif " " in item and not item.startswith('"'):   # the parser's own sentence about the real problem
            sentences.append(item[:1].lower() + item[1:] if item[1:2].islower() else item)
        else:
            words.append(item)
    if len(functions) >= 3:
        words.append("a function call (" + ", ".join(functions[:3]) + ", …)")
    else:
        words.extend(functions)
    if names and "a prefixed name" not in words:
        words.append("a name")
    words = list(dict.fromkeys(words))
    if len(words) > MAX_ITEMS:
        words = words[:MAX_ITEMS] + ["…"]
    if sentences:
        said = "; ".join(dict.fromkeys(sentences))
        return head + said + (f" (expected {_listed(words)})" if words and len(words) <= 4 else "")
    if not words:
        return head + "unexpected text here"
    return head + "expected " + _listed(words)


def _listed(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    if words[-1] == "…":
        return ", ".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


__all__ = ["readable"]
