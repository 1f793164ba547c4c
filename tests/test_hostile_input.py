"""Hostile and clumsy input: a corpus of fact files and landscape.yml files that are bombs, too deep, cut short,
wrongly encoded or duplicated, each with the exit code and message the CLI must give.

Every case runs in a child process with its address space and time bounded (``run_bounded``), so a regression
fails the test instead of hanging CI or exhausting its memory. The child is forked from the test process, which
has already imported cnkg: a case costs milliseconds, not the second a fresh interpreter needs."""
from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cnkg.cli import main
from paths import FIXTURES, MINIMAL_FACTS

HOSTILE = FIXTURES / "hostile"
MEMORY_BUDGET = 512 << 20          # address space a case may add to the test process's own
TIME_LIMIT = 60.0                  # seconds: a safety net only, never an assertion about speed

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/status").exists(),
                                reason="bounded runs need fork() and /proc (Linux)")


@dataclass
class Bounded:
    code: int | None                # None: killed (time limit)
    out: str
    err: str


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def run_bounded(*args, memory: int = MEMORY_BUDGET, timeout: float = TIME_LIMIT) -> Bounded:
    """``cnkg ARGS`` in a forked child limited to ``memory`` more bytes of address space; killed after
    ``timeout`` seconds."""
    limit = _address_space() + memory
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 2
        try:
            os.close(out_r)
            os.close(err_r)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            sys.stdout = os.fdopen(out_w, "w", encoding="utf-8")
            sys.stderr = os.fdopen(err_w, "w", encoding="utf-8")
            code = main([str(a) for a in args])
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException as exc:  # noqa: BLE001 - report anything, then leave
            try:
                sys.stderr.write(f"child failed: {type(exc).__name__}: {exc}\n")
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code if isinstance(code, int) else 2)
    os.close(out_w)
    os.close(err_w)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    open_fds = [out_r, err_r]
    deadline = time.monotonic() + timeout
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(open_fds, [], [], 0.2)
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                open_fds.remove(fd)
    if open_fds:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    for fd in (out_r, err_r):
        os.close(fd)
    code = os.waitstatus_to_exitcode(status) if not open_fds else None
    return Bounded(code, b"".join(chunks[out_r]).decode("utf-8", "replace"),
                   b"".join(chunks[err_r]).decode("utf-8", "replace"))


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
