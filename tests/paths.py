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
