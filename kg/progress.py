"""Progress of long builds and imports on a terminal (tqdm); silent when output is piped or in CI."""
from __future__ import annotations

import os
import sys

from tqdm import tqdm


def wanted(progress: bool | None) -> bool:
    """An explicit choice wins; by default only an interactive standard error outside CI shows progress."""
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("CI")


class Steps:
    """A named-step progress bar: ``begin(name)`` finishes the previous step and shows the next one."""

    def __init__(self, names: list[str], progress: bool | None = None):
        self.names = names
        self.bar = tqdm(total=len(names), desc="cnkg", unit="step", disable=not wanted(progress), leave=False,
                        file=sys.stderr, bar_format="{desc}: {n_fmt}/{total_fmt} steps |{bar}| {elapsed}")
        self.started = False

    def __enter__(self) -> "Steps":
        return self

    def __exit__(self, *exc) -> None:
        if self.started and exc[0] is None:
            self.bar.update(1)
        self.bar.close()

    def begin(self, name: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_description_str(f"cnkg: {name}")
