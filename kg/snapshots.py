"""Where an imported landscape file came from. Apart from :mod:`cnkg.imports` (which stores the imports and checks
them with the build pipeline) so that the graph code can name it without depending on the imports."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

LANDSCAPE_REPOSITORY = "https://github.com/cncf/landscape"


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
    def title(self) -> str:
        commit = f", commit {self.commit[:12]}" if self.commit else ""
        return f"CNCF landscape.yml of {self.date.isoformat()}{commit}"
