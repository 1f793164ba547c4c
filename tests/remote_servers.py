"""Real SPARQL servers for the remote-store tests, started on free loopback ports in temporary directories:
Oxigraph server (the ``oxigraph`` binary of the PyPI package ``oxigraph``) and Virtuoso Open Source (Debian's
``virtuoso-opensource``). Each is skipped with a reason when it is not installed."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

VIRTUOSO_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RemoteServer:
    name: str
    gsp_url: str
    query_url: str
    update_url: str
    env: dict = field(default_factory=dict)  # the credentials cnkg needs to write (CNKG_REMOTE_*)
    process: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _wait(url: str, process: subprocess.Popen, seconds: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode}): "
                               f"{log.read_text(errors='replace')[-2000:] if log else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{url}: the server did not answer within {seconds:g} s")


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` command installed beside this Python (the PyPI package), else one on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    return str(beside) if beside.exists() else shutil.which("oxigraph")


def start_oxigraph(directory: Path, *extra: str) -> RemoteServer:
    binary = oxigraph_binary()
    port = free_port()
    log = directory / "oxigraph.log"
    process = subprocess.Popen([binary, "serve", "--location", str(directory / "store"), "--bind",
                                f"127.0.0.1:{port}", *extra], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    _wait(f"{base}/", process, 30, log)
    return RemoteServer("oxigraph", f"{base}/store", f"{base}/query", f"{base}/update", process=process)


def virtuoso_binary() -> str | None:
    return shutil.which("virtuoso-t") if VIRTUOSO_INI.exists() else None


def start_virtuoso(directory: Path) -> RemoteServer:
    """Virtuoso with its database in ``directory``, SQL and HTTP on free loopback ports, and no row cap on SPARQL
    answers (its default, 10,000 rows, would cut answers short without saying so)."""
    sql_port, http_port = free_port(), free_port()
    ini = VIRTUOSO_INI.read_text()
    out = []
    section = ""
    for line in ini.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        key = stripped.split("=", 1)[0].strip() if "=" in stripped and not stripped.startswith(";") else ""
        if key in ("DatabaseFile", "ErrorLogFile", "LockFile", "TransactionFile", "xa_persistent_file"):
            line = f"{key} = {directory / Path(stripped.split('=', 1)[1].strip()).name}"
        elif key == "ServerPort" and section == "[Parameters]":
            line = f"ServerPort = 127.0.0.1:{sql_port}"
        elif key == "ServerPort" and section == "[HTTPServer]":
            line = f"ServerPort = 127.0.0.1:{http_port}"
        elif key == "ResultSetMaxRows":
            line = "ResultSetMaxRows = 100000000"
        out.append(line)
    (directory / "virtuoso.ini").write_text("\n".join(out) + "\n")
    log = directory / "virtuoso.out"
    process = subprocess.Popen([virtuoso_binary(), "-f", "-c", "virtuoso.ini"], cwd=directory,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    _wait(f"{base}/sparql?query=ASK%7B%7D", process, 120, log)
    # the Graph Store Protocol and SPARQL Update with Digest authentication (Virtuoso's default account)
    return RemoteServer("virtuoso", f"{base}/sparql-graph-crud-auth", f"{base}/sparql", f"{base}/sparql-auth",
                        env={"CNKG_REMOTE_USER": "dba", "CNKG_REMOTE_PASSWORD": "dba"}, process=process)
