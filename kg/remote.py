"""The graph in another SPARQL server: push it there (Graph Store HTTP Protocol), and read it back through the same
interface as the embedded store, over the SPARQL 1.1 Protocol.

**Layout on the remote store.** Every named graph of the built dataset as it is, plus two graphs of cnkg's own:

* :data:`UNION_GRAPH` holds the distinct union of the named graphs: cnkg's default graph, an RDF merge with set
  semantics. Remote stores that offer a union default graph (Oxigraph's ``--union-default-graph``, Virtuoso's
  default) count a triple once per graph holding it (oxigraph#1919), so cnkg never relies on them: every query it
  forwards carries the protocol dataset ``default-graph-uri=UNION_GRAPH`` plus one ``named-graph-uri`` per graph
  of the dataset, which every SPARQL 1.1 store honours, whatever its default-graph setting.
* :data:`CATALOGUE_GRAPH` lists the pushed graphs (empty ones too, which some stores drop) and their sizes. It is
  deleted first and written last by :func:`push`: a store whose push did not finish has no catalogue, and
  :class:`RemoteStore` refuses to serve it.

Blank node labels are scoped to one document, so a graph holding blank nodes is sent in one request (the built
data has none). HTTP is the standard library's; credentials come from the environment only
(:meth:`Credentials.from_env`).

**Credentials stay with the store.** They go only to the origin (scheme, host, port) of the URL a request was made
to: a redirect to another origin is refused (``unsafe``), never followed; a challenge is answered only for an origin
cnkg was asked to reach; over plain ``http://`` they go only to a loopback address unless
``CNKG_REMOTE_ALLOW_CLEARTEXT=1``. A store URL carrying a user or password is refused, and error messages never
repeat a URL's user information, the token or the password.
"""
from __future__ import annotations

import base64
import http.client
import io
import ipaddress
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.query import Result

from . import current
from .errors import InvalidInput, RemoteError, scrub_userinfo
from .iris import PREFIX_IRIS
from .namespaces import GRAPH
from .sparql_text import dataset_clauses, query_form
from .store import TripleReads, from_ox, to_ox, to_result

UNION_GRAPH = GRAPH["union"]
CATALOGUE_GRAPH = GRAPH["catalogue"]
OWN_GRAPHS = (UNION_GRAPH, CATALOGUE_GRAPH)
SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

JSON_RESULTS = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"
PROLOGUE = " ".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIX_IRIS.items())

# Triples per request when pushing: about 5-10 MB of N-Triples, well under the body limits of the stores tested
# (Oxigraph server: 128 MB).
DEFAULT_CHUNK = 50_000


# ---------------------------------------------------------------------------------------------- HTTP

ALLOW_CLEARTEXT = "CNKG_REMOTE_ALLOW_CLEARTEXT"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Credentials:
    """What to authenticate with: a bearer token, or a user and password (HTTP Basic, or Digest when the store
    asks for it, as Virtuoso does). ``allow_cleartext``: send them over plain ``http://`` to a host that is not a
    loopback address too (where the network between cnkg and the store is trusted)."""

    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    allow_cleartext: bool = False

    @property
    def present(self) -> bool:
        return bool(self.token or self.user)

    def secrets(self) -> list[str]:
        """What must never appear in a message: the token, the password and the Basic header they make."""
        found = [self.token, self.password]
        if self.user:
            found.append(base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode("ascii"))
        return [s for s in found if s and len(s) >= 4]  # (shorter ones would blank out ordinary words)

    @classmethod
    def from_env(cls, environ=None) -> Credentials:
        """``CNKG_REMOTE_TOKEN`` (bearer), or ``CNKG_REMOTE_USER`` and ``CNKG_REMOTE_PASSWORD``; never from the
        command line, where other users of the machine could read them, nor from a URL.
        ``CNKG_REMOTE_ALLOW_CLEARTEXT=1`` lets them travel over plain http to a host that is not a loopback address."""
        env = os.environ if environ is None else environ
        token = (env.get("CNKG_REMOTE_TOKEN") or "").strip() or None  # a secret file's trailing newline
        if token and any(c.isspace() or not c.isprintable() for c in token):
            raise InvalidInput("CNKG_REMOTE_TOKEN holds a space or a control character: a bearer token is one word")
        user, password = env.get("CNKG_REMOTE_USER") or None, env.get("CNKG_REMOTE_PASSWORD")
        if user and password is None:
            raise InvalidInput("CNKG_REMOTE_USER is set but CNKG_REMOTE_PASSWORD is not: set both (or "
                               "CNKG_REMOTE_TOKEN for a bearer token)")
        if token and user:
            raise InvalidInput("set either CNKG_REMOTE_TOKEN (bearer) or CNKG_REMOTE_USER/CNKG_REMOTE_PASSWORD, "
                               "not both")
        cleartext = env.get(ALLOW_CLEARTEXT, "").strip().lower()
        if cleartext not in _TRUE | _FALSE:
            raise InvalidInput(f"{ALLOW_CLEARTEXT} is {cleartext!r}: set it to 1 to allow credentials over plain "
                               "http to a host that is not a loopback address, or leave it unset")
        return cls(token, user, password, cleartext in _TRUE)


# ---------------------------------------------------------------------------------------------- store URLs

def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one when the URL names none): where credentials may go."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def redacted(url: str) -> str:
    """``url`` with any user information replaced by ``***``."""
    return scrub_userinfo(url)


def check_url(url: str, what: str = "store URL") -> str:
    """``url`` if cnkg may send requests to it: http or https, a host, no user information (a password in a URL
    would show in logs, in ``ps`` and in error messages). :class:`cnkg.InvalidInput` otherwise."""
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc:
        raise InvalidInput(f"the {what} {redacted(url)} carries a user or password: cnkg never takes credentials "
                           "from a URL. Remove them from it and set CNKG_REMOTE_USER and CNKG_REMOTE_PASSWORD (or "
                           "CNKG_REMOTE_TOKEN, a bearer token) in the environment")
    try:
        parts.port
    except ValueError:
        raise InvalidInput(f"the {what} {url} has an invalid port") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"the {what} {url} is not an http:// or https:// URL with a host")
    return url


def is_loopback(host: str) -> bool:
    """A name or address of this machine that never leaves it (no DNS lookup: a name's address may change)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RemoteError) and exc.kind in ("unreachable", "failed", "timeout") or \
        isinstance(exc, RemoteError) and exc.status == 429


class Client:
    """HTTP requests to one remote store, with credentials, a timeout and retries with back-off for what may pass
    (a refused connection, a reset, 5xx, 429); never for 4xx, which another try would not change.

    Credentials go only to the origins this client was asked to open: a redirect to another origin is refused
    (``unsafe``), a challenge is answered only for those origins, and over plain http only to loopback unless the
    credentials allow cleartext. Error messages are scrubbed of the token and password."""

    def __init__(self, credentials: Credentials | None = None, *, timeout: float = 60.0, retries: int = 4,
                 backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep):
        self.credentials = credentials or Credentials()
        self.timeout, self.retries, self.backoff, self.sleep = timeout, retries, backoff, sleep
        self.origins: set[tuple] = set()  # where requests were made: the only origins a challenge is answered for
        # a store is addressed directly, never through a proxy; redirects stay on the request's origin
        handlers = [urllib.request.ProxyHandler({}), _SameOriginRedirects()]
        if self.credentials.user:
            # Digest or Basic, whichever the store's challenge names (Digest is tried first)
            passwords = _Passwords(self.credentials, self.origins)
            handlers += [urllib.request.HTTPDigestAuthHandler(passwords), urllib.request.HTTPBasicAuthHandler(passwords)]
        self.opener = urllib.request.build_opener(*handlers)

    def headers(self) -> dict[str, str]:
        if self.credentials.token:
            return {"Authorization": f"Bearer {self.credentials.token}"}
        return {}  # a user and password answer the store's challenge (401), by the handlers above

    def check(self, url: str, what: str = "store URL") -> str:
        """``url`` if this client may send to it (:func:`check_url`, and credentials over plain http only to a
        loopback address unless allowed): :class:`cnkg.InvalidInput` otherwise."""
        check_url(url, what)
        scheme, host, _ = origin(url)
        if self.credentials.present and scheme == "http" and not is_loopback(host) \
                and not self.credentials.allow_cleartext:
            raise InvalidInput(f"the {what} {url} is plain http to a host that is not a loopback address, and "
                               "cnkg would send it credentials that anyone on the way could read: use https://, or "
                               f"set {ALLOW_CLEARTEXT}=1 where the network to the store is trusted")
        return url

    def open(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             timeout: float | None = None, retry: bool = True, what: str = "request"):
        """The open response to ``method url`` (2xx), after the retries; a :class:`RemoteError` otherwise."""
        self.check(url)
        self.origins.add(origin(url))
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            try:
                return self._open_once(method, url, body, headers, timeout, what)
            except RemoteError as exc:
                if attempt == attempts - 1 or not _retryable(exc):
                    raise
                delay = self.backoff * 2 ** attempt
                if exc.detail.startswith("retry-after:"):
                    delay = max(delay, min(30.0, float(exc.detail.split(":", 1)[1])))
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _open_once(self, method, url, body, headers, timeout, what):
        try:
            return self._attempt(method, url, body, headers, timeout, what)
        except RemoteError as exc:
            raise self._scrubbed(exc) from None

    def _scrubbed(self, exc: RemoteError) -> RemoteError:
        """``exc`` with the credentials taken out of its message and detail (a store may echo what it was sent)."""
        message, detail = exc.message, exc.detail
        for secret in self.credentials.secrets():
            message, detail = message.replace(secret, "***"), detail.replace(secret, "***")
        return RemoteError(exc.kind, message, exc.status, detail)

    def _attempt(self, method, url, body, headers, timeout, what):
        request = urllib.request.Request(url, data=body, method=method, headers={**self.headers(), **(headers or {})})
        try:
            return self.opener.open(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            raise _http_error(exc, method, url, what) from None
        except (socket.timeout, TimeoutError):
            raise RemoteError("timeout", f"{what}: {_where(url)} did not answer within {timeout or self.timeout:g} s")\
                from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise RemoteError("timeout", f"{what}: {_where(url)} did not answer within "
                                  f"{timeout or self.timeout:g} s") from None
            said = getattr(reason, "strerror", None) or reason
            raise RemoteError("unreachable", f"{what}: cannot reach {_where(url)}: {said}") from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise RemoteError("unreachable", f"{what}: the connection to {_where(url)} failed: "
                              f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # urllib's: a challenge in a scheme it cannot answer (Bearer, Negotiate) ...
            raise RemoteError("rejected", f"{what}: {_where(url)}: {exc}") from None

    def send(self, method: str, url: str, body: bytes | None = None, headers=None, what: str = "request",
             ok_statuses=()) -> int:
        """A request whose answer body does not matter; its status. ``ok_statuses``: error statuses that are fine
        here (404 for a DELETE of a graph that is not there)."""
        try:
            with self.open(method, url, body, headers, what=what) as response:
                response.read()
                return response.status
        except RemoteError as exc:
            if exc.status in ok_statuses:
                return exc.status
            raise


class _Passwords(urllib.request.HTTPPasswordMgr):
    """The one user and password, for whatever realm the store names, but only for the origins the client was
    asked to reach: never for another host that challenges."""

    def __init__(self, credentials: Credentials, origins: set):
        super().__init__()
        self.credentials, self.origins = credentials, origins

    def find_user_password(self, realm, authuri):
        if origin(authuri) not in self.origins:
            return None, None
        return self.credentials.user, self.credentials.password or ""


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects followed only within the origin of the request (scheme, host, port), where its credentials
    belong; 307 and 308 keep the method and the body (RFC 9110 §15.4.8), 301-303 are followed by GET and HEAD
    only (turning a POST into a GET would drop the query or the data it carries)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        method, where, there = req.get_method(), _where(req.full_url), _where(newurl)
        if origin(newurl) != origin(req.full_url) or "@" in urllib.parse.urlsplit(newurl).netloc:
            fp.close()
            raise RemoteError("unsafe", f"{where} redirected the {method} ({code}) to {there}, another origin: cnkg "
                              "follows redirects only within the store's scheme, host and port, so that its "
                              "credentials never go elsewhere. If the store moved, give cnkg its new URL", code)
        if code in (307, 308):
            return urllib.request.Request(newurl, data=req.data, method=method, headers=dict(req.headers),
                                          origin_req_host=req.origin_req_host, unverifiable=True)
        if method not in ("GET", "HEAD"):
            fp.close()
            raise RemoteError("rejected", f"{where} redirected the {method} ({code}) to {there}; following it would "
                              "send a GET without the request's body: give cnkg that URL instead", code)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _where(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _http_error(exc: urllib.error.HTTPError, method: str, url: str, what: str) -> RemoteError:
    status = exc.code
    try:
        text = exc.read(4096).decode("utf-8", "replace").strip()
    except Exception:  # the body of an error is a courtesy: a broken one must not hide the status
        text = ""
    finally:
        exc.close()
    said = f": {text[:500]}" if text else ""
    where = _where(url)
    if status in (401, 403):
        return RemoteError("refused", f"{what}: {where} refused the request ({status} "
                           f"{'unauthorised' if status == 401 else 'forbidden'}): set CNKG_REMOTE_TOKEN, or "
                           "CNKG_REMOTE_USER and CNKG_REMOTE_PASSWORD, to credentials the store accepts for "
                           f"{method}{said}", status, text)
    if status == 404:
        return RemoteError("not_found", f"{what}: {where} answered 404 not found: is this the right URL?{said}",
                           status, text)
    if status == 413:
        return RemoteError("rejected", f"{what}: {where} refused the request body as too large (413): send "
                           f"smaller chunks (cnkg push --chunk){said}", status, text)
    if status == 429 or status >= 500:
        retry_after = exc.headers.get("Retry-After", "") if exc.headers else ""
        detail = f"retry-after:{retry_after}" if retry_after.strip().isdigit() else text
        return RemoteError("failed", f"{what}: {where} failed ({status}){said}", status, detail)
    return RemoteError("rejected", f"{what}: {where} rejected the request ({status}){said}", status, text)


# ---------------------------------------------------------------------------------------------- reading answers

class _Bounded(io.RawIOBase):
    """A response body read under a deadline: reading past it raises :class:`RemoteError` ``timeout``."""

    def __init__(self, response, deadline: float | None, what: str):
        self.response, self.deadline, self.what = response, deadline, what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise RemoteError("timeout", f"{self.what}: the remote store's answer did not finish in time")
            try:
                self.response.fp.raw._sock.settimeout(left)  # a stalled body cannot outlive the deadline
            except AttributeError:
                pass
        try:
            return self.response.readinto(buffer)
        except (socket.timeout, TimeoutError):
            raise RemoteError("timeout", f"{self.what}: the remote store's answer did not finish in time") from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise RemoteError("malformed", f"{self.what}: the remote store's answer broke off: {exc}") from None

    def close(self) -> None:
        try:
            self.response.close()
        finally:
            super().close()


@dataclass
class Answer:
    """An open answer from the remote store: ``result`` is a pyoxigraph ``QuerySolutions`` or ``QueryBoolean``
    (SELECT, ASK) or an iterator of triples (CONSTRUCT, DESCRIBE), read from ``body`` as it is iterated.
    Close it (or use ``with``) when done: the rest of the answer is not read, the connection is dropped."""

    result: object
    body: io.RawIOBase

    def __enter__(self) -> Answer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.body.close()


def parse_answer(content_type: str, body, what: str = "query"):
    """Oxigraph's parser for the answer's media type (streaming)."""
    media = content_type.split(";")[0].strip().lower()
    results_format = ox.QueryResultsFormat.from_media_type(media) if media else None
    if results_format is not None:
        try:
            return ox.parse_query_results(body, format=results_format)
        except SyntaxError as exc:
            raise RemoteError("malformed", f"{what}: the remote store's answer is not valid {media}: {exc}") \
                from None
    rdf_format = ox.RdfFormat.from_media_type(media) if media else None
    if rdf_format is None:
        raise RemoteError("malformed", f"{what}: the remote store answered with {content_type or 'no Content-Type'}"
                          ", which is neither a SPARQL results format nor an RDF format")
    return ox.parse(body, format=rdf_format)


def guarded(iterator, what: str = "query") -> Iterator:
    """``iterator`` with a parse error in the remote's answer turned into :class:`RemoteError` ``malformed``."""
    try:
        yield from iterator
    except SyntaxError as exc:
        raise RemoteError("malformed", f"{what}: the remote store's answer is malformed: {exc}") from None
    except (ValueError, OSError) as exc:
        if isinstance(exc, RemoteError):
            raise
        raise RemoteError("malformed", f"{what}: the remote store's answer could not be read: {exc}") from None


_POSITION = re.compile(r"(?:error at |line )(\d+)(?::(\d+))?")


def syntax_position(message: str, shift: int = 1) -> tuple[int | None, int | None]:
    """Line and column in a remote store's syntax error (Oxigraph ``error at L:C``, Virtuoso ``line L``), less
    the ``shift`` lines cnkg put before the query."""
    match = _POSITION.search(message)
    if not match:
        return None, None
    line = int(match.group(1)) - shift
    return (line if line >= 1 else None), (int(match.group(2)) if match.group(2) else None)


# ---------------------------------------------------------------------------------------------- the store

def _nt(term) -> str:
    return str(to_ox(term))


class RemoteStore(TripleReads):
    """The read interface of :class:`cnkg.store.TripleStore` over a SPARQL endpoint holding a dataset written by
    :func:`push`; with ``update_url``, also :meth:`apply`, by SPARQL Update. cnkg assumes it is the only writer of
    the remote dataset while it serves it (its caches and the reasoner's state are kept from what it wrote)."""

    path = None        # not a published on-disk store: nothing for query workers to open
    directory = None
    read_only = False  # writes go to the remote (when it has an update URL), never to a local copy

    def __init__(self, query_url: str, update_url: str | None = None, *, client: Client | None = None,
                 timeout: float = 60.0):
        self.client = client or Client(Credentials.from_env(), timeout=timeout)
        self.query_url = self.client.check(query_url, "query URL")
        self.update_url = self.client.check(update_url, "update URL") if update_url else None
        self.timeout = timeout
        self._lock = threading.Lock()
        self._basis = None  # what the current view depends on (cnkg.current.Basis), once read
        self._names = self._catalogue()

    def __repr__(self) -> str:
        return f"RemoteStore({self.query_url!r})"

    # ------------------------------------------------------------------ the protocol

    def open_query(self, text: str, *, default_graph=None, named_graphs=None, base_iri: str | None = None,
                   deadline: float | None = None, what: str = "query", accept: str | None = None) -> Answer:
        """Send ``text`` (cnkg's prefixes predeclared, and ``base_iri``, on a first line of their own) with cnkg's
        dataset: the given one, else the query's own FROM / FROM NAMED, else the union graph and every graph of
        the dataset."""
        if default_graph is None and named_graphs is None:
            clauses = dataset_clauses(text, PREFIX_IRIS)
            if not (clauses.default or clauses.named):
                default_graph, named_graphs = [UNION_GRAPH], self.graph_names()
        elif default_graph is None:
            default_graph = []
        elif named_graphs is None:
            named_graphs = []
        form = query_form(text)
        if accept is None:
            accept = GRAPH_ACCEPT if form in ("ConstructQuery", "DescribeQuery") else JSON_RESULTS
        base = f"BASE <{base_iri}> " if base_iri else ""
        fields = [("query", f"{base}{PROLOGUE}\n{text}")]
        if default_graph is not None:
            # an empty default graph is asked for with the IRI of a graph that holds nothing
            fields += [("default-graph-uri", str(g)) for g in (default_graph or [GRAPH["empty"]])]
            fields += [("named-graph-uri", str(g)) for g in (named_graphs or [GRAPH["empty"]])]
            _allow_headers(len(fields))
        timeout = self.timeout if deadline is None else max(0.001, deadline - time.monotonic())
        body = urllib.parse.urlencode(fields).encode("utf-8")
        try:
            response = self.client.open("POST", self.query_url, body, {
                "Content-Type": "application/x-www-form-urlencoded", "Accept": accept}, timeout=timeout,
                retry=deadline is None, what=what)
        except RemoteError as exc:
            if exc.status == 400:
                raise RemoteError("syntax", f"{what}: the remote store refused it: {exc.detail or exc.message}",
                                  400, exc.detail) from None
            raise
        stream = io.BufferedReader(_Bounded(response, deadline, what), 64 * 1024)
        try:
            result = parse_answer(response.headers.get("Content-Type", ""), stream, what)
        except BaseException:
            stream.close()
            raise
        return Answer(result, stream)

    def query(self, text: str, *, default_graph=None, named_graphs=None, base_iri: str | None = None):
        """The answer to ``text`` read whole, as pyoxigraph objects (like :meth:`cnkg.store.TripleStore.query`)."""
        with self.open_query(text, default_graph=default_graph, named_graphs=named_graphs, base_iri=base_iri) \
                as answer:
            result = answer.result
            if isinstance(result, ox.QueryBoolean):
                return result
            rows = list(guarded(result))
            if isinstance(result, ox.QuerySolutions):
                return _Solutions(result.variables, rows)
            return rows

    def select(self, text: str, **options) -> Result:
        return to_result(self.query(text, **options))

    def _rows(self, text: str, **options) -> list[list]:
        """SELECT rows as lists of rdflib terms."""
        answer = self.query(text, **options)
        return [[from_ox(v) for v in row] for row in answer]

    def _update(self, text: str) -> None:
        if not self.update_url:
            raise InvalidInput(f"the remote store {self.query_url} was opened without an update URL: give one "
                               "(cnkg serve --update-url, cnkg.connect(..., update_url=...)) to change it")
        self.client.send("POST", self.update_url, text.encode("utf-8"),
                         {"Content-Type": "application/sparql-update"}, what="update")

    # ------------------------------------------------------------------ the catalogue

    def _catalogue(self) -> list[URIRef]:
        rows = self._rows(f"SELECT ?g WHERE {{ GRAPH <{CATALOGUE_GRAPH}> {{ ?g a <{SD}NamedGraph> }} }}",
                          default_graph=[], named_graphs=[CATALOGUE_GRAPH])
        if not rows:
            raise RemoteError("not_found", f"{self.query_url} holds no dataset pushed by cnkg (its graph "
                              f"<{CATALOGUE_GRAPH}> is empty or missing; a push that did not finish leaves none): "
                              "run cnkg push first")
        return sorted(row[0] for row in rows)

    # ------------------------------------------------------------------ reading (rdflib terms)

    def graph_names(self) -> list[URIRef]:
        return list(self._names)

    def _pattern(self, pattern) -> tuple[str, list[int]]:
        cells, free = [], []
        for i, term in enumerate(pattern):
            if term is None:
                cells.append(f"?v{i}")
                free.append(i)
            else:
                cells.append(_nt(term))
        return " ".join(cells), free

    def quads(self, pattern=(None, None, None, None)) -> Iterator[tuple]:
        s, p, o, *rest = pattern
        graph = rest[0] if rest else None
        triple, free = self._pattern((s, p, o))
        if graph is not None and URIRef(graph) not in self._names:
            return iter(())
        where = f"GRAPH {_nt(graph) if graph is not None else '?g'} {{ {triple} }}"
        variables = [f"?v{i}" for i in free] + (["?g"] if graph is None else [])
        if not variables:
            return iter([(s, p, o, graph)] if self._ask(where) else [])
        rows = self._rows(f"SELECT {' '.join(variables)} WHERE {{ {where} }}")
        return (self._fill((s, p, o, graph), free + ([3] if graph is None else []), row) for row in rows)

    @staticmethod
    def _fill(pattern, free, row) -> tuple:
        out = list(pattern)
        for i, value in zip(free, row):
            out[i] = value
        return tuple(out)

    def _ask(self, where: str) -> bool:
        return bool(self.query(f"ASK {{ {where} }}"))

    def triples(self, pattern=(None, None, None)) -> Iterator[tuple]:
        triple, free = self._pattern(pattern)
        if not free:
            return iter([tuple(pattern)] if self._ask(triple) else [])
        rows = self._rows(f"SELECT {' '.join(f'?v{i}' for i in free)} WHERE {{ {triple} }}")
        return (self._fill(pattern, free, row) for row in rows)

    def graph_sizes(self) -> dict[URIRef, int]:
        rows = self._rows("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        sizes = {}
        for g, n in rows:
            n = _count(n, f"the size of graph {g}")
            if n:
                sizes[g] = n
        return dict(sorted(sizes.items()))

    def count(self, sparql_where: str) -> int:
        rows = self._rows(f"SELECT (COUNT(*) AS ?n) WHERE {{ {sparql_where} }}")
        if len(rows) != 1:  # an aggregate without GROUP BY has exactly one row (SPARQL 1.1, section 11.2)
            raise RemoteError("malformed", f"the remote store answered a COUNT query with {len(rows)} rows "
                              "instead of one")
        return _count(rows[0][0], "a COUNT query's answer")

    # ------------------------------------------------------------------ writing

    def writable(self) -> RemoteStore:
        if not self.update_url:
            raise InvalidInput(f"the remote store {self.query_url} was opened without an update URL: give one "
                               "(cnkg serve --update-url, cnkg.connect(..., update_url=...)) to change it")
        return self

    def apply(self, removed: Iterable[tuple] = (), added: Iterable[tuple] = ()) -> None:
        """Remove, then add, quads ``(s, p, o, graph)`` in one SPARQL Update request, keeping :data:`UNION_GRAPH`
        the union (a triple leaves it only when no graph holds it any more) and the catalogue listing every graph;
        when the change moves which value of a time-varying fact is current, a second request brings the union
        graph to what a fresh push would hold (:func:`cnkg.current.follow`)."""
        self.writable()
        removed = [tuple(q) for q in removed]
        added = [tuple(q) for q in added]
        if any(q[3] in OWN_GRAPHS for q in removed + added):
            raise InvalidInput(f"the graphs <{UNION_GRAPH}> and <{CATALOGUE_GRAPH}> are kept by cnkg")
        with self._lock:
            gone = set(removed) - set(added)
            leaving = []
            for triple in {q[:3] for q in gone}:
                holders = {q for q in self.quads(triple)} - gone | {q for q in added if q[:3] == triple}
                if not holders:
                    leaving.append(triple)
            new_graphs = sorted({q[3] for q in added} - set(self._names))
            operations = []
            if removed:
                operations.append(f"DELETE DATA {{ {_blocks(removed)} }}")
            if leaving:
                operations.append(f"DELETE DATA {{ GRAPH <{UNION_GRAPH}> {{ {_triples(leaving)} }} }}")
            if added:
                inserts = _blocks(added) + f" GRAPH <{UNION_GRAPH}> {{ {_triples(q[:3] for q in added)} }}"
                if new_graphs:
                    inserts += f" GRAPH <{CATALOGUE_GRAPH}> {{ " + " ".join(
                        f"<{g}> a <{SD}NamedGraph> ." for g in new_graphs) + " }"
                operations.append(f"INSERT DATA {{ {inserts} }}")
            if operations:
                self._update(" ;\n".join(operations))
            self._names = sorted(set(self._names) | set(new_graphs))
            # the union graph is cnkg's default graph: less the superseded values of time-varying facts
            self._basis, lose, gain = current.follow(self, removed, added, self._basis)
            fix = ([f"DELETE DATA {{ GRAPH <{UNION_GRAPH}> {{ {_triples(lose)} }} }}"] if lose else []) + \
                ([f"INSERT DATA {{ GRAPH <{UNION_GRAPH}> {{ {_triples(gain)} }} }}"] if gain else [])
            if fix:
                self._update(" ;\n".join(fix))


def _count(value, what: str) -> int:
    """``value`` (an rdflib term from a remote answer) as a count, else :class:`RemoteError` ``malformed``: a store
    that counts nothing or not a number is not answering the query cnkg asked."""
    try:
        n = int(str(value)) if value is not None else -1
    except ValueError:
        n = -1
    if n < 0:
        raise RemoteError("malformed", f"the remote store answered {what} with "
                          f"{'nothing' if value is None else repr(str(value)[:40])}, not a count")
    return n


@dataclass
class _Solutions:
    """SELECT rows read whole (what :func:`cnkg.store.to_result` takes, like pyoxigraph's QuerySolutions)."""

    variables: list
    rows: list

    def __iter__(self):
        return iter(self.rows)


def _triples(triples) -> str:
    return " ".join(f"{_nt(s)} {_nt(p)} {_nt(o)} ." for s, p, o in triples)


def _blocks(quads) -> str:
    by_graph: dict = {}
    for s, p, o, g in quads:
        by_graph.setdefault(g, []).append((s, p, o))
    return " ".join(f"GRAPH {_nt(g)} {{ {_triples(ts)} }}" for g, ts in sorted(by_graph.items()))


# ---------------------------------------------------------------------------------------------- push

@dataclass
class GraphPlan:
    """One graph to send: its IRI, its triples (read from the local store when sent) and how many requests."""

    name: URIRef
    triples: int
    requests: int
    blank_nodes: bool = False


@dataclass
class PushReport:
    graphs: list[GraphPlan]
    triples: int
    seconds: float = 0.0
    verified: bool = False
    removed_graphs: list[URIRef] = field(default_factory=list)
    dry_run: bool = False

    @property
    def triples_per_second(self) -> float:
        return self.triples / self.seconds if self.seconds else 0.0


def graph_url(gsp_url: str, graph) -> str:
    """The Graph Store Protocol URL of one graph (indirect identification: ``?graph=IRI``)."""
    return f"{gsp_url}{'&' if '?' in gsp_url else '?'}{urllib.parse.urlencode({'graph': str(graph)})}"


def _graph_quads(store, name) -> Iterator[ox.Triple]:
    """The triples of one named graph of a :class:`cnkg.store.TripleStore` (the union default graph for
    :data:`UNION_GRAPH`), as pyoxigraph triples, in the store's order."""
    graph = ox.DefaultGraph() if name == UNION_GRAPH else ox.NamedNode(str(name))
    for quad in store.ox.quads_for_pattern(None, None, None, graph):
        yield ox.Triple(quad.subject, quad.predicate, quad.object)


def plan(store, chunk: int = DEFAULT_CHUNK) -> list[GraphPlan]:
    """What :func:`push` sends: every named graph of ``store`` (empty ones too), then the union graph."""
    sizes = {URIRef(str(g)): 0 for g in store.graph_names()}
    sizes.update(store.graph_sizes())
    union = sum(1 for _ in store.ox.quads_for_pattern(None, None, None, ox.DefaultGraph()))
    plans = []
    for name, size in [*sorted(sizes.items()), (UNION_GRAPH, union)]:
        blank = bool(store.ox.query(f"ASK {{ {'GRAPH <' + str(name) + '> ' if name != UNION_GRAPH else ''}"
                                    "{ ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) } }"))
        requests = 1 if blank or size == 0 else -(-size // chunk)
        plans.append(GraphPlan(name, size, requests, blank))
    return plans


def _catalogue_nt(plans: list[GraphPlan]) -> bytes:
    lines = [f"<{CATALOGUE_GRAPH}> <{RDF_TYPE}> <{VOID}Dataset> .",
             f"<{CATALOGUE_GRAPH}> <{SD}defaultGraph> <{UNION_GRAPH}> ."]
    for item in plans:
        if item.name == UNION_GRAPH:
            continue
        lines.append(f"<{item.name}> <{RDF_TYPE}> <{SD}NamedGraph> .")
        lines.append(f'<{item.name}> <{VOID}triples> "{item.triples}"^^<http://www.w3.org/2001/XMLSchema#integer> .')
    return ("\n".join(lines) + "\n").encode("utf-8")


NT = {"Content-Type": "application/n-triples"}


def _previous_graphs(client: Client, gsp_url: str) -> list[URIRef]:
    """The graphs an earlier push listed in its catalogue (none when there is none)."""
    try:
        with client.open("GET", graph_url(gsp_url, CATALOGUE_GRAPH), headers={"Accept": "application/n-triples"},
                         what="reading the previous catalogue") as response:
            data = response.read()
            media = response.headers.get("Content-Type", "application/n-triples")
    except RemoteError as exc:
        if exc.status == 404:
            return []
        raise
    rdf_format = ox.RdfFormat.from_media_type(media.split(";")[0].strip()) or ox.RdfFormat.N_TRIPLES
    try:
        return sorted(URIRef(t.subject.value) for t in ox.parse(data, format=rdf_format)
                      if t.predicate.value == RDF_TYPE and t.object.value == f"{SD}NamedGraph")
    except SyntaxError:
        return []


def push(store, gsp_url: str, *, client: Client | None = None, chunk: int = DEFAULT_CHUNK,
         query_url: str | None = None, dry_run: bool = False, progress: bool | None = None,
         on_graph: Callable[[GraphPlan], None] | None = None) -> PushReport:
    """Send every named graph of ``store`` (a :class:`cnkg.store.TripleStore`) and the union graph to the Graph
    Store at ``gsp_url``: per graph, the first chunk of ``chunk`` triples by ``PUT`` (which replaces the graph: a
    re-run never duplicates) and the rest by ``POST``; an empty graph by ``DELETE``. Then every graph's remote
    triple count is checked against the local one (``COUNT`` through ``query_url`` when given, else by reading
    the graph back with ``GET``), and only then is the catalogue written, which is what makes the dataset
    servable. Graphs an earlier push listed that this dataset no longer has are deleted.

    Raises :class:`RemoteError` (``incomplete`` when a graph was left half-sent) and never reports a graph it did
    not send whole."""
    if chunk < 1:
        raise InvalidInput(f"the chunk size must be at least 1 triple, not {chunk}")
    check_url(gsp_url, "Graph Store URL")
    if query_url:
        check_url(query_url, "query URL")
    plans = plan(store, chunk)
    report = PushReport(plans, sum(p.triples for p in plans), dry_run=dry_run)
    if dry_run:
        return report
    client = client or Client(Credentials.from_env())
    for url, what in ((gsp_url, "Graph Store URL"), (query_url, "query URL")):
        if url:
            client.check(url, what)
    from .progress import wanted
    from tqdm import tqdm

    started = time.perf_counter()
    previous = _previous_graphs(client, gsp_url)
    # no catalogue while graphs change: an interrupted push is never served as a complete dataset
    client.send("DELETE", graph_url(gsp_url, CATALOGUE_GRAPH), what="removing the catalogue", ok_statuses=(404,))
    with tqdm(total=report.triples, unit="triple", unit_scale=True, desc="cnkg push", file=sys.stderr,
              disable=not wanted(progress), leave=False) as bar:
        for item in plans:
            _push_graph(client, store, gsp_url, item, chunk, bar)
            if on_graph is not None:
                on_graph(item)
    _verify(client, gsp_url, query_url, plans)
    report.verified = True
    report.removed_graphs = [g for g in previous if g not in {p.name for p in plans}]
    for stale in report.removed_graphs:
        client.send("DELETE", graph_url(gsp_url, stale), what=f"deleting graph <{stale}>", ok_statuses=(404,))
    client.send("PUT", graph_url(gsp_url, CATALOGUE_GRAPH), _catalogue_nt(plans), NT, what="writing the catalogue")
    report.seconds = time.perf_counter() - started
    return report


def _chunks(triples: Iterator, size: int) -> Iterator[list]:
    batch = []
    for triple in triples:
        batch.append(triple)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _push_graph(client: Client, store, gsp_url: str, item: GraphPlan, chunk: int, bar) -> None:
    url = graph_url(gsp_url, item.name)
    if item.triples == 0:
        client.send("DELETE", url, what=f"emptying graph <{item.name}>", ok_statuses=(404,))
        return
    sent = 0
    size = item.triples if item.blank_nodes else chunk  # blank node labels hold within one document only
    for number, batch in enumerate(_chunks(_graph_quads(store, item.name), size)):
        body = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES)
        try:
            client.send("PUT" if number == 0 else "POST", url, body, NT, what=f"sending graph <{item.name}>")
        except RemoteError as exc:
            if number == 0:
                raise
            raise RemoteError("incomplete", f"graph <{item.name}> is incomplete on the remote store: {sent:,} of "
                              f"{item.triples:,} triples were sent before this failed: {exc.message}. Run cnkg "
                              "push again: it replaces every graph", exc.status) from None
        sent += len(batch)
        bar.update(len(batch))


# Virtuoso answers a query with one response header per graph of its protocol dataset (X-SPARQL-default-graph,
# X-SPARQL-named-graph), and the built graph has hundreds of named graphs (one per cited lineage statement), past
# http.client's limit of 100 headers. The limit is raised to what the request can explain, never without bound:
# each header line stays limited to http.client's 64 KiB.
_HEADERS_BESIDES_DATASET = 100
_MAX_HEADERS = 8192


def _allow_headers(dataset_fields: int) -> None:
    wanted = min(_MAX_HEADERS, _HEADERS_BESIDES_DATASET + dataset_fields)
    if wanted > http.client._MAXHEADERS:   # noqa: SLF001 (the stdlib's only knob for it)
        http.client._MAXHEADERS = wanted


def _verify(client: Client, gsp_url: str, query_url: str | None, plans: list[GraphPlan]) -> None:
    """Every graph's remote triple count equals the local one, or :class:`RemoteError` ``incomplete``."""
    if query_url:
        # the graphs to count are named in the query (VALUES), not as one named-graph-uri parameter each: with
        # hundreds of graphs (one per cited lineage statement) Virtuoso answers such a request with more headers
        # than an HTTP client accepts
        names = " ".join(f"<{p.name}>" for p in plans)
        body = urllib.parse.urlencode(
            [("query", f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {names} }} GRAPH ?g {{ ?s ?p ?o }} }} "
                       "GROUP BY ?g")]).encode()   # no dataset parameters: every graph of the store is there
        with client.open("POST", query_url, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Accept": JSON_RESULTS}, what="counting the pushed triples") \
                as response:
            results = parse_answer(response.headers.get("Content-Type", ""), io.BytesIO(response.read()),
                                   "counting the pushed triples")
            remote = {URIRef(row["g"].value): int(row["n"].value) for row in guarded(results)}
    else:
        remote = {p.name: _count_by_get(client, gsp_url, p.name) for p in plans}
    wrong = [f"<{p.name}>: {remote.get(p.name, 0):,} remote, {p.triples:,} local" for p in plans
             if remote.get(p.name, 0) != p.triples]
    if wrong:
        raise RemoteError("incomplete", "the remote store does not hold what was sent (" + "; ".join(wrong[:5])
                          + (f"; and {len(wrong) - 5} more" if len(wrong) > 5 else "") + "). Another writer, or a "
                          "store that changes what it stores? Run cnkg push again")


def _count_by_get(client: Client, gsp_url: str, name) -> int:
    try:
        with client.open("GET", graph_url(gsp_url, name), headers={"Accept": "application/n-triples"},
                         what=f"reading graph <{name}> back") as response:
            media = response.headers.get("Content-Type", "application/n-triples").split(";")[0].strip()
            rdf_format = ox.RdfFormat.from_media_type(media) or ox.RdfFormat.N_TRIPLES
            stream = io.BufferedReader(_Bounded(response, None, "reading back"), 64 * 1024)
            return sum(1 for _ in guarded(ox.parse(stream, format=rdf_format), f"reading graph <{name}> back"))
    except RemoteError as exc:
        if exc.status == 404:
            return 0
        raise


__all__ = ["RemoteStore", "RemoteError", "Client", "Credentials", "push", "plan", "PushReport", "GraphPlan",
           "UNION_GRAPH", "CATALOGUE_GRAPH", "graph_url"]
