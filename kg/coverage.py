"""How much of the ecosystem's lineage the graph knows, and from which sources: ``cnkg coverage``.

For every CNCF project at its current stage (the default graph's: the latest dated source's, :mod:`cnkg.current`),
whether the graph has an origin fact (who created it, or what it was formed from: merged, forked or extracted), a
lineage relation (a sub-property of ``cnkg:hasAncestor``), and a high-confidence source for either; and, over the
whole graph, every lineage or origin statement with the document it comes from. A statement counts as sourced when
its named graph names a document with a URL (:func:`cnkg.provenance.graph_source`: a cited graph's document, or
the document an article section is part of).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import RDF, RDFS, URIRef

from .namespaces import CNKG, CURATED_GRAPH, INFERRED_GRAPH, META_GRAPH, ONTOLOGY_GRAPH, is_landscape_graph
from .provenance import Source, graph_source
from .vocabulary import sub_properties

# An origin fact says who created the thing, or what it was formed from when a source names no creator
# (OpenTelemetry, the merger of OpenTracing and OpenCensus; a fork; a project split out of a larger one).
ORIGIN_RELATIONS = (CNKG.originallyDevelopedBy, CNKG.createdBy, CNKG.mergerOf, CNKG.forkOf, CNKG.extractedFrom)
# Who made or gave it, besides lineage proper: with the lineage relations, the "lineage and origin statements".
ATTRIBUTION_RELATIONS = (CNKG.developedBy, CNKG.originallyDevelopedBy, CNKG.createdBy, CNKG.donatedBy,
                         CNKG.foundedBy)
STAGES = ("graduated", "incubating", "sandbox", "archived")


@dataclass
class StageCoverage:
    stage: str
    projects: list[URIRef] = field(default_factory=list)
    with_origin: set[URIRef] = field(default_factory=set)
    with_lineage: set[URIRef] = field(default_factory=set)
    with_high_confidence: set[URIRef] = field(default_factory=set)


@dataclass
class Coverage:
    stages: dict[str, StageCoverage]
    statements: int            # lineage and origin statements (one per triple and graph stating it)
    sourced: int               # of which name a document with a URL
    unsourced: list[tuple]     # (subject, relation, object, graph) without one
    documents: int             # distinct documents cited
    snapshot_imported: bool


def current_stages(store) -> dict[URIRef, str]:
    """Each project's stage now, by name: the default graph's, which holds only the current value of a
    time-varying fact (:mod:`cnkg.current`: the latest dated source's)."""
    return {project: str(stage).rsplit("/", 1)[-1].lower()
            for project, _, stage in store.triples((None, CNKG.hasStage, None))}


def coverage(store) -> Coverage:
    """``store``: a :class:`cnkg.store.TripleStore` (the knowledge graph's ``store``)."""
    tbox = store.graph(ONTOLOGY_GRAPH)
    lineage = set(sub_properties(tbox, CNKG.hasAncestor))
    origin = set(ORIGIN_RELATIONS) | set(sub_properties(tbox, CNKG.createdBy))
    relations = lineage | set(ATTRIBUTION_RELATIONS)
    skip = {INFERRED_GRAPH, ONTOLOGY_GRAPH, META_GRAPH, CURATED_GRAPH}

    def label(iri) -> str:
        return str(store.value(iri, RDFS.label) or iri)

    described: dict[URIRef, Source] = {}    # graph -> what its statements come from
    facts: dict[URIRef, list[tuple]] = {}   # subject -> (relation, source)
    statements, unsourced, documents = 0, [], set()
    for relation in relations:
        for subject, _, obj, graph in store.quads((None, relation, None, None)):
            if graph in skip or is_landscape_graph(graph):
                continue
            statements += 1
            if graph not in described:
                described[graph] = graph_source(store, graph, label)
            source = described[graph]
            if source.url is None:
                unsourced.append((subject, relation, obj, graph))
            else:
                documents.add(source.url)
            facts.setdefault(subject, []).append((relation, source))
    stages = {stage: StageCoverage(stage) for stage in STAGES}
    for project, stage in sorted(current_stages(store).items()):
        if stage not in stages:
            continue
        entry = stages[stage]
        entry.projects.append(project)
        for relation, source in facts.get(project, ()):
            if source.url is None:
                continue
            if relation in origin:
                entry.with_origin.add(project)
            if relation in lineage:
                entry.with_lineage.add(project)
            if (relation in origin or relation in lineage) and source.confidence == "high":
                entry.with_high_confidence.add(project)
    return Coverage(stages, statements, statements - len(unsourced), unsourced, len(documents),
                    store.value(None, RDF.type, CNKG.LandscapeSnapshot) is not None)


def as_json(report: Coverage, label) -> dict:
    def names(iris) -> list[str]:
        return sorted((label(iri) for iri in iris), key=str.lower)

    return {
        "stages": {
            stage: {
                "projects": len(entry.projects),
                "with_origin": len(entry.with_origin),
                "with_lineage": len(entry.with_lineage),
                "with_high_confidence_source": len(entry.with_high_confidence),
                "without_origin": names(set(entry.projects) - entry.with_origin),
                "without_lineage": names(set(entry.projects) - entry.with_lineage),
            } for stage, entry in report.stages.items()},
        "statements": report.statements,
        "sourced_statements": report.sourced,
        "unsourced_statements": [[str(term) for term in quad] for quad in report.unsourced],
        "documents_cited": report.documents,
        "landscape_imported": report.snapshot_imported,
    }


def as_text(report: Coverage, label) -> str:
    data = as_json(report, label)
    lines = []
    if not report.snapshot_imported:
        lines.append("no landscape snapshot imported: the stages are the article's of 2018 (cnkg import-landscape, "
                     "see README)")
    lines.append(f"{'stage':<11} {'projects':>8} {'origin':>7} {'lineage':>8} {'high-conf.':>10}")
    for stage, entry in data["stages"].items():
        lines.append(f"{stage:<11} {entry['projects']:>8} {entry['with_origin']:>7} {entry['with_lineage']:>8} "
                     f"{entry['with_high_confidence_source']:>10}")
    lines.append(f"\nlineage and origin statements: {report.statements}, {report.sourced} with a source URL, "
                 f"from {report.documents} documents; without a source: {len(report.unsourced)}")
    for stage in ("graduated", "incubating"):
        entry = data["stages"][stage]
        for what in ("origin", "lineage"):
            missing = entry[f"without_{what}"]
            if missing:
                lines.append(f"{stage} without {what} ({len(missing)}): {', '.join(missing)}")
    for subject, relation, obj, graph in report.unsourced[:20]:
        lines.append(f"unsourced: {label(subject)} {label(relation)} {label(obj)} in {graph}")
    return "\n".join(lines) + "\n"


__all__ = ["Coverage", "StageCoverage", "coverage", "current_stages", "as_json", "as_text"]
