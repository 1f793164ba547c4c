"""A cache of built, reasoned datasets, keyed by a hash of every input, written atomically.

A failed build never touches the cache, so the previous good build stays loadable. The format is a pickle of
the rdflib Dataset: loading it is about 4x faster than parsing N-Quads (bench/results/build.md). It is only
ever read from the user's own cache directory, written by this module, and keyed by the rdflib version.
"""
from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from rdflib import Dataset

from .namespaces import FACTS_DIR, ONTOLOGY_DIR

LIBRARY_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """``$CNKG_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnkg``, else ``~/.cache/cnkg``."""
    if os.environ.get("CNKG_CACHE_DIR"):
        return Path(os.environ["CNKG_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnkg"


def fingerprint(facts_dir: Path = FACTS_DIR, ontology_dir: Path = ONTOLOGY_DIR, landscapes=(), **options) -> str:
    """Hash of the inputs (facts, ontology, imported landscape snapshots), every module of the library (no
    hand-kept list: a new module that changes the triples cannot leave the cache stale; an edit anywhere in the
    library costs one rebuild), the build options and the versions of cnkg and the libraries it builds with."""
    digest = hashlib.sha256()
    for snapshot in landscapes:   # imports.Snapshot: its provenance and the hash of its checked copy
        info = snapshot.info
        digest.update(f"{info.name}|{info.date}|{info.commit}|{info.url}|{snapshot.sha256}\0".encode())
    for key, value in sorted(options.items()):
        digest.update(f"{key}={value}\0".encode())
    files = [*sorted(Path(facts_dir).glob("*.yaml")), *sorted(Path(ontology_dir).glob("*.ttl")),
             *sorted(LIBRARY_DIR.glob("*.py"))]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("cnkg", "rdflib", "owlrl", "pyshacl"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:20]


def cache_path(key: str, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"kg-{key}.pickle"


@contextmanager
def collector_paused():
    """Unpickling creates millions of objects, none of them garbage; the cyclic collector would re-scan the growing
    heap again and again (halves the load of a 320k-triple graph: 2.1 s -> 0.95 s). Afterwards freeze + unfreeze
    files them straight into the oldest generation, sparing the young-generation pass over all of them (0.2 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


def read_cached(key: str, directory: Path | None = None) -> Dataset | None:
    path = cache_path(key, directory)
    if not path.exists():
        return None
    try:
        with path.open("rb") as stream, collector_paused():
            dataset = pickle.load(stream)
    except Exception:  # a damaged cache file is rebuilt, never trusted
        return None
    return dataset if isinstance(dataset, Dataset) else None


def write_cached(key: str, dataset: Dataset, directory: Path | None = None) -> Path:
    """Write atomically: a temporary file in the same directory, then rename."""
    path = cache_path(key, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kg-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            pickle.dump(dataset, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
