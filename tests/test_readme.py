"""The README's console examples, run as a user would type them and compared with what the README shows, so the
documentation cannot drift from the program.

In an example, ``$ cnkg ...`` is a command and the lines under it its output (standard output, then standard
error, as a terminal shows them). ``…`` stands for text that changes from run to run (timings, paths); a line
``...`` for any number of lines left out; ``# exit code N`` (on the command or an output line) for the exit code
expected instead of 0. A command shown without output is run and must succeed. Each example runs in a fresh
process, in an empty directory, with its own cache and data directories (no imported landscape).
"""
from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# The blocks not run here, named by their first command, and why.
NOT_RUN_BLOCKS = {
    "cnkg import-landscape landscape-2018-10.yml --date 2018-10-26 --commit 760834e":
        "needs the official landscape files (the shared test data) and minutes of building",
    "cnkg coverage":
        "needs both official snapshots imported: tests/test_lineage_coverage.py checks this example on them",
    "oxigraph serve --location /srv/cnkg --bind 127.0.0.1:7878 --timeout-s 30":
        "needs a running Oxigraph server (tests/test_remote.py runs one)",
}
# Commands that stand for the user's own input.
NOT_RUN_COMMANDS = {"cnkg query my-query.rq": "my-query.rq stands for the reader's own query file"}

EXIT_CODE = re.compile(r"\s*# exit code (\d+)\s*$")


class Example:
    def __init__(self, line: int, command: str):
        self.line, self.command, self.output, self.exit_code = line, command, [], 0
        if match := EXIT_CODE.search(command):
            self.exit_code = int(match.group(1))

    def add_output(self, text: str) -> None:
        if match := EXIT_CODE.search(text):
            self.exit_code = int(match.group(1))
            text = text[:match.start()]
        self.output.append(text.rstrip())

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command, comments=True)


def console_blocks() -> list[list[Example]]:
    blocks, current = [], None
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), start=1):
        if current is None:
            if line.strip() == "```console":
                current = []
            continue
        if line.strip() == "```":
            blocks.append(current)
            current = None
        elif line.startswith("$ "):
            current.append(Example(number, line[2:]))
        elif current:
            current[-1].add_output(line)
    return blocks


def _pattern(expected: list[str]) -> re.Pattern:
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(re.escape(line).replace(re.escape("…"), r"[^\n]*?") + r"\n")
    return re.compile("".join(parts))


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


BLOCKS = [block for block in console_blocks() if block]


@pytest.fixture(scope="module")
def user_dirs(tmp_path_factory):
    """One user's directories for the whole README: `cnkg build` in the first example fills the cache the later
    ones read."""
    root = tmp_path_factory.mktemp("readme")
    for name in ("work", "cache", "data"):
        (root / name).mkdir()
    return root


def run(example: Example, dirs: Path) -> subprocess.CompletedProcess:
    argv = example.argv
    assert argv[0] == "cnkg", f"README.md:{example.line}: not a cnkg command: {example.command}"
    env = {**os.environ, "CNKG_CACHE_DIR": str(dirs / "cache"), "CNKG_DATA_DIR": str(dirs / "data"),
           "PYTHONUNBUFFERED": "1", "COLUMNS": "80"}
    # the installed entry point's code, with this interpreter (the checkout under test)
    return subprocess.run([sys.executable, "-c", "import sys; from cnkg.cli import main; sys.exit(main())", *argv[1:]],
                          cwd=dirs / "work", env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b[0].line}" for b in BLOCKS])
def test_console_example(block, user_dirs):
    first = " ".join(block[0].argv)
    if first in NOT_RUN_BLOCKS:
        pytest.skip(NOT_RUN_BLOCKS[first])
    for example in block:
        if " ".join(example.argv) in NOT_RUN_COMMANDS:
            continue
        result = run(example, user_dirs)
        where = f"README.md:{example.line}: $ {example.command.split('  #')[0].strip()}"
        assert result.returncode == example.exit_code, \
            f"{where}: exit code {result.returncode}, the README says {example.exit_code}\n{result.stderr[-2000:]}"
        expected = _trimmed(example.output)
        if not expected:
            continue  # shown without its output: it must succeed, and did
        actual = _trimmed([line.rstrip() for line in (result.stdout + result.stderr).splitlines()])
        if not _pattern(expected).fullmatch("".join(f"{line}\n" for line in actual)):
            diff = "\n".join(difflib.unified_diff(expected, actual, "README", "program", lineterm=""))
            pytest.fail(f"{where}: the output differs from the README's\n{diff}")


def test_every_console_example_is_a_command_this_test_knows():
    """A new console block is run by the test above unless listed, with a reason, as not run."""
    firsts = {" ".join(block[0].argv) for block in BLOCKS}
    assert set(NOT_RUN_BLOCKS) <= firsts, "a block listed as not run is no longer in the README"
    commands = {" ".join(e.argv) for block in BLOCKS for e in block}
    assert set(NOT_RUN_COMMANDS) <= commands, "a command listed as not run is no longer in the README"
    for block in BLOCKS:
        if " ".join(block[0].argv) not in NOT_RUN_BLOCKS:
            assert all(e.argv[0] == "cnkg" for e in block), f"README.md:{block[0].line}: only cnkg commands are run"
