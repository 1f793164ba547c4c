"""Turn checked landscape snapshots into named graphs, one per snapshot, described in the meta graph.

Each snapshot's graph ``graph/landscape/<name>`` holds what that file says: items, their places in the
landscape's category scheme, homepage, repository, description, Crunchbase organisation, CNCF stage and dated
lifecycle events, and what the file states beyond those (:func:`add_statements`): integrations, sub-projects,
languages, audits, tags, personas, use cases, review and statistics links. Its source ``source/landscape/<name>``
carries the file's repository, commit and date; ``source/landscape/<name>/line/<n>`` (a ``cnkg:SourceLine``)
says which key of which item line ``n`` holds, and the facts read from it point there (``cnkg:statedAt``) or,
for plain values, can be found from it (``cnkg:describes`` the item, ``cnkg:sourceKey`` the key).
An item that is also an article entity is described under the article's IRI, so one IRI carries both sources'
facts while ``GRAPH ?g`` still tells who says what.
"""
from __future__ import annotations

from collections import Counter

from rdflib import RDF, RDFS, SKOS, XSD, Dataset, Literal, URIRef
from rdflib.namespace import DCTERMS

from .align import Alignment, Mention, NameResolver, crunchbase_slug, is_phrase, slugify
from .errors import Problem
from .landscape import Item, Landscape
from .namespaces import CNKG, ID, META_GRAPH, SOURCE, STAGE, landscape_graph
from .quadset import QuadSet
from .snapshots import SnapshotInfo

CATEGORY_SCHEME = ID["landscape-category"]
TAG_SCHEME = ID["landscape-tags"]
PERSONA_SCHEME = ID["landscape-personas"]
USE_CASE_SCHEME = ID["landscape-use-cases"]
SCHEMES = {TAG_SCHEME: "CNCF landscape tags", PERSONA_SCHEME: "CNCF landscape personas",
           USE_CASE_SCHEME: "CNCF landscape use cases"}


def category_iri(category: str, subcategory: str | None = None) -> URIRef:
    path = slugify(category) if subcategory is None else f"{slugify(category)}/{slugify(subcategory)}"
    return ID[f"landscape-category/{path}"]


def event_iri(entity: URIRef, kind: str) -> URIRef:
    return URIRef(f"{entity}/lifecycle/{kind}")


def line_iri(snapshot: str, line: int) -> URIRef:
    return SOURCE[f"landscape/{snapshot}/line/{line}"]


def entry_stage(item: Item) -> dict[str, str]:
    """kind -> the stage each lifecycle event moved the project to.

    ``accepted`` is entry into the CNCF: when the incubating (or graduated) date is the same day, that event
    already says where it entered; otherwise it entered at the lowest level, the sandbox (called "inception"
    before 2018). The other kinds name their stage.
    """
    stages = {kind: kind for kind in item.events if kind != "accepted"}
    accepted = item.events.get("accepted")
    if accepted and not any(when == accepted for kind, when in item.events.items() if kind != "accepted"):
        stages["accepted"] = "sandbox"
    return stages


def add_snapshot(quads: QuadSet, article: Dataset, info: SnapshotInfo, landscape: Landscape, alignment: Alignment,
                 newest_label: dict[URIRef, str]) -> None:
    """Add the snapshot's graph and its description in the meta graph to ``quads``, which holds the article's
    graphs (``article``: the same as an rdflib dataset) and any snapshot added before. ``newest_label`` maps
    minted IRIs to the name in the newest snapshot that lists them (their one rdfs:label); older names become
    altLabels."""
    graph = quads.graph(landscape_graph(info.name))
    source = SOURCE[f"landscape/{info.name}"]
    meta = quads.graph(META_GRAPH)
    meta.add((source, RDF.type, CNKG.Source))
    meta.add((source, RDF.type, CNKG.LandscapeSnapshot))
    meta.add((source, RDFS.label, Literal(info.title)))
    meta.add((source, DCTERMS.title, Literal(info.title)))
    meta.add((source, DCTERMS.date, Literal(info.date.isoformat(), datatype=XSD.date)))
    meta.add((source, CNKG.homepage, Literal(info.url, datatype=XSD.anyURI)))
    meta.add((source, CNKG.fileName, Literal(info.file_name)))
    if info.commit:
        meta.add((source, CNKG.commit, Literal(info.commit)))
    meta.add((landscape_graph(info.name), DCTERMS.source, source))
    meta.add((landscape_graph(info.name), RDFS.label, Literal(f"Statements of the {info.title}")))

    add = graph.add
    items = set(alignment.item_iris.values())
    add((CATEGORY_SCHEME, RDF.type, SKOS.ConceptScheme))
    add((CATEGORY_SCHEME, RDFS.label, Literal("CNCF landscape categories")))
    for category, subcategories in landscape.categories.items():
        top = category_iri(category)
        add((top, RDF.type, CNKG.LandscapeCategory))
        add((top, SKOS.prefLabel, Literal(category)))
        add((top, RDFS.label, Literal(f"Landscape: {category}")))  # unlike the article's own categories
        add((top, SKOS.inScheme, CATEGORY_SCHEME))
        add((top, SKOS.topConceptOf, CATEGORY_SCHEME))
        for subcategory in subcategories:
            sub = category_iri(category, subcategory)
            add((sub, RDF.type, CNKG.LandscapeCategory))
            add((sub, SKOS.prefLabel, Literal(subcategory)))
            add((sub, RDFS.label, Literal(f"Landscape: {category} / {subcategory}")))
            add((sub, SKOS.inScheme, CATEGORY_SCHEME))
            add((sub, SKOS.broader, top))

    # An item listed twice (Kgateway: the CNCF project under API Gateway, a plain entry under AI Native Infra) has
    # one primary place, that of the entry with its CNCF stage (else its first): the others are further places.
    primary: dict[URIRef, int] = {}
    for position, item in enumerate(landscape.items):
        iri = alignment.item_iris[(info.name, position)]
        if iri not in primary or (item.stage and not landscape.items[primary[iri]].stage):
            primary[iri] = position
    for position, item in enumerate(landscape.items):
        iri = alignment.item_iris[(info.name, position)]
        add((iri, RDF.type, CNKG.LandscapeItem))
        if iri in alignment.article_entities or newest_label.get(iri) != item.name:
            if quads.label(iri) != Literal(item.name):
                add((iri, SKOS.altLabel, Literal(item.name)))
        else:
            add((iri, RDFS.label, Literal(item.name)))
        if item.description:
            add((iri, CNKG.description, Literal(item.description)))
        if item.homepage:
            add((iri, CNKG.homepage, Literal(item.homepage, datatype=XSD.anyURI)))
        if item.repository:
            add((iri, CNKG.repository, Literal(item.repository, datatype=XSD.anyURI)))
        places = [(item.category, item.subcategory), *item.second_paths]
        if primary[iri] == position:
            add((iri, CNKG.primaryLandscapeCategory, category_iri(*places[0])))
        for place in places:
            add((iri, CNKG.inLandscapeCategory, category_iri(*place)))
        if item.crunchbase:
            org = alignment.org_iris[item.crunchbase]
            add((iri, CNKG.listedOrganization, org))
            add((org, CNKG.crunchbase, Literal(item.crunchbase, datatype=XSD.anyURI)))
            if org not in alignment.article_entities and org not in items:
                add((org, RDF.type, CNKG.Organization))
                add((org, RDFS.label, Literal(f"{crunchbase_slug(item.crunchbase)} (Crunchbase)")))
        if item.category == "CNCF Members":
            add((iri, RDF.type, CNKG.Organization))
        if item.joined:
            add((iri, CNKG.memberSince, Literal(item.joined.isoformat(), datatype=XSD.date)))
        if item.stage:
            add((iri, RDF.type, CNKG.Project))
            add((iri, CNKG.hasStage, STAGE[item.stage]))
        stages = entry_stage(item)
        for kind, when in item.events.items():
            event = event_iri(iri, kind)
            add((iri, CNKG.lifecycleEvent, event))
            add((event, RDF.type, CNKG.StageEvent))
            add((event, RDFS.label, Literal(f"{newest_label.get(iri) or item.name}: {kind}")))
            add((event, CNKG.eventKind, Literal(kind)))
            add((event, CNKG.eventDate, Literal(when.isoformat(), datatype=XSD.date)))
            if kind in stages:
                add((event, CNKG.toStage, STAGE[stages[kind]]))
    add_statements(quads, article, info, landscape, alignment, newest_label)


PHRASE_REASON = "a phrase of a sentence, not a name: not looked up"


class _Statements:
    """The facts of one snapshot beyond place and stage, each traceable to the line of its key."""

    def __init__(self, quads: QuadSet, article: Dataset, info: SnapshotInfo, landscape: Landscape,
                 alignment: Alignment, newest_label: dict[URIRef, str]):
        self.graph = quads.graph(landscape_graph(info.name))
        self.add = self.graph.add
        self.quads = quads
        self.info = info
        self.source = SOURCE[f"landscape/{info.name}"]
        self.alignment = alignment
        self.newest_label = newest_label
        self.resolver = NameResolver(article, info.name, landscape, alignment)
        self.audits: dict[URIRef, dict[tuple, URIRef]] = {}     # entity -> audit identity -> IRI
        self.languages: dict[str, URIRef] = {}
        self.spellings: dict[URIRef, Counter] = {}              # tag / persona concept -> spellings seen
        self.kinds: dict[URIRef, tuple[str, URIRef]] = {}       # concept -> ("Tag", its scheme)
        self.use_cases = 0

    def line(self, item: Item, iri: URIRef, key: str) -> URIRef:
        """The SourceLine of ``key`` in ``item``'s entry."""
        number = item.lines[key]
        node = line_iri(self.info.name, number)
        add = self.add
        add((node, RDF.type, CNKG.SourceLine))
        add((node, RDFS.label, Literal(f"{self.info.name} line {number}: {key} of {item.name}")))
        add((node, DCTERMS.isPartOf, self.source))
        add((node, CNKG.lineNumber, Literal(number)))
        add((node, CNKG.sourceKey, Literal(key)))
        add((node, CNKG.describes, iri))
        return node

    def mention(self, item: Item, iri: URIRef, key: str, position: int | str, text: str, prop: URIRef,
                entity: URIRef | None, reason: str | None, phrase: bool = False) -> None:
        line = self.line(item, iri, key)
        node = URIRef(f"{line}/name/{position}")
        add = self.add
        add((node, RDF.type, CNKG.NameMention))
        add((node, RDFS.label, Literal(f"{self.info.name} line {item.lines[key]}: {item.name} names {text!r}")))
        add((node, CNKG.statedAt, line))
        add((node, CNKG.mentionedBy, iri))
        add((node, CNKG.mentionText, Literal(text)))
        add((node, CNKG.forProperty, prop))
        if entity is not None:
            add((node, CNKG.resolvesTo, entity))
            add((iri, prop, entity))
        else:
            add((node, CNKG.unresolvedReason, Literal(reason)))
        self.alignment.mentions.append(Mention(self.info.name, item.name, iri, key, item.lines[key], text, prop,
                                               entity, reason, phrase))

    def item(self, item: Item, iri: URIRef) -> None:
        resolver = self.resolver
        for position, (key, name) in enumerate(item.integrations):
            if is_phrase(name):       # a piece of a sentence: kept, with the reason, but not looked up
                self.mention(item, iri, key, position, name, CNKG.integratesWith, None, PHRASE_REASON, phrase=True)
                continue
            entity, reason = resolver.resolve(name)
            parts = resolver.parts(name) if entity is None else None
            if parts and iri not in {part for _, part in parts}:     # "A/B": two names, each its own mention
                for number, (part, entity) in enumerate(parts):
                    self.mention(item, iri, key, f"{position}-{number}", part, CNKG.integratesWith, entity, None)
                continue
            if entity == iri:
                entity, reason = None, "names the item itself"
            self.mention(item, iri, key, position, name, CNKG.integratesWith, entity, reason)
        if item.parent_project:
            entity, reason = resolver.resolve(item.parent_project)
            if entity == iri:
                entity, reason = None, "names the item itself"
            self.mention(item, iri, "extra.parent_project", 0, item.parent_project, CNKG.subprojectOf, entity, reason)
        for position, name in enumerate(item.languages):
            entity, reason = self.language(name)
            self.mention(item, iri, "extra.summary_languages", position, name, CNKG.writtenIn, entity, reason)
        self.concept_list(item, iri, "extra.summary_tags", item.tags, CNKG.landscapeTag, CNKG.LandscapeTag,
                          TAG_SCHEME, "landscape-tag", "Tag")
        self.concept_list(item, iri, "extra.summary_personas", item.personas, CNKG.persona, CNKG.Persona,
                          PERSONA_SCHEME, "landscape-persona", "Persona")
        for key, text, prop, suffix, what in (
                ("extra.summary_use_case", item.use_case, CNKG.useCase, "use-case", "use case"),
                ("extra.summary_business_use_case", item.business_use_case, CNKG.businessUseCase,
                 "business-use-case", "business use case")):
            if text:
                self.use_case(item, iri, key, text, prop, suffix, what)
        for key, value, prop in (
                ("extra.summary_release_rate", item.release_rate, CNKG.releaseRate),
                ("extra.clomonitor_name", item.clomonitor_name, CNKG.cloMonitorName)):
            if value:
                self.line(item, iri, key)
                self.add((iri, prop, Literal(value)))
        for key, value, prop in (
                ("extra.annual_review_url", item.annual_review_url, CNKG.annualReview),
                ("extra.dev_stats_url", item.dev_stats_url, CNKG.devStats)):
            if value:
                self.line(item, iri, key)
                self.add((iri, prop, Literal(value, datatype=XSD.anyURI)))
        if item.annual_review_date:
            self.line(item, iri, "extra.annual_review_date")
            self.add((iri, CNKG.annualReviewDate, Literal(item.annual_review_date.isoformat(), datatype=XSD.date)))
        if item.joined:
            self.line(item, iri, "joined")          # the memberSince fact itself is added with the item
        if item.additional_repos:
            self.line(item, iri, "additional_repos")
            for url in item.additional_repos:
                self.add((iri, CNKG.additionalRepository, Literal(url, datatype=XSD.anyURI)))
        for audit in item.audits:
            self.audit(item, iri, audit)

    def language(self, name: str) -> tuple[URIRef | None, str | None]:
        """The article's language of that name, else one minted as ``id/language/<slug>`` — unless the name is
        that of something else (a project, a company): then it stays unresolved."""
        entity, _ = self.resolver.resolve(name, kinds=(CNKG.ProgrammingLanguage,))
        if entity is not None:
            return entity, None
        others = self.resolver.candidates(name)
        if others:
            names = ", ".join(sorted(self.resolver.labels.get(i, str(i)) for i in others))
            return None, f"names {names}, which is not a programming language"
        iri = ID[f"language/{slugify(name)}"]
        if iri not in self.languages.values():
            self.languages[name] = iri
            if self.quads.label(iri) is None:
                self.add((iri, RDF.type, CNKG.ProgrammingLanguage))
                self.add((iri, RDFS.label, Literal(name)))
        return iri, None

    def concept_list(self, item: Item, iri: URIRef, key: str, values: list[str], prop: URIRef, cls: URIRef,
                     scheme: URIRef, base: str, what: str) -> None:
        if not values:
            return
        self.line(item, iri, key)              # a concept is shared by many items: the line is found from the item
        for value in values:
            concept = ID[f"{base}/{slugify(value)}"]
            self.spellings.setdefault(concept, Counter())[value] += 1
            self.kinds[concept] = (what, scheme)
            self.add((iri, prop, concept))
            self.add((concept, RDF.type, cls))
            self.add((concept, SKOS.inScheme, scheme))

    def use_case(self, item: Item, iri: URIRef, key: str, text: str, prop: URIRef, suffix: str, what: str) -> None:
        concept = URIRef(f"{iri}/{suffix}")
        line = self.line(item, iri, key)
        self.use_cases += 1
        add = self.add
        add((iri, prop, concept))
        add((concept, RDF.type, CNKG.UseCase))
        add((concept, RDFS.label, Literal(f"{self.newest_label.get(iri) or item.name}: {what}")))
        add((concept, SKOS.definition, Literal(text)))
        add((concept, SKOS.inScheme, USE_CASE_SCHEME))
        add((concept, CNKG.statedAt, line))

    def audit(self, item: Item, iri: URIRef, audit) -> None:
        line = line_iri(self.info.name, audit.line)
        add = self.add
        add((line, RDF.type, CNKG.SourceLine))
        add((line, RDFS.label, Literal(f"{self.info.name} line {audit.line}: an audit of {item.name}")))
        add((line, DCTERMS.isPartOf, self.source))
        add((line, CNKG.lineNumber, Literal(audit.line)))
        add((line, CNKG.sourceKey, Literal("extra.audits")))
        add((line, CNKG.describes, iri))
        known = self.audits.setdefault(iri, {})
        identity = (audit.date, audit.vendor, audit.kind, audit.url)
        event = known.get(identity)
        if event is None:
            base = f"{iri}/audit/{audit.date.isoformat()}"
            same_day = sum(1 for d, *_ in known if d == audit.date)
            event = URIRef(base if not same_day else f"{base}-{same_day + 1}")
            known[identity] = event
        name = self.newest_label.get(iri) or item.name
        kind = f"{audit.kind} audit" if audit.kind else "audit"
        by = f" by {audit.vendor}" if audit.vendor else ""
        suffix = str(event).rsplit("/", 1)[-1]
        add((iri, CNKG.audit, event))
        add((event, RDF.type, CNKG.AuditEvent))
        add((event, RDFS.label, Literal(f"{name}: {kind}{by}, {suffix}")))
        add((event, CNKG.auditDate, Literal(audit.date.isoformat(), datatype=XSD.date)))
        add((event, CNKG.statedAt, line))
        if audit.vendor:
            add((event, CNKG.auditVendor, Literal(audit.vendor)))
        if audit.kind:
            add((event, CNKG.auditType, Literal(audit.kind)))
        if audit.url:
            add((event, CNKG.auditReport, Literal(audit.url, datatype=XSD.anyURI)))

    def finish(self) -> None:
        """Name the concepts once each, by their most frequent spelling (ties: the first in sorted order)."""
        add = self.add
        used = set()
        for concept, spellings in self.spellings.items():
            what, scheme = self.kinds[concept]
            name = min(spellings.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            add((concept, SKOS.prefLabel, Literal(name)))
            add((concept, RDFS.label, Literal(f"{what}: {name}")))
            used.add(scheme)
        if self.use_cases:
            used.add(USE_CASE_SCHEME)
        for scheme in used:
            add((scheme, RDF.type, SKOS.ConceptScheme))
            add((scheme, RDFS.label, Literal(SCHEMES[scheme])))


def add_statements(quads: QuadSet, article: Dataset, info: SnapshotInfo, landscape: Landscape,
                   alignment: Alignment, newest_label: dict[URIRef, str]) -> None:
    """Add what the snapshot states beyond place and stage (see the module docstring); the names it gives in free
    text are resolved with :class:`cnkg.align.NameResolver` and recorded in ``alignment.mentions``."""
    statements = _Statements(quads, article, info, landscape, alignment, newest_label)
    for position, item in enumerate(landscape.items):
        statements.item(item, alignment.item_iris[(info.name, position)])
    statements.finish()


# The landscape key each property of a snapshot's graph comes from: a SHACL result is reported as the file's field.
FIELDS = {
    RDFS.label: "name", SKOS.altLabel: "name", CNKG.description: "description", CNKG.homepage: "homepage_url",
    CNKG.repository: "repo_url", CNKG.inLandscapeCategory: "second_path", CNKG.hasStage: "project",
    CNKG.memberSince: "joined", CNKG.listedOrganization: "crunchbase",
    CNKG.integratesWith: "extra.summary_integrations", CNKG.subprojectOf: "extra.parent_project",
    CNKG.writtenIn: "extra.summary_languages",
    CNKG.landscapeTag: "extra.summary_tags", CNKG.persona: "extra.summary_personas",
    CNKG.useCase: "extra.summary_use_case", CNKG.businessUseCase: "extra.summary_business_use_case",
    CNKG.releaseRate: "extra.summary_release_rate", CNKG.cloMonitorName: "extra.clomonitor_name",
    CNKG.annualReview: "extra.annual_review_url", CNKG.devStats: "extra.dev_stats_url",
    CNKG.annualReviewDate: "extra.annual_review_date", CNKG.additionalRepository: "additional_repos",
    CNKG.audit: "extra.audits", CNKG.auditDate: "extra.audits", CNKG.auditReport: "extra.audits",
    CNKG.auditVendor: "extra.audits", CNKG.auditType: "extra.audits", CNKG.lifecycleEvent: "extra",
}


def blame(violations: list, snapshots: list, landscapes: list[Landscape],
          alignment: Alignment) -> tuple[list[Problem], set[str], list]:
    """The SHACL results that concern an item of a snapshot, as problems in the snapshot's file (the item, the
    field and its line, what the shape expects); the names of the snapshots concerned; the results concerning
    none. A result's focus is the item's IRI, a node minted under it (its events, audits, use cases), one of the
    snapshot's source lines, or a name the item gives."""
    by_iri: dict[str, list] = {}
    by_name: dict[str, list] = {}
    by_line: dict[tuple[str, int], list] = {}
    for snapshot, landscape in zip(snapshots, landscapes):
        name = snapshot.info.name
        for position, item in enumerate(landscape.items):
            entry = (snapshot, item)
            by_iri.setdefault(str(alignment.item_iris[(name, position)]), []).append(entry)
            by_name.setdefault(item.name, []).append(entry)
            for line in {item.line, *item.lines.values(), *(audit.line for audit in item.audits)}:
                by_line.setdefault((name, line), []).append(entry)
    problems, concerned, rest = [], set(), []
    lines_base = str(SOURCE["landscape/"])
    for violation in violations:
        focus = violation.focus
        found = []
        if isinstance(focus, Literal):
            found = by_name.get(str(focus), [])
        elif isinstance(focus, URIRef):
            text = str(focus)
            found = by_iri.get(text) or []
            if not found and text.startswith(str(ID)):        # a node minted under an item: <item>/audit/...
                cut = text.rfind("/")
                while cut > len(str(ID)) and not found:
                    found = by_iri.get(text[:cut]) or []
                    cut = text.rfind("/", 0, cut)
            if not found and text.startswith(lines_base):     # <snapshot>/line/<n>[/name/<k>]
                parts = text[len(lines_base):].split("/")
                if len(parts) >= 3 and parts[1] == "line" and parts[2].isdigit():
                    found = by_line.get((parts[0], int(parts[2])), [])
        if not found:
            rest.append(violation)
            continue
        field = FIELDS.get(violation.path, "name" if isinstance(focus, Literal) else None)
        value = "" if violation.value is None or violation.value == focus else f" (value {_short(violation.value)})"
        for snapshot, item in found:
            concerned.add(snapshot.info.name)
            where = f" {field}" if field else ""
            line = item.lines.get(field, item.line) if field else item.line
            problems.append(Problem(str(snapshot.path), line, f"item {item.name!r}{where}: {violation.message}{value}"))
    return sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message)), concerned, rest


def _short(value, width: int = 60) -> str:
    text = str(value)
    return text if len(text) <= width else text[:width - 1] + "…"
