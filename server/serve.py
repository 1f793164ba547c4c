"""Serve an app with waitress and stop it gracefully on SIGTERM or SIGINT.

waitress stops at once on a signal (or not at all when it is PID 1 in a container, where a signal without a handler
is ignored), cutting off requests in flight and leaving the query worker processes to finish alone. Here, on the
first SIGTERM or SIGINT:

1. the listening sockets close, so new connections are refused (a load balancer's health check fails at once);
2. idle keep-alive connections close; connections with a request in service, or a response still being written,
   are served until done, up to ``grace`` seconds;
3. the query workers are stopped (:meth:`cnkg.sandbox.Sandbox.close`); a query still running past the grace
   period is answered 503 (reason ``stopping``, with ``Retry-After``) in a last moment of writing; waitress's
   threads end, and :meth:`GracefulServer.run` returns, so ``cnkg serve`` exits 0.

A second signal ends the wait at once. The signal handlers only set a flag and wake the event loop (through
waitress's own trigger pipe); all the work is done by the loop in the main thread, never inside a handler.

Slow senders: waitress closes a connection only when it has sent nothing for ``channel_timeout`` seconds, so a
client sending one header byte every few seconds kept its connection (and a slot under the connection limit) for
ever. Here a request's line and headers must arrive within ``header_timeout`` seconds of its first byte, and its
body at least ``MIN_BODY_RATE`` bytes a second on average after that (as Apache's mod_reqtimeout does); a
connection that falls behind is closed at the next clean-up (every ``cleanup_interval`` seconds).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

import waitress
from flask import Flask
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import WSGITask

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# after the grace period: how long requests cut off (their query workers stopped) may take to write their 503
FINAL_WRITE_SECONDS = 1.0
# seconds a request's line and headers may take to arrive, from its first byte
DEFAULT_HEADER_TIMEOUT = 10.0
# bytes a second a request body must average once its headers are in (beyond the header timeout's allowance)
MIN_BODY_RATE = 500
# the largest request line and headers (a GET query travels in the line): 64 KiB (waitress: 256 KiB), so the
# connection limit's worth of half-sent headers holds at most 64 MB; larger gets waitress's 431
MAX_HEADER_BYTES = 64 * 1024


# a response body up to this size goes out in one send with its status line and headers (copied once to join them)
ONE_SEND_BYTES = 64 * 1024


class OneSendTask(WSGITask):
    """waitress's task, sending a small response's head and body with one system call: waitress writes the head as
    soon as the body's first piece comes, in a send of its own, so every answer took two sends (two TCP segments for
    the client to wake up for)."""

    def write(self, data):
        if (not self.wrote_header and self.complete and data and self.has_body and not self.chunked_response
                and self.content_length is not None and len(data) <= min(self.content_length, ONE_SEND_BYTES)):
            head = self.build_response_header()
            self.wrote_header = True
            self.content_bytes_written += len(data)
            self.channel.write_soon(head + data)
            return
        super().write(data)


class DeadlineChannel(HTTPChannel):
    """A waitress channel that remembers when the request it is receiving began, and how many bytes it has, and
    answers with :class:`OneSendTask`."""

    task_class = OneSendTask

    request_started: float | None = None  # time.monotonic() of the first byte of the request being received
    request_bytes = 0

    def received(self, data):
        result = super().received(data)
        if self.request is None:  # every request received so far is complete
            self.request_started, self.request_bytes = None, 0
        else:
            if self.request_started is None:
                self.request_started = time.monotonic()
            self.request_bytes += len(data)
        return result

    def overdue(self, now: float, header_timeout: float) -> bool:
        """Whether the request being received has fallen behind its deadline (see the module's docstring)."""
        if self.requests:  # one is in service: the next waits unread, and its clock starts again afterwards
            if self.request_started is not None:
                self.request_started = now
            return False
        if self.request is None or self.request_started is None:
            return False
        elapsed = now - self.request_started
        if not self.request.headers_finished:
            return elapsed > header_timeout
        return elapsed > header_timeout + self.request_bytes / MIN_BODY_RATE


class GracefulServer:
    """``app`` under waitress (``options`` are waitress adjustments: host, port, threads, ...) until a stop signal,
    then draining for up to ``grace`` seconds. ``stop_workers``: stop the app's query worker pool at the end (the
    process-wide pool: right for ``cnkg serve``, whose process ends then)."""

    def __init__(self, app: Flask, grace: float = 10.0, log=sys.stderr, stop_workers: bool = True,
                 header_timeout: float = DEFAULT_HEADER_TIMEOUT, **options):
        self.app = app
        self.stop_workers = stop_workers
        self.grace = grace
        self.log = log
        self.header_timeout = header_timeout
        self._map: dict = {}
        options.setdefault("max_request_header_size", MAX_HEADER_BYTES)
        # waitress looks for idle connections every 30 s by default: often enough for neither deadline
        shortest = min(header_timeout, options.get("channel_timeout", 120))
        options.setdefault("cleanup_interval", max(1, int(shortest / 4)))
        self.server = waitress.create_server(app, map=self._map, **options)
        for listener in self.listeners:
            listener.channel_class = DeadlineChannel
            listener.maintenance = self._maintenance_of(listener)
        self._signals: list[int] = []
        self._pid = os.getpid()
        self._loop_timeout = self.server.adj.asyncore_loop_timeout
        self._use_poll = self.server.adj.asyncore_use_poll

    def _maintenance_of(self, listener: BaseWSGIServer):
        idle = listener.maintenance  # waitress's own: closes connections idle past channel_timeout

        def maintenance(now: float) -> None:
            idle(now)
            clock = time.monotonic()
            for channel in list(listener.active_channels.values()):
                if isinstance(channel, DeadlineChannel) and channel.overdue(clock, self.header_timeout):
                    channel.will_close = True

        return maintenance

    @property
    def listeners(self) -> list[BaseWSGIServer]:
        return [d for d in list(self._map.values()) if isinstance(d, BaseWSGIServer)]

    @property
    def channels(self) -> list[HTTPChannel]:
        return [d for d in list(self._map.values()) if isinstance(d, HTTPChannel)]

    @property
    def effective_port(self) -> int:
        return self.listeners[0].effective_port

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Ask the server to stop (what the signal handlers do); callable from any thread."""
        self._signals.append(signum)
        for listener in self.listeners:
            listener.pull_trigger()  # wake the loop: a write to waitress's trigger pipe, no lock taken
            break

    def _on_signal(self, signum, _frame) -> None:
        if os.getpid() != self._pid:  # a forked child (an update being computed) inherited the handler
            return
        self.stop(signum)

    def run(self) -> None:
        """Serve until stopped, then drain and clean up. Installs the SIGTERM and SIGINT handlers when called from
        the main thread (restoring the previous ones on return)."""
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                previous[signum] = signal.signal(signum, self._on_signal)
        try:
            while not self._signals:
                wasyncore.loop(timeout=self._loop_timeout, map=self._map, use_poll=self._use_poll, count=1)
            self._drain()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _drain(self) -> None:
        name = signal.Signals(self._signals[0]).name
        started = time.monotonic()
        deadline = started + self.grace
        for listener in self.listeners:  # refuse new connections; the trigger pipe stays open for the workers
            listener.accepting = False
            wasyncore.dispatcher.close(listener)
        busy = [c for c in self.channels if _busy(c)]
        self._say(f"stopping on {name}: no longer accepting connections; "
                  f"{_count(len(busy), 'request')} in flight, waiting up to {self.grace:g} s")
        cut_off = 0
        while True:
            busy = []
            for channel in self.channels:
                if _busy(channel):
                    busy.append(channel)
                elif not channel.will_close:
                    channel.will_close = True  # idle (keep-alive, or a request not yet fully sent): close it
            if not self.channels:
                break
            if len(self._signals) > 1 or time.monotonic() >= deadline:
                cut_off = len(busy)
                break
            wasyncore.loop(timeout=min(0.05, max(0.0, deadline - time.monotonic())), map=self._map,
                           use_poll=self._use_poll, count=1)
        # the query workers go first: a request thread still waiting on one gets its answer at once (503, reason
        # "stopping"), and a moment more of the loop writes it, rather than dropping the connection unanswered
        state = self.app.extensions.get("cnkg")
        if state is not None and self.stop_workers and state.sandbox is not None:
            state.sandbox.close()
        if cut_off:
            last = time.monotonic() + FINAL_WRITE_SECONDS
            while any(_busy(c) for c in self.channels) and time.monotonic() < last:
                wasyncore.loop(timeout=0.05, map=self._map, use_poll=self._use_poll, count=1)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=0.5)
        wasyncore.close_all(self._map)
        waited = time.monotonic() - started
        if cut_off:
            self._say(f"stopped after {waited:.2f} s: the grace period ended with "
                      f"{_count(cut_off, 'request')} still in flight (cut off)")
        else:
            self._say(f"stopped after {waited:.2f} s: every request in flight was answered")

    def _say(self, message: str) -> None:
        print(f"cnkg serve: {message}", file=self.log, flush=True)


def _busy(channel: HTTPChannel) -> bool:
    """A request being serviced (or queued for a thread), or a response not yet fully written."""
    return bool(channel.requests) or channel.total_outbufs_len > 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def serve(app: Flask, grace: float = 10.0, **options) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then stop gracefully (see the module's docstring)."""
    GracefulServer(app, grace=grace, **options).run()


__all__ = ["STOP_SIGNALS", "GracefulServer", "serve"]
