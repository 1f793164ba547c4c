"""A cache of built, reasoned datasets as on-disk Oxigraph stores, keyed by a hash of every input.

A store is written under a temporary name and renamed into place, and never changed afterwards: a failed build
never touches the cache, so the previous good build stays loadable, and any number of processes can open a store
read-only at once (in about 20 ms, without reading it into memory).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from importlib import metadata
from pathlib import Path

from .namespaces import FACTS_DIR, ONTOLOGY_DIR
from .store import TripleStore

LIBRARY_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """``$CNKG_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnkg``, else ``~/.cache/cnkg``."""
    if os.environ.get("CNKG_CACHE_DIR"):
        return Path(os.environ["CNKG_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnkg"


def fingerprint(facts_dir: Path = FACTS_DIR, ontology_dir: Path = ONTOLOGY_DIR, landscapes=(),
                reasoner: str = "rules") -> str:
    """Hash of the inputs (facts, ontology, imported landscape snapshots), every module of the library (no
    hand-kept list: a new module that changes the triples cannot leave the cache stale; an edit anywhere in the
    library costs one rebuild), the reasoner and the versions of cnkg and the libraries it builds with."""
    digest = hashlib.sha256()
    for snapshot in landscapes:   # imports.Snapshot: its provenance and the hash of its checked copy
        info = snapshot.info
        digest.update(f"{info.name}|{info.date}|{info.commit}|{info.url}|{snapshot.sha256}\0".encode())
    digest.update(f"reasoner={reasoner}\0".encode())
    files = [*sorted(Path(facts_dir).glob("*.yaml")), *sorted(Path(ontology_dir).glob("*.ttl")),
             *sorted(LIBRARY_DIR.glob("*.py"))]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("cnkg", "rdflib", "owlrl", "pyshacl", "pyoxigraph"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:20]


def store_path(key: str, directory: Path | None = None) -> Path:
    """The on-disk Oxigraph store of the build with fingerprint ``key`` (a directory, written once)."""
    return (directory or cache_dir()) / f"kg-{key}.oxigraph"


def open_cached(key: str, directory: Path | None = None) -> TripleStore | None:
    """The cached store for ``key`` opened read-only, or None. A damaged one (it does not open) is removed, so the
    caller rebuilds it: never trusted, never fatal."""
    path = store_path(key, directory)
    if not path.exists():
        return None
    try:
        if not path.is_dir():
            raise NotADirectoryError(path)
        return TripleStore.open(path)
    except OSError:
        _remove(path)
        return None


def _remove(path: Path) -> None:
    """Move ``path`` aside first (a rename is atomic), then delete it."""
    aside = path.with_name(f".{path.name}.damaged-{os.getpid()}")
    os.replace(path, aside)
    if aside.is_dir():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)


def writable_path(key: str, directory: Path | None = None) -> Path:
    """Where the build with fingerprint ``key`` writes its store (``pipeline.build(store_path=...)``): anything
    but a store directory found there (a damaged entry) is removed first; a store already there is kept (the same
    inputs give the same triples) and the new copy dropped."""
    path = store_path(key, directory)
    if path.exists() and not path.is_dir():
        _remove(path)
    return path

