"""A bounded cache of serialised query results.

The graph is read-only while it is served (unless SPARQL Update is switched on: then every applied update clears
the cache, and the keys carry the graph version), so an answer never goes stale: a repeated query (the canned queries,
a shared URL, a dashboard refreshing) is answered without parsing, forking or evaluating again. Only complete,
successful answers up to ``MAX_ENTRY_BYTES`` are kept; errors and timeouts are never cached.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable

from .evaluation import Payload

MAX_ENTRY_BYTES = 1024 * 1024


class ResultCache:
    """Least-recently-used map from a request key to its Payload; ``size`` 0 disables it."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Hashable, Payload] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Payload | None:
        if not self.size:
            return None
        with self._lock:
            payload = self._entries.get(key)
            if payload is not None:
                self._entries.move_to_end(key)
            return payload

    def put(self, key: Hashable, payload: Payload) -> None:
        if not self.size or len(payload.body) > MAX_ENTRY_BYTES:
            return
        with self._lock:
            self._entries[key] = payload
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
