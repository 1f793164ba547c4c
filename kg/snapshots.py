"""Where an imported landscape file came from. Apart from :mod:`cnkg.imports` (which stores the imports and checks
them with the build pipeline) so that the graph code can name it without depending on the imports."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

LANDSCAPE_REPOSITORY = "https://github.com/cncf/landscape"
# where that repository keeps the file, at every commit since its first (2018's copies included)
LANDSCAPE_FILE = "landscape.yml"


def snapshot_url(repository: str | None, commit: str | None) -> str | None:
    """A public URL that is exactly the snapshot: the landscape repository's ``landscape.yml`` at the recorded
    commit. None for a file without a commit (the repository's newest file is another one) or from another
    repository (the name the file was imported under need not be its path there): nothing is made up."""
    if (not commit or not re.fullmatch(r"[0-9a-fA-F]{7,40}", commit)   # (a graph written by an update: anything)
            or (repository or "").rstrip("/") != LANDSCAPE_REPOSITORY):
        return None
    return f"{LANDSCAPE_REPOSITORY}/blob/{commit}/{LANDSCAPE_FILE}"


@dataclass(frozen=True)
class SnapshotInfo:
    """Where a landscape file came from: given by the user at import, stored with the import. (In a module of its
    own, not beside the graph it becomes in cnkg.landscape_graph: every cnkg serve and query reads the imports'
    records, and need not import the landscape reader, PyYAML and the alignment code to do it, ~30 ms of the
    start.)"""

    name: str
    date: dt.date
    commit: str | None = None
    url: str = LANDSCAPE_REPOSITORY
    file_name: str = "landscape.yml"

    @property
    def file_url(self) -> str | None:
        return snapshot_url(self.url, self.commit)

    @property
    def title(self) -> str:
        commit = f", commit {self.commit[:12]}" if self.commit else ""
        return f"CNCF landscape.yml of {self.date.isoformat()}{commit}"
