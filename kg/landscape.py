"""Read an official CNCF ``landscape.yml`` into typed records, checking every value and keeping its line.

Both schemas the CNCF has used are accepted:

- 2018: ``cncf_project: sandbox|incubating|graduated`` on the item, no dates;
- today: ``project: sandbox|incubating|graduated|archived`` on the item and the lifecycle dates under ``extra``
  (``accepted``, ``incubating``, ``graduated``, ``archived``), ``joined`` for members, ``second_path`` for
  extra placements ("Category / Subcategory").

What the landscape states about a project beyond its place and stage is read too, each value with the line of
its key: integration partners (``extra.summary_integrations``, also spelled ``summary_integration``) and the
parent project as the names the file gives (resolved to entities later, by :mod:`cnkg.align`), languages, tags
and personas as comma-separated lists, use cases and the release rate as text, dated security audits, the
annual review and statistics links, the CLOMonitor name and additional repositories. These fields are
free text written by hand; a value of the wrong shape (a list where text belongs, an audit that is not a
mapping) is a warning and not used, never a reason to refuse the file.

Real files are hand-edited by many people: quoted and unquoted dates, nulls, stray (even non-breaking) spaces
and keys put in the wrong place all occur. Spaces are trimmed and nulls read as absent; a misplaced or unknown
key is a warning (reported, not used). What cannot be read as intended — not YAML, not a landscape, an item
without a name, a date that is not a date, an unknown stage, a URL that is not one — is an error with the
file and line, and nothing of the file is used.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import yamlsafe
from .errors import InvalidInput, Problem, closest

STAGES = ("sandbox", "incubating", "graduated", "archived")
EVENT_KINDS = ("accepted", "incubating", "graduated", "archived")
URL_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Keys the two schemas use; anything else is reported as unknown (the schema evolves; unknown keys are harmless).
ITEM_KEYS = {
    "item", "name", "homepage_url", "repo_url", "logo", "twitter", "crunchbase", "description", "cncf_project",
    "project", "stock_ticker", "url_for_bestpractices", "branch", "extra", "second_path", "joined", "enduser",
    "open_source", "organization", "project_org", "unnamed_organization", "allow_duplicate_repo", "additional_repos",
    "slug", "bluesky_url",
}
URL_KEYS = ("homepage_url", "repo_url", "crunchbase")
EXTRA_DATE_KEYS = (*EVENT_KINDS, "annual_review_date")
# Item-level keys that were found nested under ``extra``: reported, never silently used.
MISPLACED_IN_EXTRA = {"project", "cncf_project", "homepage_url", "repo_url", "crunchbase", "name", "joined"}
# Keys both schemas require of every item besides its name (landscapeapp in 2018, landscape2 today; every item of
# both official files has them). An item lacking one that every other item of the file has is incomplete: the
# sign of a file cut short in its last item.
REQUIRED_ITEM_KEYS = ("homepage_url", "logo")
# The official file is 1.1 MB and reads into ~25 MB; 16 MiB leaves room for growth with memory bounded. An operator
# raises it for a file deliberately larger (``cnkg import-landscape --max-size MIB``, e.g. a synthetic benchmark
# landscape); the build reads the imported copies, checked at import, at the size they had then. A landscape nests
# ten levels at most (see yamlsafe for why both limits).
MAX_BYTES = 16 << 20
MAX_DEPTH = 24


@dataclass(frozen=True)
class Audit:
    """One security audit listed under ``extra.audits``."""

    date: dt.date
    line: int
    vendor: str | None = None
    kind: str | None = None                        # the file's ``type``, e.g. "security"
    url: str | None = None


@dataclass
class Item:
    """One landscape entry in one place (category / subcategory) of one file."""

    name: str
    line: int
    category: str
    subcategory: str
    second_paths: list[tuple[str, str]] = field(default_factory=list)
    description: str | None = None
    homepage: str | None = None
    repository: str | None = None
    crunchbase: str | None = None
    stage: str | None = None                       # the CNCF maturity the file states
    events: dict[str, dt.date] = field(default_factory=dict)   # lifecycle: kind -> date
    joined: dt.date | None = None                  # CNCF membership date (members)
    # what the file states beyond place and stage; each key's line is in ``lines``
    integrations: list[tuple[str, str]] = field(default_factory=list)   # (key, a partner's name as written)
    parent_project: str | None = None
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    personas: list[str] = field(default_factory=list)
    use_case: str | None = None
    business_use_case: str | None = None
    release_rate: str | None = None
    audits: list[Audit] = field(default_factory=list)
    annual_review_date: dt.date | None = None
    annual_review_url: str | None = None
    dev_stats_url: str | None = None
    clomonitor_name: str | None = None
    additional_repos: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)     # "extra.summary_tags", "joined", ... -> line


@dataclass
class Landscape:
    path: Path
    categories: dict[str, list[str]]               # category -> its subcategories, in file order
    items: list[Item]
    warnings: list[Problem]
    schema: str                                    # "2018" (cncf_project) or "current" (project + extra dates)

    @property
    def projects(self) -> list[Item]:
        return [item for item in self.items if item.stage]


class _LineDict(dict):
    """A mapping that remembers the line of each key (1-based) and its own first line."""

    line = 0
    key_lines: dict


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    mapping = _LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
if hasattr(yaml, "CSafeLoader"):  # the C parser is ~6x faster on the 1 MB current file; same constructors
    class _FastLineLoader(yaml.CSafeLoader):
        pass

    _FastLineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _LOADER = _FastLineLoader
else:
    _LOADER = _LineLoader


def place_key(name: str) -> str:
    """A category or subcategory name compared loosely: case, spaces and "&" against "and" ignored."""
    return " ".join(name.lower().replace("&", " and ").split())


def _clean(value: Any) -> Any:
    """Trim stray spaces (including non-breaking ones) from text; empty text reads as absent."""
    if isinstance(value, str):
        value = value.strip().strip("\u00a0").strip()
        return value or None
    return value


# Free-text lists of names: "K3s, Kubeadm, Flux, etc.", "Kubernetes, Helm，Prometheus" (a full-width comma),
# "OpenTelemetry and Prometheus (metrics and tracing)", "Gateway API + standard service meshes", one per line
# with a heading ("Big-data: Numpy, Pandas"), or Markdown links. Separators inside parentheses or brackets do not
# split ("Prometheus (metrics and tracing)" stays one name).
#
# Every value is written by hand and may be hostile: the splitting is plain code, linear in the length of the
# text. (It was a set of regular expressions, one of which backtracked cubically on a long run of spaces: a 3 KB
# file held the import for minutes.) The regular expressions left are anchored or end in their only quantifier,
# so none backtracks more than a bounded distance.
_SEPARATOR_CHARS = ",\uff0c;\n"
_JOINING_WORDS = ("and", "&", "+")
_BARE_URL = re.compile(r"https?://\S+")
_HEADING = re.compile(r"^[A-Z][\w -]{0,30}:\s+(?=\S)")
_TRAILING = ("etc.", "etc", "and many more.", "and many more", "and more.", "and more", "e.g.")
_DANGLING = ("and", "plus", "&")


def _unlink(text: str) -> str:
    """``[text](target)`` Markdown links replaced by their text. Every ``[`` before the first ``]`` after it
    reaches that same ``]``, so a failed link is skipped whole: each character is looked at a bounded number of
    times."""
    out, start, position = [], 0, 0
    while True:
        opening = text.find("[", position)
        closing = text.find("]", opening + 1) if opening >= 0 else -1
        if closing < 0:
            break
        if text.startswith("(", closing + 1):
            end = text.find(")", closing + 2)
            if end < 0:                       # no ")" left: no later link can close either
                break
            out += [text[start:opening], text[opening + 1:closing]]
            start = position = end + 1
        else:
            position = closing + 1
    out.append(text[start:])
    return "".join(out)


def _space_end(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _separator_end(text: str, position: int, space_end: int) -> int | None:
    """Where a separator starting at ``position`` ends (the spaces around it included), or None. ``space_end``:
    the end of the run of spaces starting there. A run of spaces followed by no separator holds none anywhere in
    it, so the caller skips the whole run."""
    if space_end < len(text) and text[space_end] in ",\uff0c;":
        return _space_end(text, space_end + 1)
    if "\n" in text[position:space_end]:         # a line break between names
        return space_end
    if space_end > position:                      # " and ", " & ", " + "
        for word in _JOINING_WORDS:
            after = space_end + len(word)
            if text.startswith(word, space_end) and after < len(text) and text[after].isspace():
                return _space_end(text, after)
    return None


def _ends_with(text: str, word: str) -> bool:
    return len(text) >= len(word) and text[len(text) - len(word):].lower() == word


def _drop_trailing(part: str) -> str:
    """``part`` (trimmed) without a final "etc.", "and more", "e.g." standing as a word of its own."""
    for word in _TRAILING:
        if _ends_with(part, word):
            head = part[:len(part) - len(word)]
            rest = head.rstrip()
            if not head or rest != head or rest.endswith(","):
                return rest[:-1] if rest.endswith(",") else rest
    return part


def _drop_dangling(part: str) -> str:
    """``part`` without a final " and", " plus" or " &" left by a list cut at a line break (before one final
    line break too, as a regular expression's ``$`` allowed: the caller trims it)."""
    if part.endswith("\n"):
        part = part[:-1]
    for word in _DANGLING:
        if _ends_with(part, word):
            head = part[:len(part) - len(word)]
            if head and head[-1].isspace():
                return head.rstrip()
    return part


def split_names(text: str) -> list[str]:
    """The names in a free-text list, in order, without "etc.", "and more", links' targets or bare URLs."""
    text = _unlink(text)
    text = _BARE_URL.sub(" ", text)
    lines = [_HEADING.sub("", line.strip(), count=1) for line in text.splitlines()]
    text = "\n".join(lines)
    parts, depth, start = [], 0, 0
    position = 0
    while position < len(text):
        char = text[position]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and (char.isspace() or char in _SEPARATOR_CHARS):
            space_end = _space_end(text, position)
            end = _separator_end(text, position, space_end)
            if end is not None:
                parts.append(text[start:position])
                start = position = end
                continue
            position = max(space_end, position + 1)
            continue
        position += 1
    parts.append(text[start:])
    names = []
    for part in parts:
        part = _drop_trailing(part.strip()).strip(" .:;\u00a0")
        for word in ("and", "e.g.", "see"):
            if _ends_with(part[:len(word)], word) and part[len(word):len(word) + 1].isspace():
                part = part[len(word):].lstrip()
                break
        part = _drop_dangling(part).strip()
        if part and part.lower() not in ("etc", "etc.") and not _MORE.match(part):
            names.append(part)
    return names


_MORE = re.compile(r"(?:many )?more\b", re.IGNORECASE)   # anchored by match(): linear


def _show(value: Any, width: int = 60) -> str:
    """A value for a message, shortened when long."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        self.file = str(path)
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.keys_seen: set = set()
        self.item_keys: list[set] = []   # the keys (with a value) of each item, in the order of ``items``

    def error(self, line: int | None, message: str, suggestion: str | None = None) -> None:
        self.errors.append(Problem(self.file, line, message, suggestion))

    def warn(self, line: int | None, message: str, suggestion: str | None = None) -> None:
        self.warnings.append(Problem(self.file, line, message, suggestion))

    def load(self, payload: bytes) -> Any:
        text = yamlsafe.decode(payload, self.file)
        if text and not text.endswith(("\n", "\r")):
            # Every landscape.yml ends with a line break; a file without one was most likely cut short while
            # copying, and its last value (a URL, a date) may be cut with it while still reading as valid.
            self.error(text.count("\n") + 1, "the file ends in the middle of a line (no line break at the end): "
                                             "it looks truncated; take the whole file again")
        try:
            root = yamlsafe.compose(text, self.file, MAX_DEPTH, "a landscape.yml")
        except InvalidInput as exc:
            raise InvalidInput([*exc.problems, *self.errors]) from None
        if root is None:
            return None
        constructor = _LOADER("")
        try:
            return constructor.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise InvalidInput([Problem(self.file, mark.line + 1 if mark else None,
                                        f"not valid YAML: {exc.problem or exc.context}")]) from None
        except ValueError as exc:  # e.g. an unquoted impossible date such as 2018-13-45
            raise InvalidInput([Problem(self.file, None, f"not valid YAML: {exc}")]) from None
        finally:
            constructor.dispose()

    def date(self, value: Any, line: int, what: str) -> dt.date | None:
        value = _clean(value)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str) and DATE_RE.match(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.error(line, f"{what}: {_show(value)} is not a date; expected YYYY-MM-DD, e.g. '2018-10-26'")
        return None

    def url(self, value: Any, line: int, what: str) -> str | None:
        value = _clean(value)
        if value is None:
            return None
        if not isinstance(value, str) or not URL_RE.match(value):
            self.error(line, f"{what}: {_show(value)} is not an http(s) URL")
            return None
        return value

    def text(self, value: Any, line: int, what: str) -> str | None:
        value = _clean(value)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float, bool, dt.date)):
            return str(value)
        self.error(line, f"{what}: expected text, found a {type(value).__name__}")
        return None

    def stage(self, value: Any, line: int, key: str) -> str | None:
        value = _clean(value)
        if value is None:
            return None
        if not isinstance(value, str) or value.lower() not in STAGES:
            self.error(line, f"{key}: {_show(value)} is not a CNCF stage; expected one of {', '.join(STAGES)}",
                       closest(str(value), STAGES, 0.6))
            return None
        return value.lower()

    # ------------------------------------------------------------------ structure

    def read(self, payload: bytes) -> Landscape:
        data = self.load(payload)
        if not isinstance(data, dict) or not isinstance(data.get("landscape"), list):
            line = getattr(data, "line", 1) if isinstance(data, dict) else 1
            found = f"top-level keys {', '.join(map(str, data))}" if isinstance(data, dict) else \
                f"a {type(data).__name__}"
            raise InvalidInput([Problem(self.file, line, "not a landscape.yml: expected a top-level 'landscape:' "
                                        f"list of categories, found {found}")])
        categories: dict[str, list[str]] = {}
        items: list[Item] = []
        for category in data["landscape"]:
            self.category(category, categories, items)
        known = {(c, s) for c, subs in categories.items() for s in subs}
        # a second_path spelled with "and" where the category has "&" (or the other way round, or in another
        # case) is that category: the file's own authors write both ("Governance, Policy and Security")
        loose: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for place in known:
            loose.setdefault(tuple(map(place_key, place)), []).append(place)
        for item in items:
            for position, place in enumerate(list(item.second_paths)):
                same = loose.get(tuple(map(place_key, place)), [])
                if place not in known and len(same) == 1:
                    item.second_paths[position] = same[0]
            for place in [p for p in item.second_paths if p not in known]:
                self.warn(item.line, f"{item.name!r}: second_path {' / '.join(place)!r} names no category / "
                                     "subcategory of this file; placement not used",
                          closest(" / ".join(place), [" / ".join(k) for k in known], 0.6))
                item.second_paths.remove(place)
            item.second_paths = list(dict.fromkeys(item.second_paths))
        self.check_complete(items)
        if not items and not self.errors:
            self.error(data.line, "the landscape lists no items")
        if self.errors:
            raise InvalidInput(self.errors)
        schema = "2018" if self.keys_seen & {"cncf_project"} and not self.keys_seen & {"project"} else "current"
        return Landscape(self.path, categories, items, self.warnings, schema)

    def mapping(self, value: Any, line: int, what: str) -> _LineDict | None:
        if isinstance(value, _LineDict):
            return value
        self.error(line, f"{what}: expected a mapping with a 'name', found {_show(value)}")
        return None

    def named(self, node: _LineDict, what: str) -> str | None:
        name = self.text(node.get("name"), node.key_lines.get("name", node.line), f"{what} name")
        if not name:
            self.error(node.line, f"{what} without a name")
        return name

    def category(self, node: Any, categories: dict, items: list) -> None:
        node = self.mapping(node, 1, "category")
        if node is None:
            return
        name = self.named(node, "category")
        if name is None:
            return
        subs = categories.setdefault(name, [])
        for sub in node.get("subcategories") or []:
            sub = self.mapping(sub, node.line, f"subcategory of {name!r}")
            if sub is None:
                continue
            sub_name = self.named(sub, f"subcategory of {name!r}")
            if sub_name is None:
                continue
            if sub_name not in subs:
                subs.append(sub_name)
            for item in sub.get("items") or []:
                item = self.mapping(item, sub.line, f"item in {name} / {sub_name}")
                if item is not None:
                    self.item(item, name, sub_name, items)

    def item(self, node: _LineDict, category: str, subcategory: str, items: list) -> None:
        lines = node.key_lines
        name = self.named(node, f"item in {category} / {subcategory}")
        if name is None:
            return
        where = f"{name!r}"
        self.keys_seen.update(node)
        for key in node:
            if key not in ITEM_KEYS:
                self.warn(lines[key], f"{where}: unknown key {key!r} (not used)", closest(str(key), ITEM_KEYS, 0.8))
        item = Item(name=name, line=node.line, category=category, subcategory=subcategory)
        self.item_keys.append({key for key, value in node.items() if _clean(value) is not None})
        item.description = self.text(node.get("description"), lines.get("description", node.line),
                                     f"{where} description")
        for key in URL_KEYS:
            value = self.url(node.get(key), lines.get(key, node.line), f"{where} {key}")
            setattr(item, {"homepage_url": "homepage", "repo_url": "repository"}.get(key, key), value)
        stage_2018 = self.stage(node.get("cncf_project"), lines.get("cncf_project", node.line), f"{where} cncf_project")
        stage_now = self.stage(node.get("project"), lines.get("project", node.line), f"{where} project")
        if stage_2018 and stage_now and stage_2018 != stage_now:
            self.error(node.line, f"{where}: cncf_project {stage_2018!r} and project {stage_now!r} disagree")
        item.stage = stage_now or stage_2018
        item.joined = self.date(node.get("joined"), lines.get("joined", node.line), f"{where} joined")
        if item.joined:
            item.lines["joined"] = lines["joined"]
        item.additional_repos = self.repos(node.get("additional_repos"), lines.get("additional_repos", node.line),
                                           where)
        if item.additional_repos:
            item.lines["additional_repos"] = lines["additional_repos"]
        item.second_paths = self.second_paths(node.get("second_path"), lines.get("second_path", node.line), where)
        extra = node.get("extra")
        if extra is not None and not isinstance(extra, _LineDict):
            self.error(lines["extra"], f"{where} extra: expected a mapping, found {_show(extra)}")
        elif extra:
            for key in EXTRA_DATE_KEYS:
                when = self.date(extra.get(key), extra.key_lines.get(key, extra.line), f"{where} extra.{key}")
                if when and key in EVENT_KINDS:
                    item.events[key] = when
            self.summary(item, extra, where)
            for key in MISPLACED_IN_EXTRA & set(extra):
                self.warn(extra.key_lines[key], f"{where}: {key!r} is misplaced under 'extra' (it belongs on the "
                                                f"item itself); not used")
        if item.events and not item.stage:
            self.warn(node.line, f"{where} has lifecycle dates ({', '.join(item.events)}) but no 'project' stage: "
                                 "dates not used")
            item.events = {}
        self.check_events(item, where)
        items.append(item)

    # ------------------------------------------------------------------ what the landscape states beyond stages

    def free_text(self, value: Any, line: int, what: str) -> str | None:
        """Text written by hand; a list of texts is joined with commas; any other shape is a warning."""
        value = _clean(value)
        if isinstance(value, list) and all(isinstance(_clean(v), (str, type(None))) for v in value):
            value = ", ".join(v for v in map(_clean, value) if v) or None
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        self.warn(line, f"{what}: expected text, found {_show(value)}; not used")
        return None

    def summary(self, item: Item, extra: _LineDict, where: str) -> None:
        """The ``extra`` fields beyond lifecycle dates (see the module docstring)."""
        lines = extra.key_lines

        def text(key: str) -> str | None:
            value = self.free_text(extra.get(key), lines.get(key, extra.line), f"{where} extra.{key}")
            if value is not None:
                item.lines[f"extra.{key}"] = lines[key]
            return value

        for key in ("summary_integrations", "summary_integration"):
            value = text(key)
            if value is not None:
                names = split_names(value)
                if not names:
                    self.warn(lines[key], f"{where} extra.{key}: {_show(value)} names nothing; not used")
                item.integrations.extend((f"extra.{key}", name) for name in dict.fromkeys(names))
        parent = text("parent_project")
        if parent is not None:
            names = split_names(parent)
            if len(names) != 1:
                self.warn(lines["parent_project"], f"{where} extra.parent_project: {_show(parent)} is not one name; "
                                                   "not used")
            else:
                item.parent_project = names[0]
        for key, attribute in (("summary_languages", "languages"), ("summary_tags", "tags"),
                               ("summary_personas", "personas")):
            value = text(key)
            if value is not None:
                setattr(item, attribute, list(dict.fromkeys(split_names(value))))
        item.use_case = text("summary_use_case")
        item.business_use_case = text("summary_business_use_case")
        item.release_rate = text("summary_release_rate")
        item.clomonitor_name = text("clomonitor_name")
        item.annual_review_date = self.date(extra.get("annual_review_date"),
                                            lines.get("annual_review_date", extra.line),
                                            f"{where} extra.annual_review_date")
        if item.annual_review_date:
            item.lines["extra.annual_review_date"] = lines["annual_review_date"]
        for key in ("annual_review_url", "dev_stats_url"):
            value = self.url(extra.get(key), lines.get(key, extra.line), f"{where} extra.{key}")
            if value is not None:
                setattr(item, key, value)
                item.lines[f"extra.{key}"] = lines[key]
        item.audits = self.audits(extra.get("audits"), lines.get("audits", extra.line), where)
        if item.audits:
            item.lines["extra.audits"] = lines["audits"]

    def audits(self, value: Any, line: int, where: str) -> list[Audit]:
        """``audits``: a list of mappings with a ``date`` and optionally ``vendor``, ``type`` and ``url``. An entry
        of another shape, or without a date, is a warning and not used; a date or URL that is not one is an error,
        as everywhere in the file."""
        value = _clean(value)
        if value is None:
            return []
        if not isinstance(value, list):
            self.warn(line, f"{where} extra.audits: expected a list of audits, found {_show(value)}; not used")
            return []
        audits = []
        for entry in value:
            if not isinstance(entry, _LineDict):
                self.warn(line, f"{where} extra.audits: an audit is a mapping with a date, vendor, type and url, "
                                f"found {_show(entry)}; not used")
                continue
            at = entry.line
            for key in set(entry) - {"date", "vendor", "type", "url"}:
                self.warn(entry.key_lines[key], f"{where} audit: unknown key {key!r} (not used)",
                          closest(str(key), ("date", "vendor", "type", "url"), 0.6))
            when = self.date(entry.get("date"), entry.key_lines.get("date", at), f"{where} audit date")
            if when is None:
                if _clean(entry.get("date")) is None:
                    self.warn(at, f"{where} audit without a date; not used")
                continue
            audits.append(Audit(
                date=when, line=at,
                vendor=self.free_text(entry.get("vendor"), entry.key_lines.get("vendor", at), f"{where} audit vendor"),
                kind=self.free_text(entry.get("type"), entry.key_lines.get("type", at), f"{where} audit type"),
                url=self.url(entry.get("url"), entry.key_lines.get("url", at), f"{where} audit url")))
        return audits

    def repos(self, value: Any, line: int, where: str) -> list[str]:
        """``additional_repos``: a list of ``{repo_url: URL}`` mappings."""
        value = _clean(value)
        if value is None:
            return []
        if not isinstance(value, list):
            self.warn(line, f"{where} additional_repos: expected a list of {{repo_url: URL}}, found {_show(value)}; "
                            "not used")
            return []
        found = []
        for entry in value:
            if not isinstance(entry, _LineDict) or _clean(entry.get("repo_url")) is None:
                self.warn(getattr(entry, "line", line), f"{where} additional_repos: expected a mapping with a "
                                                        f"repo_url, found {_show(entry)}; not used")
                continue
            url = self.url(entry["repo_url"], entry.key_lines["repo_url"], f"{where} additional_repos repo_url")
            if url is not None and url not in found:
                found.append(url)
        return found

    def check_complete(self, items: list[Item]) -> None:
        """An item without a required key that every other item has is incomplete (a file cut in its last item
        reads as valid YAML otherwise); when several items lack it, the file simply does without it."""
        if len(items) < 2:
            return
        missing: dict[int, list[str]] = {}
        for key in REQUIRED_ITEM_KEYS:
            lacking = [i for i, keys in enumerate(self.item_keys) if key not in keys]
            if len(lacking) == 1:
                missing.setdefault(lacking[0], []).append(repr(key))
        for index, keys in sorted(missing.items()):
            item = items[index]
            last = " (the last item of the file: was the file cut short?)" if index == len(items) - 1 else ""
            self.error(item.line, f"{item.name!r} is incomplete: it has no {' or '.join(keys)}, which every other "
                                  f"item has{last}")

    def second_paths(self, value: Any, line: int, where: str) -> list[tuple[str, str]]:
        value = _clean(value)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(line, f"{where} second_path: expected a list of 'Category / Subcategory', found {_show(value)}")
            return []
        paths = []
        for entry in value:
            text = _clean(entry)
            # "Category / Subcategory"; a subcategory may itself contain a slash ("Edge/Bare metal")
            separator = " / " if isinstance(text, str) and " / " in text else "/"
            parts = [p.strip() for p in str(text).split(separator, 1)] if isinstance(text, str) else []
            if len(parts) != 2 or not all(parts):
                self.error(line, f"{where} second_path: {_show(entry)} is not 'Category / Subcategory'")
                continue
            paths.append((parts[0], parts[1]))
        return paths

    def check_events(self, item: Item, where: str) -> None:
        """Lifecycle dates must not run backwards (accepted <= incubating <= graduated)."""
        order = [k for k in ("accepted", "incubating", "graduated") if k in item.events]
        for earlier, later in zip(order, order[1:]):
            if item.events[later] < item.events[earlier]:
                self.warn(item.line, f"{where}: {later} date {item.events[later]} is before {earlier} date "
                                     f"{item.events[earlier]}")


def read_landscape(path: Path | str, payload: bytes | None = None, max_bytes: int | None = None) -> Landscape:
    """Parse and check a landscape.yml; raises ``InvalidInput`` listing every problem with its line.

    ``payload``: the file's bytes when the caller has already read them (to store exactly what was checked);
    otherwise the file is read once, at most ``max_bytes`` (default ``MAX_BYTES``)."""
    path = Path(path)
    if payload is None:
        payload = read_landscape_bytes(path, max_bytes)
    return _Reader(path).read(payload)


def read_landscape_bytes(path: Path, max_bytes: int | None = None) -> bytes:
    """The file's bytes, at most ``max_bytes`` (default ``MAX_BYTES``); the error for a larger file names
    ``--max-size``, the option of ``cnkg import-landscape`` that raises the limit."""
    return yamlsafe.read_bytes(path, str(path), MAX_BYTES if max_bytes is None else max_bytes, "a landscape.yml",
                               option="--max-size")
