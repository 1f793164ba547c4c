"""W3C SPARQL 1.1 Protocol and Service Description tests, sent over HTTP to the Flask app.

Protocol (``protocol/manifest.ttl``): every entry describes its HTTP requests in the ``ht:`` vocabulary
(method, ``/sparql/...`` path, headers, body text and its encoding) and the response it expects
(``mf:expectedStatus``, ``mf:expectedFormat``, ``mf:expectedBoolean``). Each request is replayed as written
against one app holding the suite's data (``data1.nt`` .. ``data3.nt`` under their ``http://kasei.us/...``
graph names; ``data0.rdf`` is named by some tests but its data is never given, so the app holds it as an empty
graph: the endpoint refuses a dataset naming a graph it does not hold, as it refuses such a FROM).

Query-side entries must pass as written. Update-side entries run twice: against the default, read-only app (the
negative ones, ``bad_update_*``, still expect a 4xx and must get one; for the positive ones we check that their
first request, the update, is refused with 403 and the JSON error shape), and, as written, against an app started
with updates allowed, every request carrying the bearer token.

Service description (``service-description/manifest.ttl``): three entries with prose-only descriptions,
translated below into concrete checks.
"""
from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.query import Result

from w3c_http import SUITE, SUITE_MISSING, app_for
from w3c_manifest import MF, TestCase, read_manifest

if not SUITE.is_dir():
    pytest.skip(SUITE_MISSING, allow_module_level=True)

HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
KASEI = "http://kasei.us/2009/09/sparql/data/"

PROTOCOL = read_manifest(SUITE / "protocol" / "manifest.ttl")
UPDATE_SIDE = [c for c in PROTOCOL if "update" in c.name]
QUERY_SIDE = [c for c in PROTOCOL if c not in UPDATE_SIDE]

RESULT_TYPES = {"application/sparql-results+json": "json", "application/sparql-results+xml": "xml"}
TABULAR_TYPES = {*RESULT_TYPES, "text/csv", "text/tab-separated-values"}
RDF_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml",
             "application/ld+json": "json-ld", "application/trig": "trig", "application/n-quads": "nquads"}


@pytest.fixture(scope="module")
def client():
    files = [(URIRef(f"{KASEI}data{n}.rdf"), SUITE / "protocol" / f"data{n}.nt") for n in (1, 2, 3)]
    return app_for(files, empty_graphs=[URIRef(f"{KASEI}data0.rdf")]).test_client()


def requests_of(case: TestCase) -> list:
    """The ``ht:Request`` nodes of an entry, in order."""
    g = case.graph
    action = g.value(case.node, MF.action)
    return list(Collection(g, g.value(action, HT.requests)))


def send(client, case: TestCase, request_node, extra_headers: dict | None = None):
    g = case.graph
    method = str(g.value(request_node, HT.methodName))
    path = str(g.value(request_node, HT.absolutePath))
    assert path.startswith("/sparql/")  # the manifest promises this prefix, for runners to rewrite
    query_string = urlsplit(path).query
    target = "/sparql" + (f"?{query_string}" if query_string else "")
    headers = {}
    headers_node = g.value(request_node, HT.headers)
    if headers_node is not None:
        for header in Collection(g, headers_node):
            headers[str(g.value(header, HT.fieldName))] = str(g.value(header, HT.fieldValue))
    body = None
    body_node = g.value(request_node, HT.body)
    if body_node is not None:
        encoding = str(g.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(g.value(body_node, CNT.chars)).encode(encoding)
    headers.update(extra_headers or {})
    # Without a content-type header the test client must not invent one: pass the body as raw bytes.
    return client.open(target, method=method, data=body, headers=headers)


def check_response(case: TestCase, response_node, response) -> None:
    g = case.graph
    expected = set(g.objects(response_node, MF.expectedStatus))
    klass = f"StatusCode{response.status_code // 100}xx"
    assert HTS[klass] in expected, (f"{case.name}: got {response.status_code} {response.data[:200]!r}, "
                                    f"expected one of {sorted(e.split('#')[-1] for e in expected)}")
    media_type = response.mimetype
    fmt = g.value(response_node, MF.expectedFormat)
    if fmt == Literal("boolean"):
        assert media_type in RESULT_TYPES, media_type
        answer = Result.parse(io.BytesIO(response.data), format=RESULT_TYPES[media_type]).askAnswer
        wanted = g.value(response_node, MF.expectedBoolean)
        if wanted is not None:
            assert answer is wanted.toPython(), f"{case.name}: ASK answered {answer}"
    elif fmt == Literal("tabular"):
        assert media_type in TABULAR_TYPES, media_type
    elif fmt == Literal("RDF"):
        assert media_type in RDF_TYPES, media_type
        Graph().parse(data=response.data, format=RDF_TYPES[media_type])
    if response.status_code >= 400:
        assert set(response.get_json()) == {"error"}  # our one error shape


@pytest.mark.parametrize("case", QUERY_SIDE, ids=lambda c: c.name)
def test_protocol_query(client, case: TestCase) -> None:
    for request_node in requests_of(case):
        response = send(client, case, request_node)
        check_response(case, case.graph.value(request_node, HT.resp), response)


@pytest.mark.parametrize("case", UPDATE_SIDE, ids=lambda c: c.name)
def test_protocol_update_is_refused(client, case: TestCase) -> None:
    """Read-only endpoint: the update (the entry's first request) is refused; nothing else is meaningful."""
    first = requests_of(case)[0]
    response = send(client, case, first)
    expected = set(case.graph.objects(case.graph.value(first, HT.resp), MF.expectedStatus))
    assert 400 <= response.status_code < 500, response.data
    assert response.get_json()["error"]["status"] == response.status_code
    if case.name.startswith("bad_"):
        assert HTS.StatusCode4xx in expected  # a negative test: 4xx is the W3C expectation, and ours
    else:
        assert response.status_code == 403 and "read-only endpoint" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("case", UPDATE_SIDE, ids=lambda c: c.name)
def test_protocol_update_allowed(case: TestCase) -> None:
    """With --allow-update: every update-side entry as written (a fresh app each: they CLEAR and DROP ALL)."""
    files = [(URIRef(f"{KASEI}data{n}.rdf"), SUITE / "protocol" / f"data{n}.nt") for n in (1, 2, 3)]
    client = app_for(files, ALLOW_UPDATE=True, UPDATE_TOKEN="w3c").test_client()
    for request_node in requests_of(case):
        response = send(client, case, request_node, {"Authorization": "Bearer w3c"})
        check_response(case, case.graph.value(request_node, HT.resp), response)


def test_protocol_split_is_complete() -> None:
    assert len(PROTOCOL) == 34 and len(QUERY_SIDE) == 20


# ------------------------------------------------------------------ service description

SERVICE_DESCRIPTION = {c.name: c for c in read_manifest(SUITE / "service-description" / "manifest.ttl")}
ENDPOINT = URIRef("http://localhost/sparql")


def description(client, accept: str | None = None) -> tuple[str, Graph]:
    response = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.data
    assert response.mimetype in RDF_TYPES, response.mimetype
    parsed = Dataset().parse(data=response.data, format=RDF_TYPES[response.mimetype])  # quads formats too
    graph = Graph()
    for s, p, o, _ in parsed.quads((None, None, None, None)):
        graph.add((s, p, o))
    return response.mimetype, graph


def test_sd_manifest_lists_three() -> None:
    assert set(SERVICE_DESCRIPTION) == {"has-endpoint-triple", "returns-rdf", "conforms-to-schema"}


@pytest.mark.parametrize("accept", [None, "*/*", *RDF_TYPES])
def test_sd_returns_rdf(client, accept) -> None:
    """returns-rdf: "GET on endpoint returns RDF", in every RDF format we offer."""
    media_type, graph = description(client, accept)
    assert accept in (None, "*/*") or media_type == accept
    assert (None, RDF.type, SD.Service) in graph


def test_sd_has_endpoint_triple(client) -> None:
    """has-endpoint-triple: the description contains ``?service sd:endpoint <the URL that was dereferenced>``."""
    _, graph = description(client)
    assert list(graph.subjects(SD.endpoint, ENDPOINT)) != []


FORMATS_NS = "http://www.w3.org/ns/formats/"
LANGUAGES = {SD.SPARQL10Query, SD.SPARQL11Query, SD.SPARQL11Update}
FEATURES = {SD.DereferencesURIs, SD.UnionDefaultGraph, SD.RequiresDataset, SD.EmptyGraphs, SD.BasicFederatedQuery}


def test_sd_conforms_to_schema(client) -> None:
    """conforms-to-schema: every sd: term is used with the domains and ranges of the SD vocabulary (§3)."""
    _, graph = description(client)
    services = set(graph.subjects(RDF.type, SD.Service))
    assert len(services) == 1
    service = services.pop()
    for p, o in graph.predicate_objects(service):
        if p == SD.endpoint:
            assert isinstance(o, URIRef)
        elif p == SD.supportedLanguage:
            assert o in LANGUAGES
        elif p in (SD.resultFormat, SD.inputFormat):
            assert isinstance(o, URIRef) and str(o).startswith(FORMATS_NS)
        elif p == SD.feature:
            assert o in FEATURES
        elif p == SD.defaultDataset:
            assert (o, RDF.type, SD.Dataset) in graph
    assert SD.SPARQL11Update not in set(graph.objects(service, SD.supportedLanguage))  # read-only
    for dataset in graph.subjects(RDF.type, SD.Dataset):
        for default in graph.objects(dataset, SD.defaultGraph):
            assert (default, RDF.type, SD.Graph) in graph
        for named in graph.objects(dataset, SD.namedGraph):
            assert (named, RDF.type, SD.NamedGraph) in graph
            names = list(graph.objects(named, SD.name))
            assert len(names) == 1 and isinstance(names[0], URIRef)
            for described in graph.objects(named, SD.graph):
                assert (described, RDF.type, SD.Graph) in graph
    # every sd: term used exists in the vocabulary (no typos such as sd:endPoint)
    known = {SD[t] for t in ("Service Dataset Graph NamedGraph GraphCollection Language Feature Function "
                             "Aggregate EntailmentRegime EntailmentProfile endpoint supportedLanguage "
                             "resultFormat inputFormat feature defaultDataset defaultGraph namedGraph name "
                             "graph defaultEntailmentRegime defaultSupportedEntailmentProfile entailmentRegime "
                             "supportedEntailmentProfile extensionFunction extensionAggregate languageExtension "
                             "propertyFeature availableGraphs").split()} | LANGUAGES | FEATURES
    used = {t for triple in graph for t in triple if isinstance(t, URIRef) and str(t).startswith(str(SD))}
    assert used <= known, used - known
