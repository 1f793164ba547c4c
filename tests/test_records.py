"""Bad input: every broken fixture yields a clear message with file, line and value, exit 1, nothing written."""
from __future__ import annotations

import re
import shutil

import pytest

from paths import BROKEN_FACTS
from cnkg.errors import InvalidInput
from cnkg.vocabulary import Vocabulary, read_ontology
from cnkg.records import read_facts

BROKEN = sorted(BROKEN_FACTS.glob("*.yaml"))


def expectations(path):
    """The ``# expect: LINE: TEXT`` header lines of a broken fixture."""
    found = re.findall(r"^# expect: (\d+): (.+)$", path.read_text(encoding="utf-8"), re.M)
    assert found, f"{path.name} declares no expectation"
    return [(int(line), text) for line, text in found]


@pytest.mark.parametrize("broken", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_fixture_is_reported_with_file_line_and_value(broken, minimal_facts, cli):
    shutil.copy(broken, minimal_facts / broken.name)
    result = cli("--facts", minimal_facts, "validate")
    assert result.code == 1, result.err
    lines = result.err.splitlines()
    for line, text in expectations(broken):
        located = [entry for entry in lines if f"{broken.name}:{line}" in entry]
        assert located, f"no problem reported at {broken.name}:{line}:\n{result.err}"
        assert any(text in entry for entry in located), f"expected {text!r} at line {line}:\n{result.err}"


def test_all_problems_are_reported_not_just_the_first(minimal_facts, cli):
    for name in ("unknown-property.yaml", "undeclared-reference.yaml", "unknown-stage.yaml"):
        shutil.copy(BROKEN_FACTS / name, minimal_facts / name)
    result = cli("--facts", minimal_facts, "validate")
    assert result.code == 1
    assert "3 problems found" in result.err
    for name in ("unknown-property.yaml:5", "undeclared-reference.yaml:5", "unknown-stage.yaml:5"):
        assert name in result.err


def test_failed_build_leaves_the_previous_build_intact(minimal_facts, cli, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("CNKG_CACHE_DIR", str(cache))
    assert cli("--facts", minimal_facts, "build").code == 0
    before = {str(p.relative_to(cache)): p.read_bytes() for p in cache.rglob("*") if p.is_file()}
    assert len(list(cache.iterdir())) == 1

    shutil.copy(BROKEN_FACTS / "undeclared-reference.yaml", minimal_facts)
    result = cli("--facts", minimal_facts, "build")
    assert result.code == 1
    assert {str(p.relative_to(cache)): p.read_bytes() for p in cache.rglob("*") if p.is_file()} == before

    output = tmp_path / "export.ttl"
    output.write_text("previous export\n")
    assert cli("--facts", minimal_facts, "export", "-o", output).code == 1
    assert output.read_text() == "previous export\n"


def test_valid_minimal_facts_read_into_records(minimal_facts):
    facts = read_facts(Vocabulary(read_ontology()), minimal_facts)
    assert set(facts.entities) == {"google", "dapper", "zipkin", "jaeger", "prometheus"}
    cited = {(s.subject, s.prop, s.value, s.section) for s in facts.statements}
    assert ("jaeger", "inspiredBy", "dapper", "two") in cited  # a per-value source override
    assert ("jaeger", "inspiredBy", "zipkin", "one") in cited
    assert ("prometheus", "hasStage", "graduated", "one") in cited  # "Graduated" normalised to the notation


def test_missing_facts_directory_is_an_error(tmp_path):
    with pytest.raises(InvalidInput, match="facts directory does not exist"):
        read_facts(Vocabulary(read_ontology()), tmp_path / "nowhere")
