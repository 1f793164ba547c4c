"""Hostile and clumsy input: a corpus of fact files and landscape.yml files that are bombs, too deep, cut short,
wrongly encoded or duplicated, each with the exit code and message the CLI must give.

Every case runs in a child process with its address space and time bounded (``bounded.run_bounded``), so a
regression fails the test instead of hanging CI or exhausting its memory."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bounded import AVAILABLE, run_bounded
from paths import FIXTURES, MINIMAL_FACTS, SHARED

HOSTILE = FIXTURES / "hostile"

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="bounded runs need fork() and /proc (Linux)")


# ------------------------------------------------------------------------------------------------ fact files

# file -> (exit code, "LINE: text" (or "text" for the whole file) that stderr must hold after the file's name; for
# exit code 0, text on stdout)
FACT_CASES = {
    "alias-bomb.yaml": (1, "4: YAML alias *a0 of the anchor &a0 on line 3: aliases are not allowed"),
    "recursive-alias.yaml": (1, "5: YAML alias *loop of the anchor &loop on line 3"),
    "deep-block.yaml": (1, "4: nesting too deep"),
    "deep-flow.yaml": (1, "3: nesting too deep"),
    "deep-moderate.yaml": (1, "5: nesting too deep: more than 16 levels"),
    "truncated.yaml": (1, "7: YAML syntax error: did not find expected ',' or ']'"),
    "utf16.yaml": (1, "1: the file is UTF-16 text"),
    "latin1.yaml": (1, "5: not UTF-8 text: byte 0xe9"),
    "bom.yaml": (0, "valid: 5 entities"),
    "nul.yaml": (1, "4: character U+0000 is not allowed in YAML"),
    "control-character.yaml": (1, "5: character U+001B is not allowed in YAML"),
    "duplicate-top-key.yaml": (1, "6: duplicate key 'facts' (first on line 3)"),
    "duplicate-nested-key.yaml": (1, "6: duplicate key 'homepage' (first on line 5)"),
    "nested-list-value.yaml": (1, "5: inspiredBy: expected the id of an entity, found a list ['zipkin', 'dapper']"),
    "list-section.yaml": (1, "2: a section must be the id of one section declared in sources.yaml, found a list"),
    "list-about.yaml": (1, "4: about: expected the id of one entity, found a list ['jaeger', 'zipkin']"),
}


def _generated_facts(directory: Path) -> dict[str, tuple[int, str]]:
    """Cases too large to commit, written at test time."""
    huge = directory / "huge.yaml"
    with huge.open("w") as out:               # 1 MiB of comments and a little more: over the limit
        out.write("section: one\n")
        line = "# " + "x" * 77 + "\n"
        out.write(line * ((1 << 20) // len(line) + 1))
    empty = directory / "empty.yaml"
    empty.write_bytes(b"")
    return {"huge.yaml": (1, "larger than 1 MiB: too large for a fact file"), "empty.yaml": (1, "file is empty")}


def test_every_fact_case_is_in_the_table():
    assert sorted(p.name for p in (HOSTILE / "facts").iterdir()) == sorted(FACT_CASES)


@pytest.mark.parametrize("name", [*sorted(FACT_CASES), "huge.yaml", "empty.yaml"])
def test_hostile_fact_file(name, tmp_path):
    facts = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, facts)
    cases = dict(FACT_CASES)
    if name in FACT_CASES:
        shutil.copy(HOSTILE / "facts" / name, facts / name)
    else:
        cases.update(_generated_facts(facts))
        for other in {"huge.yaml", "empty.yaml"} - {name}:
            (facts / other).unlink()
    code, expected = cases[name]
    result = run_bounded("--facts", facts, "validate")
    assert result.code == code, result.err or result.out
    if code == 0:
        assert expected in result.out
    else:
        assert f"{name}{':' if expected[0].isdigit() else ': '}{expected}" in result.err, result.err
        assert "Traceback" not in result.err and "Node(" not in result.err


def test_yaml_alias_bomb_in_a_fact_file_is_refused_at_its_line(tmp_path):
    """Regression: nine levels of nine aliases in a fact file ran for 90 s and 3.8 GB without an error."""
    facts = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, facts)
    shutil.copy(HOSTILE / "facts" / "alias-bomb.yaml", facts)
    result = run_bounded("--facts", facts, "validate", memory=256 << 20)
    assert result.code == 1
    assert "alias-bomb.yaml:4: YAML alias *a0" in result.err and "write the value out" in result.err


def test_deeply_nested_fact_yaml_is_exit_1_with_file_and_line(tmp_path):
    """Regression: 10,000 levels of nesting exited 2 with a bare RecursionError, no file or line."""
    facts = tmp_path / "facts"
    shutil.copytree(MINIMAL_FACTS, facts)
    (facts / "deep.yaml").write_text("section: one\nfacts: " + "{a: " * 10_000 + "x" + "}" * 10_000 + "\n")
    result = run_bounded("--facts", facts, "validate")
    assert result.code == 1, result.err
    assert "deep.yaml:" in result.err and "nesting too deep" in result.err
    assert "RecursionError" not in result.err


def test_wrong_type_errors_show_the_value_not_an_internal_node(minimal_facts, cli):
    """Regression: a list where one value was expected printed ``[Node(value='zipkin', line=5), ...]``."""
    (minimal_facts / "wrong.yaml").write_text(
        "section: one\nfacts:\n  - about: jaeger\n    inspiredBy: [[zipkin, dapper]]\n"
        "    homepage: [[https://a.example/]]\n  - [not, a, mapping]\nentities:\n  - id: [a, b]\n"
        "    type: [[Project]]\n    label: {text: X}\n")
    result = cli("--facts", minimal_facts, "validate")
    assert result.code == 1
    assert "Node(" not in result.err
    assert "wrong.yaml:4: inspiredBy: expected the id of an entity, found a list ['zipkin', 'dapper']" in result.err
    assert "wrong.yaml:6: expected a facts entry (a mapping), found a list ['not', 'a', 'mapping']" in result.err
    assert "wrong.yaml:8: id ['a', 'b'] is not a slug" in result.err


def test_one_yaml_syntax_error_is_not_followed_by_cascading_undeclared_entity_errors(minimal_facts, cli):
    """Regression: a syntax error in one file was followed by an 'undeclared entity' error for every reference
    to the entities that file declares. They are now one line on the broken file; other files' genuine
    undeclared references are still reported one by one."""
    text = (minimal_facts / "one.yaml").read_text()
    (minimal_facts / "one.yaml").write_text(text.replace("    label: Zipkin\n", "    label: [Zipkin\n"))
    (minimal_facts / "more.yaml").write_text(
        "section: two\nfacts:\n  - about: jaeger\n    integratesWith: [prometheus, zipkin]\n"
        "  - about: google\n    integratesWith: nowhere-declared\n")
    result = cli("--facts", minimal_facts, "validate")
    assert result.code == 1
    assert "one.yaml:" in result.err and "YAML syntax error" in result.err
    assert "undeclared entity 'jaeger'" not in result.err and "undeclared entity 'google'" not in result.err
    assert "one.yaml: 4 reference(s) in other files to entities this file seems to declare" in result.err
    assert "more.yaml:6: reference to undeclared entity 'nowhere-declared'" in result.err
    assert "3 problems found" in result.err


def test_an_unreadable_sources_file_is_one_error_not_one_per_fact_file(minimal_facts, cli):
    (minimal_facts / "sources.yaml").write_text("sources:\n  - id: mini\n    title: [A\n")
    (minimal_facts / "more.yaml").write_text("section: two\nfacts:\n  - about: jaeger\n    joinOrder: 3\n")
    result = cli("--facts", minimal_facts, "validate")
    assert result.code == 1
    assert "unknown section" not in result.err
    assert "sources.yaml: the sections cited by 2 fact file(s) were not checked" in result.err


# ------------------------------------------------------------------------------------------------ landscape.yml

LANDSCAPE_CASES = {
    "valid.yml": (0, "valid landscape.yml (current schema): 2 items"),
    "bom.yml": (0, "valid landscape.yml (current schema): 2 items"),
    "alias-bomb.yml": (1, "3: YAML alias *a0 of the anchor &a0 on line 2: aliases are not allowed in a landscape.yml"),
    "alias-items.yml": (1, "18: YAML alias *sub of the anchor &sub on line 6"),
    "deep-flow.yml": (1, "2: nesting too deep"),
    "deep-moderate.yml": (1, "18: nesting too deep: more than 24 levels"),
    "duplicate-landscape-key.yml": (1, "13: duplicate key 'landscape' (first on line 2)"),
    "duplicate-item-key.yml": (1, "17: duplicate key 'homepage_url' (first on line 15)"),
    "truncated-mid-line.yml": (1, "16: the file ends in the middle of a line (no line break at the end)"),
    "truncated-last-item.yml": (1, "17: 'Prometheus' is incomplete: it has no 'homepage_url' or 'logo', which every "
                                   "other item has (the last item of the file: was the file cut short?)"),
    "utf16.yml": (1, "1: the file is UTF-16 text"),
    "latin1.yml": (1, "10: not UTF-8 text: byte 0xe9"),
    "nul.yml": (1, "11: character U+0000 is not allowed in YAML"),
}


def test_every_landscape_case_is_in_the_table():
    assert sorted(p.name for p in (HOSTILE / "landscape").iterdir()) == sorted(LANDSCAPE_CASES)


def _check_landscape(path: Path, *options: str):
    return run_bounded("import-landscape", path, "--date", "2026-08-07", "--check", *options)


@pytest.mark.parametrize("name", sorted(LANDSCAPE_CASES))
def test_hostile_landscape(name):
    path = HOSTILE / "landscape" / name
    code, expected = LANDSCAPE_CASES[name]
    result = _check_landscape(path)
    assert result.code == code, result.err or result.out
    if code == 0:
        assert expected in result.out
    else:
        assert f"{path}:{expected}" in result.err, result.err
        assert "Traceback" not in result.err


def test_hostile_landscape_too_large(tmp_path):
    """Generated, not committed: 16 MiB and a little more of comments."""
    path = tmp_path / "huge.yml"
    with path.open("w") as out:
        line = "# " + "x" * 77 + "\n"
        out.write(line * ((16 << 20) // len(line) + 1))
    result = _check_landscape(path)
    assert result.code == 1
    assert f"{path}: larger than 16 MiB: too large for a landscape.yml" in result.err
    assert f"give --max-size 17 (it is {path.stat().st_size:,} bytes)" in result.err      # the way to mean it


def test_a_duplicate_top_level_landscape_key_names_both_lines():
    """Regression: a second ``landscape:`` key silently replaced the first (and its items)."""
    result = _check_landscape(HOSTILE / "landscape" / "duplicate-landscape-key.yml")
    assert result.code == 1
    assert "duplicate-landscape-key.yml:13: duplicate key 'landscape' (first on line 2)" in result.err


@pytest.mark.skipif(not (SHARED / "data" / "landscape" / "landscape-current.yml").exists(),
                    reason="the official landscape files (../shared/data/landscape) are not here")
def test_a_landscape_cut_in_its_last_item_fails_check_with_the_line(tmp_path):
    """Regression: the official file cut after 841 of its 2,413 items passed --check as a smaller landscape."""
    payload = (SHARED / "data" / "landscape" / "landscape-current.yml").read_bytes()
    cut = tmp_path / "landscape.yml"
    cut.write_bytes(payload[:len(payload) // 2])   # ends inside the 841st item's description
    result = _check_landscape(cut)
    assert result.code == 1
    assert "'IBM Cloud Kubernetes Service' is incomplete: it has no 'homepage_url' or 'logo'" in result.err
    assert f"{cut}:9499:" in result.err and "ends in the middle of a line" in result.err
    whole_lines = payload[:payload.rindex(b"\n", 0, len(payload) // 2) + 1]   # cut at a line break instead
    cut.write_bytes(whole_lines)
    result = _check_landscape(cut)
    assert result.code == 1 and f"{cut}:9499: 'IBM Cloud Kubernetes Service' is incomplete" in result.err
