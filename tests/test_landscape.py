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
    assert warning.line == 59 and "'project' is misplaced under 'extra'" in warning.message


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


def test_what_the_landscape_states_beyond_stages_is_read_with_its_lines():
    landscape = read_landscape(LANDSCAPES / "current.yml")
    jaeger = next(i for i in landscape.items if i.name == "Jaeger")
    key = "extra.summary_integrations"
    assert [name for k, name in jaeger.integrations if k == key] == [
        "OpenTelemetry", "Prometheus", "cortex", "Jaeger", "Nowhere DB", "Spire"]   # etc. and link targets dropped
    assert jaeger.lines[key] == 19
    assert jaeger.languages == ["Go", "Javascript", "Brainfunk", "Cortex"]
    assert jaeger.tags == ["tracing", "Observability", "observability", "distributed tracing"]
    assert jaeger.personas == ["SREs", "Developers"]
    assert jaeger.use_case == "Trace requests across services." and jaeger.release_rate == "Every month"
    assert jaeger.annual_review_date == dt.date(2024, 2, 1)
    assert jaeger.dev_stats_url == "https://jaeger.devstats.cncf.io/" and jaeger.clomonitor_name == "jaeger"
    assert [(a.date, a.vendor, a.kind, a.line) for a in jaeger.audits] == [
        (dt.date(2017, 11, 20), "Cure53", "security", 30), (dt.date(2023, 1, 5), "Ada Logics", "fuzzing", 34)]
    tracer = next(i for i in landscape.items if i.name == "Brand New Tracer")
    assert tracer.parent_project == "jaeger"
    assert tracer.integrations == [("extra.summary_integration", "Cortex"), ("extra.summary_integration", "Unheard Of")]
    assert tracer.additional_repos == ["https://github.com/example/tracer-agent"]
    member = next(i for i in landscape.items if i.name == "Cortex (member)")
    assert member.lines["joined"] == 106


@pytest.mark.parametrize("text, names", [
    ("K3s, Kubeadm, Flux, Kubevirt, etc.", ["K3s", "Kubeadm", "Flux", "Kubevirt"]),
    ("Kubernetes, Helm\uff0cPrometheus, Grafana etc.", ["Kubernetes", "Helm", "Prometheus", "Grafana"]),
    ("Big-data: Numpy, Pandas\nOrchestration: Airflow", ["Numpy", "Pandas", "Airflow"]),
    ("OpenTelemetry and Prometheus (metrics and tracing), Helm (Tekton Operator)",
     ["OpenTelemetry", "Prometheus (metrics and tracing)", "Helm (Tekton Operator)"]),
    ("Prometheus, Jaeger, [and many more.](https://opentelemetry.io/ecosystem/)", ["Prometheus", "Jaeger"]),
    ("Datadog, Elasticsearch and more: https://example.org/integrations", ["Datadog", "Elasticsearch"]),
    ("Gateway API + standard service meshes", ["Gateway API", "standard service meshes"]),
    ("https://istio.io/latest/docs/ops/integrations/", []),
    (", ,  etc.", []),
    ("Kubernetes, Prometheus.", ["Kubernetes", "Prometheus"]),
])
def test_free_text_lists_split_into_names(text, names):
    from cnkg.landscape import split_names

    assert split_names(text) == names


def test_odd_extra_values_are_warnings_never_a_refused_file(tmp_path):
    path = tmp_path / "odd.yml"
    path.write_text("""landscape:
  - category:
    name: Runtime
    subcategories:
      - subcategory:
        name: Container Runtime
        items:
          - item:
            name: Odd
            homepage_url: https://example.org/
            project: sandbox
            extra:
              summary_integrations: {nested: mapping}
              parent_project: Alpha, Beta
              summary_tags: 42
              audits:
                - not an audit
                - vendor: Nobody
                - date: '2020-01-02'
                  auditor: Someone
              annual_review_date: 2021-03-04
            additional_repos: https://example.org/not-a-list
""", encoding="utf-8")
    landscape = read_landscape(path)
    odd = landscape.items[0]
    assert odd.integrations == [] and odd.parent_project is None and odd.tags == ["42"]
    assert [a.date for a in odd.audits] == [dt.date(2020, 1, 2)]
    assert odd.annual_review_date == dt.date(2021, 3, 4) and odd.additional_repos == []
    messages = [str(w) for w in landscape.warnings]
    assert any(":13: 'Odd' extra.summary_integrations: expected text" in m for m in messages)
    assert any(":14: 'Odd' extra.parent_project: 'Alpha, Beta' is not one name" in m for m in messages)
    assert any("an audit is a mapping" in m for m in messages)
    assert any(":18: 'Odd' audit without a date" in m for m in messages)
    assert any(":20: 'Odd' audit: unknown key 'auditor'" in m for m in messages)
    assert any(":22: 'Odd' additional_repos: expected a list" in m for m in messages)


def test_a_second_path_spelled_with_and_for_ampersand_is_that_category(tmp_path):
    """The official file writes "Governance, Policy and Security" for the category "Governance, Policy &
    Security" (issue 24): the placement is kept, under the category's own spelling, and nothing is warned."""
    path = tmp_path / "landscape.yml"
    path.write_text("""landscape:
  - category:
    name: AI Native Infra
    subcategories:
      - subcategory:
        name: Governance, Policy & Security
        items:
          - item:
            name: Guard
            homepage_url: https://example.org/guard
            logo: guard.svg
  - category:
    name: Provisioning
    subcategories:
      - subcategory:
        name: Security and Compliance
        items:
          - item:
            name: Gate
            homepage_url: https://example.org/gate
            logo: gate.svg
            second_path:
              - "AI Native Infra / Governance, Policy and Security"
              - "ai native infra / Governance, Policy & Security"
              - "AI Native Infra / Governance Policy"
""")
    landscape = read_landscape(path)
    gate = next(i for i in landscape.items if i.name == "Gate")
    assert gate.second_paths == [("AI Native Infra", "Governance, Policy & Security")]
    [warning] = landscape.warnings                            # only the place that is really not there
    assert "'AI Native Infra / Governance Policy' names no category" in warning.message
