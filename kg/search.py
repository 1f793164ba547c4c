"""Find entities by part of their name: a full-text index (SQLite FTS5, from the standard library) over the
names and descriptions in the graph.

What is indexed: every resource under ``id/`` with an ``rdfs:label`` that is a ``cnkg:Entity`` or a
``skos:Concept`` (stages, categories, landscape categories, tags, personas; not use cases, which are sentences),
with its label, its ``skos:altLabel``\\ s and its ``cnkg:description``\\ s. Text is compared case- and
accent-insensitively: both the index and the query are folded (``Kubérnetes`` = ``kubernetes``) before SQLite
sees them.

Ranking, best first: the label is the query; an altLabel is; a name starts with it; a word of a name starts with
it (after a space or punctuation); a name contains it; a description contains its words (by BM25). Ties go to the shorter name, then to the
name. Names are matched through a trigram index (substrings of three characters or more; shorter queries scan
the ~6,000 names), descriptions through a word index with prefix queries. When nothing matches, the answer
suggests the nearest name ("did you mean"), chosen by :func:`cnkg.errors.closest` among the names that share a
trigram with the query, so the suggestion costs no scan of every name.

The index lives in memory, is built on the first search from the graph's current data, and belongs to one
version of the graph: :class:`cnkg.api.KnowledgeGraph` drops it when the data changes. Its size is bounded by
the graph's (about 1 MB for the 3,300 entities of the article plus both landscape snapshots); queries are bounded
too (``MAX_QUERY`` characters, ``MAX_LIMIT`` hits).
"""
from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from dataclasses import asdict, dataclass, field

from .errors import InvalidInput, Problem, closest
from .iris import PREFIX_IRIS

MAX_QUERY = 200
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
# What kind of match each rank is, best first.
RANKS = ("label", "altLabel", "prefix", "word", "substring", "description")
# The types a hit is shown with, most specific first (the first one the resource has).
TYPES = ("Project", "ProgrammingLanguage", "Specification", "InternalSystem", "Software", "Platform", "Organization",
         "LandscapeItem", "Stage", "Category", "LandscapeCategory", "LandscapeTag", "Persona")

_ID = PREFIX_IRIS["id"]
_INDEXED = f"""
PREFIX cnkg: <{PREFIX_IRIS['cnkg']}>
PREFIX skos: <{PREFIX_IRIS['skos']}>
PREFIX rdfs: <{PREFIX_IRIS['rdfs']}>
SELECT ?s ?p ?o WHERE {{
  {{ SELECT DISTINCT ?s WHERE {{
      {{ ?s a cnkg:Entity }} UNION {{ ?s a skos:Concept MINUS {{ ?s a cnkg:UseCase }} }}
      ?s rdfs:label [] .
      FILTER(STRSTARTS(STR(?s), "{_ID}"))
  }} }}
  VALUES ?p {{ rdfs:label skos:altLabel skos:prefLabel cnkg:description rdf:type }}
  ?s ?p ?o .
}}"""
_KINDS = {PREFIX_IRIS["rdfs"] + "label": "label", PREFIX_IRIS["skos"] + "altLabel": "altLabel",
          PREFIX_IRIS["skos"] + "prefLabel": "altLabel"}
_DESCRIPTION = PREFIX_IRIS["cnkg"] + "description"
_TYPE = PREFIX_IRIS["rdf"] + "type"
# A word starts after a space or one of these (for the "word" rank).
_WORD_STARTS = (" ", "-", "/", ".", "(", "_", ":")
# Concepts (stages, categories, tags, personas) come after entities when they match equally well.
_CONCEPTS = {"Stage", "Category", "LandscapeCategory", "LandscapeTag", "Persona"}


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD without combining marks, case-folded, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", stripped.casefold()).strip()


@dataclass(frozen=True)
class Hit:
    iri: str
    label: str
    match: str           # one of RANKS
    matched: str         # the name (or description) that matched
    types: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    suggestion: str | None = None      # "did you mean", when nothing matched

    def as_dict(self) -> dict:
        return {"query": self.query, "hits": [h.as_dict() for h in self.hits], "suggestion": self.suggestion}


def check_query(text: str, limit: int = DEFAULT_LIMIT) -> tuple[str, int]:
    """The query folded and the limit, or ``InvalidInput`` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput([Problem("search", None, "nothing to search for: give part of a name, e.g. 'prometh'")])
    if len(text) > MAX_QUERY:
        raise InvalidInput([Problem("search", None, f"the search text has {len(text)} characters; at most "
                                    f"{MAX_QUERY} are searched for")])
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput([Problem("search", None, f"limit {limit!r} is not a number from 1 to {MAX_LIMIT}")])
    if "\x00" in text:  # SQLite ends a string at NUL: FTS5 would read an unterminated phrase
        raise InvalidInput([Problem("search", None, "the search text contains a NUL character (U+0000); "
                                    "remove it")])
    folded = fold(text)
    if not folded:
        raise InvalidInput([Problem("search", None, f"{text!r} has no letters or digits to search for")])
    return folded, limit


def _phrase(text: str) -> str:
    """An FTS5 string literal (the whole text, quotes doubled): matched as a phrase, never as query syntax."""
    return '"' + text.replace('"', '""') + '"'


class SearchIndex:
    """An in-memory FTS5 index of the names and descriptions of one version of a graph."""

    def __init__(self, store):
        # one connection, shared by the server's threads one at a time
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self.db.executescript("""
            CREATE TABLE entity(id INTEGER PRIMARY KEY, iri TEXT UNIQUE, label TEXT, types TEXT, concept INTEGER);
            CREATE VIRTUAL TABLE name USING fts5(folded, entity UNINDEXED, kind UNINDEXED, original UNINDEXED,
                                                 tokenize = 'trigram');
            CREATE VIRTUAL TABLE description USING fts5(folded, entity UNINDEXED, original UNINDEXED,
                                                        tokenize = 'unicode61');
        """)
        self._load(store)

    def _load(self, store) -> None:
        values: dict[str, dict[str, set[str]]] = {}
        for subject, predicate, value in store.select(_INDEXED):
            values.setdefault(str(subject), {}).setdefault(str(predicate), set()).add(str(value))
        entities, names, descriptions = [], [], []
        for number, (iri, found) in enumerate(sorted(values.items()), start=1):
            labels = sorted(found[PREFIX_IRIS["rdfs"] + "label"])
            types = {t.rsplit("#", 1)[-1] for t in found.get(_TYPE, ()) if t.startswith(PREFIX_IRIS["cnkg"])}
            shown = [t for t in TYPES if t in types]
            concept = 1 if shown and shown[0] in _CONCEPTS else 0
            entities.append((number, iri, labels[0], ",".join(shown), concept))
            seen = set()
            for predicate, kind in _KINDS.items():
                for value in sorted(found.get(predicate, ())):
                    folded = fold(value)
                    if folded and folded not in seen:
                        seen.add(folded)
                        names.append((folded, number, kind, value))
            for value in sorted(found.get(_DESCRIPTION, ())):
                descriptions.append((fold(value), number, value))
        with self.db:
            self.db.executemany("INSERT INTO entity VALUES (?, ?, ?, ?, ?)", entities)
            self.db.executemany("INSERT INTO name VALUES (?, ?, ?, ?)", names)
            self.db.executemany("INSERT INTO description VALUES (?, ?, ?)", descriptions)
        self.size = len(entities)
        self.concepts = {number for number, *_, concept in entities if concept}

    # ------------------------------------------------------------------ searching

    def search(self, text: str, limit: int = DEFAULT_LIMIT) -> SearchResult:
        query, limit = check_query(text, limit)
        with self._lock:
            return self._search(text, query, limit)

    def _search(self, text: str, query: str, limit: int) -> SearchResult:
        best: dict[int, tuple] = {}             # entity -> (rank, concept?, name length, name, matched, kind)
        if len(query) >= 3:                     # the trigram index finds every name containing the query
            where, argument = "name MATCH :match", _phrase(query)
        else:                                   # too short for trigrams: the ~6,000 names are scanned
            pattern = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where, argument = "folded LIKE :match ESCAPE '\\'", f"%{pattern}%"
        # ranked in SQL, best name per entity, so a one-letter query hands Python only the hits it shows
        rows = self.db.execute(f"""
            WITH hit AS (
              SELECT entity, kind, folded, original,
                CASE WHEN folded = :q THEN (CASE kind WHEN 'label' THEN 0 ELSE 1 END)
                     WHEN substr(folded, 1, length(:q)) = :q THEN 2
                     WHEN {" OR ".join(f"instr(folded, '{c}' || :q)" for c in _WORD_STARTS)} THEN 3
                     ELSE 4 END AS rank
              FROM name WHERE {where})
            SELECT hit.entity, kind, folded, original, rank, entity.concept,
                   MIN(rank * 100000000 + entity.concept * 10000000 + length(folded)) AS score
            FROM hit JOIN entity ON entity.id = hit.entity
            GROUP BY hit.entity ORDER BY score, folded LIMIT :limit""",
                               {"q": query, "match": argument, "limit": limit})
        for entity, kind, folded, original, rank, concept, _ in rows:
            best[entity] = (rank, concept, len(folded), folded, original, RANKS[rank])
        if len(best) < limit:
            words = re.findall(r"\w+", query)
            if words:
                match = " AND ".join(_phrase(w) + "*" for w in words)
                for entity, original, score in self.db.execute(
                        "SELECT entity, original, bm25(description) FROM description WHERE description MATCH ? "
                        "ORDER BY bm25(description) LIMIT ?", (match, limit * 4)):
                    if entity not in best:
                        best[entity] = (5, int(entity in self.concepts), score, "", original, "description")
        ordered = sorted(best.items(), key=lambda kv: kv[1][:4])[:limit]
        hits = []
        for entity, (*_, matched, kind) in ordered:
            iri, label, types = self.db.execute("SELECT iri, label, types FROM entity WHERE id = ?",
                                                (entity,)).fetchone()
            hits.append(Hit(iri, label, kind, matched, types.split(",") if types else []))
        suggestion = None if hits else self.suggest(query)
        return SearchResult(text, hits, suggestion)

    def suggest(self, query: str) -> str | None:
        """The name nearest a query that matched nothing, among the names sharing a trigram with it."""
        grams = {query[i:i + 3] for i in range(len(query) - 2)} if len(query) >= 3 else set()
        if grams:
            match = " OR ".join(_phrase(g) for g in sorted(grams))
            rows = self.db.execute("SELECT folded, original, kind, entity FROM name WHERE name MATCH ? LIMIT 2000",
                                   (match,))
        else:
            rows = self.db.execute("SELECT folded, original, kind, entity FROM name WHERE length(folded) <= ?",
                                   (len(query) + 2,))
        names: dict[str, tuple] = {}           # folded -> (how it is spelt: an entity's label first, original)
        for folded, original, kind, entity in rows:
            key = (entity in self.concepts, kind != "label", original)
            if folded not in names or key < names[folded]:
                names[folded] = key
        names = {folded: key[-1] for folded, key in names.items()}
        guess = closest(query, names, cutoff=0.6)
        return names[guess] if guess is not None else None


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_QUERY", "RANKS", "Hit", "SearchIndex", "SearchResult", "fold"]
