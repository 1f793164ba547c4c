"""Red team: the remote store's credentials stay with the remote store (issue 22, "credentials that stay put").

Two loopback HTTP servers on different ports are two origins: the store cnkg was given, and another one it is
redirected to. Each records the ``Authorization`` headers it receives. The other one must never see the bearer
token or the user's password, whether it is reached by a redirect or challenges on its own; a password written in
a store URL is refused and never repeated; a public client of ``cnkg serve --sparql-url`` learns that the store
failed, never its URL or its words.
"""
from __future__ import annotations

import json
import logging
import time
import urllib.parse

import pytest

import cnkg
from cnkg import remote
from cnkg.errors import RemoteError
from conftest import TEST_CONFIG
from cnkg.server import create_app
from scripted_server import EMPTY_SELECT, RESULTS, Scripted

TOKEN = "tok-3b9f1c2e"
ALLOW_CLEARTEXT = "CNKG_REMOTE_ALLOW_CLEARTEXT"  # the documented opt-in
PASSWORD = "pw-hunter2-77"


def redirect_to(target: str, code: int = 302):
    return lambda method, path, body: (code, {"Location": target + path}, b"")


def failure(call, *args, **kwargs) -> RemoteError | None:
    """The RemoteError ``call`` raised, or None (checked after what the servers received)."""
    try:
        call(*args, **kwargs)
    except RemoteError as exc:
        return exc
    return None


@pytest.fixture
def other():
    """The other origin: a loopback server on another port that would gladly take credentials."""
    with Scripted(lambda m, p, b: (200, {"Content-Type": "application/n-triples"}, b"")) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_remote_credentials_in_env(monkeypatch):
    for name in ("CNKG_REMOTE_TOKEN", "CNKG_REMOTE_USER", "CNKG_REMOTE_PASSWORD", ALLOW_CLEARTEXT):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------------------------- redirects

@pytest.mark.parametrize("method, code", [("GET", 301), ("GET", 302), ("GET", 303), ("GET", 307), ("GET", 308),
                                          ("POST", 301), ("POST", 302), ("POST", 303)])
def test_a_bearer_token_never_follows_a_redirect_to_another_origin(other, method, code):
    with Scripted(redirect_to(other.url, code)) as store:
        client = remote.Client(remote.Credentials(token=TOKEN), retries=0)
        caught = failure(client.send, method, f"{store.url}/query", b"query=ASK%7B%7D" if method == "POST" else None)
    assert other.authorizations == []
    assert other.requests == []  # not even without the token: the redirect is not followed at all
    assert caught is not None and caught.kind == "unsafe"
    assert "another origin" in caught.message and other.url in caught.message and TOKEN not in caught.message
    assert store.authorizations == [f"Bearer {TOKEN}"]  # the store itself got it, once


def test_push_never_sends_the_token_where_the_store_redirects(graph, other):
    """``cnkg push`` to a store that redirects everything elsewhere: it stops, and the other host saw nothing."""
    with Scripted(redirect_to(other.url)) as store:
        client = remote.Client(remote.Credentials(token=TOKEN), retries=0)
        caught = failure(remote.push, graph.store, f"{store.url}/store", client=client)
    assert other.authorizations == [] and other.requests == []
    assert caught is not None and caught.kind == "unsafe" and TOKEN not in str(caught)


@pytest.mark.parametrize("code", [307, 308])
def test_a_same_origin_307_or_308_keeps_the_method_the_body_and_the_token(code):
    def answer(method, path, body):
        if path == "/query":
            return code, {"Location": "/moved/query"}, b""
        return 200, RESULTS, EMPTY_SELECT

    body = urllib.parse.urlencode({"query": "ASK {}"}).encode()
    with Scripted(answer) as store:
        client = remote.Client(remote.Credentials(token=TOKEN), retries=0)
        with client.open("POST", f"{store.url}/query", body, {"Content-Type": "application/x-www-form-urlencoded"}) \
                as response:
            assert response.status == 200 and response.read() == EMPTY_SELECT
    assert [(m, p, a, b) for m, p, a, b in store.requests] == [
        ("POST", "/query", f"Bearer {TOKEN}", body), ("POST", "/moved/query", f"Bearer {TOKEN}", body)]


def test_a_redirect_that_would_drop_the_body_is_refused_with_the_url_to_use():
    """A 303 answer to a POST would be followed by a GET without the query: cnkg says where to go instead."""
    def answer(method, path, body):
        if path == "/query":
            return 303, {"Location": "/sparql"}, b""
        return 200, RESULTS, EMPTY_SELECT

    with Scripted(answer) as store:
        client = remote.Client(retries=0)
        with pytest.raises(RemoteError) as caught:
            client.send("POST", f"{store.url}/query", b"query=ASK%7B%7D")
    assert caught.value.status == 303 and f"{store.url}/sparql" in caught.value.message
    assert [m for m, *_ in store.requests] == ["POST"]


# ---------------------------------------------------------------------------------------------- challenges

@pytest.mark.parametrize("challenge", ['Basic realm="store"', 'Digest realm="store", nonce="abc", qop="auth"'])
def test_a_password_never_answers_another_hosts_challenge(challenge):
    """The store redirects a GET to another host that asks for credentials: it never gets them. The store's own
    challenge, on the other hand, is answered."""
    with Scripted(lambda m, p, b: (401, {"WWW-Authenticate": challenge}, b"")) as elsewhere, \
            Scripted(redirect_to(elsewhere.url)) as store:
        client = remote.Client(remote.Credentials(user="dba", password=PASSWORD), retries=0)
        caught = failure(client.send, "GET", f"{store.url}/store?graph=x")
    assert elsewhere.authorizations == []
    assert caught is not None and caught.kind == "unsafe" and PASSWORD not in caught.message

    def own(method, path, body):  # the store's own Basic challenge, then its answer to the right credentials
        return (200, RESULTS, EMPTY_SELECT) if own_store.authorizations else (401, {"WWW-Authenticate":
                                                                                     'Basic realm="store"'}, b"")

    with Scripted(own) as own_store:
        client = remote.Client(remote.Credentials(user="dba", password=PASSWORD), retries=0)
        assert client.send("GET", f"{own_store.url}/store?graph=x") == 200
    assert own_store.authorizations == ["Basic ZGJhOnB3LWh1bnRlcjItNzc="]  # dba:pw-hunter2-77


def test_credentials_go_over_plain_http_only_to_loopback(cli, monkeypatch):
    far = "http://192.0.2.1:9/query"  # TEST-NET-1: not this machine, and nothing answers there
    started = time.monotonic()
    with pytest.raises(cnkg.InvalidInput, match=ALLOW_CLEARTEXT):
        remote.Client(remote.Credentials(token=TOKEN), retries=0, timeout=0.3).send("GET", far)
    assert time.monotonic() - started < 0.3  # refused before any connection was tried
    # the explicit opt-in, https, or no credentials at all: the request is made (and finds nobody there)
    for client, url in [(remote.Client(remote.Credentials(token=TOKEN, allow_cleartext=True)), far),
                        (remote.Client(remote.Credentials(token=TOKEN)), "https://192.0.2.1:9/query"),
                        (remote.Client(), far)]:
        client.retries, client.timeout = 0, 0.3
        with pytest.raises(RemoteError) as caught:
            client.send("GET", url)
        assert caught.value.kind in ("timeout", "unreachable")
    assert remote.Credentials.from_env({"CNKG_REMOTE_TOKEN": TOKEN, ALLOW_CLEARTEXT: "1"}).allow_cleartext
    with pytest.raises(cnkg.InvalidInput, match=ALLOW_CLEARTEXT):
        remote.Credentials.from_env({ALLOW_CLEARTEXT: "sure"})
    # the same rule when serving: exit 1 before anything is sent
    monkeypatch.setenv("CNKG_REMOTE_TOKEN", TOKEN)
    result = cli("serve", "--sparql-url", far)
    assert result.code == 1 and ALLOW_CLEARTEXT in result.err and TOKEN not in result.err


# ---------------------------------------------------------------------------------------------- never echoed

def test_a_password_in_a_store_url_is_refused_and_never_repeated(cli, graph):
    with Scripted() as store:
        url = store.url.replace("http://", f"http://dba:{PASSWORD}@") + "/query"
        with pytest.raises(cnkg.InvalidInput) as caught:
            remote.RemoteStore(url)
        message = str(caught.value)
        assert PASSWORD not in message and "dba" not in message
        assert f"http://***@127.0.0.1:{store.server_address[1]}/query" in message
        assert "CNKG_REMOTE_USER" in message and "CNKG_REMOTE_PASSWORD" in message
        with pytest.raises(cnkg.InvalidInput) as caught:
            remote.push(graph.store, url.replace("/query", "/store"), dry_run=True)
        assert PASSWORD not in str(caught.value)
        for args in (["serve", "--sparql-url", url], ["push", url.replace("/query", "/store"), "--dry-run"],
                     ["push", f"{store.url}/store", "--query-url", url]):
            result = cli(*args)
            assert result.code == 1, result
            assert PASSWORD not in result.out + result.err and "***@" in result.err
        assert store.requests == []  # nothing was sent with it either


@pytest.mark.parametrize("credentials, secret", [
    (remote.Credentials(token=TOKEN), TOKEN),
    (remote.Credentials(user="dba", password=PASSWORD), PASSWORD),
    (remote.Credentials(user="dba", password=PASSWORD), "ZGJhOnB3LWh1bnRlcjItNzc="),  # the Basic header's value
])
def test_what_a_store_echoes_back_is_scrubbed_of_credentials(credentials, secret):
    """A failing store that repeats the request (a debugging proxy, say) in its error body: cnkg's message keeps
    the store's words but never the token, the password or the Basic header."""
    said = f"internal error; request headers: Authorization: Bearer {TOKEN} / Basic ZGJhOnB3LWh1bnRlcjItNzc= / " \
           f"password={PASSWORD}".encode()
    with Scripted(lambda m, p, b: (500, {"Content-Type": "text/plain"}, said)) as store:
        client = remote.Client(credentials, retries=0)
        with pytest.raises(RemoteError) as caught:
            client.send("GET", f"{store.url}/store")
    assert "internal error" in caught.value.message
    assert secret not in caught.value.message and secret not in caught.value.detail


# ---------------------------------------------------------------------------------------------- public 502s

CATALOGUE = json.dumps({"head": {"vars": ["g"]}, "results": {"bindings": [
    {"g": {"type": "uri", "value": "https://w3id.org/cnkg/graph/curated"}}]}}).encode()
INTERNAL_WORDS = b"stack trace at db-7.internal.example:8890 in sparql_engine.c"


def _app_over(answer):
    """An app serving a scripted remote store: its catalogue at start, then ``answer`` for every request."""
    state = {"ready": False}

    def script(method, path, body):
        if state["ready"]:
            return answer(method, path, body)
        return 200, RESULTS, CATALOGUE if b"catalogue" in body else EMPTY_SELECT

    store = Scripted(script)
    app = create_app({**TEST_CONFIG, "QUERY_TIMEOUT": 3.0}, graph=cnkg.KnowledgeGraph(
        remote.RemoteStore(f"{store.url}/query", client=remote.Client(timeout=3.0, retries=0))))
    state["ready"] = True
    return store, app.test_client()


@pytest.mark.parametrize("reply, status, said", [
    ((500, {"Content-Type": "text/plain"}, INTERNAL_WORDS), 502, "failed (500)"),
    ((401, {"Content-Type": "text/plain"}, INTERNAL_WORDS), 502, "refused cnkg's credentials"),
    ((200, {"Content-Type": "text/html"}, INTERNAL_WORDS), 502, "cannot read"),
    ((400, {"Content-Type": "text/plain"}, INTERNAL_WORDS), 400, "refused it (400)"),
    ("gone", 502, "could not be reached"),
])
@pytest.mark.parametrize("path", ["/sparql?query=" + urllib.parse.quote("SELECT * WHERE { ?s ?p ?o }"),
                                  "/id/jaeger"])
def test_public_clients_get_a_summary_and_the_log_gets_the_details(caplog, reply, status, said, path):
    store, client = _app_over(lambda *a: reply)
    internal = store.url.removeprefix("http://")
    with store:
        if reply == "gone":
            store.shutdown()
            store.server_close()
        with caplog.at_level(logging.WARNING, logger="cnkg.remote"):
            response = client.get(path, headers={"Accept": "application/json"})
    error = response.json["error"]
    assert response.status_code == status, error
    assert said in error["message"] and "log" in error["message"]
    body = response.get_data(as_text=True)
    assert internal not in body and "db-7.internal" not in body and "sparql_engine" not in body
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "cnkg.remote")
    assert internal in logged
    if reply != "gone" and reply[0] != 200:  # (an answer in a format cnkg cannot read is not read further)
        assert "db-7.internal" in logged
