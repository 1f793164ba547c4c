"""A bounded cache of serialised query results.

The graph is read-only while it is served (unless SPARQL Update is switched on: then every applied update clears
the cache, and the keys carry the graph version), so an answer never goes stale: a repeated query (the canned queries,
a shared URL, a dashboard refreshing) is answered without parsing, forking or evaluating again. Only complete,
successful answers up to ``MAX_ENTRY_BYTES`` are kept; errors and timeouts are never cached.

The cache is bounded twice: by entries and by bytes (answer and key: a key holds the query text, up to the 1 MiB a
request body may carry), so 256 entries of large answers to large queries cannot hold half a gigabyte.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable

from .evaluation import Payload

MAX_ENTRY_BYTES = 1024 * 1024
# what one entry costs beyond its key's text and its answer's bytes (the objects holding them, the map's slot)
ENTRY_OVERHEAD = 512


def key_bytes(key) -> int:
    """The bytes a cache key holds: its strings and bytes, through tuples and frozensets, plus small scalars."""
    if isinstance(key, (str, bytes)):
        return len(key)
    if isinstance(key, (tuple, frozenset, list)):
        return sum(key_bytes(k) for k in key) + 8 * len(key)
    return 16


class ResultCache:
    """Least-recently-used map from a request key to its Payload, holding at most ``size`` entries and
    ``max_bytes`` bytes (answers, keys and a fixed overhead per entry); either 0 disables it."""

    def __init__(self, size: int, max_bytes: int = 64 * 2**20):
        self.size = size if max_bytes > 0 else 0
        self.max_bytes = max_bytes
        self.bytes = 0  # what the entries hold now
        self._entries: OrderedDict[Hashable, tuple[Payload, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Payload | None:
        if not self.size:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, payload: Payload) -> None:
        if not self.size or len(payload.body) > MAX_ENTRY_BYTES:
            return
        cost = len(payload.body) + key_bytes(key) + ENTRY_OVERHEAD
        if cost > self.max_bytes:  # would evict everything and still not fit
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (payload, cost)
            self.bytes += cost
            while len(self._entries) > self.size or self.bytes > self.max_bytes:
                _, (_, freed) = self._entries.popitem(last=False)
                self.bytes -= freed

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
