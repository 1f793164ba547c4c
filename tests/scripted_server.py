"""A scripted SPARQL server for the remote-store failure tests: a loopback HTTP server answering from a script and
recording every request, the ``Authorization`` header included (tests/test_remote.py and
tests/test_red_team_remote.py)."""
from __future__ import annotations

import http.server
import threading
import time
from typing import NamedTuple

RESULTS = {"Content-Type": "application/sparql-results+json"}
EMPTY_SELECT = b'{"head": {"vars": []}, "results": {"bindings": []}}'


class Request(NamedTuple):
    method: str
    path: str
    authorization: str | None
    body: bytes


class Scripted(http.server.ThreadingHTTPServer):
    """A loopback HTTP server answering from ``answer(method, path, body) -> (status, headers, body)`` (None: hang
    until the client gives up; the default answers every request with an empty SELECT result). Every request is
    recorded in ``requests`` as a :class:`Request`."""

    def __init__(self, answer=lambda *a: (200, RESULTS, EMPTY_SELECT)):
        self.answer, self.requests = answer, []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(Request(self.command, self.path, self.headers.get("Authorization"), body))
                reply = server.answer(self.command, self.path, body)
                if reply is None:
                    time.sleep(5)
                    return
                status, headers, data = reply
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _any

        server = self
        super().__init__(("127.0.0.1", 0), Handler)
        self.daemon_threads = True
        # stopping waits for the loop's next poll: 0.05 s, not the default 0.5 s, at the end of every test using one
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def authorizations(self) -> list[str]:
        """The ``Authorization`` headers received, in order (requests without one left out)."""
        return [r.authorization for r in self.requests if r.authorization]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
