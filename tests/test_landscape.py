"""Reading landscape.yml files: both schemas, real-file quirks, and one clear error per broken fixture."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from cnkg.errors import InvalidInput
from cnkg.landscape import read_landscape

from paths import FIXTURES

LANDSCAPES = FIXTURES / "landscape"
BROKEN = sorted((LANDSCAPES / "broken").glob("*.yml"))


def test_current_schema_items_stages_and_dated_lifecycle():
    landscape = read_landscape(LANDSCAPES / "current.yml")
    assert landscape.schema == "current"
    jaeger = next(i for i in landscape.items if i.name == "Jaeger")
    assert jaeger.stage == "graduated"
    assert jaeger.events == {"accepted": dt.date(2017, 9, 13), "incubating": dt.date(2017, 9, 13),
                             "graduated": dt.date(2019, 10, 31)}
    assert (jaeger.category, jaeger.subcategory) == ("Observability and Analysis", "Observability")
    cortex = next(i for i in landscape.items if i.name == "Cortex")
    assert cortex.events["accepted"] == dt.date(2018, 9, 20)          # an unquoted YAML date reads the same
    assert cortex.second_paths == [("Provisioning", "Security & Compliance")]
    member = next(i for i in landscape.items if i.name == "Cortex (member)")
    assert member.stage is None and member.joined == dt.date(2020, 1, 15)
    assert len(landscape.projects) == 6


def test_stray_spaces_are_trimmed_and_misplaced_keys_are_reported_not_used():
    landscape = read_landscape(LANDSCAPES / "current.yml")
    tracer = next(i for i in landscape.items if i.name == "Brand New Tracer")
    assert tracer.homepage == "https://example.org/tracer"                 # trailing space
    assert tracer.description == "A made-up project accepted after the article."   # trailing no-break space
    [warning] = landscape.warnings
    assert warning.line == 38 and "'project' is misplaced under 'extra'" in warning.message


def test_2018_schema_reads_cncf_project_without_dates():
    landscape = read_landscape(LANDSCAPES / "2018.yml")
    assert landscape.schema == "2018"
    assert {i.name: i.stage for i in landscape.items} == {
        "Jaeger": "incubating", "Cortex": "sandbox", "Container Network Interface (CNI)": "incubating"}
    assert all(not i.events for i in landscape.items)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_landscape_reports_file_line_and_what_was_expected(path: Path):
    expected = re.match(r"# expect: (\d+): (.+)", path.read_text(encoding="utf-8").splitlines()[0])
    line, text = int(expected.group(1)), expected.group(2)
    with pytest.raises(InvalidInput) as caught:
        read_landscape(path)
    problem = caught.value.problems[0]
    assert problem.file == str(path)
    assert problem.line == line
    assert str(problem).startswith(f"{path}:{line}: {text}")


def test_missing_file_and_non_utf8_file_are_clear_errors(tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        read_landscape(tmp_path / "absent.yml")
    latin = tmp_path / "latin.yml"
    latin.write_bytes("landscape:\n  - category:\n    name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_landscape(latin)
