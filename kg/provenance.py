"""Where a triple comes from: the sections (or landscape snapshots) stating it, the curated or ontology graph, or
the reasoner. One answer used by the Python API, the entity pages and the explanations."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdflib import RDF, Dataset, URIRef
from rdflib.namespace import DCTERMS, RDFS

from .namespaces import CNKG, CURATED_GRAPH, INFERRED_GRAPH, META_GRAPH, ONTOLOGY_GRAPH
from .snapshots import LANDSCAPE_FILE, LANDSCAPE_REPOSITORY, snapshot_url

INFERRED_TITLE = "inferred (OWL 2 RL)"


def web_url(term) -> str | None:
    """``term`` as a link target when it is an http(s) URL, else None (a graph written by an update could name
    any IRI as its source, ``javascript:`` included, and pages link to it)."""
    text = str(term) if term is not None else ""
    return text if text.lower().startswith(("http://", "https://")) else None


@dataclass(frozen=True)
class Source:
    """One graph stating a triple.

    ``kind`` is ``section`` (a graph whose ``dct:source`` is a document section or a landscape snapshot),
    ``curated``, ``ontology``, ``inferred`` or ``graph`` (a named graph with no recorded source, e.g. one
    written by a SPARQL update)."""

    kind: str
    graph: URIRef
    title: str
    iri: URIRef | None = None      # the section / snapshot resource, or a cited document (its URL as IRI)
    document: str | None = None    # the title of the document the section is part of
    url: str | None = None         # where to read it: a cited document, or the document a section is part of
    confidence: str | None = None  # a cited document's: "high" (the project or the CNCF) or "medium"
    read: str | None = None        # the date the curators read a cited document
    note: str | None = None        # the curators' note on what a cited document states

    @property
    def asserted(self) -> bool:
        return self.kind != "inferred"

    def as_json(self) -> dict:
        """Title, url, confidence, read and document, those known."""
        return {key: value for key, value in (("title", self.title), ("url", self.url),
                                              ("confidence", self.confidence), ("read", self.read),
                                              ("document", self.document)) if value is not None}

    def __str__(self) -> str:
        part = f" ({self.document})" if self.document else ""
        where = f" <{self.url}>" if self.url else ""
        trust = f", {self.confidence} confidence" if self.confidence else ""
        return f"{self.title}{part}{where}{trust}"


def graph_source(dataset: Dataset, graph: URIRef, label: Callable[[URIRef], str]) -> Source:
    """What the statements of one named graph (not the meta, inferred, curated or ontology graph) come from: the
    document it cites (kg/facts/lineage-*.yaml: its URL, title, confidence, date read and note), the article
    section or landscape snapshot it holds the statements of, or nothing recorded (a graph written by an update)."""
    section = dataset.value(graph, DCTERMS.source)
    if section is None:
        return Source("graph", graph, str(graph))
    confidence = dataset.value(graph, CNKG.confidence)
    if confidence is not None:   # a statement citing its own document: the document's URL is its IRI
        title = dataset.value(section, DCTERMS.title)
        read, note = dataset.value(graph, CNKG.readOn), dataset.value(graph, RDFS.comment)
        return Source("section", graph, str(title) if title is not None else label(section), section, None,
                      web_url(section), str(confidence), str(read) if read is not None else None,
                      str(note) if note is not None else None)
    if (section, RDF.type, CNKG.LandscapeSnapshot) in dataset:
        return _snapshot_source(dataset, graph, section, label)
    document = dataset.value(section, DCTERMS.isPartOf)
    homepage = dataset.value(document, CNKG.homepage) if document is not None else None
    return Source("section", graph, label(section), section, label(document) if document is not None else None,
                  web_url(homepage))


def _snapshot_source(dataset: Dataset, graph: URIRef, section: URIRef, label) -> Source:
    """A landscape snapshot: linked to the file at its recorded commit when that has a public URL; otherwise its
    title (date and the file's name) says which file it was, with the repository when it is not the CNCF's."""
    repository, commit = dataset.value(section, CNKG.homepage), dataset.value(section, CNKG.commit)
    url = snapshot_url(str(repository) if repository is not None else LANDSCAPE_REPOSITORY,
                       str(commit) if commit is not None else None)
    title = label(section)
    if url is None:
        file_name = dataset.value(section, CNKG.fileName)
        where = [f"file {file_name}"] if file_name is not None and str(file_name) != LANDSCAPE_FILE else []
        if repository is not None and str(repository).rstrip("/") != LANDSCAPE_REPOSITORY:
            where.append(f"from {repository}")
        if where:
            title = f"{title} ({' '.join(where)})"
    return Source("section", graph, title, section, None, url)


def sources(dataset: Dataset, triple, label: Callable[[URIRef], str]) -> list[Source]:
    """Every graph holding ``triple`` (the meta graph left out), one entry per graph, sorted by title."""
    found = []
    for *_, graph in dataset.quads(triple):
        if graph == META_GRAPH:
            continue
        if graph == INFERRED_GRAPH:
            found.append(Source("inferred", graph, INFERRED_TITLE))
        elif graph in (CURATED_GRAPH, ONTOLOGY_GRAPH):
            kind = "curated" if graph == CURATED_GRAPH else "ontology"
            found.append(Source(kind, graph, kind))
        else:
            found.append(graph_source(dataset, graph, label))
    return sorted(found, key=lambda source: (source.title, str(source.graph)))


__all__ = ["Source", "sources", "graph_source", "web_url", "INFERRED_TITLE"]
