"""The user's imported landscape snapshots: checked copies of landscape.yml files in the cnkg data directory.

``cnkg import-landscape PATH --date D`` reads the file once and checks it completely first (and against the
previous import of the same source: far fewer items need ``--force``), then builds it into the graph with the other
imports and checks that as every build does, SHACL shapes included (:func:`check_build`): a snapshot kept that
would fail there would stop every later build, query and serve. Only a clean file is stored, exactly the bytes that
were checked, with a small JSON record of where it came from (date, commit, repository). Both are
written to temporary files and renamed into place, record last, so an interrupted or failed import leaves no half-import: a snapshot counts
only when its record exists and the copy's hash matches it. Every later ``cnkg build`` / ``serve`` / ``query``
includes the imported snapshots (``--no-landscapes`` leaves them out).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from .errors import InvalidInput, Problem
from .export import write_atomically
from .snapshots import LANDSCAPE_REPOSITORY, SnapshotInfo

if TYPE_CHECKING:
    from .landscape import Landscape

NAME_RE = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")


def data_dir() -> Path:
    """``$CNKG_DATA_DIR``, else ``$XDG_DATA_HOME/cnkg``, else ``~/.local/share/cnkg``."""
    if os.environ.get("CNKG_DATA_DIR"):
        return Path(os.environ["CNKG_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "cnkg"


def landscapes_dir(directory: Path | None = None) -> Path:
    return (directory or data_dir()) / "landscapes"


@dataclass(frozen=True)
class Snapshot:
    """An imported snapshot: its provenance and the checked copy of the file."""

    info: SnapshotInfo
    path: Path
    sha256: str
    size: int | None = None          # bytes of the copy, whose hash matched its record: the size checked at import


def _digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def snapshot_info(name: str | None, date: str, commit: str | None, url: str | None, file_name: str) -> SnapshotInfo:
    try:
        day = dt.date.fromisoformat(date)
    except (TypeError, ValueError):
        raise InvalidInput([Problem("--date", None, f"{date!r} is not a date; expected YYYY-MM-DD, the day the "
                                    "file was taken from the landscape repository")]) from None
    name = name or f"landscape-{day.isoformat()}"
    if not NAME_RE.match(name):
        raise InvalidInput([Problem("--name", None, f"{name!r} is not a snapshot name; use lower-case letters, "
                                    "digits, dots and dashes", re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-"))])
    if commit is not None and not re.fullmatch(r"[0-9a-fA-F]{7,40}", commit):
        raise InvalidInput([Problem("--commit", None, f"{commit!r} is not a git commit hash (7 to 40 hex digits)")])
    return SnapshotInfo(name=name, date=day, commit=commit.lower() if commit else None,
                        url=url or LANDSCAPE_REPOSITORY, file_name=file_name)


# A snapshot with fewer than this share of the items of the newest earlier import of the same source is taken
# for a cut or damaged file unless --force says otherwise: the landscape has only grown (597 items in 2018-10,
# 2,413 in 2026-08), and a file cut short in a clean place between two items still reads as a valid landscape.
SHRINK_LIMIT = 0.75


def check(path: Path, info: SnapshotInfo, directory: Path | None = None,
          force: bool = False, max_bytes: int | None = None) -> tuple[bytes, Landscape]:
    """Read ``path`` once and check it completely, and against the earlier imports of the same source (unless
    ``force``); returns the bytes that were checked and the landscape they hold. Raises ``InvalidInput``.
    ``max_bytes``: refuse a larger file (default ``landscape.MAX_BYTES``, 16 MiB)."""
    from .landscape import read_landscape, read_landscape_bytes  # only an import reads the file (see SnapshotInfo)

    path = Path(path)
    payload = read_landscape_bytes(path, max_bytes)
    landscape = read_landscape(path, payload)            # every problem is raised here, before any write
    previous = _previous_import(info, directory)
    if previous is not None and not force:
        name, day, items = previous
        if len(landscape.items) < SHRINK_LIMIT * items:
            raise InvalidInput([Problem(str(path), None, f"{len(landscape.items)} items, far fewer than the {items} "
                                        f"of snapshot {name!r} ({day}) imported earlier from the same source: is the "
                                        "file complete? If the landscape really shrank, import it with --force")])
    return payload, landscape


def _previous_import(info: SnapshotInfo, directory: Path | None) -> tuple[str, str, int] | None:
    """(name, date, items) of the newest import from the same repository dated on or before ``info``."""
    best = None
    for record_path in landscapes_dir(directory).glob("*.json"):
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            day, items = dt.date.fromisoformat(record["date"]), int(record["items"])
        except (OSError, ValueError, KeyError, TypeError):
            continue                                    # reported by imported(); not a comparison point
        # the same repository (the file's local name is whatever the user saved it as)
        same = (record.get("url") or LANDSCAPE_REPOSITORY) == info.url
        if same and day <= info.date and (best is None or (day, record["name"]) > best[:2]):
            best = (day, record["name"], items)
    return None if best is None else (best[1], best[0].isoformat(), best[2])


def check_build(path: Path, payload: bytes, info: SnapshotInfo, directory: Path | None = None,
                replace: bool = False, build_options: dict | None = None, store_path=None):
    """Build the graph the next build will build (the imported snapshots, with ``payload`` as snapshot
    ``info.name``) and check it as every build does: OWL 2 RL consistency and the SHACL shapes. A file that passes
    the reader's checks can still fail these (a member named like one of the article's projects: one name, two
    entities), and a snapshot kept that way would stop every later build, query and serve. Raises
    ``InvalidInput`` naming, for each problem the file causes, the item, the field with its line in ``path``, and
    what was expected. Returns the ``pipeline.BuildReport``. ``build_options``: passed on to
    ``pipeline.build`` (``facts_dir``, ``ontology_dir``, ``reasoner``); ``store_path``: a function of the
    snapshots built giving where to write the store (the cache), or None to build in memory."""
    import tempfile

    from .errors import CnkgError
    from .pipeline import build  # the build pipeline only when an import is checked

    earlier = imported(directory)
    others = [s for s in earlier if s.info.name != info.name or not replace]
    with tempfile.TemporaryDirectory(prefix="cnkg-import-") as scratch:
        copy = Path(scratch) / f"{info.name}.yml"
        copy.write_bytes(payload)
        candidate = Snapshot(info, copy, _digest(payload), len(payload))
        snapshots = sorted([*others, candidate], key=lambda s: (s.info.date, s.info.name), reverse=True)
        try:
            return build(landscapes=snapshots, progress=False, **(build_options or {}),
                         store_path=store_path(snapshots) if store_path else None)
        except CnkgError as exc:
            problems = getattr(exc, "problems", None) or [Problem(str(path), None, str(exc))]
            mine = [Problem(str(path), p.line, p.message, p.suggestion) if p.file == str(copy) else p
                    for p in problems]
            kept = f"; the snapshot {info.name!r} imported before is unchanged" \
                if any(s.info.name == info.name for s in earlier) else ""
            head = Problem(str(path), None, "not imported: the graph built with this file fails the checks every "
                           f"build makes, so every later build, query and serve would fail{kept}")
            raise InvalidInput([head, *mine]) from None


def import_landscape(path: Path, info: SnapshotInfo, directory: Path | None = None,
                     replace: bool = False, force: bool = False,
                     max_bytes: int | None = None, build_options: dict | None = None) -> tuple[Snapshot, Landscape]:
    """Check ``path`` completely — read, and built into the graph with the other imports as every build will
    build it (:func:`check_build`) — then store exactly the bytes checked as snapshot ``info.name``; raises
    ``InvalidInput`` first, leaving any earlier import untouched. ``force``: import even with far fewer items than
    the previous import. ``max_bytes``: refuse a larger file (default ``landscape.MAX_BYTES``); builds read the
    stored copy whatever its size. ``build_options``: for :func:`check_build`."""
    path = Path(path)
    payload, landscape = check(path, info, directory, force, max_bytes)
    refuse_existing(path, info, directory, replace)
    check_build(path, payload, info, directory, replace, build_options)
    return store(payload, landscape, info, directory), landscape


def refuse_existing(path: Path, info: SnapshotInfo, directory: Path | None, replace: bool) -> None:
    if (landscapes_dir(directory) / f"{info.name}.json").exists() and not replace:
        raise InvalidInput([Problem(str(path), None, f"a snapshot named {info.name!r} is already imported; give "
                                    "--name for another one, or --replace to overwrite it")])


def store(payload: bytes, landscape: Landscape, info: SnapshotInfo, directory: Path | None = None) -> Snapshot:
    """Keep ``payload``, checked, as snapshot ``info.name``: the copy, then its record (what makes it count)."""
    target = landscapes_dir(directory)
    record_path = target / f"{info.name}.json"
    digest = _digest(payload)
    copy = target / f"{info.name}.yml"
    record = {"name": info.name, "date": info.date.isoformat(), "commit": info.commit, "url": info.url,
              "file_name": info.file_name, "sha256": digest,
              "items": len(landscape.items), "projects": len(landscape.projects), "schema": landscape.schema}
    target.mkdir(parents=True, exist_ok=True)
    write_atomically(copy, payload)
    write_atomically(record_path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return Snapshot(info, copy, digest, len(payload))


def imported(directory: Path | None = None) -> list[Snapshot]:
    """The complete imports, newest date first. A copy that does not match its record is an error."""
    snapshots = []
    for record_path in sorted(landscapes_dir(directory).glob("*.json")):
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            info = SnapshotInfo(name=record["name"], date=dt.date.fromisoformat(record["date"]),
                                commit=record.get("commit"), url=record.get("url") or LANDSCAPE_REPOSITORY,
                                file_name=record.get("file_name") or "landscape.yml")
            copy = record_path.with_suffix(".yml")
            payload = copy.read_bytes()
            digest = _digest(payload)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput([Problem(str(record_path), None, f"damaged landscape import ({exc}); import the "
                                        "file again with cnkg import-landscape --replace")]) from None
        if digest != record.get("sha256"):
            raise InvalidInput([Problem(str(copy), None, "the imported copy was changed after import (hash "
                                        "mismatch); import the file again with cnkg import-landscape --replace")])
        snapshots.append(Snapshot(info, copy, digest, len(payload)))
    return sorted(snapshots, key=lambda s: (s.info.date, s.info.name), reverse=True)


def remove(name: str, directory: Path | None = None) -> None:
    target = landscapes_dir(directory)
    record_path = target / f"{name}.json"
    if not record_path.exists():
        known = [s.info.name for s in imported(directory)]
        raise InvalidInput([Problem("remove", None, f"no imported snapshot is named {name!r}; imported: "
                                    f"{', '.join(known) or 'none'}")])
    record_path.unlink()                                # the record first: without it the copy is ignored
    record_path.with_suffix(".yml").unlink(missing_ok=True)
