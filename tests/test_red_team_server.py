"""Red-team tests of the server's smaller holes: hostile strings in every route (never a 500), the result cache
bounded in bytes, metric labels that a client cannot multiply, connections that trickle their headers, an update
token with surrounding whitespace. Each failed on the code before its fix."""
from __future__ import annotations

import os
import re
import socket
import time

import pytest

# strings a client may send anywhere: in a path segment, a parameter, a header
HOSTILE = [
    "a b", "a'b", 'a"b', "dapper ", " dapper", "\x00", "a\x00b", "jaeger\x00", "\\", "a\\b", "..", "../..",
    "a/../b", "\n", "a\nb", "\r\n", "\t", "%", "%zz", "%ff", "%C3%28", "%00", "<>", "{}", "|", "^", "`", "#", "?",
    "\u200b", "\ufeff", "\U0001f600", "x" * 5000, "http://a/b\x00", "http://a/b c", "_:b0", "'; DROP TABLE x; --",
]
# the same as raw percent-escapes, some of them not UTF-8 once decoded
ESCAPES = ["%00", "a%00b", "%20", "%22", "%27", "%5C", "%0A", "%0D%0A", "%FF", "%C3%28", "%E2%82", "%C0%AF",
           "%2E%2E%2F", "%25", "%"]

# the parameters each route reads (and one it does not), so that every parameter gets every string
PARAMETERS = {
    "/search": ["q", "limit", "format"],
    "/explain": ["s", "p", "o", "o_lang", "o_datatype", "o_literal", "format"],
    "/queries": ["format"],
    "/queries/lineage": ["entity", "format"],
    "/queries/entity-facts": ["entity", "format"],
    "/id/jaeger": ["format"],
    "/ontology": ["format"],
    "/": ["query"],
    "/healthz": ["x"],
    "/-/versions": ["x"],
}


def _no_500(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.get_data()[:300]!r}"


def _url_escaped(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@pytest.fixture
def hostile_client(make_app):
    # /sparql evaluates in worker processes: its own tests (test_fuzz_sparql, test_red_team_sandbox) fuzz it
    return make_app().test_client()


def test_entity_ids_with_spaces_quotes_or_nul_are_404_that_say_why(hostile_client):
    for slug in ["a b", 'a"b', "a\x00b", "jaeger\x00", "dapper ", "a\\b", "{}", "|", "%zz"]:
        for fmt in ("", "?format=ttl", "?format=jsonld"):
            response = hostile_client.get(f"/id/{_url_escaped(slug)}{fmt}", headers={"Accept": "application/json"})
            assert response.status_code == 404, (slug, fmt, response.get_data()[:200])
            message = response.get_json()["error"]["message"]
            assert "not a valid IRI" in message and len(message) < 600


def test_search_with_nul_is_400_with_the_reason(hostile_client):
    for text in ["jaeger\x00", "a\x00b", "http://a/b\x00"]:
        response = hostile_client.get(f"/search?q={_url_escaped(text)}&format=json")
        assert response.status_code == 400, response.get_data()[:200]
        assert "NUL" in response.get_json()["error"]["message"]
        page = hostile_client.get(f"/search?q={_url_escaped(text)}", headers={"Accept": "text/html"})
        assert page.status_code == 400 and b"NUL" in page.data


def test_explain_with_nul_or_bad_terms_is_400_with_the_reason(hostile_client):
    cases = {
        "s=http://a/%00&p=http://b&o=http://c": "parameter 's' must be an absolute IRI",
        "s=http://a&p=http://b/%25zz&o=http://c": "parameter 'p' must be an absolute IRI",
        "s=http://a&p=http://b&o=http://c/a%20b": "parameter 'o' must be an absolute IRI",
        "s=http://a&p=http://b&o=x&o_lang=a%20b": "o_lang must be a language tag",
        "s=http://a&p=http://b&o=x&o_lang=%00": "o_lang must be a language tag",
        "s=http://a&p=http://b&o=x&o_lang=" + "x" * 100: "o_lang must be a language tag",
        "s=http://a&p=http://b&o=x&o_datatype=http://x/%00": "parameter 'o_datatype' must be an absolute IRI",
    }
    for query, expected in cases.items():
        response = hostile_client.get(f"/explain?{query}", headers={"Accept": "application/json"})
        assert response.status_code == 400, (query, response.get_data()[:200])
        assert expected in response.get_json()["error"]["message"]


def test_every_route_answers_hostile_strings_without_a_500(app, hostile_client):
    """Every route of the app (its path variables) and every parameter it reads, with every hostile string and
    raw escape; Accept as HTML and as JSON."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("protocol.sparql", "static") or rule.endpoint.endswith(".static"):
            continue
        if not rule.arguments:
            paths.add(rule.rule)
            continue
        for value in [_url_escaped(h) for h in HOSTILE] + ESCAPES:
            paths.add(re.sub(r"<(?:[a-z]+:)?[a-z_]+>", lambda _m: value, rule.rule))  # noqa: B023
    for path in sorted(paths):
        for accept in ("text/html", "application/json"):
            _no_500(hostile_client.get(path, headers={"Accept": accept}), f"GET {path!r} Accept {accept}")
    for route, names in PARAMETERS.items():
        for name in names:
            for value in [_url_escaped(h) for h in HOSTILE] + ESCAPES:
                base = "s=http://a&p=http://b&o=http://c&" if route == "/explain" else ""
                url = f"{route}?{base}{name}={value}"
                for accept in ("text/html", "application/json"):
                    _no_500(hostile_client.get(url, headers={"Accept": accept}), f"GET {url[:120]!r} {accept}")


def test_hostile_accept_and_methods_are_never_a_500(hostile_client):
    for value in HOSTILE[:20]:
        header = value.replace("\n", " ").replace("\r", " ").replace("\x00", " ")
        _no_500(hostile_client.get("/id/jaeger", headers={"Accept": header}), f"Accept {header!r}")
        _no_500(hostile_client.get("/search?q=jae", headers={"Accept": header}), f"Accept {header!r}")
    for method in ["PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "X" * 300]:
        _no_500(hostile_client.open("/id/jaeger", method=method), method[:20])


# ------------------------------------------------------------------------------------------------ result cache

def test_result_cache_of_many_large_answers_stays_under_its_byte_bound(make_app):
    """Regression: the cache was bounded by entries only, so 256 answers of 1 MiB to 1 MiB queries held ~500 MB.
    Measured with tracemalloc: what the cache retains after 200 such answers, not what it says it holds."""
    import gc
    import tracemalloc

    from cnkg.server.evaluation import Payload

    app = make_app({"RESULT_CACHE_MIB": 16})
    cache = app.extensions["cnkg"].results
    assert cache.size == 256 and cache.max_bytes == 16 * 2**20
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(200):
            query = f"# {n}\n" + "SELECT * { ?s ?p ?o }" + " " * (512 * 1024)   # a key as /sparql makes it
            key = (query, "http://localhost/sparql", None, None, "json", 10000, 0)
            cache.put(key, Payload(bytes([n % 256]) * (1024 * 1024 - 100), 1, False))
            del query, key
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.bytes <= 16 * 2**20
    assert 8 <= len(cache) <= 11  # ~1.5 MiB an entry: the newest ten or so, not 200
    assert retained < 17 * 2**20, f"the cache retains {retained / 2**20:.1f} MiB, over its 16 MiB bound"
    newest = ("# 199\n" + "SELECT * { ?s ?p ?o }" + " " * (512 * 1024), "http://localhost/sparql", None, None,
              "json", 10000, 0)
    assert cache.get(newest) is not None


def test_result_cache_mib_zero_disables_it_and_the_cli_passes_the_setting(make_app):
    from cnkg.cli import _parser
    from cnkg.server.evaluation import Payload

    cache = make_app({"RESULT_CACHE_MIB": 0}).extensions["cnkg"].results
    cache.put("k", Payload(b"x", 1, False))
    assert cache.get("k") is None and len(cache) == 0
    args = _parser().parse_args(["serve", "--result-cache-mib", "8"])
    assert args.result_cache_mib == 8


# ------------------------------------------------------------------------------------------------ metrics

def _series(client, name: str) -> list[str]:
    text = client.get("/metrics").get_data(as_text=True)
    return [line for line in text.splitlines() if line.startswith(name + "{")]


def test_metrics_series_do_not_grow_with_client_chosen_methods_and_paths(client):
    """Regression: every method a client invented was a new label value, so a loop of requests grew /metrics (and
    the server's memory) without bound. Methods outside the standard ones count as "other", paths as their route."""
    for n in range(200):
        client.open("/healthz", method=f"M{n}")
        client.open(f"/no/such/path/{n}", method=f"X{n}")
        client.get(f"/id/entity-{n}")
        client.get(f"/queries/no-such-query-{n}")
    series = _series(client, "cnkg_http_requests_total")
    assert len(series) <= 12, "\n".join(series)
    assert any('method="other"' in s for s in series)
    assert all("M1" not in s and "/no/such" not in s and "entity-1" not in s for s in series)
    latency = {line.split('route="')[1].split('"')[0]
               for line in _series(client, "cnkg_http_request_duration_seconds_bucket")}
    assert latency <= {"/healthz", "(unmatched)", "/id/<path:slug>", "/queries/<name>", "/metrics"}


# ------------------------------------------------------------------------------------------------ slow senders

@pytest.fixture
def graceful(graph, make_app):
    """``graceful(**options)``: the app under `cnkg serve`'s HTTP server on an ephemeral loopback port, in a thread;
    yields the port and stops the server afterwards."""
    import threading
    from contextlib import contextmanager

    from cnkg.server.loop_server import LoopServer

    @contextmanager
    def start(**options):
        server = LoopServer(make_app(), grace=1.0, log=open(os.devnull, "w"), stop_workers=False, host="127.0.0.1",
                            port=0, threads=4, **options)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield server.effective_port
        finally:
            server.stop()
            thread.join(10)

    return start


def _trickle(port: int, chunks: list[bytes], every: float, give_up: float) -> tuple[float, bytes]:
    """Send ``chunks`` one every ``every`` seconds; the seconds until the server closed the connection (or
    ``give_up``), and what it answered."""
    started = time.monotonic()
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=give_up) as sock:
        sock.settimeout(every)
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # closed by the server
                return time.monotonic() - started, answer
            try:
                data = sock.recv(4096)
            except socket.timeout:
                data = None
            except OSError:
                return time.monotonic() - started, answer
            if data == b"":
                return time.monotonic() - started, answer
            answer += data or b""
            if time.monotonic() - started > give_up:
                break
    return time.monotonic() - started, answer


def test_a_client_trickling_header_bytes_is_dropped_after_the_header_timeout(graceful):
    """Regression: each byte reset waitress's idle timer, so one header byte every few seconds held a connection
    (and a place under the connection limit) for ever. Sent one byte every 0.2 s (well inside the 30 s idle
    timeout), the request is dropped after the 1 s header timeout plus at most two clean-ups."""
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 400 + b"\r\n\r\n"
    with graceful(header_timeout=1.0, channel_timeout=30) as port:
        seconds, answer = _trickle(port, [request[i:i + 1] for i in range(len(request))], every=0.2, give_up=20)
        assert seconds < 5, f"still connected after {seconds:.1f} s"
        assert answer == b""  # dropped, never answered
        # a client sending its request at once is served as before
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")


def test_a_body_trickled_below_the_minimum_rate_is_dropped(graceful):
    head = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nContent-Length: 4000\r\n\r\n"
    with graceful(header_timeout=1.0, channel_timeout=30) as port:
        seconds, answer = _trickle(port, [head] + [b"S"] * 4000, every=0.2, give_up=20)
        assert seconds < 6 and answer == b"", (seconds, answer[:100])


def test_a_body_larger_than_the_memory_buffer_arrives_whole(graceful):
    """A body past what the asyncio server keeps in memory (256 KiB) is spooled to a temporary file
    and reaches the app whole: a 600 KB query (a long comment) is answered, in a chunked body as well."""
    import http.client
    import json

    body = ("ASK { ?s ?p ?o } # " + "x" * 600_000).encode()
    with graceful(header_timeout=5.0) as port:
        for chunked in (False, True):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"}
            payload = iter([body[i:i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
            conn.request("POST", "/sparql", payload, headers, encode_chunked=chunked)
            response = conn.getresponse()
            answer = response.read()
            assert response.status == 200, answer[:300]
            assert json.loads(answer)["boolean"] is True
            conn.close()


def test_oversized_headers_are_refused_not_buffered(graceful):
    with graceful(header_timeout=5.0) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n")
            assert b" 431 Request Header Fields Too Large" in sock.recv(4096)


# ------------------------------------------------------------------------------------------------ update token

def test_an_update_token_with_a_trailing_newline_still_accepts_updates(make_app, private_graph):
    """Regression: a token read from a file or a Kubernetes secret ends with a newline, which no client sends: every
    update got 401. Surrounding whitespace is dropped when the token is read."""
    client = make_app({"ALLOW_UPDATE": True, "UPDATE_TOKEN": "s3cret-token\n"}, graph=private_graph).test_client()
    response = client.post("/sparql", data="INSERT DATA { <urn:x-test:a> <urn:x-test:b> <urn:x-test:c> }",
                           content_type="application/sparql-update",
                           headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 200, response.data


@pytest.mark.parametrize("token", ["", "  \n", "\t\r\n", "two\nlines"])
def test_a_blank_or_multiline_update_token_is_refused_at_start(make_app, private_graph, cli, monkeypatch, token):
    from cnkg.errors import InvalidInput

    with pytest.raises(InvalidInput, match="update token"):
        make_app({"ALLOW_UPDATE": True, "UPDATE_TOKEN": token}, graph=private_graph)
    monkeypatch.setenv("CNKG_UPDATE_TOKEN", token)
    result = cli("serve", "--allow-update", "--port", "0")
    assert result.code == 1 and "update token" in result.err, result.err
