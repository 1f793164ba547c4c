"""Run a request's SPARQL query in the sandbox (:mod:`cnkg.sandbox`: Oxigraph in killable worker processes) and
turn what can go wrong into the server's typed errors."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pyoxigraph as ox

from rdflib import BNode, Literal, URIRef

from ..errors import RemoteError
from ..sandbox import (Job, SandboxError, Ticket, in_query_order, take, write_boolean, write_graph,
                       write_solutions)

from .errors import (ApiError, Busy, EvaluationFailed, Internal, MalformedQuery, OverMemory, Stopping,
                     Timeout, TooComplex, remote_api_error)


@dataclass
class Payload:
    """A serialised answer: what the result cache keeps and a response sends."""

    body: bytes
    rows: int
    truncated: bool


def run(state, text: str, *, result_format: str = "json", graph_format: str = "turtle", max_rows: int,
        default_graphs=None, named_graphs=None, base_iri: str | None = None, timeout: float,
        what: str = "query", snapshot=None, kind: str = "query", client: str) -> Payload:
    """Evaluate ``text`` over the served graph's published snapshot (or over ``snapshot``, another published store:
    an update's changes so far) within ``timeout`` seconds (see :class:`cnkg.sandbox.Job` for ``kind``), sharing
    the workers fairly between clients (``client``: the address the request came from). Over a
    remote store, the query is forwarded to it (:func:`run_remote`)."""
    if state.remote is not None:
        return run_remote(state, text, result_format=result_format, graph_format=graph_format, max_rows=max_rows,
                          default_graphs=default_graphs, named_graphs=named_graphs, base_iri=base_iri,
                          timeout=timeout, what=what, kind=kind)
    with state.current_snapshot() as current:
        job = _job(text, current if snapshot is None else snapshot, result_format, graph_format, max_rows,
                   default_graphs, named_graphs, base_iri, kind)
        try:
            answer = state.sandbox.run(job, timeout=timeout, client=client)
        except SandboxError as exc:
            raise http_error(exc, timeout, what) from None
    return Payload(answer.body, answer.rows, answer.truncated)


class Started:
    """A query started without waiting (:func:`start`): wait for :meth:`fileno` to be readable, then call
    :meth:`finish`, or :meth:`expire` once :attr:`deadline` (``time.monotonic()``) has passed; one of the two."""

    __slots__ = ("_ticket", "_lease", "_timeout", "deadline")

    def __init__(self, ticket: Ticket, lease, timeout: float):
        self._ticket, self._lease, self._timeout = ticket, lease, timeout
        self.deadline = ticket.deadline

    def fileno(self) -> int:
        return self._ticket.fileno()

    def finish(self) -> Payload:
        """The answer, or the server's typed error (:func:`http_error`)."""
        try:
            answer = self._ticket.finish()
        except SandboxError as exc:
            raise http_error(exc, self._timeout) from None
        finally:
            self._lease.__exit__(None, None, None)
        return Payload(answer.body, answer.rows, answer.truncated)

    def expire(self) -> ApiError:
        """Stop the query (its deadline passed): the error to answer."""
        try:
            return http_error(self._ticket.expire(), self._timeout)
        finally:
            self._lease.__exit__(None, None, None)


def start(state, text: str, *, result_format: str, graph_format: str, max_rows: int, base_iri: str | None,
          timeout: float, client: str) -> Started | None:
    """Start a query over the served graph's published snapshot without waiting, if a worker is free for it at once
    (:meth:`cnkg.sandbox.Sandbox.start`); None: use :func:`run`. The snapshot stays on disk until the query is
    finished or expired."""
    if state.remote is not None:
        return None
    lease = state.current_snapshot()
    snapshot = lease.__enter__()
    try:
        job = _job(text, snapshot, result_format, graph_format, max_rows, None, None, base_iri, "query")
        ticket = state.sandbox.start(job, timeout=timeout, client=client)
    except BaseException:
        lease.__exit__(None, None, None)
        raise
    if ticket is None:
        lease.__exit__(None, None, None)
        return None
    return Started(ticket, lease, timeout)


def _job(text, snapshot, result_format, graph_format, max_rows, default_graphs, named_graphs, base_iri,
         kind) -> Job:
    return Job(text, str(snapshot), result_format=result_format, graph_format=graph_format, max_rows=max_rows,
               default_graph=None if default_graphs is None else tuple(str(g) for g in default_graphs),
               named_graphs=None if named_graphs is None else tuple(str(g) for g in named_graphs),
               base_iri=base_iri, kind=kind)


def run_remote(state, text: str, *, result_format: str, graph_format: str, max_rows: int, default_graphs,
               named_graphs, base_iri: str | None, timeout: float, what: str, kind: str) -> Payload:
    """Forward ``text`` (already through cnkg's safety checks) to the remote store with cnkg's dataset, under the
    deadline, and write its answer the way the embedded store's is written: the same serialisers, the same row
    limit (the rest of the remote's answer is not read)."""
    if kind == "check-update":
        raise MalformedQuery(f"malformed SPARQL {what}, or a form this endpoint does not run: send a sequence of "
                             "INSERT DATA, DELETE DATA, DELETE/INSERT ... WHERE, DELETE WHERE, CLEAR, DROP, CREATE, "
                             "ADD, MOVE and COPY operations")
    from ..remote import guarded  # (imported already: the remote store is one of its objects)

    deadline = time.monotonic() + timeout
    if not state.remote_slots.acquire(timeout=timeout):
        raise Busy(f"the server is busy: no query slot was free within {timeout:g} s; retry later",
                   headers={"Retry-After": "5"})
    try:
        with state.remote.open_query(text, default_graph=default_graphs, named_graphs=named_graphs,
                                     base_iri=base_iri, deadline=deadline, what=what) as answer:
            result = answer.result
            if isinstance(result, ox.QueryBoolean):
                return Payload(write_boolean(bool(result), result_format), 1, False)
            if isinstance(result, ox.QuerySolutions):
                rows, truncated = take(guarded(result, what), max_rows)
                variables, rows = in_query_order(text, [v.value for v in result.variables], rows)
                return Payload(write_solutions(variables, rows, result_format), len(rows), truncated)
            triples, truncated = take(guarded(result, what), max_rows)
            triples = [ox.Triple(t.subject, t.predicate, t.object) for t in triples]
            return Payload(write_graph(triples, graph_format), len(triples), truncated)
    except RemoteError as exc:
        raise remote_api_error(exc, timeout, what) from None
    finally:
        state.remote_slots.release()


def http_error(exc: SandboxError, timeout: float, what: str = "query") -> ApiError:
    if exc.kind == "syntax":
        where = f" at line {exc.line}, column {exc.column}" if exc.line is not None else ""
        return MalformedQuery(f"malformed SPARQL {what}{where}: {exc.message}", detail=exc.message, line=exc.line,
                              column=exc.column)
    if exc.kind == "evaluation":
        return EvaluationFailed(f"{what} evaluation failed: {exc.message}")
    if exc.kind == "timeout":
        return Timeout(f"{what} timed out: it did not finish within {timeout:g} s, so it was stopped. Narrow it "
                       "(more specific patterns, LIMIT) and try again", headers={"Retry-After": "1"})
    if exc.kind == "memory":
        return OverMemory(f"{what} stopped: {exc.message}. Narrow it (ORDER BY and GROUP BY hold every solution "
                          "in memory, whatever the LIMIT); the server's WORKER_MEMORY_MIB (cnkg serve "
                          "--worker-memory) sets the limit")
    if exc.kind == "too_complex":
        return TooComplex(f"{what} refused: {exc.message}")
    if exc.kind == "busy":
        return Busy(f"the server is busy: no query slot was free within {timeout:g} s; retry later",
                    headers={"Retry-After": "5"})
    if exc.kind == "stopped":
        return Stopping(f"the server is shutting down and its grace period ended before the {what} finished; "
                        "retry (another instance may answer)", headers={"Retry-After": "5"})
    return Internal(f"the query could not be answered: {exc.message}")


def rows_from_json(body: bytes) -> tuple[list[str], list[tuple], bool | None]:
    """SPARQL JSON results as (variables, rows of rdflib terms, ASK answer or None), for pages that render them."""
    data = json.loads(body)
    if "boolean" in data:
        return [], [], bool(data["boolean"])
    variables = list(data["head"]["vars"])
    rows = [tuple(_term(binding.get(v)) for v in variables) for binding in data["results"]["bindings"]]
    return variables, rows, None


def _term(cell: dict | None):
    if cell is None:
        return None
    kind, value = cell["type"], cell["value"]
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if "xml:lang" in cell:
        return Literal(value, lang=cell["xml:lang"])
    return Literal(value, datatype=URIRef(cell["datatype"]) if "datatype" in cell else None)
