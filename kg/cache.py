"""A cache of built, reasoned datasets, keyed by a hash of every input, written atomically.

A failed build never touches the cache, so the previous good build stays loadable.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from importlib import metadata
from pathlib import Path

from rdflib import Dataset

from .build import new_dataset
from .namespaces import FACTS_DIR, ONTOLOGY_DIR

CACHE_FORMAT = "nquads"
_CODE_FILES = ("build.py", "reason.py", "records.py", "ontology.py", "namespaces.py", "cache.py")


def cache_dir() -> Path:
    """``$CNKG_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnkg``, else ``~/.cache/cnkg``."""
    if os.environ.get("CNKG_CACHE_DIR"):
        return Path(os.environ["CNKG_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnkg"


def fingerprint(facts_dir: Path = FACTS_DIR, ontology_dir: Path = ONTOLOGY_DIR) -> str:
    """Hash of the inputs, the code that turns them into triples, and the library versions."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    files = [*sorted(Path(facts_dir).glob("*.yaml")), *sorted(Path(ontology_dir).glob("*.ttl")),
             *(here / name for name in _CODE_FILES)]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("rdflib", "owlrl", "pyshacl"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:20]


def cache_path(key: str, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"kg-{key}.nq"


def read_cached(key: str, directory: Path | None = None) -> Dataset | None:
    path = cache_path(key, directory)
    if not path.exists():
        return None
    dataset = new_dataset()
    try:
        dataset.parse(path, format=CACHE_FORMAT)
    except Exception:  # a damaged cache file is rebuilt, never trusted
        return None
    return dataset


def write_cached(key: str, dataset: Dataset, directory: Path | None = None) -> Path:
    """Write atomically: a temporary file in the same directory, then rename."""
    path = cache_path(key, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kg-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            dataset.serialize(out, format=CACHE_FORMAT)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
