"""Hostile landscape files against ``cnkg import-landscape``: an import must neither hang nor keep a snapshot that
breaks every later build.

Each case stands for a class the hostile-input review found: a hand-written value whose parsing backtracks (a 3 KB
file with a long run of spaces in ``summary_integrations`` held the import for minutes), and a file that passes the
reader's checks but fails the SHACL shapes at build (it was kept, and then ``build``, ``query`` and ``serve`` all
exited 1 until the snapshot was removed by hand). Runs that could hang are bounded (``bounded.run_bounded``): a
regression fails its test instead of hanging CI; the bound is a safety net, never an assertion about speed.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bounded import AVAILABLE, run_bounded
from cnkg.align import name_forms, normal_url
from cnkg.landscape import split_names

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="bounded runs need fork() and /proc (Linux)")

HANG_GUARD = 30.0           # seconds: far above what any of these files takes; only a hang reaches it
LONG = 200_000              # characters: where a quadratic parse of one value takes minutes, a linear one milliseconds


def landscape_text(item: dict, extra: dict | None = None, other_name: str = "Other") -> str:
    """A small landscape.yml whose first item has ``item``'s keys (and ``extra``); a second, plain item keeps the
    completeness check quiet. Values are written as JSON strings (valid YAML), so any text fits."""
    def entry(fields: dict, nested: dict | None) -> str:
        lines = ["          - item:"]
        lines += [f"            {key}: {json.dumps(value)}" for key, value in fields.items()]
        if nested:
            lines.append("            extra:")
            lines += [f"              {key}: {json.dumps(value)}" for key, value in nested.items()]
        return "\n".join(lines)

    first = {"name": "Hostile", "homepage_url": "https://example.org/h", "logo": "h.svg", **item}
    second = {"name": other_name, "homepage_url": "https://example.org/o", "logo": "o.svg"}
    return ("landscape:\n  - category:\n    name: Observability and Analysis\n    subcategories:\n"
            "      - subcategory:\n        name: Observability\n        items:\n"
            f"{entry(first, extra)}\n{entry(second, None)}\n")


# (item keys, extra keys). Each of these held the import for minutes (killed after HANG_GUARD seconds) before
# the splitting was rewritten: runs of spaces, tabs, brackets and links in the free-text lists.
SPACES = "a" + " " * LONG + "b"
HANGING_CASES = {
    "integrations-spaces": ({}, {"summary_integrations": SPACES}),
    "integrations-spaces-3k": ({}, {"summary_integrations": "Prometheus" + " " * 3000 + "Grafana"}),  # as reported
    "integrations-tabs-etc": ({}, {"summary_integrations": "a" + "\t" * LONG + "etc"}),
    "integrations-and": ({}, {"summary_integrations": "a" + " " * LONG + "and"}),
    "integrations-links": ({}, {"summary_integrations": "[](" * LONG}),
    "integrations-brackets": ({}, {"summary_integrations": "[" * LONG}),
    "integrations-parentheses": ({}, {"summary_integrations": "x" + " " * LONG + "(" * 10 + "y"}),
    "parent-spaces": ({}, {"parent_project": SPACES}),
    "languages-spaces": ({}, {"summary_languages": SPACES + " (remark)"}),
    "tags-spaces": ({}, {"summary_tags": SPACES}),
}
# The other kinds of field, with the runs that make a regular expression backtrack: these answered in time before
# too (their expressions were quadratic at worst, or anchored); they are here so that no field goes untested.
OTHER_FIELDS = {
    "integrations-commas": ({}, {"summary_integrations": "a" + " ," * LONG}),
    "personas-newlines": ({}, {"summary_personas": "a" + " \n" * LONG}),
    "use-case-spaces": ({}, {"summary_use_case": SPACES}),
    "name-spaces-alias": ({"name": "Hostile" + " " * LONG + "(H)"}, None),
    "homepage-slashes": ({"homepage_url": "https://example.org" + "/" * LONG + "x"}, None),
    "repository-slashes": ({"repo_url": "https://github.com/x" + "/" * LONG + ".gitx"}, None),
    "description-spaces": ({"description": SPACES}, None),
    "release-rate-spaces": ({}, {"summary_release_rate": SPACES}),
    "audit-vendor-spaces": ({}, {"audits": [{"date": "2024-01-01", "vendor": SPACES}]}),
    "second-path-slashes": ({"second_path": ["Observability and Analysis" + " /" * LONG]}, None),
}


def _check(path: Path):
    return run_bounded("import-landscape", path, "--date", "2026-08-07", "--check", timeout=HANG_GUARD)


@pytest.mark.parametrize("case", [*sorted(HANGING_CASES), *sorted(OTHER_FIELDS)])
def test_no_field_value_makes_the_import_hang(tmp_path, case):
    """Every field of a landscape is read in time linear in its length: the import answers (here: the file is
    valid) instead of running for minutes."""
    item, extra = {**HANGING_CASES, **OTHER_FIELDS}[case]
    path = tmp_path / "landscape.yml"
    path.write_text(landscape_text(item, extra), encoding="utf-8")
    result = _check(path)
    assert result.code is not None, f"{case}: still running after {HANG_GUARD:g} s (a parse that backtracks?)"
    assert result.code == 0, result.err
    assert "valid landscape.yml" in result.out


def test_the_linear_splitter_still_reads_real_lists():
    """What the regular expressions did, the plain code does: the real files' shapes of lists."""
    assert split_names("K3s, Kubeadm, Flux, etc.") == ["K3s", "Kubeadm", "Flux"]
    assert split_names("Kubernetes, Helm\uff0cPrometheus") == ["Kubernetes", "Helm", "Prometheus"]
    assert split_names("OpenTelemetry and Prometheus (metrics and tracing)") == \
        ["OpenTelemetry", "Prometheus (metrics and tracing)"]
    assert split_names("Gateway API + standard service meshes") == ["Gateway API", "standard service meshes"]
    assert split_names("Big-data: Numpy, Pandas\nML: [PyTorch](https://pytorch.org) and more") == \
        ["Numpy", "Pandas", "PyTorch"]
    assert split_names("see Envoy, e.g. Istio and\nLinkerd & Cilium, and many more") == \
        ["Envoy", "Istio", "Linkerd", "Cilium"]
    assert split_names("a" + " " * 5000 + "b") == ["a" + " " * 5000 + "b"]
    assert split_names("[" * 5000) == ["[" * 5000]
    assert name_forms("The Update Framework   (TUF)") == {"the update framework (tuf)", "the update framework",
                                                         "tuf"}
    assert normal_url("https://www.github.com/x/y.git///") == "github.com/x/y"
    assert normal_url("https://github.com/x/.git/y") == "github.com/x/.git/y"


# A file every check of the reader passes, but not the shapes: a CNCF member named like one of the article's
# projects. Members are never merged with the article's software (a company is not its project), so the member
# gets an entity of its own, and the name "Kubernetes" would name two entities (shape:UniqueNames).
NAME_CLASH = landscape_text({}, None).replace('name: Observability and Analysis', 'name: CNCF Members') \
    .replace('"name": "Hostile"', '"name": "Kubernetes"').replace('name: "Hostile"', 'name: "Kubernetes"')
NAME_CLASH_LINE = 8          # the line of the member's entry


def _clash(tmp_path: Path) -> Path:
    path = tmp_path / "landscape.yml"
    path.write_text(NAME_CLASH, encoding="utf-8")
    assert path.read_text().splitlines()[NAME_CLASH_LINE - 1].strip() == "- item:"
    return path


def _imported_names() -> list[str]:
    from cnkg import imports

    return sorted(p.stem for p in imports.landscapes_dir().glob("*.json"))


def test_a_file_that_fails_the_shapes_is_refused_whole(tmp_path, cli):
    path = _clash(tmp_path)
    result = cli("import-landscape", path, "--date", "2026-08-07")
    assert result.code == 1
    assert f"{path}: not imported: the graph built with this file fails the checks every build makes" in result.err
    # which item, which field (its line), what was expected
    assert f"{path}:{NAME_CLASH_LINE}: item 'Kubernetes' name: This name is the label or altLabel of more " \
           "than one resource: names must identify one entity." in result.err
    assert _imported_names() == []                  # nothing kept: the service still starts
    assert cli("validate").code == 0


def test_check_builds_the_file_too(tmp_path, cli):
    path = _clash(tmp_path)
    result = cli("import-landscape", path, "--date", "2026-08-07", "--check")
    assert result.code == 1
    assert f"{path}:{NAME_CLASH_LINE}: item 'Kubernetes' name:" in result.err


def test_a_refused_replacement_leaves_the_earlier_snapshot_untouched(tmp_path, cli):
    good = tmp_path / "good.yml"
    good.write_text(landscape_text({}, None), encoding="utf-8")
    assert cli("import-landscape", good, "--date", "2026-08-07", "--name", "now", "--no-build").code == 0
    from cnkg import imports

    before = {p.name: p.read_bytes() for p in imports.landscapes_dir().iterdir()}
    result = cli("import-landscape", _clash(tmp_path), "--date", "2026-08-07", "--name", "now", "--replace")
    assert result.code == 1
    assert "the snapshot 'now' imported before is unchanged" in result.err
    assert {p.name: p.read_bytes() for p in imports.landscapes_dir().iterdir()} == before
    assert cli("query", "projects").code == 0


def test_the_library_import_refuses_it_too(tmp_path):
    from cnkg import imports
    from cnkg.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        imports.import_landscape(_clash(tmp_path), imports.snapshot_info(None, "2026-08-07", None, None,
                                                                         "landscape.yml"))
    assert any(p.line == NAME_CLASH_LINE and "item 'Kubernetes' name" in p.message
               for p in refused.value.problems)
    assert _imported_names() == []


def test_a_bad_snapshot_already_imported_names_its_file_and_how_to_remove_it(tmp_path, cli):
    """A snapshot kept by an earlier version (which did not build the file before keeping it): serve, query and
    build say which file and item fail, and the command that gets the service back."""
    import hashlib

    from cnkg import imports

    target = imports.landscapes_dir()
    target.mkdir(parents=True)
    payload = NAME_CLASH.encode()
    (target / "old.yml").write_bytes(payload)
    (target / "old.json").write_text(json.dumps({
        "name": "old", "date": "2026-08-07", "commit": None, "url": imports.LANDSCAPE_REPOSITORY,
        "file_name": "landscape.yml", "sha256": hashlib.sha256(payload).hexdigest(), "items": 2, "projects": 0,
        "schema": "current"}))
    for command in (["query", "projects"], ["build"], ["serve", "--port", "0"]):
        result = cli(*command)
        assert result.code == 1, command
        assert f"{target / 'old.yml'}:{NAME_CLASH_LINE}: item 'Kubernetes' name:" in result.err
        assert "remove it with 'cnkg landscapes --remove old' (or run with --no-landscapes)" in result.err
    assert cli("landscapes", "--remove", "old").code == 0
    assert cli("query", "projects").code == 0
