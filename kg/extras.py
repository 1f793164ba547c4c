"""Optional features and the extra that installs each (pyproject's optional-dependencies): a feature whose packages
are absent fails with an error naming the extra, never an ImportError from deep inside."""
from __future__ import annotations

import importlib.util

from .errors import CnkgError


class MissingExtra(CnkgError):
    """A feature needs packages of an optional extra that is not installed. Exit code 2."""

    def __init__(self, feature: str, extra: str, missing: list[str]):
        super().__init__(f"{feature} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
                         f"installed: pip install 'cnkg[{extra}]'")
        self.feature, self.extra, self.missing = feature, extra, missing


def require(feature: str, extra: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` unless every module can be imported (looked up, not imported: cheap)."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(feature, extra, missing)
