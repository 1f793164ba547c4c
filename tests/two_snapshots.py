"""The article with the two tiny fixture snapshots imported (a 2018 one with the official commit, a current one):
the build several test modules start from."""
from __future__ import annotations

from pathlib import Path

from cnkg import imports
from cnkg.pipeline import build
from paths import LANDSCAPES


def build_with_two_snapshots(directory: Path):
    """Import ``2018.yml`` (2018-10-26) and ``current.yml`` (2026-08-07) into ``directory`` and build over them."""
    imports.import_landscape(LANDSCAPES / "2018.yml", imports.snapshot_info(
        None, "2018-10-26", "760834e61d869824d884bd7abb7789697e41cb94", None, "landscape.yml"), directory)
    imports.import_landscape(LANDSCAPES / "current.yml", imports.snapshot_info(
        "now", "2026-08-07", None, None, "landscape.yml"), directory)
    return build(landscapes=imports.imported(directory), progress=False)
