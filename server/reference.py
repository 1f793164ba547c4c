"""The reference view of an entity page: what a reader needs, grouped by meaning, each value with its sources.

An entity's page shows the facts somebody stated (a cited document, an article section, a landscape snapshot, the
curators), not the reasoner's echoes of them: ``schema:url`` beside ``cnkg:homepage``, ``prov:wasAttributedTo``
beside ``cnkg:developedBy``, ``rdf:type cnkg:Entity`` beside ``cnkg:Project``, ``usedBy`` beside somebody's
``uses``. A fact stated in the other direction (Jaeger ``uses`` Kubernetes) shows on both pages, under the name of
its inverse where the ontology has one. The provenance plumbing of the landscape import (the source lines a fact
was read from, the names mentioned on them) stays in the complete table (``?view=all``), as do the inferred facts.

Sources are numbered once per page, in order of first use, and every value carries the numbers of its sources, as
a reference work's footnotes do.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import OWL, RDF, RDFS, SKOS, Literal, URIRef
from rdflib.namespace import DCTERMS

from ..namespaces import CNKG, ID, META_GRAPH, ONTOLOGY_GRAPH, SOURCE
from ..provenance import web_url

SCHEMA = "https://schema.org/"
DESCRIPTIONS = (CNKG.description, DCTERMS.description, URIRef(SCHEMA + "description"), SKOS.definition)

# the summary's links, in this order
LINKS = [("Homepage", CNKG.homepage), ("Repository", CNKG.repository), ("More repositories", CNKG.additionalRepository),
         ("DevStats", CNKG.devStats), ("Crunchbase", CNKG.crunchbase)]
# who created it: the first of these an entity has (originallyDevelopedBy names the origin, developedBy today's)
CREATORS = (CNKG.originallyDevelopedBy, CNKG.createdBy, CNKG.foundedBy, CNKG.developedBy)

# sections by meaning: (anchor, heading, properties); a property not named here goes to "Other facts"
SECTIONS = [
    ("integrations", "Integrations", (CNKG.integratesWith, CNKG.compatibleWith, CNKG.complements, CNKG.implements,
                                      CNKG.implementsDesignOf, CNKG.uses, CNKG.usedBy, CNKG.runsOn, CNKG.builtOn,
                                      CNKG.alternativeTo, CNKG.defaultComponentOf)),
    ("organisations", "Organisations", (CNKG.originallyDevelopedBy, CNKG.developedBy, CNKG.developed,
                                        CNKG.createdBy, CNKG.foundedBy, CNKG.contributedBy, CNKG.donatedBy,
                                        CNKG.donatedIn, CNKG.listedOrganization, CNKG.adoptedBy, CNKG.adopterOf,
                                        CNKG.memberSince)),
    ("subprojects", "Sub-projects and parts", (CNKG.subprojectOf, CNKG.partOf, CNKG.mergerOf)),
    ("languages", "Languages", (CNKG.writtenIn,)),
    ("categories", "Categories and audience", (CNKG.inCategory, CNKG.primaryLandscapeCategory,
                                               CNKG.inLandscapeCategory, CNKG.landscapeTag, CNKG.persona,
                                               CNKG.useCase, CNKG.businessUseCase)),
]
# shown in the summary or in a section of their own (stage history, audits, lineage), never twice
SHOWN_ELSEWHERE = {RDFS.label, SKOS.altLabel, SKOS.prefLabel, RDF.type, *DESCRIPTIONS, RDFS.comment, CNKG.hasStage,
                   CNKG.lifecycleEvent, CNKG.audit, CNKG.createdIn, *(p for _, p in LINKS)}
# the plumbing of the landscape import: which line stated a fact, which names a line mentions
PLUMBING = {CNKG.statedAt, CNKG.describes, CNKG.mentionedBy, CNKG.resolvesTo, URIRef("http://www.w3.org/ns/prov#"
                                                                                     "wasDerivedFrom")}


@dataclass
class Note:
    """One numbered source of the page."""

    number: int
    title: str
    url: str | None = None
    confidence: str | None = None
    hover: str | None = None


@dataclass
class Value:
    """One value of a fact: a link to an entity page, an outside link, or a literal; with its source numbers."""

    text: str
    href: str | None = None
    title: str | None = None
    notes: list[int] = field(default_factory=list)
    extra: str | None = None   # e.g. the relations of a lineage step
    outside: bool = False


@dataclass
class Row:
    name: str
    values: list[Value]


@dataclass
class Section:
    anchor: str
    heading: str
    rows: list[Row]


@dataclass
class Event:
    date: str
    text: str
    stage: Value | None
    notes: list[int]
    detail: Value | None = None


@dataclass
class Reference:
    """Everything the reference view of one entity shows."""

    label: str
    iri: str
    types: list[Value]
    descriptions: list[Value]
    alt_labels: list[str]
    stage: list[Value]
    stage_since: str | None
    categories: list[Value]
    links: list[Row]
    creators: list[Value]
    created: list[Value]
    donated: list[Value]
    ancestors: list[Value]
    descendants: list[Value]
    sections: list[Section]
    timeline: list[Event]
    audits: list[Event]
    notes: list[Note]
    hidden: int            # statements left to the complete view


class Builder:
    """Builds the :class:`Reference` of one entity from the store (``graph``: the KnowledgeGraph)."""

    def __init__(self, graph, entity_href, term_href):
        self.graph = graph
        self.store = graph.store
        self.entity_href = entity_href     # slug -> the local page's URL
        self.term_href = term_href         # local name of an ontology term -> its place on the ontology page
        self.notes: list[Note] = []
        self._numbers: dict[tuple, int] = {}
        tbox = self.store.graph(ONTOLOGY_GRAPH)
        self.inverse: dict[URIRef, URIRef] = {}
        for a, b in tbox.subject_objects(OWL.inverseOf):
            self.inverse.setdefault(a, b)
            self.inverse.setdefault(b, a)
        self.symmetric = set(tbox.subjects(RDF.type, OWL.SymmetricProperty))
        self.lineage = graph.lineage_index.relations

    # ------------------------------------------------------------------ sources

    def stated(self, triple) -> list[int] | None:
        """The note numbers of the sources stating ``triple``; None when nobody states it (only inferred)."""
        numbers, asserted = [], False
        for source in self.graph.provenance(triple):
            if source.kind in ("inferred", "ontology"):
                continue
            asserted = True
            if source.kind == "curated":
                numbers.append(self._note(("curated",), "cnkg curators (kg/facts)", None, None, None))
                continue
            hover = source.note or (f"{source.title}, part of {source.document}" if source.document else None)
            numbers.append(self._note((source.title, source.url), source.title, source.url, source.confidence, hover))
        return sorted(set(numbers)) if asserted else None

    def cite(self, citation) -> int:
        """The note number of a lineage step's source (a :class:`cnkg.provenance.Source`)."""
        hover = f"{citation.title}, part of {citation.document}" if citation.document else None
        return self._note((citation.title, citation.url), citation.title, citation.url, citation.confidence, hover)

    def _note(self, key, title, url, confidence, hover) -> int:
        if key not in self._numbers:
            self._numbers[key] = len(self.notes) + 1
            self.notes.append(Note(len(self.notes) + 1, title, url, confidence, hover))
        elif confidence == "high" and self.notes[self._numbers[key] - 1].confidence != "high":
            self.notes[self._numbers[key] - 1].confidence = "high"
        return self._numbers[key]

    # ------------------------------------------------------------------ values

    def value(self, term, notes=None) -> Value:
        notes = notes or []
        if isinstance(term, Literal):
            url = web_url(term) if term.datatype == URIRef("http://www.w3.org/2001/XMLSchema#anyURI") else None
            return Value(str(term), url, notes=notes, outside=url is not None)
        text = str(term)
        if text.startswith(str(ID)):
            return Value(self.graph.label(term), self.entity_href(text[len(str(ID)):]), text, notes)
        label = self.store.value(term, RDFS.label)
        shown = str(label) if label is not None else text
        if text.startswith(str(CNKG)):
            return Value(shown, self.term_href(text[len(str(CNKG)):]), text, notes)
        return Value(shown, web_url(term), text, notes, outside=True)

    def name(self, prop: URIRef, incoming: bool = False, label: str = "") -> str:
        """How a row is headed: the property's label; for a fact stated the other way, "<label> <entity>"."""
        text = self.store.value(prop, RDFS.label)
        text = str(text) if text is not None else str(prop).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        text = text[:1].upper() + text[1:]
        return f"{text} {label}" if incoming else text

    # ------------------------------------------------------------------ the page

    def build(self, iri: URIRef) -> Reference:
        store = self.store
        label = self.graph.label(iri)
        outgoing: dict[tuple, list[int]] = {}    # (predicate, object) -> note numbers, stated facts only
        hidden = 0
        for p, o in sorted({(p, o) for _, p, o, g in store.quads((iri, None, None, None)) if g != META_GRAPH}):
            notes = self.stated((iri, p, o))
            if notes is None or p in PLUMBING or str(o).startswith(str(SOURCE)):
                hidden += 1
                continue
            outgoing[(p, o)] = notes
        incoming: dict[tuple, list[int]] = {}    # (predicate, subject) -> note numbers, stated facts only
        for s, p in sorted({(s, p) for s, p, _, g in store.quads((None, None, iri, None))
                            if g != META_GRAPH and s != iri}):
            notes = self.stated((s, p, iri))
            if notes is None or p in PLUMBING or str(s).startswith(str(SOURCE)):
                hidden += 1
                continue
            incoming[(p, s)] = notes

        def values(prop) -> list[Value]:
            return [self.value(o, n) for (p, o), n in outgoing.items() if p == prop]

        descriptions = [self.value(o, n) for (p, o), n in outgoing.items() if p in DESCRIPTIONS]
        seen_text: set[str] = set()
        descriptions = [d for d in descriptions if not (d.text in seen_text or seen_text.add(d.text))]
        types = [self.value(o, n) for (p, o), n in outgoing.items() if p == RDF.type]
        timeline = self._events(iri, CNKG.lifecycleEvent, outgoing)
        stage, since = values(CNKG.hasStage), None
        dated = [e for e in timeline if e.stage is not None and e.date]
        if dated:   # the latest event says where the project is now, and since when
            latest = max(dated, key=lambda e: e.date)
            stage = [v for v in stage if v.href == latest.stage.href] or [latest.stage]
            since = latest.date
        creators = next((vs for prop in CREATORS if (vs := values(prop))), [])
        ancestors, descendants = self._lineage(iri)
        sections = self._sections(label, outgoing, incoming)
        return Reference(
            label=label, iri=str(iri), types=types, descriptions=descriptions,
            alt_labels=sorted({str(o) for (p, o) in outgoing if p == SKOS.altLabel}),
            stage=stage, stage_since=since,
            categories=values(CNKG.inCategory) + values(CNKG.primaryLandscapeCategory),
            links=[Row(name, vs) for name, prop in LINKS if (vs := values(prop))],
            creators=creators, created=values(CNKG.createdIn),
            donated=values(CNKG.donatedBy) + values(CNKG.donatedIn),
            ancestors=ancestors, descendants=descendants, sections=sections, timeline=timeline,
            audits=self._audits(iri, outgoing), notes=self.notes, hidden=hidden)

    def _sections(self, label, outgoing, incoming) -> list[Section]:
        rows: dict[tuple, list[Value]] = {}   # (property, incoming?) -> values
        for (p, o), notes in outgoing.items():
            if p in SHOWN_ELSEWHERE or p in self.lineage:
                continue
            rows.setdefault((p, False), []).append(self.value(o, notes))
        for (p, s), notes in incoming.items():
            if p in self.lineage:
                continue
            # stated the other way: under the inverse's name (uses -> used by), a symmetric one under its own
            key = (p, False) if p in self.symmetric else (self.inverse[p], False) if p in self.inverse else (p, True)
            mine = rows.setdefault(key, [])
            value = self.value(s, notes)
            same = next((v for v in mine if v.href == value.href and v.text == value.text), None)
            if same is not None:
                same.notes = sorted(set(same.notes) | set(notes))
            else:
                mine.append(value)
        sections, placed = [], set()
        for anchor, heading, props in SECTIONS:
            found = []
            for prop in props:
                for incoming_row in (False, True):
                    if (prop, incoming_row) in rows:
                        vs = sorted(rows[(prop, incoming_row)], key=lambda v: v.text.lower())
                        found.append(Row(self.name(prop, incoming_row, label), vs))
                        placed.add((prop, incoming_row))
            if found:
                sections.append(Section(anchor, heading, found))
        rest = [Row(self.name(p, inc, label), sorted(vs, key=lambda v: v.text.lower()))
                for (p, inc), vs in sorted(rows.items(), key=lambda kv: (kv[0][1], self.name(kv[0][0])))
                if (p, inc) not in placed]
        if rest:
            sections.append(Section("other", "Other facts", rest))
        return sections

    def _lineage(self, iri) -> tuple[list[Value], list[Value]]:
        """One value per related entity, one step up (where it comes from) and one step down (what came of it),
        naming every relation between the two and citing every source."""
        index = self.graph.lineage_index

        def steps(edges, other) -> list[Value]:
            found: dict[URIRef, Value] = {}
            names: dict[URIRef, list[str]] = {}
            for step in edges.get(iri, []):
                node = other(step)
                value = found.setdefault(node, self.value(node))
                for relation in step.relations:
                    names.setdefault(node, []).append(self.graph.label(relation))
                value.notes = sorted({*value.notes, *(self.cite(index.citation(s)) for s in step.sources)})
            for node, value in found.items():
                value.extra = ", ".join(dict.fromkeys(names[node]))
            return sorted(found.values(), key=lambda v: v.text.lower())

        return steps(index.up, lambda s: s.parent), steps(index.down, lambda s: s.child)

    def _events(self, iri, prop, outgoing) -> list[Event]:
        events = []
        for (p, event), notes in outgoing.items():
            if p != prop:
                continue
            date = self.store.value(event, CNKG.eventDate)
            kind = self.store.value(event, CNKG.eventKind)
            stage = self.store.value(event, CNKG.toStage)
            events.append(Event(str(date) if date is not None else "", str(kind) if kind is not None else
                                self.graph.label(event), self.value(stage) if stage is not None else None, notes))
        return sorted(events, key=lambda e: (e.date == "", e.date))

    def _audits(self, iri, outgoing) -> list[Event]:
        audits = []
        for (p, audit), notes in outgoing.items():
            if p != CNKG.audit:
                continue
            date = self.store.value(audit, CNKG.auditDate) or self.store.value(audit, DCTERMS.date)
            vendor = self.store.value(audit, CNKG.auditVendor)
            kind = self.store.value(audit, CNKG.auditType)
            report = self.store.value(audit, CNKG.auditReport)
            text = " ".join(x for x in (f"{kind} audit" if kind is not None else "audit",
                                        f"by {vendor}" if vendor is not None else "") if x)
            audits.append(Event(str(date) if date is not None else "", text, None, notes,
                                Value("report", web_url(report), outside=True) if web_url(report) else None))
        return sorted(audits, key=lambda e: e.date)


def statement_count(store, iri) -> int:
    """How many distinct statements the complete view of ``iri`` lists (both directions)."""
    out = {(p, o) for _, p, o, g in store.quads((iri, None, None, None)) if g != META_GRAPH}
    into = {(s, p) for s, p, _, g in store.quads((None, None, iri, None)) if g != META_GRAPH and s != iri}
    return len(out) + len(into)


__all__ = ["Builder", "Reference", "statement_count"]
