"""Serialise the graph in every common RDF syntax; quad formats keep the provenance graphs."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rdflib import Dataset, Graph

from .build import new_dataset
from .errors import InvalidInput, closest
from .namespaces import INFERRED_GRAPH

# name -> (rdflib format, keeps named graphs, media type, file extension)
FORMATS = {
    "turtle": ("turtle", False, "text/turtle", "ttl"),
    "nt": ("nt", False, "application/n-triples", "nt"),
    "xml": ("xml", False, "application/rdf+xml", "rdf"),
    "jsonld": ("json-ld", True, "application/ld+json", "jsonld"),
    "trig": ("trig", True, "application/trig", "trig"),
    "nquads": ("nquads", True, "application/n-quads", "nq"),
}


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise InvalidInput(f"unknown export format {name!r}; expected one of {', '.join(FORMATS)}"
                           + (f" (did you mean {closest(name, FORMATS, 0.5)!r}?)" if closest(name, FORMATS, 0.5) else ""))
    return name


def select(dataset: Dataset, asserted_only: bool) -> Dataset:
    """The dataset itself, or a copy without the inferred graph."""
    if not asserted_only:
        return dataset
    copy = new_dataset()
    for s, p, o, g in dataset.quads((None, None, None, None)):
        if g != INFERRED_GRAPH:
            copy.graph(g).add((s, p, o))
    return copy


def serialize(dataset: Dataset, fmt: str = "turtle", asserted_only: bool = False) -> bytes:
    rdflib_format, quads, _, _ = FORMATS[check_format(fmt)]
    data = select(dataset, asserted_only)
    if quads:
        return data.serialize(format=rdflib_format, encoding="utf-8")
    union = Graph()
    for prefix, ns in dataset.namespaces():
        union.bind(prefix, ns)
    for s, p, o, _ in data.quads((None, None, None, None)):
        union.add((s, p, o))
    return union.serialize(format=rdflib_format, encoding="utf-8")


def write_atomically(path: Path, payload: bytes) -> None:
    """Write the whole file or nothing: a temporary sibling renamed into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the permissions open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
