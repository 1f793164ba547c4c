"""Give every landscape item one IRI: the article's entity when they are the same thing, else a minted one.

Matching is deliberately conservative, because a false merge silently mixes two things' facts:

- names are compared whole, case- and space-insensitively, after dropping a trailing "Project"
  ("Notary Project" = "Notary", "Spire" = "SPIRE");
- a parenthesised part counts as an alias only when it is the initials of the rest
  ("The Update Framework (TUF)" = "TUF"), so a role marker never does ("Cortex (member)" is not "Cortex");
- a repository URL is evidence only when exactly one article entity and one item have it;
- article software (and curated platforms: "Google Cloud", the public cloud the 2018 landscape lists) is never
  matched to the CNCF member list or the service-provider lists (article organisations and programming languages
  may match anywhere: the landscape lists companies by name);
- an item matching two article entities, or an article entity matching two different items of one snapshot,
  is not merged and is reported as ambiguous.

Across snapshots an item keeps its IRI when its name (or its unique repository) is the same.

Names the landscape mentions in free text (integration partners, a parent project, languages) are resolved by
:class:`NameResolver` with the same rules, loosened only where free text needs it: case, accents, spaces and
punctuation are ignored ("Cert Manager" = "cert-manager", "Open Telemetry" = "OpenTelemetry"), and a remark in
parentheses after a name that does not match whole is dropped ("Argo CD (GitOps)" = "Argo CD"). A name that
matches nothing whole is then tried more loosely, step by step (:meth:`NameResolver.looser`): without "CNCF" /
"Apache" / ".io"; against entity names without "Project" / "Runtime" / "Operator" ("Calico" = "Project
Calico"); as a part of a CNCF project it is named after ("Argo CD" → Argo); as the last part of one item's
repository ("Spark" → apache/spark). A name that matches nothing, or several things equally well, stays
unresolved: it is recorded as a mention, never made an entity.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, SKOS, Dataset, URIRef

from .landscape import Item, Landscape
from .namespaces import CNKG, CURATED_GRAPH, ID

# Landscape categories that list organisations and service providers, not software.
NON_SOFTWARE_CATEGORIES = {"CNCF Members", "Special"}
ARTICLE_SOFTWARE = (CNKG.Project, CNKG.Software, CNKG.Specification, CNKG.Platform)


def normal(name: str) -> str:
    text = re.sub(r"\s+", " ", name.strip().lower())
    return re.sub(r" project$", "", text)


def name_forms(name: str) -> set[str]:
    """The whole name, and its two halves when the parenthesis holds the initials of the rest, or of the rest
    after its first word (a vendor's name: "Amazon Elastic Container Registry (ECR)" is called "ECR")."""
    forms = {normal(name)}
    found = trailing_parenthesis(name.strip())
    if found:
        base, alias = found
        words = re.findall(r"[A-Za-z0-9]+", base)
        alias = alias.strip().lower().replace(" ", "")
        if alias in {"".join(word[0] for word in tail).lower() for tail in (words, words[1:]) if len(tail) >= 2}:
            forms |= {normal(base), normal(alias)}
    return forms


def trailing_parenthesis(text: str, empty: bool = False) -> tuple[str, str] | None:
    """(base, inside) when ``text`` is "base (inside)" with nothing after the parenthesis, else None; ``empty``:
    accept "base ()". Plain code, linear in the text: names are written by hand and may be hostile (a regular
    expression doing this backtracked quadratically on a long run of spaces)."""
    if not text.endswith(")"):
        return None
    opening = text.rfind("(", 0, len(text) - 1)
    inside = text[opening + 1:-1]
    if opening < 0 or ")" in inside or not (inside or empty):
        return None
    base = text[:opening].rstrip() or text[:opening][:1]      # at least one character, as "(.+?)\s*" took
    return (base, inside) if base and "\n" not in base else None


def normal_url(url: str | None) -> str | None:
    if not url:
        return None
    text = re.sub(r"^https?://(www\.)?", "", url.strip().lower())
    text = text.rstrip("/")               # plain code: a regular expression here was quadratic in a run of "/"
    return text[:-4] if text.endswith(".git") else text


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "item"


def crunchbase_slug(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].lower()


@dataclass
class ArticleMatch:
    entity: URIRef
    label: str
    snapshot: str
    item: str
    line: int
    evidence: str          # "name 'x'" or "repository <url>"


@dataclass
class Unmatched:
    entity: URIRef
    label: str
    snapshot: str
    reason: str


@dataclass
class Mention:
    """A name the landscape gives in free text for a property (integratesWith, subprojectOf, writtenIn), and
    what it resolved to: ``entity`` is None when unresolved, and ``reason`` says why."""

    snapshot: str
    item: str              # the name of the item whose entry states it
    subject: URIRef
    key: str               # "extra.summary_integrations", ...
    line: int
    text: str
    prop: URIRef
    entity: URIRef | None = None
    reason: str | None = None
    phrase: bool = False   # the text is a phrase of a sentence, not a name (see is_phrase): not looked up


@dataclass
class Alignment:
    """The IRI of every (snapshot, item) and of every Crunchbase organisation, with the evidence."""

    item_iris: dict[tuple[str, int], URIRef] = field(default_factory=dict)   # (snapshot, item index) -> IRI
    org_iris: dict[str, URIRef] = field(default_factory=dict)                # crunchbase URL -> IRI
    article_entities: set[URIRef] = field(default_factory=set)
    matches: list[ArticleMatch] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)                   # filled when the graphs are built


class _ArticleIndex:
    def __init__(self, dataset: Dataset):
        curated = dataset.graph(CURATED_GRAPH)
        self.labels: dict[URIRef, str] = {}
        self.types: dict[URIRef, set[URIRef]] = {}
        for subject, label in curated.subject_objects(RDFS.label):
            self.labels[subject] = str(label)
            self.types[subject] = set(curated.objects(subject, RDF.type))
        self.by_name: dict[str, set[URIRef]] = {}
        for subject in self.labels:
            for name in [self.labels[subject], *map(str, curated.objects(subject, SKOS.altLabel))]:
                for form in name_forms(name):
                    self.by_name.setdefault(form, set()).add(subject)
        self.by_repo: dict[str, set[URIRef]] = {}
        for subject, url in dataset.subject_objects(CNKG.repository):
            if subject in self.labels:
                self.by_repo.setdefault(normal_url(str(url)), set()).add(subject)

    def is_software(self, iri: URIRef) -> bool:
        return bool(self.types.get(iri, set()) & set(ARTICLE_SOFTWARE))

    def is_organization(self, iri: URIRef) -> bool:
        return CNKG.Organization in self.types.get(iri, set())

    def may_be(self, iri: URIRef, item: Item) -> bool:
        """Whether the article entity ``iri`` may be the landscape ``item`` at all (before comparing names)."""
        if self.is_software(iri):
            return item.category not in NON_SOFTWARE_CATEGORIES
        return bool(self.types.get(iri, set()) & {CNKG.Organization, CNKG.ProgrammingLanguage})


def align(snapshots: list[tuple[str, Landscape]], article: Dataset) -> Alignment:
    """Assign IRIs to the items of ``snapshots`` (name, landscape), newest first in the given order."""
    index = _ArticleIndex(article)
    result = Alignment(article_entities=set(index.labels))
    taken = {str(iri)[len(str(ID)):] for iri in index.labels}
    minted_by_name: dict[str, URIRef] = {}
    minted_by_repo: dict[str, URIRef] = {}

    def mint(name: str) -> URIRef:
        base = slugify(name)
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        return ID[slug]

    for snapshot, landscape in snapshots:
        repo_count: dict[str, int] = {}
        for item in landscape.items:
            if item.repository:
                key = normal_url(item.repository)
                repo_count[key] = repo_count.get(key, 0) + 1
        article_hits = _article_candidates(index, landscape, repo_count, result, snapshot)
        for position, item in enumerate(landscape.items):
            iri = article_hits.get(position)
            if iri is None:
                key = normal(item.name)
                repo = normal_url(item.repository)
                iri = minted_by_name.get(key)
                if iri is None and repo and repo_count.get(repo) == 1:
                    iri = minted_by_repo.get(repo)
                if iri is None:
                    iri = mint(item.name)
                minted_by_name.setdefault(key, iri)
                if repo and repo_count.get(repo) == 1:
                    minted_by_repo.setdefault(repo, iri)
            result.item_iris[(snapshot, position)] = iri
        _unmatched(index, landscape, snapshot, article_hits, result)
        _organizations(index, landscape, snapshot, result)
    return result


def _article_candidates(index: _ArticleIndex, landscape: Landscape, repo_count: dict, result: Alignment,
                        snapshot: str) -> dict[int, URIRef]:
    """item position -> article IRI for the items that are an article entity, with the evidence recorded."""
    hits: dict[int, tuple[URIRef, str]] = {}
    for position, item in enumerate(landscape.items):
        found: dict[URIRef, str] = {}
        for form in name_forms(item.name):
            for iri in index.by_name.get(form, ()):
                if index.may_be(iri, item):
                    found.setdefault(iri, f"name {item.name!r}")
        repo = normal_url(item.repository)
        if (not found and item.category not in NON_SOFTWARE_CATEGORIES and repo and repo_count.get(repo) == 1
                and len(index.by_repo.get(repo, ())) == 1):
            (iri,) = index.by_repo[repo]
            found[iri] = f"repository <{item.repository}>"
        if len(found) > 1:
            names = ", ".join(sorted(index.labels[i] for i in found))
            result.ambiguous.append(f"{snapshot}: {item.name!r} (line {item.line}) matches several article "
                                    f"entities ({names}); not merged")
        elif found:
            (iri, evidence), = found.items()
            hits[position] = (iri, evidence)
    # one article entity, several different items of one snapshot: ambiguous (the same item listed twice is fine)
    by_entity: dict[URIRef, set[str]] = {}
    for position, (iri, _) in hits.items():
        by_entity.setdefault(iri, set()).add(normal(landscape.items[position].name))
    final: dict[int, URIRef] = {}
    for position, (iri, evidence) in hits.items():
        if len(by_entity[iri]) > 1:
            continue
        item = landscape.items[position]
        final[position] = iri
        if not any(m.entity == iri and m.snapshot == snapshot for m in result.matches):
            result.matches.append(ArticleMatch(iri, index.labels[iri], snapshot, item.name, item.line, evidence))
    for iri, names in by_entity.items():
        if len(names) > 1:
            result.ambiguous.append(f"{snapshot}: article entity {index.labels[iri]!r} matches several items "
                                    f"({', '.join(sorted(names))}); not merged")
    return final


def _unmatched(index: _ArticleIndex, landscape: Landscape, snapshot: str, hits: dict[int, URIRef],
               result: Alignment) -> None:
    """Every article project with no item in this snapshot, and why."""
    matched = set(hits.values())
    near = {}
    for item in landscape.items:
        for form in name_forms(item.name):
            near.setdefault(form.split(" (")[0], []).append(item)
    for iri, label in sorted(index.labels.items(), key=lambda kv: kv[1].lower()):
        if CNKG.Project not in index.types[iri] or iri in matched:
            continue
        same_word = [i for i in near.get(normal(label), []) if normal(i.name) != normal(label)]
        if same_word:
            where = "; ".join(f"{i.name!r} in {i.category} / {i.subcategory}" for i in same_word[:3])
            reason = f"only differently named items share its name ({where}); not the same thing"
        else:
            reason = "no item has this name, one of its altLabels, or its repository"
        result.unmatched.append(Unmatched(iri, label, snapshot, reason))


def _organizations(index: _ArticleIndex, landscape: Landscape, snapshot: str, result: Alignment) -> None:
    """One IRI per Crunchbase organisation: the member-list item with that link, an article organisation with
    that name, or a minted ``id/org/<crunchbase-slug>``."""
    members = {item.crunchbase: result.item_iris[(snapshot, n)] for n, item in enumerate(landscape.items)
               if item.category == "CNCF Members" and item.crunchbase}
    article_orgs = {slugify(label): iri for iri, label in index.labels.items() if index.is_organization(iri)}
    for item in landscape.items:
        url = item.crunchbase
        if not url or url in result.org_iris:
            continue
        slug = crunchbase_slug(url)
        result.org_iris[url] = article_orgs.get(slug) or members.get(url) or ID[f"org/{slugify(slug)}"]


# Words around a project's name that free text leaves out: "Project Calico" is called "Calico", "WasmEdge Runtime"
# "WasmEdge". Only removed from entities' names, never from the text: "Kubernetes Operator" is not Kubernetes's name.
NAME_PREFIXES = ("project ", "the ", "apache ")
NAME_SUFFIXES = (" runtime", " operator")


def name_variants(name: str) -> set[str]:
    """The loose keys of ``name`` without one of those words (none when it has none, or is nothing else)."""
    text = normal(name)
    found = set()
    for prefix in NAME_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            found.add(mention_key(text[len(prefix):]))
    for suffix in NAME_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            found.add(mention_key(text[:-len(suffix)]))
    return found - {""}


# Words that make a piece of free text a phrase of a sentence rather than a name. Splitting a sentence at its
# commas and "and"s leaves pieces such as "which is widely used in online serving services", "the online feature
# store" or "any Ingress controller or Service Mesh that works at the Kubernetes Service level": they hold, in lower
# case, words that names do not. Only words that no item name of either official snapshot holds are listed ("for",
# "by", "of", "on" are not: "Percona Server for MySQL", "KubeDB by AppsCode", "Portworx on Kubernetes").
PHRASE_WORDS = frozenset("""all also any are as be been both can deployed due example has have is it its
    maintained many monitored multiple plus provides such supported supporting that the to used via which
    with""".split())


def is_phrase(text: str) -> bool:
    """Whether a piece of free text is a phrase (part of a sentence, or a description of a kind of thing) rather
    than a name: it holds a lower-case word of :data:`PHRASE_WORDS`. A remark in parentheses after a name does not
    count ("Argo CD (with GitOps)" is a name and its remark)."""
    remark = trailing_parenthesis(text.strip(), empty=True)
    base = remark[0] if remark else text
    return any(word.strip(".,;:()'\"") in PHRASE_WORDS for word in base.split())


def mention_key(name: str) -> str:
    """A name compared loosely: accents, case, spaces and punctuation ignored, a trailing " Project" dropped."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9+#]+", "", normal(text))          # keep C++ and C# apart from C


class NameResolver:
    """Find the entity a free-text name means among the article's entities and one snapshot's items.

    A name is looked up by every form :func:`name_forms` gives (the whole name; a name and its initials),
    compared with :func:`mention_key`; when the whole text matches nothing, once more without a trailing remark
    in parentheses. When several entities match, CNCF projects of the snapshot are preferred, then the curated
    entities (the article's, and the platforms and tools of ``kg/facts/platforms.yaml``); if that still leaves
    several, the name is ambiguous and stays unresolved."""

    def __init__(self, article: Dataset, snapshot: str, landscape: Landscape, alignment: Alignment):
        index = _ArticleIndex(article)
        self.types = index.types
        self.labels: dict[URIRef, str] = dict(index.labels)
        self.by_key: dict[str, set[URIRef]] = {}
        self.by_variant: dict[str, set[URIRef]] = {}      # a name without "Project" / "Runtime" / "Operator"
        self.by_repo: dict[str, set[URIRef]] = {}         # the last part of a repository URL
        self.project_keys: dict[str, set[URIRef]] = {}    # CNCF projects' names (parents of sub-projects)
        curated = article.graph(CURATED_GRAPH)
        names: dict[URIRef, list[str]] = {}
        for subject, label in index.labels.items():
            names[subject] = [label, *map(str, curated.objects(subject, SKOS.altLabel))]
            for name in names[subject]:
                self._add(name, subject)
        self.article = set(index.labels)
        self.projects: set[URIRef] = set()
        for position, item in enumerate(landscape.items):
            iri = alignment.item_iris[(snapshot, position)]
            self.labels.setdefault(iri, item.name)
            names.setdefault(iri, []).append(item.name)
            self._add(item.name, iri)
            if item.stage:
                self.projects.add(iri)
            if item.category not in NON_SOFTWARE_CATEGORIES:
                repo = normal_url(item.repository)
                if repo and repo.count("/") >= 2:
                    self.by_repo.setdefault(mention_key(repo.rsplit("/", 1)[-1]), set()).add(iri)
        for iri, spellings in names.items():
            for name in spellings:
                for variant in name_variants(name):
                    self.by_variant.setdefault(variant, set()).add(iri)
                if iri in self.projects:
                    for form in name_forms(name):
                        self.project_keys.setdefault(mention_key(form), set()).add(iri)

    def _add(self, name: str, iri: URIRef) -> None:
        for form in name_forms(name):
            key = mention_key(form)
            if key:
                self.by_key.setdefault(key, set()).add(iri)

    def candidates(self, text: str) -> set[URIRef]:
        found: set[URIRef] = set()
        for form in name_forms(text):
            found |= self.by_key.get(mention_key(form), set())
        if not found:
            remark = trailing_parenthesis(text.strip(), empty=True)
            if remark:
                found = self.candidates(remark[0])
        return found

    def resolve(self, text: str, kinds: tuple[URIRef, ...] = ()) -> tuple[URIRef | None, str | None]:
        """(entity, None) or (None, why not). ``kinds``: accept only article entities of these classes (the name
        whole, as :meth:`candidates` finds it). Without ``kinds``, a name that matches nothing whole is tried, in
        this order, as :meth:`looser` says; each step is taken only when the ones before found nothing."""
        found = self.candidates(text)
        if kinds:
            found = {iri for iri in found if self.types.get(iri, set()) & set(kinds)}
        elif not found:
            found = self.looser(text)
        if not found:
            return None, "no entity has this name or alias"
        for preferred in (self.projects, self.article):
            if len(found) > 1 and len(found & preferred) == 1:
                found &= preferred
        if len(found) > 1:
            names = ", ".join(sorted(self.labels.get(i, str(i)) for i in found))
            return None, f"ambiguous: names several entities ({names})"
        (entity,) = found
        return entity, None

    def parts(self, text: str) -> list[tuple[str, URIRef]] | None:
        """The names of a text that joins names with "/" ("SPIFFE/SPIRE (identity)", "ACME / Let's Encrypt"),
        each with its entity, when every part resolves by itself; else None (the text stays one name)."""
        base = text.strip()
        remark = trailing_parenthesis(base, empty=True)
        if remark:
            base = remark[0]
        pieces = [piece.strip() for piece in base.split("/")]
        if len(pieces) < 2 or any(len(piece) < 2 for piece in pieces):
            return None
        found = [(piece, self.resolve(piece)[0]) for piece in pieces]
        return found if all(entity is not None for _, entity in found) else None

    def looser(self, text: str) -> set[URIRef]:
        """What a free-text name that matches no name whole means, by the first of these that finds something:

        1. the name without a leading "CNCF" / "Apache" or a trailing ".io" ("CNCF Buildpacks", "Apache Kafka",
           "Backstage.io");
        2. an entity's name without a leading "Project" / "The" or a trailing "Runtime" / "Operator" ("Calico" =
           "Project Calico", "WasmEdge" = "WasmEdge Runtime");
        3. a sub-project named after its CNCF parent: the parent project's name and one or two more words ("Argo
           CD", "Argo Rollouts": parts of Argo; "Helm Chart"; "tekton-chains", a repository's spelling: Tekton),
           or "CD" run on ("FluxCD");
        4. the last part of exactly one item's repository URL, for names of five characters or more ("cosign").
        """
        base = text.strip()
        remark = trailing_parenthesis(base, empty=True)
        if remark:
            base = remark[0]
        words = base.split()
        trimmed = " ".join(words[1:]) if len(words) > 1 and words[0].lower() in ("cncf", "apache") else base
        for suffix in (".io", ".dev"):
            if trimmed.lower().endswith(suffix) and " " not in trimmed:
                trimmed = trimmed[:-len(suffix)]
        if trimmed != base:
            found = self.candidates(trimmed)
            if found:
                return found
        key = mention_key(trimmed)
        found = set(self.by_variant.get(key, set()))
        if found:
            return found
        words = trimmed.replace("-", " ").split()    # "tekton-chains" is "Tekton Chains"
        for cut in (len(words) - 1, len(words) - 2):
            if cut >= 1:
                parent = self.project_keys.get(mention_key(" ".join(words[:cut])), set())
                if parent:
                    return set(parent)
        if key.endswith("cd") and len(key) >= 6 and self.project_keys.get(key[:-2]):
            return set(self.project_keys[key[:-2]])
        if len(key) >= 5:
            return set(self.by_repo.get(key, set()))
        return set()
