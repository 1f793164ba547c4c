"""Read the curated YAML facts into typed records, checking every value against the ontology.

Every problem found is collected (not just the first) and reported as ``file:line: message`` with a
"did you mean" where a close match exists. Nothing is built unless the whole input is clean.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rdflib import XSD
from yaml.constructor import SafeConstructor

from . import yamlsafe
from .errors import InvalidInput, Problem, closest
from .namespaces import CNKG, FACTS_DIR, SLUG_RE
from .vocabulary import Vocabulary

SOURCES_FILE = "sources.yaml"
NAMING_KEYS = ("id", "type", "label", "altLabels", "description")
FILE_KEYS = ("section", "entities", "facts", "lineage")
URL_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
CITATION_KEYS = ("source", "title", "read", "confidence", "note")
CONFIDENCES = ("high", "medium")
LINEAGE_ENTRY_KEYS = ("about", "statements", "not_found")


@dataclass
class Node:
    """A YAML value with the line (1-based) it starts on."""

    value: Any
    line: int


@dataclass
class Section:
    source: str
    id: str
    title: str
    order: int


@dataclass
class Source:
    id: str
    title: str
    creator: str | None
    author: str | None
    date: dt.date | None
    url: str | None
    sections: list[Section] = field(default_factory=list)


@dataclass
class Entity:
    id: str
    types: list[str]
    label: str
    alt_labels: list[str]
    description: str | None
    file: str
    line: int


@dataclass(frozen=True)
class Citation:
    """The document one statement entry of a ``lineage`` list cites: its statements get a named graph of their own."""

    id: str           # a digest of the subject, the statements and the URL: stable while they are
    url: str
    title: str
    read: dt.date
    confidence: str   # one of CONFIDENCES
    note: str | None
    file: str
    line: int


@dataclass
class Statement:
    subject: str
    prop: str
    value: Any  # an entity id, a stage/category notation, or a Python literal
    kind: str  # "entity" | "stage" | "category" | "literal"
    datatype: str | None
    section: str | None   # the source section cited, or None when ``citation`` is
    file: str
    line: int
    citation: Citation | None = None


@dataclass
class FactSet:
    sources: list[Source]
    sections: dict[str, Section]
    entities: dict[str, Entity]
    statements: list[Statement]
    files: list[Path]
    citations: list[Citation] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- YAML


def _to_nodes(node: yaml.Node, path: str, problems: list[Problem]) -> Node:
    """Plain values with lines; ``node`` comes from ``yamlsafe.compose`` (a tree, shallow, no duplicate keys)."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
            else:  # a list or mapping as a key: shown as written, then reported as an unknown key
                key = str(_plain(_to_nodes(key_node, path, problems)))
            child = _to_nodes(value_node, path, problems)
            child.key_line = key_node.start_mark.line + 1  # type: ignore[attr-defined]
            result[key] = child
        return Node(result, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_to_nodes(item, path, problems) for item in node.value], line)
    try:
        return Node(SafeConstructor().construct_object(node), line)
    except (yaml.YAMLError, ValueError) as exc:  # e.g. an impossible date such as 2018-13-45
        problems.append(Problem(path, line, f"cannot read value {_show(node.value)}: "
                                            f"{getattr(exc, 'problem', None) or exc}"))
        return Node(node.value, line)


# Fact files are small and hand-written: a few KB each, six levels deep at most (see yamlsafe for why the limits).
MAX_FACT_FILE_BYTES = 1 << 20
MAX_FACT_DEPTH = 16


def read_yaml(path: Path, problems: list[Problem]) -> Node | None:
    """Parse one YAML file into ``Node``s; syntax errors, aliases, deep nesting and duplicate keys become
    problems with the line."""
    file = shown(path)
    try:
        text = yamlsafe.decode(yamlsafe.read_bytes(path, file, MAX_FACT_FILE_BYTES, "a fact file"), file)
        root = yamlsafe.compose(text, file, MAX_FACT_DEPTH, "a fact file")
    except InvalidInput as exc:
        problems.extend(exc.problems)
        return None
    if root is None:
        problems.append(Problem(file, None, "file is empty"))
        return None
    return _to_nodes(root, file, problems)


def shown(path: Path) -> str:
    """A path as users should read it in messages: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number",
            bool: "true/false", type(None): "nothing (null)"}.get(type(value), type(value).__name__)


def _plain(value: Any) -> Any:
    """A value with its ``Node`` wrappers removed, as the user wrote it."""
    if isinstance(value, Node):
        value = value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _show(value: Any, width: int = 60) -> str:
    """A value for a message: as the user wrote it (never our ``Node`` wrappers), shortened when long."""
    text = repr(_plain(value))
    return text if len(text) <= width else text[:width - 1] + "…"


# --------------------------------------------------------------------------------------------- reader


class FactReader:
    """Reads ``sources.yaml`` and the fact files of one directory against one vocabulary."""

    def __init__(self, vocabulary: Vocabulary, facts_dir: Path = FACTS_DIR):
        self.vocab = vocabulary
        self.facts_dir = Path(facts_dir)
        self.problems: list[Problem] = []
        self.sources: list[Source] = []
        self.sections: dict[str, Section] = {}
        self.entities: dict[str, Entity] = {}
        self.statements: list[Statement] = []
        self.citations: list[Citation] = []
        self._citations: dict[str, Citation] = {}
        self._references: list[tuple[str, Node, str]] = []  # (id, node, file) to resolve at the end
        # Files that could not be read, and the ids they appear to declare: references to those ids are not
        # reported one by one (they would only repeat the file's own error), but summed up once per file.
        self._unreadable: dict[str, set[str]] = {}
        self._sources_unreadable = False
        self._unchecked_sections: set[str] = set()   # fact files whose sections could not be checked

    def problem(self, file: str, line: int | None, message: str, suggestion: str | None = None) -> None:
        self.problems.append(Problem(file, line, message, suggestion))

    def read(self) -> FactSet:
        if not self.facts_dir.is_dir():
            raise InvalidInput([Problem(str(self.facts_dir), None, "facts directory does not exist")])
        self._read_sources(self.facts_dir / SOURCES_FILE)
        files = sorted(p for p in self.facts_dir.glob("*.yaml") if p.name != SOURCES_FILE)
        parsed = [(path, read_yaml(path, self.problems)) for path in files]
        for path, root in parsed:
            if root is None:
                self._unreadable[shown(path)] = _ids_in_unreadable(path)
        # Declarations first, so a file may refer to an entity declared in a later file.
        for path, root in parsed:
            if root is not None:
                self._declare_file(path, root)
        for path, root in parsed:
            if root is not None:
                self._statements_of_file(path, root)
        self._check_names()
        self._resolve_references()
        self._check_lineage_cycles()
        if self._unchecked_sections:
            self.problem(shown(self.facts_dir / SOURCES_FILE), None,
                         f"the sections cited by {len(self._unchecked_sections)} fact file(s) were not checked, as this "
                         "file could not be read; fix it and check again")
        if self.problems:
            raise InvalidInput(self.problems)
        return FactSet(self.sources, self.sections, self.entities, self.statements, files, self.citations)

    # ---------------------------------------------------------------- sources

    def _read_sources(self, path: Path) -> None:
        file = shown(path)
        if not path.exists():
            self.problem(file, None, "missing: it declares the sources and sections that facts cite")
            return
        root = read_yaml(path, self.problems)
        if root is None:
            self._sources_unreadable = True
            return
        if not isinstance(root.value, dict) or "sources" not in root.value:
            self.problem(file, root.line, "expected a mapping with a 'sources' list")
            return
        for item in self._list(root.value["sources"], file, "sources"):
            spec = self._mapping(item, file, "a source")
            if spec is None:
                continue
            self._unknown_keys(spec, ("id", "title", "creator", "author", "date", "url", "sections"), file)
            source_id = self._slug(spec, "id", file, item.line)
            title = self._text(spec, "title", file, item.line, required=True)
            date = spec.get("date")
            if date is not None and not isinstance(date.value, dt.date):
                self.problem(file, date.line, f"date {_show(date.value)} is not a date; expected YYYY-MM-DD")
            url = spec.get("url")
            if url is not None and not (isinstance(url.value, str) and URL_RE.match(url.value)):
                self.problem(file, url.line, f"url {_show(url.value)} is not an http(s) URL")
            if source_id is None:
                continue
            source = Source(source_id, title or source_id, self._text(spec, "creator", file, item.line),
                            self._text(spec, "author", file, item.line),
                            date.value if date is not None and isinstance(date.value, dt.date) else None,
                            url.value if url is not None else None)
            for order, sec_node in enumerate(self._list(spec.get("sections"), file, "sections"), start=1):
                sec = self._mapping(sec_node, file, "a section")
                if sec is None:
                    continue
                self._unknown_keys(sec, ("id", "title"), file)
                sec_id = self._slug(sec, "id", file, sec_node.line)
                sec_title = self._text(sec, "title", file, sec_node.line, required=True)
                if sec_id is None:
                    continue
                if sec_id in self.sections:
                    self.problem(file, sec_node.line, f"duplicate section id {sec_id!r}")
                    continue
                section = Section(source_id, sec_id, sec_title or sec_id, order)
                source.sections.append(section)
                self.sections[sec_id] = section
            self.sources.append(source)

    # ---------------------------------------------------------------- fact files

    def _declare_file(self, path: Path, root: Node) -> None:
        file = shown(path)
        if not isinstance(root.value, dict):
            self.problem(file, root.line, f"expected a mapping with keys {', '.join(FILE_KEYS)}; "
                                          f"found {_type_name(root.value)}")
            return
        self._unknown_keys(root.value, FILE_KEYS, file)
        for item in self._list(root.value.get("entities"), file, "entities"):
            spec = self._mapping(item, file, "an entity")
            if spec is not None:
                self._declare_entity(spec, item.line, file)

    def _declare_entity(self, spec: dict[str, Node], line: int, file: str) -> None:
        entity_id = self._slug(spec, "id", file, line)
        if entity_id is None:
            return
        if entity_id in self.entities:
            first = self.entities[entity_id]
            self.problem(file, spec["id"].line,
                         f"duplicate id {entity_id!r}: already declared at {first.file}:{first.line}")
            self.problem(first.file, first.line,
                         f"duplicate id {entity_id!r}: declared again at {file}:{spec['id'].line}")
            return
        types = []
        type_node = spec.get("type")
        if type_node is None:
            self.problem(file, line, f"entity {entity_id!r} has no 'type' (one of {', '.join(self._entity_classes())})")
        else:
            values = type_node.value if isinstance(type_node.value, list) else [type_node]
            for value in values:
                name = value.value
                if name in self._entity_classes():
                    types.append(name)
                else:
                    self.problem(file, value.line, f"unknown type {_show(name)}; expected one of "
                                 f"{', '.join(self._entity_classes())}",
                                 closest(str(_plain(name)), self._entity_classes()))
        label = self._text(spec, "label", file, line, required=True)
        alt_labels = []
        alt = spec.get("altLabels")
        if alt is not None:
            for value in self._list(alt, file, "altLabels"):
                if isinstance(value.value, str) and value.value.strip():
                    alt_labels.append(value.value.strip())
                else:
                    self.problem(file, value.line, f"altLabels entry {_show(value.value)} must be text")
        description = self._text(spec, "description", file, line)
        self.entities[entity_id] = Entity(entity_id, types, label or entity_id, alt_labels, description,
                                          file, spec["id"].line)

    def _entity_classes(self) -> list[str]:
        return sorted(set(self.vocab.classes) - {"Entity", "Category", "Stage", "Source"})

    def _statements_of_file(self, path: Path, root: Node) -> None:
        file = shown(path)
        if not isinstance(root.value, dict):
            return
        default_section = None
        section_node = root.value.get("section")
        if section_node is None:
            # A file may go without a section when every statement in it cites its own document (``lineage``).
            claims = [item for item in self._list(root.value.get("entities"), file, "entities")
                      if isinstance(item.value, dict) and set(item.value) - set(NAMING_KEYS)]
            if root.value.get("facts") or claims:
                self.problem(file, root.line, "missing 'section': the source section every statement here cites")
        else:
            default_section = self._section_ref(section_node, file)
        for item in self._list(root.value.get("entities"), file, "entities"):
            if isinstance(item.value, dict) and isinstance(item.value.get("id", Node(None, 0)).value, str):
                self._statements(item.value["id"].value, item.value, NAMING_KEYS, default_section, file)
        for item in self._list(root.value.get("facts"), file, "facts"):
            spec = self._mapping(item, file, "a facts entry")
            if spec is None:
                continue
            about = spec.get("about")
            if about is None:
                self.problem(file, item.line, "facts entry has no 'about': the id of the entity it describes")
                continue
            if not isinstance(about.value, str):
                self.problem(file, about.line, f"about: expected the id of one entity, found "
                                               f"{_type_name(about.value)} {_show(about.value)}")
                continue
            self._references.append((about.value, about, file))
            self._statements(about.value, spec, ("about",), default_section, file)
        for item in self._list(root.value.get("lineage"), file, "lineage"):
            self._lineage_entry(item, file)

    # ---------------------------------------------------------------- statements citing their own document

    def _lineage_entry(self, item: Node, file: str) -> None:
        spec = self._mapping(item, file, "a lineage entry")
        if spec is None:
            return
        self._unknown_keys(spec, LINEAGE_ENTRY_KEYS, file)
        about = spec.get("about")
        if about is None or not isinstance(about.value, str):
            self.problem(file, item.line, "lineage entry needs 'about': the id of the entity it describes")
            return
        self._references.append((about.value, about, file))
        for note in self._list(spec.get("not_found"), file, "not_found"):
            if not isinstance(note.value, str) or not note.value.strip():
                self.problem(file, note.line, f"not_found entries are text, found {_type_name(note.value)}")
        entries = self._list(spec.get("statements"), file, "statements")
        if not entries and "statements" not in spec:
            self.problem(file, item.line, f"lineage entry about {about.value!r} has no 'statements'")
        for entry in entries:
            fields = self._mapping(entry, file, "a statement")
            if fields is not None:
                self._cited_statements(about.value, fields, entry.line, file)

    def _cited_statements(self, subject: str, fields: dict[str, Node], line: int, file: str) -> None:
        claims = {key: node for key, node in fields.items() if key not in CITATION_KEYS}
        if not claims:
            self.problem(file, line, "a statement needs at least one property (e.g. forkOf: terraform) besides its "
                                     "citation")
            return
        citation = self._citation(subject, fields, claims, line, file)
        if citation is None:
            return
        if citation.id in self._citations:
            first = self._citations[citation.id]
            self.problem(file, line, f"the same statement, citing the same document, is already at "
                                     f"{first.file}:{first.line}")
            return
        self._citations[citation.id] = citation
        self.citations.append(citation)
        for key, node in claims.items():
            info = self._assertable(key, node, file, CITATION_KEYS, f"unknown property or key {key!r} (a "
                                    f"statement has properties and {', '.join(CITATION_KEYS)})")
            if info is None:
                continue
            if isinstance(node.value, (dict, list)):
                self.problem(file, node.line, f"{key}: one value per statement, found {_type_name(node.value)}; "
                                              "a statement cites one document for one value")
                continue
            self._statement(subject, info, node, None, file, citation)

    def _citation(self, subject, fields, claims, line, file) -> Citation | None:
        url_node = fields.get("source")
        if url_node is None:
            self.problem(file, line, "statement has no 'source': every lineage and origin statement cites the "
                                     "public document that states it (its URL)")
            return None
        url = url_node.value
        if not (isinstance(url, str) and URL_RE.match(url)):
            self.problem(file, url_node.line, f"source {_show(url)} is not an http(s) URL")
            return None
        path = re.sub(r"^https?://[^/?#]+", "", url)
        if path in ("", "/") or path.startswith(("?", "#")):
            self.problem(file, url_node.line, f"source {_show(url)} is a site's front page; cite the specific "
                                              "document that states the fact")
            return None
        title = self._text(fields, "title", file, line, required=True)
        read = fields.get("read")
        if read is None:
            self.problem(file, line, "statement has no 'read': the date the source was read (YYYY-MM-DD)")
        elif not isinstance(read.value, dt.date) or isinstance(read.value, dt.datetime):
            self.problem(file, read.line, f"read {_show(read.value)} is not a date; expected YYYY-MM-DD")
            read = None
        confidence = fields.get("confidence")
        if confidence is None:
            self.problem(file, line, f"statement has no 'confidence' ({' or '.join(CONFIDENCES)})")
        elif confidence.value not in CONFIDENCES:
            self.problem(file, confidence.line, f"confidence {_show(confidence.value)}: expected "
                                                f"{' or '.join(CONFIDENCES)} (high: the project or the CNCF "
                                                f"states it; medium: a third party)",
                         closest(str(confidence.value), CONFIDENCES))
            confidence = None
        note = self._text(fields, "note", file, line)
        if title is None or read is None or confidence is None:
            return None
        claimed = "|".join(f"{key}={_plain(node.value)}" for key, node in sorted(claims.items()))
        digest = hashlib.sha256(f"{subject}|{claimed}|{url}".encode()).hexdigest()[:12]
        return Citation(digest, url, title, read.value, confidence.value, note, file, line)

    def _statements(self, subject: str, spec: dict[str, Node], reserved: tuple[str, ...],
                    default_section: str | None, file: str) -> None:
        for key, node in spec.items():
            if key in reserved:
                continue
            info = self._assertable(key, node, file, reserved, f"unknown property {key!r}")
            if info is None:
                continue
            values = node.value if isinstance(node.value, list) else [node]
            for value in values:
                self._statement(subject, info, value, default_section, file)

    def _assertable(self, key: str, node: Node, file: str, other_keys: tuple[str, ...], unknown: str):
        """The property ``key`` names, when a fact file may assert it; else None, the problem reported."""
        info = self.vocab.properties.get(key)
        line = getattr(node, "key_line", node.line)
        if info is None:
            self.problem(file, line, unknown, closest(key, [*self.vocab.properties, *other_keys], cutoff=0.6))
            return None
        if info.transitive:
            lineage = ", ".join(p.split("#")[-1] for p in map(str, self.vocab.sub_properties(info.iri)))
            self.problem(file, line, f"{key!r} is inferred by the reasoner and cannot be asserted; "
                                     f"assert one step with one of: {lineage}")
            return None
        return info

    def _statement(self, subject, info, node: Node, default_section, file, citation=None) -> None:
        section, value, value_line = default_section, node.value, node.line
        if isinstance(value, dict) and citation is None:
            allowed = ("id", "source") if info.is_object else ("value", "source")
            self._unknown_keys(value, allowed, file)
            if "source" in value:
                section = self._section_ref(value["source"], file)
            inner = value.get(allowed[0])
            if inner is None:
                self.problem(file, node.line, f"{info.name}: a mapping value needs {allowed[0]!r}")
                return
            value, value_line = inner.value, inner.line
        if section is None and citation is None:
            return  # already reported: no usable section to cite
        if info.is_object:
            kind, checked = self._object_value(info, value, value_line, file)
            datatype = None
        else:
            kind, checked, datatype = "literal", self._literal_value(info, value, value_line, file), str(info.range)
        if checked is not None:
            self.statements.append(Statement(subject, info.name, checked, kind, datatype, section, file, value_line,
                                             citation))

    def _object_value(self, info, value, line, file):
        if not isinstance(value, str):
            self.problem(file, line, f"{info.name}: expected the id of an entity, found {_type_name(value)} "
                                     f"{_show(value)}")
            return None, None
        for kind, cls, table in (("stage", CNKG.Stage, self.vocab.stages),
                                 ("category", CNKG.Category, self.vocab.categories)):
            if info.range == cls:
                concept = table.get(value.lower())
                if concept is None:
                    names = sorted({self.vocab.notation(c) for c in table.values()})
                    self.problem(file, line, f"{info.name}: unknown {kind} {value!r}; expected one of "
                                             f"{', '.join(names)}", closest(value, table))
                    return None, None
                return kind, self.vocab.notation(concept)
        self._references.append((value, Node(value, line), file))
        return "entity", value

    def _literal_value(self, info, value, line, file):
        rng = info.range
        expected = None
        if rng == XSD.anyURI:
            if not (isinstance(value, str) and URL_RE.match(value)):
                expected = "an http(s) URL"
        elif rng == XSD.integer:
            if not (isinstance(value, int) and not isinstance(value, bool)):
                expected = "a whole number"
        elif rng == XSD.gYear:
            if isinstance(value, int) and 1000 <= value <= 9999:
                return f"{value:04d}"
            if not (isinstance(value, str) and re.fullmatch(r"\d{4}", value)):
                expected = "a four-digit year"
        elif rng == XSD.date:
            if not isinstance(value, dt.date):
                expected = "a date YYYY-MM-DD"
        elif not isinstance(value, str) or not value.strip():
            expected = "text"
        if expected:
            self.problem(file, line, f"{info.name}: expected {expected}, found {_type_name(value)} {_show(value)}")
            return None
        return value

    # ---------------------------------------------------------------- whole-set checks

    def _resolve_references(self) -> None:
        names = {e.id: e.id for e in self.entities.values()}
        for entity in self.entities.values():
            for name in (entity.label, *entity.alt_labels):
                names.setdefault(name.lower(), entity.id)
        unchecked: dict[str, int] = {}
        for ref, node, file in self._references:
            if ref in self.entities:
                continue
            lost = next((f for f, ids in self._unreadable.items() if ref in ids), None)
            if lost is not None:
                unchecked[lost] = unchecked.get(lost, 0) + 1
                continue
            if not isinstance(ref, str):
                self.problem(file, node.line, f"expected an entity id, found {_type_name(ref)} {_show(ref)}")
                continue
            by_name = names.get(ref.lower())
            guess = by_name or closest(ref, names, cutoff=0.7)
            if guess and guess in names:
                guess = names[guess]
            self.problem(file, node.line, f"reference to undeclared entity {ref!r}", guess)
        for file, count in unchecked.items():
            ids = sorted(self._unreadable[file])
            named = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
            self.problem(file, None, f"{count} reference(s) in other files to entities this file seems to declare "
                                     f"({named}) were not checked, as it could not be read; fix it and check again")

    def _check_names(self) -> None:
        """A label or altLabel names one entity only (compared case-insensitively)."""
        owner: dict[str, Entity] = {}
        for entity in self.entities.values():
            for name in dict.fromkeys(n.lower() for n in (entity.label, *entity.alt_labels)):
                first = owner.setdefault(name, entity)
                if first is not entity:
                    self.problem(entity.file, entity.line, f"name {name!r} of {entity.id!r} is already a name of "
                                 f"{first.id!r} ({first.file}:{first.line}); names must identify one entity")

    def _check_lineage_cycles(self) -> None:
        lineage = {str(p).split("#")[-1] for p in self.vocab.lineage_properties}
        edges: dict[str, list[Statement]] = {}
        for st in self.statements:
            if st.prop in lineage and st.kind == "entity":
                edges.setdefault(st.subject, []).append(st)
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        stack: list[Statement] = []

        def visit(node: str) -> None:
            state[node] = 1
            for st in edges.get(node, []):
                stack.append(st)
                if state.get(st.value) == 1:
                    start = next(i for i, s in enumerate(stack) if s.subject == st.value)
                    cycle = stack[start:]
                    chain = " → ".join([cycle[0].subject, *(s.value for s in cycle)])
                    steps = "; ".join(f"{s.subject} {s.prop} {s.value} at {s.file}:{s.line}" for s in cycle)
                    self.problem(st.file, st.line, f"lineage cycle: {chain}; lineage must be acyclic ({steps})")
                elif st.value not in state:
                    visit(st.value)
                stack.pop()
            state[node] = 2

        for node in list(edges):
            if node not in state:
                visit(node)

    # ---------------------------------------------------------------- small checkers

    def _unknown_keys(self, spec: dict[str, Node], allowed: tuple[str, ...], file: str) -> None:
        for key, node in spec.items():
            if key not in allowed:
                self.problem(file, getattr(node, "key_line", node.line),
                             f"unknown key {key!r}; expected one of {', '.join(allowed)}", closest(str(key), allowed, 0.6))

    def _list(self, node: Node | None, file: str, what: str) -> list[Node]:
        if node is None or node.value is None:
            return []
        if not isinstance(node.value, list):
            self.problem(file, node.line, f"'{what}' must be a list, found {_type_name(node.value)}")
            return []
        return node.value

    def _mapping(self, node: Node, file: str, what: str) -> dict[str, Node] | None:
        if not isinstance(node.value, dict):
            self.problem(file, node.line, f"expected {what} (a mapping), found {_type_name(node.value)} "
                                          f"{_show(node.value)}")
            return None
        return node.value

    def _slug(self, spec: dict[str, Node], key: str, file: str, line: int) -> str | None:
        node = spec.get(key)
        if node is None:
            self.problem(file, line, f"missing {key!r}")
            return None
        if not isinstance(node.value, str) or not SLUG_RE.match(node.value):
            suggestion = re.sub(r"[^a-z0-9]+", "-", str(_plain(node.value)).lower()).strip("-") or None
            self.problem(file, node.line, f"{key} {_show(node.value)} is not a slug (lower-case letters, digits and "
                                          f"single dashes)", suggestion)
            return None
        return node.value

    def _text(self, spec, key, file, line, required=False) -> str | None:
        node = spec.get(key)
        if node is None:
            if required:
                self.problem(file, line, f"missing {key!r}")
            return None
        if not isinstance(node.value, str) or not node.value.strip():
            self.problem(file, node.line, f"{key} must be text, found {_type_name(node.value)} {_show(node.value)}")
            return None
        return node.value.strip()

    def _section_ref(self, node: Node, file: str) -> str | None:
        if not isinstance(node.value, str):
            self.problem(file, node.line, f"a section must be the id of one section declared in {SOURCES_FILE}, "
                                          f"found {_type_name(node.value)} {_show(node.value)}")
            return None
        if node.value in self.sections:
            return node.value
        if self._sources_unreadable:
            self._unchecked_sections.add(file)   # not an error of this file: summed up once, on sources.yaml
            return None
        self.problem(file, node.line, f"unknown section {_show(node.value)}; sections are declared in {SOURCES_FILE}",
                     closest(node.value, self.sections, 0.6))
        return None


_ID_LINE = re.compile(r"^[ \t]*(?:-[ \t]+)?id:[ \t]*[\"']?([a-z0-9]+(?:-[a-z0-9]+)*)[\"']?[ \t]*(?:#.*)?$", re.M)


def _ids_in_unreadable(path: Path) -> set[str]:
    """The ids a fact file that failed to parse seems to declare (``id: slug`` lines), read leniently."""
    try:
        with open(path, "rb") as stream:
            payload = stream.read(MAX_FACT_FILE_BYTES)
    except OSError:
        return set()
    encoding = "utf-16" if payload[:2] in (b"\xff\xfe", b"\xfe\xff") else "latin-1"
    return set(_ID_LINE.findall(payload.decode(encoding, errors="replace")))


def read_facts(vocabulary: Vocabulary, facts_dir: Path = FACTS_DIR) -> FactSet:
    """Read and check every fact file; raises ``InvalidInput`` listing all problems."""
    return FactReader(vocabulary, facts_dir).read()
