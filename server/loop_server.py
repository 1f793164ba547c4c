"""``cnkg serve``'s HTTP server: an asyncio event loop (uvloop where installed) parsing with httptools.

Why not waitress (cnkg's server until 2026-12, a subclass of its channel and task): a request under waitress cost
the server 0.19-0.37 ms of CPU before the app saw it, against 0.03-0.07 here (``bench/results/http-floor.md``,
``http-floor-asyncio.md``), the common query's answer went through waitress's channel and task objects, and waitress
answers a request framed by both Content-Length and chunked and keeps the connection (a request hidden after the
body is then answered; RFC 9112, 6.3 says to close). Here the common /sparql query
(:class:`cnkg.server.fast_path.FastQueries`) is read, checked, started in a query worker and answered on the loop
itself: the worker's pipe is waited on beside the sockets, and the loop stops the query at its deadline. Everything
else (Flask's routes, errors, updates, pages) runs on a pool of threads.

The HTTP side's limits, each covered by tests (``tests/test_http_server.py``, ``tests/test_red_team_server.py``):

- a request's line and headers must arrive within ``header_timeout`` seconds of its first byte, and its body at
  least ``MIN_BODY_RATE`` bytes a second after that; a connection that falls behind is closed unanswered;
- a connection that sends nothing and has nothing to receive for ``channel_timeout`` seconds is closed, and so is one
  whose client reads nothing of its answer for as long: while a connection's buffer is full it is not read and
  nothing new starts for it, so a client that sends without reading is cut off too;
- at most ``connection_limit`` connections: past it the listener stops accepting (new connections wait in the
  kernel's backlog, as under waitress) until one closes;
- a request's line and headers (trailers included) are limited to ``max_request_header_size`` bytes (431), its body
  to the app's ``MAX_CONTENT_LENGTH``: past it the app answers 413 at once (from the declared length, or once a
  chunked body passes it) and the rest is read and dropped, up to a limit, before the connection closes; a body
  past :data:`SPOOL_BYTES` waits in a temporary file; a chunked body's framing is bounded too;
- pipelined requests are answered in order, one at a time, and only a few are read ahead;
- a query whose client has gone (a reset) is stopped and its worker freed;
- the graceful stop, on the first SIGTERM or SIGINT (a container's PID 1 included, where a signal without a
  handler is ignored): the listener closes (new connections are refused: a load balancer's health check fails at
  once); idle keep-alive connections close; requests in service, or answers still being written, are served for up
  to ``grace`` seconds; then the query workers are stopped (:meth:`cnkg.sandbox.Sandbox.close`) and a query still
  running is answered 503 (reason ``stopping``, with ``Retry-After``) in a last moment of writing, and :meth:`run`
  returns (``cnkg serve`` exits 0). A second signal ends the wait at once. The signal handlers only set a flag and
  wake the loop; the work is done on the loop.

The HTTP parsing is httptools' (llhttp, Node.js's parser); what is written here is the connection's life around it
(deadlines, keep-alive, the WSGI environment and response framing), which no library offers with these limits.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import queue
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

import httptools
from flask import Flask

from .fast_path import PREPARED, READY, FastQueries

try:  # uvloop: a faster event loop (libuv), on Linux and macOS
    import uvloop
except ImportError:  # pragma: no cover - elsewhere, asyncio's own loop
    uvloop = None

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# after the grace period: how long requests cut off (their query workers stopped) may take to write their 503
FINAL_WRITE_SECONDS = 1.0
# seconds a request's line and headers may take to arrive, from its first byte
DEFAULT_HEADER_TIMEOUT = 10.0
# bytes a second a request body must average once its headers are in (beyond the header timeout's allowance), as
# Apache's mod_reqtimeout asks: a client sending a byte every few seconds does not hold a connection for ever
MIN_BODY_RATE = 500
# the largest request line and headers (a GET query travels in the line): 64 KiB (waitress: 256 KiB), so the
# connection limit's worth of half-sent headers holds at most 64 MB; larger gets 431
MAX_HEADER_BYTES = 64 * 1024
# seconds a checked query may wait on the event loop for a worker before a thread waits for it instead (threads wait
# in turn with every other query, the slow path's included)
PATIENCE = 0.05
# seconds between the sweeps that close connections past their deadlines
SWEEP_SECONDS = 0.25
# requests received ahead on one connection (pipelined) before the loop stops reading it until they are answered
MAX_PIPELINED = 16
# a request body past this size goes to a temporary file as it arrives (waitress: 512 KiB); requests received ahead
# holding more than this in memory also stop the reading (so a connection holds a few of these at most)
SPOOL_BYTES = 256 * 1024
# the connection's buffer past which it stops being read and nothing new starts for it until its client reads
WRITE_HIGH_WATER = 256 * 1024
# an answer written by a thread: past this much of it, the thread waits while the connection's buffer is full (an
# answer the app holds whole in memory anyway is handed over at once, so a client that does not read holds no
# thread for it; waitress: 16 MiB, spooled to a file past 1 MiB)
THREAD_BUFFER = 4 * 1024 * 1024
SERVER_NAME = b"cnkg"


class LoopServer:
    """``app`` served on ``host``:``port`` until :meth:`stop` (or SIGTERM/SIGINT when :meth:`run` is called from the
    main thread), then drained for up to ``grace`` seconds. ``stop_workers``: stop the app's query worker pool at
    the end (right for ``cnkg serve``, whose process ends then). The options named as waitress names them
    (``threads``, ``connection_limit``, ``channel_timeout``, ``max_request_header_size``, ``max_request_body_size``)
    mean what they mean there."""

    def __init__(self, app: Flask, grace: float = 10.0, log=sys.stderr, stop_workers: bool = True,
                 header_timeout: float = DEFAULT_HEADER_TIMEOUT, answer_on_loop: bool = True,
                 host: str = "127.0.0.1", port: int = 8000, threads: int = 8, connection_limit: int = 1000,
                 channel_timeout: float = 120.0, max_request_header_size: int = MAX_HEADER_BYTES,
                 max_request_body_size: int | None = None):
        self.app, self.grace, self.log, self.stop_workers = app, grace, log, stop_workers
        self.header_timeout, self.channel_timeout = header_timeout, channel_timeout
        self.connection_limit = max(1, connection_limit)
        self.max_header = max_request_header_size
        limit = app.config.get("MAX_CONTENT_LENGTH")
        self.max_body = min(x for x in (limit, max_request_body_size, 1 << 62) if x is not None)
        # a body past max_body is read and dropped up to this much more (then the connection is closed unread)
        self.max_discard = max(64 * 1024 * 1024, 2 * self.max_body)
        front = getattr(app, "wsgi_app", None)
        self.front = front if (answer_on_loop and isinstance(front, FastQueries)
                               and front.state.sandbox is not None) else None
        self.pool = self.front.state.sandbox if self.front is not None else None
        self.threads = Threads(max(1, threads))
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        self.listener = socket.create_server((host, port), family=family, backlog=1024)
        self.listener.setblocking(False)
        self.host, self.effective_port = host, self.listener.getsockname()[1]
        self.connections: set[Connection] = set()
        self.accepting = True   # the listener is being read (not at the connection limit, not stopping)
        self.stopping = False
        self.queued: deque = deque()  # (connection, environ, until): checked, waiting for a worker
        self.waiting: dict[int, tuple] = {}  # worker pipe -> (connection, environ, pending, deadline timer)
        self.answered_here = 0  # requests answered on the loop (the rest went to threads)
        self.queued_here = 0    # queries that waited on the loop for a worker
        self._signals: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._date = (0, b"")
        self._queue_check: asyncio.TimerHandle | None = None

    @property
    def loop_answers(self) -> LoopServer | None:
        """This server when it answers the common query on its loop (``answered_here``, ``queued_here``,
        ``waiting``)."""
        return self if self.front is not None else None

    # ---------------------------------------------------------------------------------------------- running

    def run(self) -> None:
        """Serve until stopped, then drain and clean up."""
        loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Ask the server to stop (what the signal handlers do); callable from any thread."""
        self._signals.append(signum)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop closed meanwhile
                pass

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        loop = self._loop = asyncio.get_running_loop()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                previous[signum] = signal.getsignal(signum)
                loop.add_signal_handler(signum, self.stop, signum)
        sweeper = loop.create_task(self._sweep())
        try:
            loop.add_reader(self.listener.fileno(), self._accept)
            while not self._signals:
                await self._wake.wait()
                self._wake.clear()
            await self._drain()
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            for signum, handler in previous.items():  # as they were before run()
                loop.remove_signal_handler(signum)
                if handler is not None:  # (None: installed from C, cannot be put back from Python)
                    signal.signal(signum, handler)

    def _accept(self) -> None:
        loop = self._loop
        while len(self.connections) < self.connection_limit:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors, say: try again at the next sweep
                self._say(f"accepting a connection failed: {exc}")
                self._pause_accepting()
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(self)
            self.connections.add(connection)  # counted from now, against the limit
            loop.create_task(self._connect(sock, connection))
        self._pause_accepting()

    async def _connect(self, sock: socket.socket, connection: Connection) -> None:
        try:
            await self._loop.connect_accepted_socket(lambda: connection, sock)
        except OSError:
            sock.close()
            self._forget(connection)

    def _pause_accepting(self) -> None:
        if self.accepting:
            self.accepting = False
            self._loop.remove_reader(self.listener.fileno())

    def _forget(self, connection: Connection) -> None:
        self.connections.discard(connection)
        self._resume_accepting()

    def _resume_accepting(self) -> None:
        if not self.accepting and not self.stopping and len(self.connections) < self.connection_limit:
            self.accepting = True
            self._loop.add_reader(self.listener.fileno(), self._accept)

    async def _sweep(self) -> None:
        """Close the connections past a deadline (see the module's docstring); retry accepting after an error."""
        interval = max(0.05, min(SWEEP_SECONDS, self.header_timeout / 4, self.channel_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for connection in list(self.connections):
                connection.check(now)
            self._resume_accepting()

    async def _drain(self) -> None:
        name = signal.Signals(self._signals[0]).name
        started = time.monotonic()
        deadline = started + self.grace
        self.stopping = True
        if self.accepting:
            self._loop.remove_reader(self.listener.fileno())
        self.accepting = False
        self.listener.close()
        self._say(stopping_message(name, sum(1 for c in self.connections if c.busy), self.grace))
        cut_off = 0
        while True:
            busy = []
            for connection in list(self.connections):
                if connection.busy:
                    busy.append(connection)
                    connection.stop_reading()  # what it sent is answered (the last answer says close), then
                    # it is closed
                else:
                    connection.close()  # idle (keep-alive, or a request not yet fully sent)
            if not self.connections:
                break
            if len(self._signals) > 1 or time.monotonic() >= deadline:
                cut_off = len(busy)
                break
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        # the query workers go first: a query waiting on one gets its answer at once (503, reason "stopping"), and a
        # moment more writes it, rather than dropping the connection unanswered
        state = self.app.extensions.get("cnkg")
        if state is not None and self.stop_workers and state.sandbox is not None:
            state.sandbox.close()
            self._abandon()
        if cut_off:
            last = time.monotonic() + FINAL_WRITE_SECONDS
            while any(c.busy for c in self.connections) and time.monotonic() < last:
                await asyncio.sleep(0.05)
        for key in list(self.waiting):  # a shared pool (not stopped here): stop each query, free its worker
            connection, environ, pending, timer = self.waiting.pop(key)
            self._release(key, timer)
            self.front.finish(environ, pending, expired=True)
        for connection in list(self.connections):
            connection.abort()
        self.threads.shutdown()
        self._say(stopped_message(time.monotonic() - started, cut_off))

    def _say(self, message: str) -> None:
        print(f"cnkg serve: {message}", file=self.log, flush=True)

    def date(self) -> bytes:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True).encode("latin-1"))
        return self._date[1]

    # ---------------------------------------------------------------------------------- the fast path

    def serve(self, connection: Connection, environ: dict) -> None:
        """Answer one request: on the loop when it is the common query, else on a thread."""
        if self.front is None or self.stopping:
            return self.on_thread(connection, environ)
        try:
            started = self.front.begin(environ)
        except Exception:  # noqa: BLE001 - the thread's app call meets it again, and answers it
            started = False
        if started is True:  # from the result cache
            return self._answer(connection, environ)
        if started is False:
            if PREPARED in environ:  # checked, waiting for a worker: here, for a moment (see start_queued)
                self.queued.append((connection, environ, time.monotonic() + PATIENCE))
                self.queued_here += 1
                self.pool.expect(len(self.queued))
                self._queue_timer()
                return None
            return self.on_thread(connection, environ)
        self._wait(connection, environ, started)

    def _wait(self, connection: Connection, environ: dict, pending) -> None:
        fd = pending.fileno()
        timer = self._loop.call_later(max(0.0, pending.deadline - time.monotonic()), self._answered, fd, True)
        self.waiting[fd] = (connection, environ, pending, timer)
        connection.pending = fd
        self._loop.add_reader(fd, self._answered, fd)

    def _release(self, fd: int, timer: asyncio.TimerHandle) -> None:
        """Stop watching a worker's pipe (uvloop leaves it non-blocking: the sandbox reads it either way)."""
        self._loop.remove_reader(fd)
        timer.cancel()

    def _answered(self, fd: int, expired: bool = False) -> None:
        entry = self.waiting.pop(fd, None)
        if entry is None:
            return
        connection, environ, pending, timer = entry
        connection.pending = None
        self._release(fd, timer)
        self.front.finish(environ, pending, expired)
        if connection.closed:  # its client left: nothing to answer
            connection.done()
        elif READY in environ:
            self._answer(connection, environ)
        else:  # an error to answer: Flask's handlers write it, on a thread
            self.on_thread(connection, environ)
        self.start_queued()  # its worker is free again

    def _answer(self, connection: Connection, environ: dict) -> None:
        """The app's answer from ``environ[READY]``, written on the loop (it is in memory already)."""
        if connection.closed:
            return connection.done()
        self.answered_here += 1
        response = Response(connection, environ)
        try:
            response.serve(self.app)  # (the body's close: the fast path's bookkeeping, the cache, the access log)
        except Exception:  # noqa: BLE001 - a failure writing the answer: the client gets a 500 or a closed socket
            self.app.logger.exception("answering a query on the event loop")
            response.fail()
        connection.done()

    def start_queued(self) -> None:
        """Start the queued queries a worker is free for now, in the order they came; pass those that waited
        :data:`PATIENCE` to threads."""
        if not self.queued:
            return
        now, still = time.monotonic(), deque()
        for connection, environ, until in self.queued:
            if connection.closed:  # its client left: nothing to start
                connection.done()
                continue
            pending = None
            if not still and not self.stopping:
                try:
                    pending = self.front.resume(environ)
                except Exception:  # noqa: BLE001 - the thread's app call meets it again, and answers it
                    environ.pop(PREPARED, None)
                    self.on_thread(connection, environ)
                    continue
            if pending is not None:
                self._wait(connection, environ, pending)
            elif until <= now or self.stopping:
                self.on_thread(connection, environ)
            else:
                still.append((connection, environ, until))
        self.queued = still
        self.pool.expect(len(still))
        self._queue_timer()

    def _queue_timer(self) -> None:
        """Look at the queue again when its first query's patience ends (the loop's clock may run a little ahead of
        time.monotonic(): a timer set for exactly then could find it not yet due, and leave it waiting)."""
        if self._queue_check is not None:
            self._queue_check.cancel()
            self._queue_check = None
        if self.queued:
            delay = max(0.0, self.queued[0][2] - time.monotonic()) + 0.002
            self._queue_check = self._loop.call_later(delay, self.start_queued)

    def _abandon(self) -> None:
        """Collect every query waiting on a worker now (their workers were stopped: the server is stopping)."""
        for fd in list(self.waiting):
            self._answered(fd)
        while self.queued:
            connection, environ, _ = self.queued.popleft()
            self.on_thread(connection, environ)
        if self.pool is not None:
            self.pool.expect(0)

    # ---------------------------------------------------------------------------------- threads

    def on_thread(self, connection: Connection, environ: dict) -> None:
        if not self.threads.submit(self._call_app, connection, environ):  # shut down: the server is stopping
            connection.abort()

    def _call_app(self, connection: Connection, environ: dict) -> None:
        response = Response(connection, environ, threaded=True)
        try:
            response.serve(self.app)
        except ClientGone:
            pass
        except Exception:  # noqa: BLE001 - the app failed outside its own error handling
            self.app.logger.exception("serving %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            try:
                response.fail()
            except ClientGone:
                pass
        finally:
            connection.call_soon(connection.done)


class Threads:
    """The threads that call the app for the requests not answered on the loop: daemon threads, like waitress's, so
    that one still waiting on a query worker never holds the process's exit."""

    def __init__(self, count: int):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.count, self.closed = count, False
        for n in range(count):
            threading.Thread(target=self._work, daemon=True, name=f"cnkg-http-{n}").start()

    def submit(self, function, *args) -> bool:
        if self.closed:
            return False
        self.jobs.put((function, args))
        return True

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            function, args = job
            del job  # (nothing of a request outlives it here: a body's temporary file, say)
            try:
                function(*args)
            except Exception:  # noqa: BLE001 - never lose a thread; the job reports its own failures
                logging.getLogger(__name__).exception("a request thread's job failed")
            del function, args

    def shutdown(self) -> None:
        """No more jobs; each thread ends once done with its own (jobs not started are dropped)."""
        self.closed = True
        while True:
            try:
                self.jobs.get_nowait()
            except queue.Empty:
                break
        for _ in range(self.count):
            self.jobs.put(None)


class ClientGone(Exception):
    """The client closed its connection while its answer was being written."""


class Response:
    """One response: ``start`` is the WSGI ``start_response``; the head goes out with the first piece of the body
    (in one write when the body is one piece)."""

    __slots__ = ("connection", "environ", "threaded", "status", "headers", "head_sent", "chunked", "head_only",
                 "length", "sent", "written")

    def __init__(self, connection: Connection, environ: dict, threaded: bool = False):
        self.connection, self.environ, self.threaded = connection, environ, threaded
        self.status: str | None = None
        self.headers: list = []
        self.head_sent = self.chunked = False
        self.head_only = environ["REQUEST_METHOD"] == "HEAD"
        self.length: int | None = None
        self.sent = 0     # bytes of the body sent
        self.written = 0  # bytes handed to the connection, head and framing included

    def start(self, status: str, headers: list, exc_info=None):
        if exc_info is not None and self.head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self._write_body_piece

    def _head(self) -> bytes:
        connection = self.connection
        code = int(self.status[:3])
        no_body = self.head_only or code < 200 or code in (204, 304)
        lines = [b"HTTP/1.1 " + self.status.encode("latin-1")]
        close = not connection.keep_alive
        for name, value in self.headers:
            lower = name.lower()
            if lower == "content-length":
                self.length = int(value)
            elif lower == "connection" and value.lower() == "close":
                close = True
                continue
            elif lower == "transfer-encoding":
                continue
            lines.append(f"{name}: {value}".encode("latin-1"))
        if self.length is None and not no_body:
            if connection.http10:
                close = True  # the end of the body is the end of the connection
            else:
                self.chunked = True
                lines.append(b"Transfer-Encoding: chunked")
        if close:
            connection.keep_alive = False
            lines.append(b"Connection: close")
        elif connection.http10:
            lines.append(b"Connection: Keep-Alive")
        lines.append(b"Date: " + connection.server.date())
        lines.append(b"Server: " + SERVER_NAME)
        if no_body:
            self.head_only = True
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def _frame(self, data: bytes) -> bytes:
        if self.head_only or not data:
            return b""
        if self.length is not None:
            data = data[:max(0, self.length - self.sent)]  # never more than it said (the connection would desync)
            self.sent += len(data)
            return data
        if self.chunked:
            return b"%x\r\n" % len(data) + data + b"\r\n"
        return data

    def _write_body_piece(self, data: bytes) -> None:
        self._send(data, False)

    def _send(self, data: bytes, last: bool) -> None:
        if self.status is None:
            raise AssertionError("the app wrote a body before start_response")
        out = b""
        if not self.head_sent:
            out = self._head()
            self.head_sent = True
        out += self._frame(data)
        if last and self.chunked and not self.head_only:
            out += b"0\r\n\r\n"
        if out:
            self.written += len(out)
            self.connection.send(out, self.threaded, wait=self.written > THREAD_BUFFER)

    def serve(self, app) -> None:
        """Call the WSGI ``app`` for this response's request, write its body, then close the body (as WSGI asks)."""
        body = app(self.environ, self.start)
        try:
            self.write_all(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def write_all(self, body) -> None:
        pieces = body if isinstance(body, list) else None
        if pieces is not None and len(pieces) == 1:  # the common case: head and body in one write
            self._send(pieces[0], True)
        else:
            for piece in body:
                if piece:
                    self._send(piece, False)
            self._send(b"", True)
        if self.length is not None and self.sent < self.length and not self.head_only:
            self.connection.keep_alive = False  # the app sent less than it said: the client must not wait for more

    def fail(self) -> None:
        """The app failed: a 500 if nothing was sent yet, else the connection is cut (the answer is incomplete)."""
        if self.head_sent:
            self.connection.keep_alive = False
            self.connection.call_soon(self.connection.abort)
            return
        body = (b'{"error": {"status": 500, "reason": "internal", "message": "the server failed to answer this '
                b'request; the failure is in its log"}}\n')
        self.status, self.headers, self.length = "500 Internal Server Error", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(body)))], None
        self._send(body, True)


class Connection(asyncio.Protocol):
    """One client connection: httptools parses what arrives; complete requests are answered one at a time, in
    order."""

    def __init__(self, server: LoopServer):
        self.server = server
        self.loop = server._loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.closed = False          # the socket is closed
        self.ignoring = False        # what the client sends is no longer read (the connection closes after)
        self.discarding = False      # the rest of a body past the limit is read and dropped (see on_body)
        self.discarded = 0
        self.keep_alive = True
        self.http10 = False
        self.requests: deque = deque()   # received, waiting for their turn
        self.in_service = False          # a request is being answered
        self.remote = ("", 0)
        self.writable = threading.Event()  # the socket's buffer has room (nothing new starts, and threads writing
        # an answer wait, while it has not)
        self.in_next = False
        self.body: BodyStream | None = None  # the body of the request in service
        self.pending: int | None = None       # the pipe of the query worker answering it, on the loop
        self.writable.set()
        # deadlines (see check)
        self.last_activity = time.monotonic()
        self.last_buffered = 0
        self.receiving_since: float | None = None  # the first byte of the request being received
        self.received_bytes = 0
        # the request being parsed
        self.in_head = True   # between requests, or before a request's headers are complete
        self.head_parsed = 0  # bytes of its line and headers parsed (url and headers)
        self.head_raw = 0     # bytes of whole reads that were all head, since it began (httptools buffers them)
        self.after_head = 0   # bytes of reads that began after its head
        self.body_received = 0
        self.began = self.completed = False  # during one read: a request began, one was complete
        self.upgrade: tuple | None = None  # a request offering an upgrade, waiting for its body (see _not_upgraded)
        self.body_only = False        # the parser is reading such a body, behind a stand-in head
        self._url = b""
        self._headers: list = []
        self._body = Body()
        self.queued_bytes = 0  # bytes of the bodies of the requests received ahead (in memory or spooled)

    # -------------------------------------------------------------------------------------- the socket

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.remote = (str(peer[0]), peer[1])
        if self.server.stopping:
            self.close()

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.writable.set()  # a thread waiting to write finds the connection closed
        self.server._forget(self)
        if self.pending is not None:  # its query is stopped, its worker freed (no one is left to answer)
            self.server._answered(self.pending, expired=True)
        for request in self.requests:  # the temporary files of large bodies received ahead
            if not isinstance(request, bytes):
                request[3].file.close()
        self.requests.clear()
        if self._body.file is not None:
            self._body.file.close()
        if self.body is not None and not self.in_service:
            self.body.file.close()

    def eof_received(self) -> bool | None:
        """The client has finished sending: answer what it sent (it may still read), then close."""
        self.ignoring = True
        self.discarding = False  # (nothing more will come)
        if self.in_service or self.requests:
            return True  # keep the socket open for the answers (see done)
        return None  # nothing to answer: close

    def pause_writing(self) -> None:
        """The client reads its answers more slowly than they are written: read nothing more from it, and start
        nothing more for it, until it has read them (then the idle timeout applies to it: see check)."""
        self.writable.clear()
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.last_activity = time.monotonic()  # the client is reading its answer
        self.writable.set()
        self._resume_reading()
        self._next()

    def data_received(self, data: bytes) -> None:
        if self.ignoring or self.closed:
            return
        now = time.monotonic()
        self.last_activity = now
        if self.receiving_since is None:
            self.receiving_since, self.received_bytes = now, 0
        self.received_bytes += len(data)
        was_head, self.began, self.completed = self.in_head, False, False
        if not was_head:
            self.after_head += len(data)
        try:
            chunk = data
            while chunk:
                try:
                    self.parser.feed_data(chunk)
                    break
                except httptools.HttpParserUpgrade as exc:  # an upgrade offered (h2c, websocket): declined
                    chunk = self._not_upgraded(chunk[exc.args[0] if exc.args else len(chunk):])
        except httptools.HttpParserError as exc:
            if not self.ignoring:
                self.refuse(400, "bad_request", f"the request is not valid HTTP/1.1: {exc}")
        if not self.ignoring and self.in_head:
            if was_head and not self.began and not self.completed:  # the whole read was head
                self.head_raw += len(data)
            self._check_head()
        elif not self.ignoring and not was_head and not self.completed:
            # what a body's read brought that is not body: chunk sizes and extensions, trailers (httptools buffers
            # a trailer line until it ends); a few bytes a chunk are framing, more is refused
            if self.after_head - self.body_received > self.server.max_header + 16 * self.body_received:
                self.refuse(400, "bad_request", "the chunked body's framing (chunk extensions, trailers) is too large")
        if self.ignoring:
            self.transport.pause_reading()
        elif len(self.requests) >= MAX_PIPELINED or self.queued_bytes > SPOOL_BYTES:
            self.transport.pause_reading()  # resumed as they are answered (see _next)
        self._next()

    # -------------------------------------------------------------------------------------- httptools

    def _not_upgraded(self, rest: bytes) -> bytes:
        """A request offered an upgrade (``Upgrade: h2c`` from curl --http2 or Java's HttpClient, a websocket): it
        is answered in HTTP/1.1, as if the offer were not there, and the connection goes on. httptools skips the body
        of such a request and stops at it, so a new parser reads what follows: the body, if the request has one,
        behind a stand-in head with the same framing (see :attr:`body_only`), then the next requests. Returns what the
        new parser is to read."""
        self.parser = httptools.HttpRequestParser(self)
        if self.upgrade is None:  # no body: the next requests follow
            return rest
        self.body_only = True
        return b"POST / HTTP/1.1\r\n" + self.upgrade[-1] + b"\r\n\r\n" + rest

    def on_message_begin(self) -> None:
        if self.body_only:
            return
        self.after_head = self.body_received = 0
        self.in_head, self.began = True, True
        self.head_parsed = self.head_raw = 0
        self._url, self._headers, self._body = b"", [], Body()

    def on_url(self, url: bytes) -> None:
        if self.body_only:
            return
        self._url += url
        self.head_parsed += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.body_only:
            return
        self.head_parsed += len(name) + len(value) + 4
        if not self.in_head:  # a trailer field (after a chunked body): counted with the head, never passed on
            return self._check_head()
        self._headers.append((name, value))

    def _check_head(self) -> None:
        if max(self.head_raw, self.head_parsed) > self.server.max_header:
            self.refuse(431, "too_large", f"the request line and headers are over {self.server.max_header} bytes")

    def on_headers_complete(self) -> None:
        if self.ignoring or self.body_only:
            return
        self._check_head()
        if self.ignoring:
            return
        self.in_head = False
        coding = b", ".join(v for n, v in self._headers if n.lower() == b"transfer-encoding").strip().lower()
        if coding and coding != b"chunked":  # (llhttp dechunks; any other coding would reach the app still encoded)
            return self.refuse(501, "not_implemented", f"the transfer coding {coding.decode('latin-1')!r} is not "
                                                       "supported: send the body with Content-Length or chunked")
        length = _content_length(self._headers)
        if length is not None and length > self.server.max_body:
            return self._received(False, True)  # the body is not kept: the app answers 413 from the header
        if self.parser.should_upgrade() and self.parser.get_method() != b"CONNECT" and (coding or length):
            framing = b"Transfer-Encoding: chunked" if coding else b"Content-Length: %d" % length
            self.upgrade = (self.parser.get_method(), self.parser.get_http_version(), framing)
        expect = any(n.lower() == b"expect" and v.lower() == b"100-continue" for n, v in self._headers)
        if (expect and not self.in_service and not self.requests
                and self.parser.get_http_version() == "1.1"):  # (never to HTTP/1.0: RFC 9110, 10.1.1)
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.body_received += len(body)
        if self.ignoring:
            return
        if self.discarding:  # read and dropped, so that the client, still sending, is not reset (up to a limit)
            self.discarded += len(body)
            if self.discarded > self.server.max_discard:
                self._end_discarding()
            return
        self._body.add(body)
        if self._body.size > self.server.max_body:  # a chunked body past the limit: one byte over is enough for
            self._received(False, True)  # the app to answer 413

    def on_message_complete(self) -> None:
        if self.ignoring:
            return
        if self.discarding:  # the end of a body past the limit, answered already
            return self._end_discarding()
        if self.upgrade is not None and not self.body_only:  # its body comes next (see _not_upgraded)
            return
        if self.body_only:  # the body of a request that offered an upgrade: that request is complete
            method, version, _ = self.upgrade
            self.upgrade, self.body_only = None, False
            return self._received(self.parser.should_keep_alive(), method=method, version=version)
        self._received(self.parser.should_keep_alive())

    def _end_discarding(self) -> None:
        self.discarding, self.ignoring = False, True
        if not self.in_service and not self.requests:
            self.close()

    def _received(self, keep_alive: bool, too_large: bool = False, method: bytes | None = None,
                  version: str | None = None) -> None:
        body = self._body.stream(self.server.max_body + 1)
        self.queued_bytes += body.size
        self.requests.append((method or self.parser.get_method(), self._url, self._headers, body,
                              version or self.parser.get_http_version(), keep_alive))
        self._body = Body()
        self.completed = True
        self.head_parsed = self.head_raw = 0
        if too_large:  # answered at once; the rest of the body is dropped as it comes (its rate still checked)
            self.discarding, self.discarded = True, 0
            return
        self.in_head, self.receiving_since = True, None
        if not keep_alive:  # nothing after this request is read
            self.ignoring = True

    # -------------------------------------------------------------------------------------- answering

    def _next(self) -> None:
        """Answer the requests received, one at a time: the next once the one in service is done. A loop, not a
        recursion: requests answered at once (the result cache) would otherwise nest a call per pipelined request."""
        if self.in_next:
            return  # (called back from within: the loop below goes on)
        self.in_next = True
        try:
            while not self.in_service and not self.closed and self.requests and self.writable.is_set():
                self._start_next()
        finally:
            self.in_next = False

    def _start_next(self) -> None:
        if isinstance(self.requests[0], bytes):  # an HTTP-level error (see refuse): the last thing written
            self.transport.write(self.requests.popleft())
            return self.close()
        method, url, headers, body, version, keep_alive = self.requests.popleft()
        self.queued_bytes -= body.size
        self._resume_reading()
        self.in_service, self.body = True, body
        self.http10 = version == "1.0"
        self.keep_alive = self.keep_alive and keep_alive and not (self.server.stopping and not self.requests)
        try:
            environ = self.environ(method, url, headers, body, version)
        except ValueError as exc:
            self.in_service = False
            self.requests.clear()
            return self.refuse(400, "bad_request", str(exc))
        self.server.serve(self, environ)

    def _resume_reading(self) -> None:
        if (len(self.requests) < MAX_PIPELINED and self.queued_bytes <= SPOOL_BYTES and not self.ignoring
                and self.writable.is_set() and not self.closed):
            self.transport.resume_reading()

    def done(self) -> None:
        """The request in service has its answer written (or given up)."""
        self.in_service = False
        self.last_activity = time.monotonic()
        if self.body is not None:
            self.body.file.close()  # (a temporary file, for a large body)
            self.body = None
        if self.closed:
            return
        if self.discarding and not self.requests:  # the answer to a body past the limit, whose rest is still read
            if self.transport.can_write_eof():  # (and dropped): closed once it has come; the client sees the
                self.transport.write_eof()      # answer's end at once
            return
        if not self.keep_alive or (self.ignoring and not self.requests):
            return self.close()
        self._next()

    def environ(self, method: bytes, url: bytes, headers: list, body: BodyStream, version: str) -> dict:
        """The WSGI environment of a request, as waitress builds it."""
        server = self.server
        try:
            parsed = httptools.parse_url(url)
        except httptools.HttpParserInvalidURLError:
            raise ValueError(f"the request target {url[:200]!r} is not a valid URL") from None
        environ = {
            "REQUEST_METHOD": method.decode("latin-1"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(parsed.path or b"/").decode("latin-1"),
            "QUERY_STRING": (parsed.query or b"").decode("latin-1"),
            "SERVER_NAME": server.host,
            "SERVER_PORT": str(server.effective_port),
            "SERVER_PROTOCOL": f"HTTP/{version}",
            "SERVER_SOFTWARE": "cnkg",
            "REMOTE_ADDR": self.remote[0],
            "REMOTE_HOST": self.remote[0],
            "REMOTE_PORT": str(self.remote[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body.file,
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers:
            name = name.decode("latin-1")
            if "_" in name:  # as waitress: dropped, or it could pass for the header spelt with "-"
                continue
            key = name.upper().replace("-", "_")
            value = value.decode("latin-1").strip()
            if key != "CONTENT_TYPE" and key != "CONTENT_LENGTH":
                key = "HTTP_" + key
            environ[key] = f"{environ[key]}, {value}" if key in environ else value
        if "HTTP_HOST" not in environ and version == "1.1":
            raise ValueError("an HTTP/1.1 request must say which host it is for, in a Host header (RFC 9112, 3.2)")
        if "HTTP_TRANSFER_ENCODING" in environ:  # read whole already: its length is known (as waitress does; a
            del environ["HTTP_TRANSFER_ENCODING"]  # WSGI app reading a chunked body would ignore the length)
            environ["CONTENT_LENGTH"] = str(body.size)
        return environ

    def send(self, data: bytes, threaded: bool, wait: bool = True) -> None:
        """Write ``data``; from a thread, and ``wait``, wait while the connection's buffer is full (ClientGone once it
        closed)."""
        if not threaded:
            if not self.closed:
                self.transport.write(data)
            return
        written: Future = Future()

        def write() -> None:
            if not self.closed:
                self.transport.write(data)
            written.set_result(None)

        if self.closed or not self.call_soon(write):
            raise ClientGone()
        while True:
            try:
                written.result(1.0)
                break
            except FutureTimeout:
                if self.closed or self.loop.is_closed():
                    raise ClientGone() from None
        while wait and not self.writable.wait(1.0):
            if self.closed:
                break
        if self.closed:
            raise ClientGone()

    def call_soon(self, callback, *args) -> bool:
        try:
            self.loop.call_soon_threadsafe(callback, *args)
            return True
        except RuntimeError:  # the loop has closed: the server stopped
            return False

    def refuse(self, status: int, reason: str, message: str) -> None:
        """Answer an HTTP-level error (a request that could not be read) after the requests received before it,
        then close: nothing after it is read."""
        body = (json.dumps({"error": {"status": status, "reason": reason, "message": message}}) + "\n").encode()
        self.requests.append((f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json"
                              f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("latin-1")
                             + body)
        self.ignoring = True

    @property
    def busy(self) -> bool:
        """A request in service or received, or an answer not yet fully written."""
        return (self.in_service or bool(self.requests)
                or (self.transport is not None and self.transport.get_write_buffer_size() > 0))

    def check(self, now: float) -> None:
        """Close the connection if it fell behind a deadline (see the module's docstring)."""
        if self.closed or self.transport is None:
            return
        server = self.server
        buffered = self.transport.get_write_buffer_size()
        if buffered < self.last_buffered:  # the client is reading its answer
            self.last_activity = now
        self.last_buffered = buffered
        if self.in_service or self.requests:
            if self.receiving_since is not None:  # the next request waits unread: its clock starts afterwards
                self.receiving_since, self.received_bytes = now, 0
            if buffered and now - self.last_activity > server.channel_timeout:
                self.abort()  # its client has read nothing of its answer for that long
            return
        if now - self.last_activity > server.channel_timeout:
            return self.abort()
        if self.receiving_since is None or self.ignoring:
            return
        elapsed = now - self.receiving_since
        if self.in_head:
            if elapsed > server.header_timeout:
                self.abort()
        elif elapsed > server.header_timeout + self.received_bytes / MIN_BODY_RATE:
            self.abort()

    def stop_reading(self) -> None:
        """Read nothing more (the server is stopping): what was received is answered, then the connection closes."""
        if not self.ignoring:
            self.ignoring = True
            if self.transport is not None:
                self.transport.pause_reading()
            if not self.requests:
                self.keep_alive = False  # (the answer in service says so)

    def close(self) -> None:
        """Close once what is buffered is written."""
        self.ignoring = True
        if self.transport is None:
            self.closed = True
        elif not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        """Close at once, dropping what is buffered."""
        self.ignoring = True
        if self.transport is not None:
            self.transport.abort()
        self.closed = True


class BodyStream:
    """A request's body, received: ``file`` to read it from (the WSGI input) and its ``size``."""

    __slots__ = ("file", "size")

    def __init__(self, file, size: int):
        self.file, self.size = file, size


class Body:
    """A request body as it arrives: in memory up to :data:`SPOOL_BYTES`, then in a temporary file."""

    __slots__ = ("parts", "size", "file")

    def __init__(self):
        self.parts: list = []
        self.size = 0
        self.file = None

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.file is not None:
            self.file.write(data)
            return
        self.parts.append(data)
        if self.size > SPOOL_BYTES:
            self.file = tempfile.TemporaryFile()
            self.file.write(b"".join(self.parts))
            self.parts = []

    def stream(self, limit: int) -> BodyStream:
        """The body received (its first ``limit`` bytes), to be read from its start."""
        if self.file is None:
            data = b"".join(self.parts)[:limit]
            return BodyStream(io.BytesIO(data), len(data))
        size = min(self.size, limit)
        self.file.truncate(size)
        self.file.seek(0)
        return BodyStream(self.file, size)


def _content_length(headers: list) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None



def stopping_message(signal_name: str, in_flight: int, grace: float) -> str:
    """What the server says when a stop signal comes."""
    return (f"stopping on {signal_name}: no longer accepting connections; {_count(in_flight, 'request')} in flight, "
            f"waiting up to {grace:g} s")


def stopped_message(waited: float, cut_off: int) -> str:
    """What the server says once stopped, ``cut_off`` requests still in flight at the end of the grace period."""
    if cut_off:
        return (f"stopped after {waited:.2f} s: the grace period ended with {_count(cut_off, 'request')} still in "
                "flight (cut off)")
    return f"stopped after {waited:.2f} s: every request in flight was answered"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


__all__ = ["LoopServer", "STOP_SIGNALS"]
