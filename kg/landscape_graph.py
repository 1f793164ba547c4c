"""Turn checked landscape snapshots into named graphs, one per snapshot, described in the meta graph.

Each snapshot's graph ``graph/landscape/<name>`` holds what that file says: items, their places in the
landscape's category scheme, homepage, repository, description, Crunchbase organisation, CNCF stage and dated
lifecycle events. Its source ``source/landscape/<name>`` carries the file's repository, commit and date.
An item that is also an article entity is described under the article's IRI, so one IRI carries both sources'
facts while ``GRAPH ?g`` still tells who says what.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rdflib import RDF, RDFS, SKOS, XSD, Dataset, Literal, URIRef
from rdflib.namespace import DCTERMS

from .align import Alignment, crunchbase_slug, slugify
from .landscape import Item, Landscape
from .namespaces import CNKG, ID, META_GRAPH, SOURCE, STAGE, landscape_graph

CATEGORY_SCHEME = ID["landscape-category"]
LANDSCAPE_REPOSITORY = "https://github.com/cncf/landscape"


@dataclass(frozen=True)
class SnapshotInfo:
    """Where a landscape file came from: given by the user at import, stored with the import."""

    name: str
    date: dt.date
    commit: str | None = None
    url: str = LANDSCAPE_REPOSITORY
    file_name: str = "landscape.yml"

    @property
    def title(self) -> str:
        commit = f", commit {self.commit[:12]}" if self.commit else ""
        return f"CNCF landscape.yml of {self.date.isoformat()}{commit}"


def category_iri(category: str, subcategory: str | None = None) -> URIRef:
    path = slugify(category) if subcategory is None else f"{slugify(category)}/{slugify(subcategory)}"
    return ID[f"landscape-category/{path}"]


def event_iri(entity: URIRef, kind: str) -> URIRef:
    return URIRef(f"{entity}/lifecycle/{kind}")


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


def add_snapshot(dataset: Dataset, info: SnapshotInfo, landscape: Landscape, alignment: Alignment,
                 newest_label: dict[URIRef, str]) -> None:
    """Add the snapshot's graph and its description in the meta graph. ``newest_label`` maps minted IRIs to
    the name in the newest snapshot that lists them (their one rdfs:label); older names become altLabels."""
    graph = dataset.graph(landscape_graph(info.name))
    source = SOURCE[f"landscape/{info.name}"]
    meta = dataset.graph(META_GRAPH)
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

    for position, item in enumerate(landscape.items):
        iri = alignment.item_iris[(info.name, position)]
        add((iri, RDF.type, CNKG.LandscapeItem))
        if iri in alignment.article_entities or newest_label.get(iri) != item.name:
            if dataset.value(iri, RDFS.label) != Literal(item.name):
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
