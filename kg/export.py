"""Serialise the graph in every common RDF syntax; quad formats keep the provenance graphs."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from rdflib import Dataset, Graph

from .errors import InvalidInput, OutputError, Problem, closest
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
    from .build import new_dataset  # the build's dataset factory (and its imports) only when exporting

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


def write_atomically(path: Path | str, payload: bytes) -> None:
    """Write ``payload`` to ``path`` as a careful Unix tool does:

    - a regular file (or a new one) is written whole or not at all: a temporary sibling, flushed to disk, renamed
      into place; an existing file keeps its permissions (and owner, where we may set it);
    - a symbolic link is followed: the file it points to is replaced, the link stays a link;
    - a character device or a FIFO (``/dev/null``, ``/dev/stdout``, a pipe) is opened and written through, as a
      shell redirection would: renaming over it would replace the device node with a regular file;
    - anything else (a directory, a socket, a block device) and a missing directory are refused with a message.

    Raises ``InvalidInput`` for a path that cannot be written to as given, ``OutputError`` when writing fails."""
    shown = str(path)
    target = Path(os.path.realpath(path))
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        if stat.S_ISCHR(existing.st_mode) or stat.S_ISFIFO(existing.st_mode):
            _write_through(target, payload, shown)
            return
        kind = "a directory" if stat.S_ISDIR(existing.st_mode) else "not a regular file, a device or a FIFO"
        raise InvalidInput([Problem(shown, None, f"cannot write here: it is {kind}; give a file name")])
    if not target.parent.is_dir():
        where = target.parent if os.path.islink(path) else (os.path.dirname(shown) or ".")
        raise InvalidInput([Problem(shown, None, f"cannot write: the directory {where} does not exist")])
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        if existing is not None:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
            if (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.chown(tmp, existing.st_uid, existing.st_gid)
                except OSError:
                    pass                    # only root may give a file away; the content is what matters
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the permissions open() would
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}; {shown} is unchanged") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_through(target: Path, payload: bytes, shown: str) -> None:
    try:
        with open(target, "wb") as out:
            out.write(payload)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None


def write_stream(stream, payload: bytes, shown: str = "standard output") -> None:
    """Write ``payload`` to a binary stream and flush it; a failed write (a full disk) is an ``OutputError``, not a
    silently short output. A closed pipe (``BrokenPipeError``) is left to the caller: the reader left on purpose."""
    try:
        stream.write(payload)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write to {shown}: {exc.strerror or exc}; the output is incomplete") from None
