"""Serve an app with waitress and stop it gracefully on SIGTERM or SIGINT (``cnkg serve --http-server waitress``; the
default server is :mod:`cnkg.server.loop_server`, which keeps the same limits and the same graceful stop).

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

The common query (:mod:`cnkg.server.fast_path`) is answered on the event loop itself (:class:`LoopAnswers`): handing
each request to a thread and waking the loop again afterwards took about a quarter of the server's time holding the
GIL at eight clients (bench/README.md, 2026-12-07).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import deque

import waitress
from flask import Flask
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import WSGITask

from .fast_path import PREPARED, READY, FastQueries

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
# seconds a checked query may wait on the event loop for a worker before a thread waits for it instead (threads wait
# in turn with every other query, the slow path's included)
PATIENCE = 0.05


# a response body up to this size goes out in one send with its status line and headers (copied once to join them)
ONE_SEND_BYTES = 64 * 1024


class OneSendTask(WSGITask):
    """waitress's task, sending a small response's head and body with one system call: waitress writes the head as
    soon as the body's first piece comes, in a send of its own, so every answer took two sends (two TCP segments for
    the client to wake up for)."""

    def get_environment(self):
        if self.environ is None:  # built on the event loop already (LoopAnswers): the same one, with its answer
            self.environ = getattr(self.request, "cnkg_environ", None)
        return super().get_environment()

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


class LoopAnswers:
    """Answers the common /sparql request on waitress's event loop, without a request thread
    (:meth:`cnkg.server.fast_path.FastQueries.begin`): the loop starts the query in an idle worker, waits for the
    worker's pipe along with its sockets, and writes the answer; each query is stopped at its deadline by the loop
    (:meth:`expire_overdue`). A query that finds no worker free (or whose client may not start another yet: the
    pool's turn rules, :meth:`cnkg.sandbox.Sandbox.start`) waits here for one, in order, for up to
    :data:`PATIENCE`, then on a thread. A request that needs Flask (anything else, an error to answer) or a large
    answer goes to a thread as before, with what was done here."""

    # answers up to this size are written by the loop (a larger one could fill the connection's buffers, and the
    # loop must never wait on them)
    LARGEST = 256 * 1024

    def __init__(self, front, server: BaseWSGIServer, map: dict):
        self.front, self.server, self.map = front, server, map
        self.pool = front.state.sandbox
        self.dispatch = server.task_dispatcher.add_task
        self.loop_thread: int | None = None   # set by GracefulServer.run
        self.waiting: dict[int, _Waiter] = {}  # the worker pipe's descriptor -> the request waiting on it
        self.ready: deque = deque()  # (channel, environ): answered from the result cache, to be written
        self.queued: deque = deque()  # (channel, environ, until): checked, waiting for a worker
        self.answered_here = 0  # requests answered by the loop itself (the others went to threads)
        self.queued_here = 0    # queries that waited here for a worker

    def add_task(self, channel: HTTPChannel) -> None:
        """In place of the listener's own (called with a channel whose first request is complete)."""
        if threading.get_ident() != self.loop_thread or len(channel.requests) != 1 or channel.requests[0].error:
            return self.dispatch(channel)
        request = channel.requests[0]
        environ = request.cnkg_environ = channel.task_class(channel, request).get_environment()
        try:
            started = self.front.begin(environ)
        except Exception:  # noqa: BLE001 - the thread's app call meets it again, and answers it
            started = False
        if started is True:  # served once received() has returned (it holds the channel's request lock)
            self.ready.append((channel, environ))
            return None
        if started is False:
            if PREPARED in environ:  # checked, waiting for a worker: here, for a moment (see start_queued)
                self.queued.append((channel, environ, time.monotonic() + PATIENCE))
                self.queued_here += 1
                self.pool.expect(len(self.queued))
                return None
            return self.dispatch(channel)
        self._wait(channel, environ, started)

    def _wait(self, channel: HTTPChannel, environ, pending) -> None:
        waiter = _Waiter(self, channel, environ, pending)
        self.waiting[waiter.fd] = waiter
        self.map[waiter.fd] = waiter

    def start_queued(self) -> None:
        """Start the queued queries a worker is free for now, in the order they came; pass those that waited
        :data:`PATIENCE` to threads (which wait for a worker in turn with every other query, up to the deadline)."""
        if not self.queued:
            return
        now, still = time.monotonic(), deque()
        for channel, environ, until in self.queued:
            if not channel.connected:  # its client left: nothing to start (the thread only closes the channel)
                self.dispatch(channel)
                continue
            pending = None
            if not still or self.pool.idle:
                try:
                    pending = self.front.resume(environ)
                except Exception:  # noqa: BLE001 - the thread's app call meets it again, and answers it
                    environ.pop(PREPARED, None)
                    self.dispatch(channel)
                    continue
            if pending is not None:
                self._wait(channel, environ, pending)
            elif until <= now:
                self.dispatch(channel)
            else:
                still.append((channel, environ, until))
        self.queued = still
        self.pool.expect(len(still))

    def answered(self, waiter: _Waiter, expired: bool = False) -> None:
        self.waiting.pop(waiter.fd, None)
        self.map.pop(waiter.fd, None)
        self.front.finish(waiter.environ, waiter.pending, expired)
        self._serve(waiter.channel, waiter.environ)
        self.start_queued()  # its worker is free again

    def _serve(self, channel: HTTPChannel, environ) -> None:
        ready = environ.get(READY)
        if ready is not None and len(ready[2].body) <= self.LARGEST and channel.total_outbufs_len == 0:
            self.answered_here += 1
            channel.service()  # the app answers from environ at once; then waitress's own bookkeeping
        else:
            self.dispatch(channel)

    def serve_ready(self) -> None:
        while self.ready:
            self._serve(*self.ready.popleft())

    def abandon(self) -> None:
        """Collect every query waiting on a worker now (their workers were stopped: the server is stopping)."""
        for waiter in list(self.waiting.values()):
            self.answered(waiter)
        while self.queued:  # the threads' wait for a worker ends at once, and they answer
            self.dispatch(self.queued.popleft()[0])
        self.pool.expect(0)

    def timeout(self, longest: float) -> float:
        """How long the loop may wait for events: until the nearest deadline at most."""
        if not self.waiting and not self.queued:
            return longest
        nearest = min([w.pending.deadline for w in self.waiting.values()] + [q[2] for q in self.queued])
        return max(0.0, min(longest, nearest - time.monotonic()))

    def expire_overdue(self) -> None:
        if not self.waiting:
            return
        now = time.monotonic()
        for waiter in [w for w in self.waiting.values() if w.pending.deadline <= now]:
            self.answered(waiter, expired=True)


class _Waiter:
    """A request waiting on a worker's pipe, as the event loop sees it (readable when the worker has answered)."""

    def __init__(self, loop: LoopAnswers, channel: HTTPChannel, environ: dict, pending):
        self.loop, self.channel, self.environ, self.pending = loop, channel, environ, pending
        self.fd = pending.fileno()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def handle_read_event(self) -> None:
        self.loop.answered(self)

    handle_expt_event = handle_close = handle_read_event

    def handle_error(self) -> None:
        self.loop.server.logger.exception("answering a query on the event loop")
        self.close()

    def close(self) -> None:
        """Stop waiting (the server's sockets are being closed): the query is stopped, its worker freed."""
        if self.loop.waiting.pop(self.fd, None) is not None:
            self.loop.map.pop(self.fd, None)
            self.loop.front.finish(self.environ, self.pending, expired=True)


class GracefulServer:
    """``app`` under waitress (``options`` are waitress adjustments: host, port, threads, ...) until a stop signal,
    then draining for up to ``grace`` seconds. ``stop_workers``: stop the app's query worker pool at the end (the
    process-wide pool: right for ``cnkg serve``, whose process ends then)."""

    def __init__(self, app: Flask, grace: float = 10.0, log=sys.stderr, stop_workers: bool = True,
                 header_timeout: float = DEFAULT_HEADER_TIMEOUT, answer_on_loop: bool = True, **options):
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
        self.loop_answers: LoopAnswers | None = None
        front = getattr(app, "wsgi_app", None)
        for listener in self.listeners:
            listener.channel_class = DeadlineChannel
            listener.maintenance = self._maintenance_of(listener)
            if (answer_on_loop and isinstance(front, FastQueries) and self.loop_answers is None
                    and front.state.sandbox is not None):
                self.loop_answers = LoopAnswers(front, listener, self._map)
            if self.loop_answers is not None:
                listener.add_task = self.loop_answers.add_task
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
        answers = self.loop_answers
        if answers is not None:
            answers.loop_thread = threading.get_ident()
        try:
            while not self._signals:
                self._turn(self._loop_timeout)
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
        self._say(stopping_message(name, sum(1 for c in self.channels if _busy(c)), self.grace))
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
            self._turn(min(0.05, max(0.0, deadline - time.monotonic())))
        # the query workers go first: a request thread still waiting on one gets its answer at once (503, reason
        # "stopping"), and a moment more of the loop writes it, rather than dropping the connection unanswered
        state = self.app.extensions.get("cnkg")
        if state is not None and self.stop_workers and state.sandbox is not None:
            state.sandbox.close()
            if self.loop_answers is not None:  # their workers are gone: each is answered (503, stopping)
                self.loop_answers.abandon()
        if cut_off:
            last = time.monotonic() + FINAL_WRITE_SECONDS
            while any(_busy(c) for c in self.channels) and time.monotonic() < last:
                self._turn(0.05)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=0.5)
        wasyncore.close_all(self._map)
        self._say(stopped_message(time.monotonic() - started, cut_off))

    def _turn(self, timeout: float) -> None:
        """One turn of the event loop: wait up to ``timeout`` seconds (less if a query's deadline comes first)."""
        answers = self.loop_answers
        if answers is not None:
            timeout = answers.timeout(timeout)
        wasyncore.loop(timeout=timeout, map=self._map, use_poll=self._use_poll, count=1)
        if answers is not None:
            answers.serve_ready()
            answers.expire_overdue()
            answers.start_queued()

    def _say(self, message: str) -> None:
        print(f"cnkg serve: {message}", file=self.log, flush=True)


def _busy(channel: HTTPChannel) -> bool:
    """A request being serviced (or queued for a thread), or a response not yet fully written."""
    return bool(channel.requests) or channel.total_outbufs_len > 0


def stopping_message(signal_name: str, in_flight: int, grace: float) -> str:
    """What a server says when a stop signal comes (the same words from both of cnkg's servers)."""
    return (f"stopping on {signal_name}: no longer accepting connections; {_count(in_flight, 'request')} in flight, "
            f"waiting up to {grace:g} s")


def stopped_message(waited: float, cut_off: int) -> str:
    """What a server says once stopped, ``cut_off`` requests still in flight at the end of the grace period."""
    if cut_off:
        return (f"stopped after {waited:.2f} s: the grace period ended with {_count(cut_off, 'request')} still in "
                "flight (cut off)")
    return f"stopped after {waited:.2f} s: every request in flight was answered"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def serve(app: Flask, grace: float = 10.0, **options) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then stop gracefully (see the module's docstring)."""
    GracefulServer(app, grace=grace, **options).run()


__all__ = ["STOP_SIGNALS", "GracefulServer", "serve"]
