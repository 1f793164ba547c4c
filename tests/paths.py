"""Where the tests' inputs are: the fixtures beside the tests, and the shared test data beside the checkout
(``../shared``: W3C suites, official landscape files), which tests skip without."""
from __future__ import annotations

import os
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL_FACTS = FIXTURES / "facts" / "minimal"
BROKEN_FACTS = FIXTURES / "facts" / "broken"
LANDSCAPES = FIXTURES / "landscape"
# CNKG_SHARED_DATA points elsewhere (a checkout that is not beside ../shared, such as a git worktree)
SHARED = Path(os.environ.get("CNKG_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared")
REAL_LANDSCAPES = SHARED / "data" / "landscape"
# The official snapshots there: file, date and commit as SOURCE.md records them.
REAL_SNAPSHOTS = [
    ("landscape-current.yml", "2026-08-07", "153d699bddf74038d21775b14d09052f62021441"),
    ("landscape-2018-10.yml", "2018-10-26", "760834e61d869824d884bd7abb7789697e41cb94"),
]
