"""Compute a SPARQL update in a forked child process, so it can be killed at its deadline.

Queries run in the sandbox (:mod:`cnkg.sandbox`); updates are still computed by rdflib over the rdflib copy of the
data. A child forked per update inherits that dataset copy-on-write, works out the change, sends it back over a
pipe, and is killed if it has not answered by the deadline. The parent applies the change under the write side
of :class:`GraphLock`, which page handlers and forks take for reading, so nothing reads a half-applied update.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


from .errors import ApiError, Busy, EvaluationFailed, Internal, NotSupported, Timeout

_FORK = multiprocessing.get_context("fork")


class GraphLock:
    """Many readers or one writer. Readers never wait for a waiting writer, so a reader may nest (a page handler
    holding it forks a worker, which takes it again); the writer waits until no reader is left."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    def acquire_read(self) -> None:
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    @contextmanager
    def read(self) -> Iterator[None]:
        self.acquire_read()
        try:
            yield
        finally:
            self.release_read()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._readers:
                self._cond.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Evaluator:
    """Runs work in forked children with a timeout and a cap on how many run at once."""

    def __init__(self, timeout: float, max_concurrent: int):
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self.lock = GraphLock()  # readers: forks and page handlers; the writer: an update being applied

    def call(self, work: Callable[[], Any], what: str = "query") -> Any:
        """Run ``work()`` in a forked child with the deadline; its (picklable) return value comes back.

        ``work`` may close over anything (rdflib terms, a prepared query): the child is forked, not spawned, so
        nothing but the return value is pickled. ``what`` names the work in error messages (query, update).
        """
        if not self._slots.acquire(timeout=self.timeout):
            raise Busy(f"the server is busy: no query slot was free within {self.timeout:g} s; retry later",
                       headers={"Retry-After": "5"})
        try:
            return self._run_forked(work, what)
        finally:
            self._slots.release()

    def _run_forked(self, work: Callable[[], Any], what: str) -> Any:
        receiver, sender = _FORK.Pipe(duplex=False)
        child = _FORK.Process(target=_child, args=(work, what, sender), daemon=True)
        with self.lock.read():  # never fork while an update is being applied: the child would see half of it
            child.start()
        sender.close()  # the parent keeps only the reading end, so EOF shows when the child dies
        try:
            if not receiver.poll(self.timeout):
                raise Timeout(f"{what} timed out: it did not finish within {self.timeout:g} s, so it was "
                              "stopped. Narrow it (more specific patterns, LIMIT) and try again",
                              headers={"Retry-After": "1"})
            try:
                status, value = receiver.recv()
            except EOFError:
                raise Internal(f"the {what} worker died (exit code {child.exitcode}) before answering") from None
        finally:
            receiver.close()
            if child.is_alive():
                child.kill()
            child.join()
        if status == "ok":
            return value
        raise value


def _child(work: Callable[[], Any], what: str, sender) -> None:
    from rdflib.plugins.sparql.sparql import SPARQLError  # only forked updates use rdflib's evaluator

    try:
        message = ("ok", work())
    except ApiError as exc:  # a refusal decided while evaluating (e.g. an update the endpoint does not support)
        message = ("error", exc)
    except SPARQLError as exc:  # an evaluation error caused by the query, e.g. a type error rdflib cannot skip
        message = ("error", EvaluationFailed(f"{what} evaluation failed: {exc}"))
    except NotImplementedError as exc:
        message = ("error", NotSupported(f"not supported by this endpoint's SPARQL engine (rdflib): {exc}"))
    except Exception as exc:  # a server fault: report it as 500 rather than letting the child die silently
        traceback.print_exc()
        message = ("error", Internal(f"internal error while evaluating the {what}: {type(exc).__name__}: {exc}"))
    try:
        sender.send(message)
    finally:
        sender.close()
        os._exit(0)  # skip atexit handlers and buffers inherited from the parent (pytest, waitress)
