"""Hostile input and HTTP/1.1 conformance of ``cnkg serve``'s HTTP server (:class:`cnkg.server.loop_server.
LoopServer`) over real sockets on 127.0.0.1. Malformed requests, request smuggling, pipelining, chunked bodies, body
limits, ``Expect: 100-continue``, HEAD, HTTP/1.0, ``Connection: close``, header names with underscores, clients that
leave or never read; its limits (connections, idle time); and a property test over arbitrary bytes.

Every test asserts what a client relies on (the status line, a header, the body's bytes, the connection closed or
kept), never how fast: the time bounds only tell an answer from a hang, with room for a loaded machine."""
from __future__ import annotations

import json
import re
import socket
import struct
import time
import urllib.parse
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import TEST_CONFIG, served

SERVERS = ["asyncio"]
LIMIT = 16 * 1024  # the module's app: MAX_BODY_BYTES (Flask's MAX_CONTENT_LENGTH)
APP_CONFIG = {**TEST_CONFIG, "MAX_BODY_BYTES": LIMIT, "MAX_ROWS": 100_000}
HEADER_TIMEOUT = 2.0  # the module's servers: seconds a request's head may take (the default, 10 s, would slow tests)
WAIT = 5.0  # seconds a test waits for an answer, or for the server to close: far above any answer here
JSON = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
ASK = "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"})
# a few MB of answer (20,000 rows of a cross product of the minimal graph's 780 triples)
LARGE_ANSWER = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 20000"


# ------------------------------------------------------------------------------------------------ servers

@pytest.fixture(scope="module")
def ports(graph):
    """name -> port: the app under each server, started once for the module (``stop_workers=False``, stopped at the
    end as ``served`` does)."""
    from cnkg.server import create_app

    with ExitStack() as stack:
        yield {name: _port(stack.enter_context(served(create_app(dict(APP_CONFIG), graph=graph),
                                                      header_timeout=HEADER_TIMEOUT)))
               for name in SERVERS}


@pytest.fixture(params=SERVERS)
def port(request, ports) -> int:
    """The port of each server in turn (tests that should see the same from both)."""
    return ports[request.param]


@pytest.fixture
def server_port(request, ports) -> int:
    """The port of the server named by the test's own ``server`` parameter (for tests that mark one of them)."""
    return ports[request.getfixturevalue("server")]


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


# ------------------------------------------------------------------------------------------------ the wire

TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# (LoopServer answers as HTTP/1.1 always; other servers answer a request they cannot parse as HTTP/1.0)
STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-5][0-9][0-9]) [^\r\n]*")


@dataclass
class Answer:
    version: str  # "1.1" or "1.0"
    status: int
    headers: dict[str, str]  # lower-cased names; repeated ones joined with ", "
    body: bytes

    def json(self):
        return json.loads(self.body)


def parse(data: bytes, head: bool = False, eof: bool = False) -> tuple[Answer, bytes] | None:
    """The first response in ``data`` and the bytes after it, or None while it is incomplete (``eof``: the server
    closed, so a body without a length ends there). AssertionError if it is not well-formed HTTP/1.1. ``head``: the
    answer to a HEAD request (no body, whatever its Content-Length)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        assert not eof, f"the connection closed inside a response's head: {data[:300]!r}"
        return None
    lines = data[:end].split(b"\r\n")
    match = STATUS_LINE.fullmatch(lines[0])
    assert match, f"not an HTTP/1.x status line: {lines[0][:200]!r}"
    version, status, headers = "1." + match.group(1).decode(), int(match.group(2)), {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        assert colon and TOKEN.fullmatch(name), f"not a header line: {line[:200]!r}"
        key, text = name.decode("latin-1").lower(), value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    rest = data[end + 4:]
    if head or status < 200 or status in (204, 304):
        return Answer(version, status, headers, b""), rest
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size_end = rest.find(b"\r\n")
            if size_end < 0:
                assert not eof, f"the connection closed inside a chunked body: {rest[-200:]!r}"
                return None
            size_text = rest[:size_end].split(b";")[0].strip()
            assert re.fullmatch(rb"[0-9a-fA-F]{1,16}", size_text), f"not a chunk size: {rest[:50]!r}"
            size = int(size_text, 16)
            if len(rest) < size_end + 2 + size + 2:
                assert not eof, "the connection closed inside a chunk"
                return None
            assert rest[size_end + 2 + size:size_end + 4 + size] == b"\r\n", "a chunk not followed by CRLF"
            body += rest[size_end + 2:size_end + 2 + size]
            rest = rest[size_end + 4 + size:]
            if size == 0:
                return Answer(version, status, headers, body), rest
    if "content-length" in headers:
        assert headers["content-length"].isdigit(), f"Content-Length {headers['content-length']!r}"
        length = int(headers["content-length"])
        if len(rest) < length:
            assert not eof, f"the connection closed {length - len(rest)} bytes short of the Content-Length"
            return None
        return Answer(version, status, headers, rest[:length]), rest[length:]
    if not eof:  # delimited by the end of the connection
        return None
    return Answer(version, status, headers, rest), b""


class Client:
    """One connection to a server on 127.0.0.1, read answer by answer."""

    def __init__(self, port: int, receive_buffer: int | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # (set before connecting: it bounds the window the server may fill)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(WAIT)
        self.sock.connect(("127.0.0.1", port))
        self.data, self.eof = b"", False

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read(self, deadline: float) -> None:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        except ConnectionResetError:
            data = b""
        if data:
            self.data += data
        else:
            self.eof = True

    def answer(self, head: bool = False, wait: float = WAIT) -> Answer | None:
        """The next whole answer; None if the server closed the connection before sending any of it. Fails if it
        is malformed, cut short, or not complete within ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while True:
            if self.eof and not self.data:
                return None
            parsed = parse(self.data, head, self.eof)
            if parsed is not None:
                answer, self.data = parsed
                return answer
            assert time.monotonic() < deadline, f"no whole answer within {wait:g} s: {self.data[:300]!r}"
            self._read(deadline)

    def closed(self, wait: float = WAIT) -> bool:
        """Whether the server closes the connection within ``wait`` seconds (what it sends meanwhile is kept)."""
        deadline = time.monotonic() + wait
        while not self.eof and time.monotonic() < deadline:
            self._read(deadline)
        return self.eof

    def silent(self, seconds: float) -> bool:
        """Whether nothing arrives, and the connection stays open, for ``seconds``."""
        before = len(self.data)
        return not self.closed(seconds) and len(self.data) == before

    def reset(self) -> None:
        """Close with a TCP reset (SO_LINGER 0), as a client that crashed."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


@dataclass
class Exchange:
    data: bytes    # all the server sent
    closed: bool   # the server closed the connection
    seconds: float


def exchange(port: int, data: bytes, wait: float = WAIT) -> Exchange:
    """Send ``data`` on a new connection, then read until the server closes it or ``wait`` seconds pass."""
    started = time.monotonic()
    with Client(port) as client:
        try:
            client.send(data)
        except OSError:  # the server closed while the rest was being sent: what it said is still to be read
            pass
        client.closed(wait)
        return Exchange(client.data, client.eof, time.monotonic() - started)


def answers(received: bytes, heads: tuple[int, ...] = (), eof: bool = True) -> list[Answer]:
    """Every whole answer in what a connection received (``eof``: up to its close, so all of it must be whole);
    ``heads``: the indexes of answers to HEAD."""
    found = []
    while received:
        parsed = parse(received, head=len(found) in heads, eof=eof)
        if parsed is None:
            break
        answer, received = parsed
        found.append(answer)
    return found


def request(target: str, method: str = "GET", headers: dict | None = None, body: bytes = b"",
            version: str = "1.1") -> bytes:
    head = [f"{method} {target} HTTP/{version}"]
    if version == "1.1":
        head.append("Host: x")
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def healthy(port: int) -> bool:
    """A new connection's GET /healthz is answered 200 with the graph's health."""
    with Client(port) as client:
        client.send(request("/healthz", headers={"Connection": "close"}))
        answer = client.answer()
    return answer is not None and answer.status == 200 and answer.json()["status"] == "ok"


def _chunked(body: bytes, size: int = 4096) -> bytes:
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"


def _ask_true(answer: Answer | None) -> bool:
    return answer is not None and answer.status == 200 and answer.json()["boolean"] is True


# ------------------------------------------------------------------------------------------------ malformed requests

HIDDEN = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"  # a request that must never be answered where it is hidden

# requests a server refuses (malformed, past a limit, or for nothing it serves): each complete (its end is in the
# bytes), so a server still waiting after WAIT seconds is hung
MALFORMED = {
    "garbage (a TLS ClientHello)": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n",
    "request line without a target": b"GET\r\n\r\n",
    "request line with a fourth part": b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    "header without a colon": b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "space before a header's colon": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n",
    "control byte in a header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
    "Content-Length not a number": request("/sparql", "POST", {"Content-Length": "abc"}),
    "Content-Length negative": request("/sparql", "POST", {"Content-Length": "-1"}),
    "Content-Length with a sign": request("/sparql", "POST", {"Content-Length": "+4"}, b"ASK "),
    "Content-Length list": request("/sparql", "POST", {"Content-Length": "0, 6"}, b"ASK {}"),
    "two different Content-Lengths": (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                                      b"Content-Length: 5\r\n\r\nabcde"),
    "bad chunk size": request("/sparql", "POST", {"Transfer-Encoding": "chunked"}, b"zz\r\nabc\r\n0\r\n\r\n"),
    "chunk without its CRLF": request("/sparql", "POST", {"Transfer-Encoding": "chunked"}, b"3\r\nabcX0\r\n\r\n"),
    "NUL byte in the target": b"GET /heal\x00thz HTTP/1.1\r\nHost: x\r\n\r\n",
    "OPTIONS *": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "URL over the 64 KiB header limit": request("/healthz?q=" + "a" * (70 * 1024)),
    "headers over the 64 KiB limit": request("/healthz", headers={f"X-{n}": "v" * 100 for n in range(700)}),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_request_gets_a_4xx_or_a_closed_connection_and_the_server_goes_on(port, name):
    with Client(port) as client:
        try:
            client.send(MALFORMED[name])
        except OSError:  # closed by the server before all was sent (a limit passed): what it said is still read
            pass
        answer = client.answer()  # (None: closed unanswered; a hang fails here, after WAIT seconds)
    if answer is not None:
        assert 400 <= answer.status < 500, (answer.status, answer.body[:300])
        if "64 KiB" in name:
            assert answer.status == 431
    assert healthy(port)


def test_an_absolute_form_target_is_served_as_its_path(port):
    """RFC 9112 §3.2.2: a server must accept the absolute form (what a proxy sends); its host is not ours to
    serve, but its path is."""
    with Client(port) as client:
        client.send(request("http://elsewhere.example/healthz"))
        answer = client.answer()
    assert answer.status == 200 and answer.json()["status"] == "ok"


def test_a_request_line_too_long_is_431_and_the_server_goes_on(ports):
    """LoopServer's own count of the 64 KiB limit (MAX_HEADER_BYTES) on a request line sent in many small writes, as
    a slow client sends it (httptools holds an unfinished line without reporting it: the server counts the reads)."""
    port = ports["asyncio"]
    with Client(port) as client:
        try:
            client.send(b"GET /healthz?q=")
            for _ in range(80):
                client.send(b"a" * 1024)
        except OSError:
            pass
        answer = client.answer()
        assert answer is None or answer.status == 431
        assert client.closed()
    assert healthy(port)


# ------------------------------------------------------------------------------------------------ smuggling

def _cl_te(te_line: bytes, version: bytes = b"1.1", te_first: bool = False) -> bytes:
    """A POST whose Content-Length covers a chunked body's end and a hidden GET after it."""
    body = b"0\r\n\r\n" + HIDDEN
    cl_line = b"Content-Length: %d" % len(body)
    framing = [te_line, cl_line] if te_first else [cl_line, te_line]
    return b"\r\n".join([b"POST /sparql HTTP/" + version, b"Host: x", b"Content-Type: application/sparql-query",
                         *framing]) + b"\r\n\r\n" + body


SMUGGLING = {
    "Content-Length then Transfer-Encoding": _cl_te(b"Transfer-Encoding: chunked"),
    "Transfer-Encoding then Content-Length": _cl_te(b"Transfer-Encoding: chunked", te_first=True),
    "Transfer-Encoding with a tab": _cl_te(b"Transfer-Encoding:\tchunked"),
    "Transfer-Encoding in capitals": _cl_te(b"Transfer-Encoding: CHUNKED"),
    "Transfer-Encoding with trailing space": _cl_te(b"Transfer-Encoding: chunked "),
    "Transfer-Encoding with a space before the colon": _cl_te(b"Transfer-Encoding : chunked"),
    "Transfer-Encoding xchunked": _cl_te(b"Transfer-Encoding: xchunked"),
    "Transfer-Encoding chunked, identity": _cl_te(b"Transfer-Encoding: chunked, identity"),
    "two Transfer-Encodings": _cl_te(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity"),
    "HTTP/1.0 keep-alive with both": _cl_te(b"Transfer-Encoding: chunked\r\nConnection: keep-alive", b"1.0"),
    "two Content-Lengths, 0 and the rest": (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                            b"Content-Length: %d\r\n\r\n" % len(HIDDEN)) + HIDDEN,
    "Content-Length list 0, the rest": (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 0, %d\r\n\r\n"
                                        % len(HIDDEN)) + HIDDEN,
}


@pytest.mark.parametrize("server, name", [(server, name) for server in SERVERS for name in SMUGGLING])
def test_a_request_hidden_in_a_body_with_conflicting_framing_is_never_answered(server, server_port, name):
    """One request whose body a proxy and the server could frame differently: the request in it must not be
    answered as a request of its own (whichever framing the server takes, nothing follows the first answer)."""
    with Client(server_port) as client:
        client.send(SMUGGLING[name])
        answer = client.answer()
        if answer is not None:  # refused (501: a transfer coding the server does not know)
            assert 400 <= answer.status < 500 or answer.status == 501, (answer.status, answer.body[:200])
        client.closed(1.0)  # closed, or nothing more for a second: a hidden request would be answered in ms
        assert client.data == b"", f"a second answer: {client.data[:300]!r}"
    assert healthy(server_port)


@pytest.mark.parametrize("server", SERVERS)
def test_a_request_with_both_content_length_and_chunked_ends_its_connection(server, server_port):
    """RFC 9112 §6.3: a request with both Content-Length and Transfer-Encoding: chunked MUST close its connection
    (waitress, cnkg's earlier server, kept it open: the reason it was dropped)."""
    with Client(server_port) as client:
        client.send(SMUGGLING["Content-Length then Transfer-Encoding"])
        answer = client.answer()
        assert answer is None or 400 <= answer.status < 500
        assert client.closed(3.0)


# ------------------------------------------------------------------------------------------------ pipelining

def test_requests_sent_in_one_write_are_answered_in_order_on_one_connection(port):
    """GET /healthz, a /sparql query and a 404, seven times over in one write: more than LoopServer reads ahead
    (MAX_PIPELINED, 16); the last asks to close."""
    cycle = [request("/healthz"), request(ASK, headers={"Accept": JSON}), request("/no/such/page")]
    wire = b"".join(cycle * 6 + cycle[:2]) + request("/no/such/page", headers={"Connection": "close"})
    with Client(port) as client:
        client.send(wire)
        got = [client.answer() for _ in range(21)]
        assert client.closed()
    for n, answer in enumerate(got):
        assert answer is not None, f"answer {n} is missing"
        if n % 3 == 0:
            assert answer.status == 200 and answer.json()["status"] == "ok"
        elif n % 3 == 1:
            assert _ask_true(answer)
        else:
            assert answer.status == 404 and answer.json()["error"]["status"] == 404
    assert got[-1].headers.get("connection", "").lower() == "close"


def test_a_malformed_request_after_a_good_one_gets_400_after_the_good_answer_then_the_connection_closes(port):
    with Client(port) as client:
        client.send(request("/healthz") + b"GARBAGE\x01\x02 / HTTP/1.1\r\n\r\n" + HIDDEN)
        first, second = client.answer(), client.answer()
        assert first.status == 200 and first.json()["status"] == "ok"
        assert second is not None and second.status == 400
        assert client.closed()
        assert client.data == b""  # the request after the bad one is not answered


def test_the_next_request_waits_for_a_slow_answer_on_the_same_connection(port):
    """A query answered on a worker, then /healthz answered at once elsewhere: the order of the answers is the
    order of the requests, not of their readiness."""
    slow = "/sparql?" + urllib.parse.urlencode({"query": LARGE_ANSWER.replace("20000", "3000")})
    with Client(port) as client:
        client.send(request(slow, headers={"Accept": "text/csv"}) + request("/healthz"))
        first, second = client.answer(), client.answer()
    assert first.status == 200 and first.body.count(b"\n") > 3000
    assert second.status == 200 and second.json()["status"] == "ok"


# ------------------------------------------------------------------------------------------------ request bodies

def test_a_chunked_query_is_answered(port):
    body = _chunked(b"query=ASK+%7B%7D", size=5)
    with Client(port) as client:
        client.send(request("/sparql", "POST", {"Content-Type": FORM, "Accept": JSON,
                                                "Transfer-Encoding": "chunked"}, body) + request("/healthz"))
        assert _ask_true(client.answer())
        assert client.answer().status == 200  # the connection goes on after a chunked body


@pytest.mark.parametrize("server", SERVERS)
def test_a_chunked_body_over_the_limit_is_413_not_answered_cut(server, server_port):
    """A form whose first bytes are a whole query and whose rest (past MAX_BODY_BYTES) is padding: 413, as for the
    same body with a Content-Length; never the answer to the query."""
    form = b"query=ASK+%7B%7D&pad=" + b"a" * (2 * LIMIT)
    with Client(server_port) as client:
        client.send(request("/sparql", "POST", {"Content-Type": FORM, "Accept": JSON, "Transfer-Encoding": "chunked"},
                            _chunked(form)))
        answer = client.answer()
    assert answer is not None and answer.status == 413, (answer.status, answer.body[:200])
    assert healthy(server_port)


@pytest.mark.parametrize("server", SERVERS)
def test_a_chunked_update_over_the_limit_is_413_and_changes_nothing(server, make_app):
    """Two operations, the second past the limit: a client told 413 knows nothing was applied; a client told 200
    believes both were."""
    app = make_app({"MAX_BODY_BYTES": LIMIT, "ALLOW_UPDATE": True, "UPDATE_TOKEN": "s3cret"})
    update = (b"INSERT DATA { <urn:x-test:s> <urn:x-test:p> <urn:x-test:first> } ;\n#" + b"x" * (2 * LIMIT)
              + b"\nINSERT DATA { <urn:x-test:s> <urn:x-test:p> <urn:x-test:second> }")
    check = "/sparql?" + urllib.parse.urlencode({"query": "SELECT ?o WHERE { <urn:x-test:s> <urn:x-test:p> ?o }"})
    with served(app) as url:
        with Client(_port(url)) as client:
            client.send(request("/sparql", "POST", {"Content-Type": "application/sparql-update",
                                                    "Authorization": "Bearer s3cret", "Transfer-Encoding": "chunked"},
                                _chunked(update)))
            answer = client.answer()
        with Client(_port(url)) as client:
            client.send(request(check, headers={"Accept": JSON}))
            rows = client.answer().json()["results"]["bindings"]
    assert rows == [], f"applied in part: {rows}"
    assert answer is not None and answer.status == 413, (answer.status, answer.body[:200])


def test_a_chunked_body_over_the_limit_is_refused_and_the_server_goes_on(port):
    form = b"pad=" + b"a" * (4 * LIMIT)
    with Client(port) as client:
        client.send(request("/sparql", "POST", {"Content-Type": FORM, "Transfer-Encoding": "chunked"},
                            _chunked(form)))
        answer = client.answer()
        assert answer is not None and 400 <= answer.status < 500 and answer.status != 200
    assert healthy(port)


def test_the_same_body_with_a_content_length_over_the_limit_is_413(port):
    form = b"query=ASK+%7B%7D&pad=" + b"a" * (2 * LIMIT)
    with Client(port) as client:
        client.send(request("/sparql", "POST", {"Content-Type": FORM, "Content-Length": str(len(form))}, form))
        answer = client.answer()
    assert answer.status == 413
    assert healthy(port)


def test_a_declared_body_of_10_gb_is_413_at_once_and_the_connection_ends(port):
    """Only a few bytes of the 10 GB are sent: the 413 comes without waiting for the rest, says it closes, and the
    server does close (LoopServer keeps reading, and dropping, what the client still sends until the body falls
    behind its minimum rate: the header timeout)."""
    started = time.monotonic()
    with Client(port) as client:
        client.send(request("/sparql", "POST", {"Content-Type": "application/sparql-query",
                                                "Content-Length": str(10 * 10**9)}, b"ASK {}"))
        answer = client.answer()
        answered = time.monotonic() - started
        assert answer is not None and answer.status == 413
        assert answered < WAIT
        assert answer.headers.get("connection", "").lower() == "close"
        assert client.closed(HEADER_TIMEOUT + WAIT)
    assert healthy(port)


def test_a_declared_body_over_the_limit_is_413_without_waiting_for_it(ports):
    """A Content-Length above the app's MAX_BODY_BYTES is answered from the head, without waiting for the body."""
    with Client(ports["asyncio"]) as client:
        client.send(request("/sparql", "POST", {"Content-Type": "application/sparql-query",
                                                "Content-Length": str(LIMIT + 1)}, b"ASK {}"))
        answer = client.answer()
    assert answer is not None and answer.status == 413


def test_expect_100_continue_gets_100_before_the_body_then_the_answer(port):
    with Client(port) as client:
        client.send(request("/sparql", "POST", {"Content-Type": "application/sparql-query", "Accept": JSON,
                                                "Content-Length": "6", "Expect": "100-continue"}))
        interim = client.answer()  # before the body is sent
        assert interim is not None and interim.status == 100
        client.send(b"ASK {}")
        assert _ask_true(client.answer())


def test_expect_100_continue_with_a_body_over_the_limit_is_413_without_100(ports):
    """LoopServer's own: the body is refused from the head, so the client is not asked for it."""
    with Client(ports["asyncio"]) as client:
        client.send(request("/sparql", "POST", {"Content-Type": "application/sparql-query", "Expect": "100-continue",
                                                "Content-Length": str(LIMIT + 1)}))
        answer = client.answer()
    assert answer is not None and answer.status == 413


@pytest.mark.parametrize("server", SERVERS)
def test_expect_100_continue_in_http_1_0_is_ignored(server, server_port):
    with Client(server_port) as client:
        client.send(request("/sparql", "POST", {"Content-Type": "application/sparql-query", "Accept": JSON,
                                                "Content-Length": "6", "Expect": "100-continue"}, version="1.0"))
        assert client.silent(1.0), f"sent to an HTTP/1.0 client: {client.data[:100]!r}"
        client.send(b"ASK {}")
        assert _ask_true(client.answer())


@pytest.mark.parametrize("server", SERVERS)
def test_a_post_offering_an_upgrade_is_answered_with_its_body(server, server_port):
    """RFC 9110 §7.8: a server may ignore Upgrade; the request is then an ordinary one, body included."""
    with Client(server_port) as client:
        client.send(request("/sparql", "POST", {"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c",
                                                "HTTP2-Settings": "AAMAAABkAAQCAAAAAAIAAAAA",
                                                "Content-Type": "application/sparql-query", "Accept": JSON,
                                                "Content-Length": "6"}, b"ASK {}"))
        assert _ask_true(client.answer())


def test_a_get_offering_an_upgrade_is_answered_as_http_1_1(port):
    with Client(port) as client:
        client.send(request("/healthz", headers={"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c",
                                                 "HTTP2-Settings": "AAMAAABkAAQCAAAAAAIAAAAA"}))
        answer = client.answer()
    assert answer.status == 200 and answer.json()["status"] == "ok"


H2C = {"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQCAAAAAAIAAAAA"}


def test_requests_offering_an_upgrade_leave_the_connection_in_step(ports):
    """An upgrade declined, the connection goes on in HTTP/1.1: a GET and a POST offering h2c (the POST's body once
    with a length, once chunked), each followed on the same connection, in the same write, by a plain request."""
    chunked = b"6\r\nASK {}\r\n0\r\n\r\n"
    sparql = {"Content-Type": "application/sparql-query", "Accept": JSON}
    sent = (request("/healthz", headers=H2C) + request(ASK, headers={"Accept": JSON})
            + request("/sparql", "POST", {**H2C, **sparql, "Content-Length": "6"}, b"ASK {}")
            + request("/healthz")
            + request("/sparql", "POST", {**H2C, **sparql, "Transfer-Encoding": "chunked"}, chunked)
            + request(ASK, headers={"Accept": JSON, "Connection": "close"}))
    reply = exchange(ports["asyncio"], sent)
    assert reply.closed
    got = answers(reply.data)
    assert [a.status for a in got] == [200] * 6, [(a.status, a.body[:100]) for a in got]
    assert got[0].json()["status"] == "ok" and got[3].json()["status"] == "ok"
    assert all(_ask_true(got[n]) for n in (1, 2, 4, 5))


def test_a_transfer_coding_other_than_chunked_is_501_not_passed_on_encoded(ports):
    """llhttp takes the chunks apart and leaves any other coding on the body: a gzip-coded body would reach the app
    as compressed bytes (waitress answers 501 too)."""
    reply = exchange(ports["asyncio"], request("/sparql", "POST", {
        "Content-Type": "application/sparql-query", "Transfer-Encoding": "gzip, chunked"}, b"6\r\nASK {}\r\n0\r\n\r\n"))
    got = answers(reply.data)
    assert reply.closed and [a.status for a in got] == [501]
    assert got[0].json()["error"]["reason"] == "not_implemented"
    assert healthy(ports["asyncio"])


def test_an_http_1_1_request_without_host_is_400(ports):
    """RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host (HTTP/1.0 may omit it)."""
    reply = exchange(ports["asyncio"], b"GET /healthz HTTP/1.1\r\n\r\n")
    got = answers(reply.data)
    assert reply.closed and [a.status for a in got] == [400]
    assert "Host" in got[0].json()["error"]["message"]


def test_the_413_for_a_declared_body_ends_at_once_while_the_rest_is_still_read(ports):
    """The body past the limit is read and dropped (a client still sending is not reset), but the answer's end is
    sent at once (the server closes its side): the client does not wait for a deadline to learn it is done."""
    with Client(ports["asyncio"]) as client:
        client.send(request("/sparql", "POST", {"Content-Type": "application/sparql-query",
                                                "Content-Length": str(10 * LIMIT)}, b"ASK {} #"))
        answer = client.answer()
        assert answer.status == 413 and answer.headers["connection"] == "close"
        started = time.monotonic()
        assert client.closed(1.0), "the server did not end its side after the 413"
        assert time.monotonic() - started < 1.0
        client.send(b"x" * 4096)  # the server still reads what the client goes on sending: no reset


# ------------------------------------------------------------------------------------------------ HEAD, versions, close

def test_head_has_the_headers_but_no_body_and_the_connection_stays_in_step(port):
    with Client(port) as client:
        client.send(request("/healthz", "HEAD"))
        head = client.answer(head=True)
        assert head.status == 200 and int(head.headers["content-length"]) > 0
        assert client.silent(0.3), f"bytes after the answer to HEAD: {client.data[:100]!r}"
        client.send(request("/healthz"))
        answer = client.answer()
    assert answer.status == 200 and answer.json()["status"] == "ok"
    assert len(answer.body) == int(head.headers["content-length"])


def test_head_then_get_in_one_write_are_both_answered(port):
    reply = exchange(port, request("/healthz", "HEAD") + request("/healthz", headers={"Connection": "close"}))
    assert reply.closed
    head, get = answers(reply.data, heads=(0,))
    assert head.status == 200 and head.body == b""
    assert get.status == 200 and get.json()["status"] == "ok"


def test_http_1_0_without_host_is_answered_and_closed(port):
    with Client(port) as client:
        client.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        answer = client.answer()
        assert answer is not None and answer.status == 200 and answer.json()["status"] == "ok"
        assert client.closed()


def test_http_1_0_keep_alive_keeps_the_connection_for_another_request(port):
    with Client(port) as client:
        for _ in range(2):
            client.send(request("/healthz", headers={"Connection": "keep-alive"}, version="1.0"))
            answer = client.answer()
            assert answer is not None and answer.status == 200 and answer.json()["status"] == "ok"
            assert answer.headers.get("connection", "").lower() == "keep-alive"
        client.send(request("/healthz", version="1.0"))  # no keep-alive asked: the last
        assert client.answer().status == 200
        assert client.closed()


def test_connection_close_is_honoured(port):
    with Client(port) as client:
        client.send(request("/healthz", headers={"Connection": "close"}) + HIDDEN)
        answer = client.answer()
        assert answer.status == 200 and answer.headers.get("connection", "").lower() == "close"
        assert client.closed()
        assert client.data == b""  # the request after it is not answered


@pytest.mark.parametrize("server", SERVERS)
def test_a_client_that_half_closes_after_its_request_gets_its_answer(server, server_port):
    """The request is a query new to the server (a worker evaluates it for a while), so the client's end of sending
    reaches the server before the answer is ready, every time."""
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a ?b ?c . ?d ?e ?f }} # {time.monotonic_ns()}"
    with Client(server_port) as client:
        client.send(request("/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": JSON}))
        client.sock.shutdown(socket.SHUT_WR)
        answer = client.answer()
    assert answer is not None and answer.status == 200
    assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) > 0


# ------------------------------------------------------------------------------------------------ header names

def test_a_header_name_with_an_underscore_is_dropped(port):
    """``Content_Type`` would become CONTENT_TYPE in the WSGI environment if kept (as Content-Type does): dropped,
    as waitress drops it, the query has no type (415); the same header with a dash is the control."""
    for name, status in (("Content_Type", 415), ("Content-Type", 200)):
        with Client(port) as client:
            client.send(request("/sparql", "POST", {name: "application/sparql-query", "Accept": JSON,
                                                    "Content-Length": "6"}, b"ASK {}"))
            answer = client.answer()
        assert answer.status == status, (name, answer.body[:200])


# ------------------------------------------------------------------------------------------------ LoopServer's limits

def test_a_413_pipelined_behind_another_request_is_answered_and_its_connection_ends(make_app):
    """Regression: the answer to a body past the limit, received while another request was in service, was never
    started, and the connection (nothing in service, nothing to write) escaped every deadline: a few such clients
    held the whole connection limit."""
    with served(make_app({"MAX_BODY_BYTES": LIMIT}), connection_limit=2,
                header_timeout=1.0, channel_timeout=2.0) as url:
        port = _port(url)
        for _ in range(3):  # more than the connection limit, one after another
            with Client(port) as client:
                client.send(request("/-/versions") + request("/sparql", "POST", {
                    "Content-Type": "application/sparql-query", "Content-Length": str(100 * LIMIT)}, b"ASK {}"))
                first, second = client.answer(), client.answer()
                assert first.status == 200 and second.status == 413
                assert client.closed(), "the connection of a 413 was left open"


def test_hundreds_of_pipelined_cached_queries_in_one_write_are_all_answered(ports):
    """Regression: each answer from the result cache started the next request from within itself, one call deeper
    per request: past ~250 in one read, RecursionError, and the rest were dropped."""
    one = request(ASK, headers={"Accept": JSON})
    reply = exchange(ports["asyncio"], one * 399 + request(ASK, headers={"Accept": JSON, "Connection": "close"}),
                     wait=30)
    got = answers(reply.data)
    assert len(got) == 400 and all(_ask_true(answer) for answer in got)


def test_a_client_that_sends_and_never_reads_is_cut_off_with_the_servers_memory_bounded(make_app):
    """Regression: answers written on the loop ignored the connection's full buffer, and each request read refreshed
    the idle timer: a client pipelining queries without reading grew the server's memory by hundreds of MB. Now the
    connection stops being read while its buffer is full, so the idle timeout ends it."""
    app = make_app()
    query = request("/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 50"}),
                    headers={"Accept": JSON})
    with served(app, channel_timeout=1.0) as url:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", _port(url)))
        sock.settimeout(1.0)
        sent, started, cut = 0, time.monotonic(), False
        try:
            while time.monotonic() - started < 15:
                sock.sendall(query * 20)
                sent += 20
                time.sleep(0.005)
        except OSError:
            cut = True
        finally:
            sock.close()
    assert cut, f"still connected after 15 s and {sent} requests, nothing read"


def test_a_client_that_resets_frees_its_querys_worker_before_the_deadline(make_app):
    """Regression: a query whose client had gone (a reset) kept its worker busy until its deadline."""
    app = make_app({"QUERY_TIMEOUT": 30})
    pool = app.extensions["cnkg"].sandbox
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    with served(app) as url:
        client = Client(_port(url))
        body = urllib.parse.urlencode({"query": slow}).encode()
        client.send(request("/sparql", "POST", {"Content-Type": FORM, "Content-Length": str(len(body))}, body))
        deadline = time.monotonic() + 10
        while not pool.running and time.monotonic() < deadline:  # the query is running
            time.sleep(0.01)
        assert pool.running == 1
        client.reset()
        deadline = time.monotonic() + 5
        while pool.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.running == 0, "the query of a client that left still holds its worker"


def test_trailers_past_the_head_limit_end_the_connection(ports):
    """Regression: trailer fields after a chunked body were kept (and passed on as headers) without any limit."""
    with Client(ports["asyncio"]) as client:
        client.send(request("/sparql", "POST", {"Content-Type": "application/sparql-query",
                                                "Transfer-Encoding": "chunked"}, b"6\r\nASK {}\r\n0\r\n"))
        try:
            for _ in range(200):
                client.send(b"X-Trailer: " + b"a" * 1000 + b"\r\n")
        except OSError:
            pass
        assert client.closed(), "200 KB of trailers kept the connection open"


def test_past_the_connection_limit_a_new_connection_waits_until_one_closes(make_app):
    with served(make_app(), connection_limit=3) as url:
        port = _port(url)
        with ExitStack() as stack:
            held = [stack.enter_context(Client(port)) for _ in range(3)]
            for client in held:  # each accepted and served: then idle, kept alive
                client.send(request("/healthz"))
                assert client.answer().status == 200
            with Client(port) as waiting:  # (connected: the kernel's backlog holds it)
                waiting.send(request("/healthz"))
                assert waiting.silent(1.0), "a fourth connection was served while three were open"
                held[0].sock.close()
                answer = waiting.answer()
                assert answer is not None and answer.status == 200


def test_an_idle_connection_is_closed_after_the_channel_timeout(make_app):
    with served(make_app(), channel_timeout=1.0) as url:
        port = _port(url)
        with Client(port) as kept, Client(port) as silent:
            kept.send(request("/healthz"))
            assert kept.answer().status == 200
            assert kept.closed(1.0 + WAIT), "a kept-alive connection idle past the channel timeout is still open"
            assert silent.closed(1.0 + WAIT), "a connection that never sent anything is still open"
            assert kept.data == silent.data == b""
        assert healthy(port)


# ------------------------------------------------------------------------------------------------ clients that leave

def _leave(client: Client, data: bytes, rude: bool, read_first: bool = False) -> None:
    """Send ``data``, maybe read the answer's first bytes, then leave: with a reset (``rude``) or a close."""
    client.send(data)
    if read_first:
        client._read(time.monotonic() + WAIT)
        assert client.data.startswith(b"HTTP/1.1 200")
    if rude:
        client.reset()
    else:
        client.sock.close()


def test_clients_that_leave_mid_request_or_mid_answer_do_not_break_the_server(port):
    large = request("/sparql?" + urllib.parse.urlencode({"query": LARGE_ANSWER}), headers={"Accept": JSON})
    cuts = [
        request("/healthz")[:20],                                                  # in the request line
        request("/sparql", "POST", {"Content-Length": "1000", "Content-Type": FORM}, b"query=ASK"),   # in the body
        request("/sparql", "POST", {"Transfer-Encoding": "chunked", "Content-Type": FORM}, b"10\r\nquery="),
    ]
    for data in cuts:
        for rude in (False, True):
            _leave(Client(port), data, rude)
    for rude in (False, True):  # mid-answer: a few MB asked for, its first bytes read
        _leave(Client(port), large, rude, read_first=True)
    assert healthy(port)
    with Client(port) as client:
        client.send(request(ASK, headers={"Accept": JSON}))
        assert _ask_true(client.answer())


def test_a_client_that_never_reads_its_large_answer_does_not_hold_up_others(port):
    """A big form query (a long comment) whose answer is a few MB, from a client with a small receive window that
    reads none of it: others are answered meanwhile, on the loop and on threads."""
    form = urllib.parse.urlencode({"query": "# " + "x" * (LIMIT // 2) + "\n" + LARGE_ANSWER}).encode()
    with Client(port, receive_buffer=4096) as stuck:
        stuck.send(request("/sparql", "POST", {"Content-Type": FORM, "Accept": JSON,
                                               "Content-Length": str(len(form))}, form))
        time.sleep(0.5)  # its answer is being written, into a full window
        for n in range(3):
            with Client(port) as other:
                query = "/sparql?" + urllib.parse.urlencode({"query": f"ASK {{}} # {n}"})
                other.send(request(query, headers={"Accept": JSON}) + request("/healthz")
                           + request("/id/jaeger", headers={"Accept": "application/json", "Connection": "close"}))
                assert _ask_true(other.answer())
                assert other.answer().status == 200
                assert other.answer().status == 200
        stuck._read(time.monotonic() + 1.0)
        assert stuck.data.startswith(b"HTTP/1.1 200")  # it was being answered, all along


# ------------------------------------------------------------------------------------------------ arbitrary bytes

FUZZ_HEADER_TIMEOUT = 0.5  # short, so that a request left incomplete is closed quickly


@pytest.fixture(scope="module")
def fuzz_port(graph):
    """LoopServer with short deadlines: an incomplete request is closed within a second."""
    from cnkg.server import create_app

    with served(create_app(dict(APP_CONFIG), graph=graph),
                header_timeout=FUZZ_HEADER_TIMEOUT, channel_timeout=1.0) as url:
        yield _port(url)


VALID = [
    request("/healthz"),
    request(ASK, headers={"Accept": JSON}),
    request("/sparql", "POST", {"Content-Type": FORM, "Content-Length": "16"}, b"query=ASK+%7B%7D"),
    request("/sparql", "POST", {"Content-Type": "application/sparql-query", "Transfer-Encoding": "chunked"},
            b"6\r\nASK {}\r\n0\r\n\r\n"),
    request("/healthz", "HEAD", {"Connection": "keep-alive"}, version="1.0"),
    request("/sparql", "POST", {"Content-Type": "application/sparql-query", "Content-Length": "6",
                                "Expect": "100-continue"}, b"ASK {}"),
]
# pieces a mutation inserts: the bytes HTTP framing turns on
PIECES = [b"\r\n", b"\n", b"\r", b"\x00", b":", b" ", b"\t", b"\xff", b"%00", b"Content-Length: 99\r\n",
          b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n", b"Expect: 100-continue\r\n",
          b"Connection: close\r\n", b"Connection: Upgrade\r\nUpgrade: h2c\r\n", b"HTTP/1.0", b"HTTP/2.0", b"HEAD",
          b"X_Y: z\r\n", b"\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n", b"ffffffffffffffff\r\n"]


@st.composite
def mutated_requests(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "duplicate", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(PIECES) | st.binary(min_size=1, max_size=6))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == "duplicate":
            data[at:at] = data[at:at + draw(st.integers(1, 40))]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


def _answered_well_or_closed(port: int, data: bytes) -> None:
    """Within WAIT seconds: a well-formed HTTP/1.1 answer under 500 (after any 100 Continue), or the connection
    closed; then the server still answers another client."""
    deadline = time.monotonic() + WAIT
    with Client(port) as client:
        try:
            client.send(data)
        except OSError:  # closed by the server before all was sent
            pass
        answer = client.answer(head=data.startswith(b"HEAD "), wait=WAIT)
        while answer is not None and answer.status == 100:
            answer = client.answer(head=data.startswith(b"HEAD "), wait=max(0.0, deadline - time.monotonic()))
        event("closed unanswered" if answer is None else f"answered {answer.status}")
        if answer is not None:
            assert answer.version == "1.1" and answer.status < 500, (answer.status, answer.body[:300], data[:300])
    assert healthy(port)


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400) | st.binary(max_size=200).map(lambda b: b + b"\r\n\r\n"))
def test_arbitrary_bytes_get_a_well_formed_answer_or_a_close(fuzz_port, data):
    _answered_well_or_closed(fuzz_port, data)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=mutated_requests())
def test_mutated_requests_get_a_well_formed_answer_or_a_close(fuzz_port, data):
    _answered_well_or_closed(fuzz_port, data)
