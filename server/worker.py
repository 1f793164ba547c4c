"""Evaluate one query in a forked child process, so it can be killed at its deadline.

Why a process and not a thread: rdflib evaluation is pure Python and holds the GIL, and a thread cannot be
stopped, so a runaway query would keep burning CPU after its timeout. A child forked per query inherits the
dataset copy-on-write (no pickling, ~ms to start), evaluates and serialises, sends the bytes back over a pipe,
and is killed if it has not answered by the deadline. The parent thread only waits on the pipe, without the GIL.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from dataclasses import dataclass

from rdflib import Dataset, URIRef
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import SPARQLError

from .errors import ApiError
from .formats import Format
from .results import Payload, serialize
from .safety import CheckedQuery

_FORK = multiprocessing.get_context("fork")


@dataclass
class Job:
    checked: CheckedQuery
    default_graphs: list | None   # None: the whole dataset (union default graph); else exactly these graphs
    named_graphs: list | None
    fmt: Format
    max_rows: int


class Evaluator:
    """Runs jobs against one dataset with a timeout and a cap on concurrently running queries."""

    def __init__(self, dataset: Dataset, timeout: float, max_concurrent: int):
        self.dataset = dataset
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(max_concurrent)

    def run(self, job: Job) -> Payload:
        if not self._slots.acquire(timeout=self.timeout):
            raise ApiError(503, f"the server is busy: no query slot was free within {self.timeout:g} s; retry later",
                           {"Retry-After": "5"})
        try:
            return self._run_forked(job)
        finally:
            self._slots.release()

    def _run_forked(self, job: Job) -> Payload:
        receiver, sender = _FORK.Pipe(duplex=False)
        child = _FORK.Process(target=_child, args=(self.dataset, job, sender), daemon=True)
        child.start()
        sender.close()  # the parent keeps only the reading end, so EOF shows when the child dies
        try:
            if not receiver.poll(self.timeout):
                raise ApiError(503, f"query timed out: it did not finish within {self.timeout:g} s, so it was "
                                    "stopped. Narrow it (more specific patterns, LIMIT) and try again",
                               {"Retry-After": "1"})
            try:
                status, value = receiver.recv()
            except EOFError:
                raise ApiError(500, f"the query worker died (exit code {child.exitcode}) before answering") from None
        finally:
            receiver.close()
            if child.is_alive():
                child.kill()
            child.join()
        if status == "ok":
            return value
        raise ApiError(*value)


def _child(dataset: Dataset, job: Job, sender) -> None:
    try:
        result = dataset.query(_with_dataset(job))
        message = ("ok", serialize(result, job.fmt, job.max_rows))
    except SPARQLError as exc:  # an evaluation error caused by the query, e.g. a type error rdflib cannot skip
        message = ("error", (400, f"query evaluation failed: {exc}"))
    except NotImplementedError as exc:
        message = ("error", (501, f"not supported by this endpoint's SPARQL engine (rdflib): {exc}"))
    except Exception as exc:  # a server fault: report it as 500 rather than letting the child die silently
        traceback.print_exc()
        message = ("error", (500, f"internal error while evaluating the query: {type(exc).__name__}: {exc}"))
    try:
        sender.send(message)
    finally:
        sender.close()
        os._exit(0)  # skip atexit handlers and buffers inherited from the parent (pytest, waitress)


def _with_dataset(job: Job):
    """The query with its dataset clause replaced by the effective dataset (protocol parameters win, §2.1.4).

    rdflib builds the query's dataset from ``datasetClause``: FROM graphs merged into the default graph, FROM
    NAMED graphs copied in by name. Graphs we do not hold come out empty (loading is switched off in safety).
    """
    query = job.checked.query
    if job.default_graphs is None and job.named_graphs is None:
        query.algebra["datasetClause"] = None
        return query
    clause = [CompValue("DatasetClause", default=iri) for iri in job.default_graphs or []]
    clause += [CompValue("DatasetClause", named=iri) for iri in job.named_graphs or []]
    if not job.default_graphs:
        # an empty default graph: rdflib needs at least one FROM to stop using the union of everything
        clause.insert(0, CompValue("DatasetClause", default=_EMPTY))
    query.algebra["datasetClause"] = clause
    return query


_EMPTY = URIRef("urn:x-cnkg:empty-default-graph")
