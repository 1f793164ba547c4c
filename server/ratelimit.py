"""Per-client rate limiting: a token bucket per client address, answering 429 with Retry-After.

Each client may send ``RATE_LIMIT_PER_MINUTE`` requests to the query routes (``/sparql``, ``/queries...``) in a
burst, and regains that allowance at an even rate over a minute. ``RATE_LIMIT_PER_MINUTE = 0`` switches the limit
off. The client is ``request.remote_addr``: behind a reverse proxy, wrap the app in werkzeug's ``ProxyFix`` so that
is the real client and not the proxy. CORS preflights (OPTIONS) are never limited.
"""
from __future__ import annotations

import math
import threading
import time

from flask import Flask, current_app, request

from .errors import TooManyRequests

LIMITED_PREFIXES = ("/sparql", "/queries")
_MAX_CLIENTS = 10000  # past this many tracked clients, buckets that are full again are forgotten
# the WSGI environment key under which cnkg.server.fast_path passes on its request's token, taken already (no
# client can set it: headers arrive as HTTP_* keys)
RATE_WAIT = "cnkg.fast_path.rate_wait"


class TokenBucket:
    """Buckets of ``capacity`` tokens per key, refilled at ``capacity`` per ``period`` seconds."""

    def __init__(self, capacity: int, period: float = 60.0, clock=time.monotonic):
        self.capacity = capacity
        self.rate = capacity / period  # tokens per second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last update)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0 if allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > _MAX_CLIENTS:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate >= self.capacity:
                del self._buckets[key]


def init_app(app: Flask) -> None:
    per_minute = int(app.config.get("RATE_LIMIT_PER_MINUTE") or 0)
    if per_minute <= 0:
        return
    app.extensions["cnkg.ratelimit"] = TokenBucket(per_minute)
    app.before_request(_check)


def _check() -> None:
    if request.method == "OPTIONS" or not request.path.startswith(LIMITED_PREFIXES):
        return
    bucket: TokenBucket = current_app.extensions["cnkg.ratelimit"]
    wait = request.environ.get(RATE_WAIT)
    if wait is None:
        wait = bucket.take(request.remote_addr or "unknown")
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise TooManyRequests(f"too many requests: this endpoint allows {bucket.capacity} queries per minute per "
                            f"client; retry in {retry} s", headers={"Retry-After": str(retry)})
