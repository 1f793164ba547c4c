"""rdflib terms interned as consecutive integers: the compact form in which the build holds its triples.

A triple of three small integers in a set costs about a tenth of the same triple in rdflib's memory store (which
keeps three indexes of term objects per context), and hashing integers is much faster than hashing rdflib terms
(whose equality is Python code). The reasoner (:mod:`cnkg.rules`) and the build's dataset
(:mod:`cnkg.quadset`) share one table, so the build holds each term once.

Equal terms get one id, as rdflib's graphs define equality: an IRI by its text, a blank node by its id (apart from
an IRI of the same text), a literal by its lexical form, datatype and language.
"""
from __future__ import annotations

from collections.abc import Iterable

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

IntTriple = tuple[int, int, int]

_plain = str.__str__


def term_key(term: Node) -> object:
    """A dict key for a term that is not an IRI (IRIs have a table of their own, keyed by their plain text), equal
    for equal terms: a blank node becomes a tagged plain string, which compares in C where rdflib compares terms in
    Python; a literal is its own key (its equality, lexical form, datatype and language, is rdflib's to define)."""
    return ("_:", _plain(term)) if type(term) is BNode else term


class TermTable:
    """Terms by id (``terms``) and ids by term; ids only grow, so an id stays valid for the table's life."""

    __slots__ = ("iri_ids", "other_ids", "terms")

    def __init__(self):
        self.iri_ids: dict[str, int] = {}         # an IRI's plain text -> id
        self.other_ids: dict[object, int] = {}    # term_key(term) -> id, for blank nodes and literals
        self.terms: list[Node] = []

    def __len__(self) -> int:
        return len(self.terms)

    def intern(self, term: Node) -> int:
        if type(term) is URIRef:
            table, key = self.iri_ids, _plain(term)
        else:
            table, key = self.other_ids, term_key(term)
        found = table.setdefault(key, len(self.terms))
        if found == len(self.terms):   # new
            self.terms.append(term)
        return found

    def id(self, term: Node) -> int | None:
        """The id of ``term``, or None when it was never interned."""
        if type(term) is URIRef:
            return self.iri_ids.get(_plain(term))
        return self.other_ids.get(term_key(term))

    def intern_triples(self, triples: Iterable, into: set[IntTriple] | None = None) -> set[IntTriple]:
        """``triples`` interned, added to ``into`` (a new set by default), which is returned."""
        get, plain, uri, intern = self.iri_ids.get, _plain, URIRef, self.intern
        get_literal, literal = self.other_ids.get, Literal   # a literal is its own key (see term_key)
        out = set() if into is None else into
        add = out.add
        for s, p, o in triples:    # unrolled: most terms are IRIs already seen, most others literals
            i = get(plain(s)) if type(s) is uri else None
            if i is None:
                i = intern(s)
            j = get(plain(p)) if type(p) is uri else None
            if j is None:
                j = intern(p)
            kind = type(o)
            k = get(plain(o)) if kind is uri else get_literal(o) if kind is literal else None
            if k is None:
                k = intern(o)
            add((i, j, k))
        return out

    def triple(self, t: IntTriple) -> tuple[Node, Node, Node]:
        terms = self.terms
        return terms[t[0]], terms[t[1]], terms[t[2]]
