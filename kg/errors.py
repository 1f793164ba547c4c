"""The error hierarchy: every problem a user can fix names its file, line, value and a suggestion."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    file: str
    line: int | None
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class CnkgError(Exception):
    """Base class for errors cnkg reports to users. Exit code 2 unless a subclass says otherwise."""

    exit_code = 2


class InvalidInput(CnkgError):
    """The input (facts, ontology, query, parameter) is wrong; the message says where and how. Exit code 1."""

    exit_code = 1

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem("input", None, problems)]
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class RemoteError(CnkgError):
    """A remote store (:mod:`cnkg.remote`) could not be reached, refused, failed, timed out or answered something unreadable.

    ``kind``: ``unreachable``, ``refused`` (401, 403), ``not_found`` (404), ``rejected`` (another 4xx; ``syntax``
    when it is a 400 for a query), ``failed`` (5xx), ``timeout``, ``malformed`` (an answer cnkg cannot read) or
    ``incomplete`` (a push that did not finish) or ``unsafe`` (a redirect to another origin, which cnkg does not
    follow so that credentials stay with the store). Exit code 1."""

    exit_code = 1

    def __init__(self, kind: str, message: str, status: int | None = None, detail: str = ""):
        message, detail = scrub_userinfo(message), scrub_userinfo(detail)  # a URL's password is never repeated
        super().__init__(message)
        self.kind, self.message, self.status, self.detail = kind, message, status, detail


# the user information of any URL in a text (the authority's part up to its last @)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#]*@")


def scrub_userinfo(text: str) -> str:
    """``text`` with the user and password of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


class OutputError(CnkgError):
    """Writing a result failed (disk full, permission denied, a closed device). Exit code 2."""


class ReasoningError(InvalidInput):
    """The OWL 2 RL closure found the facts inconsistent (e.g. a lineage cycle)."""


class ShapeViolation(InvalidInput):
    """The built graph does not conform to the SHACL shapes. ``violations``: the validation results
    (``cnkg.shacl_sparql.Violation``), from which the problems were written."""

    def __init__(self, problems: Iterable[Problem] | str, violations: Iterable = ()):
        super().__init__(problems)
        self.violations = list(violations)


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The candidate most like ``word`` (case-insensitive), or None when nothing is close."""
    pool = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(word.lower(), list(pool), n=1, cutoff=cutoff)
    return pool[match[0]] if match else None
