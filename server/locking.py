"""The graph lock: many readers (page handlers reading the store in this process) or one writer (an update being
applied), so no page ever sees half of an update."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class GraphLock:
    """Many readers or one writer. Readers never wait for a waiting writer, so a reader may nest; the writer waits
    until no reader is left."""

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
