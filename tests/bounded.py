"""Run ``cnkg`` in a forked child whose address space and time are bounded, so that a regression on hostile input
fails its test instead of hanging CI or exhausting its memory. The child is forked from the test process, which has
already imported cnkg: a run costs milliseconds, not the second a fresh interpreter needs. Linux only (fork and
/proc); ``AVAILABLE`` says whether it works here."""
from __future__ import annotations

import os
import resource
import select
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cnkg.cli import main

MEMORY_BUDGET = 512 << 20          # address space a run may add to the test process's own
TIME_LIMIT = 60.0                  # seconds: a safety net only, never an assertion about speed
AVAILABLE = hasattr(os, "fork") and Path("/proc/self/status").exists()


@dataclass
class Bounded:
    code: int | None                # None: killed (time limit)
    out: str
    err: str


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def run_bounded(*args, memory: int = MEMORY_BUDGET, timeout: float = TIME_LIMIT) -> Bounded:
    """``cnkg ARGS`` in a forked child limited to ``memory`` more bytes of address space; killed after
    ``timeout`` seconds."""
    limit = _address_space() + memory
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 2
        try:
            os.close(out_r)
            os.close(err_r)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            sys.stdout = os.fdopen(out_w, "w", encoding="utf-8")
            sys.stderr = os.fdopen(err_w, "w", encoding="utf-8")
            code = main([str(a) for a in args])
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException as exc:  # noqa: BLE001 - report anything, then leave
            try:
                sys.stderr.write(f"child failed: {type(exc).__name__}: {exc}\n")
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code if isinstance(code, int) else 2)
    os.close(out_w)
    os.close(err_w)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    open_fds = [out_r, err_r]
    deadline = time.monotonic() + timeout
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(open_fds, [], [], 0.2)
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                open_fds.remove(fd)
    if open_fds:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    for fd in (out_r, err_r):
        os.close(fd)
    code = os.waitstatus_to_exitcode(status) if not open_fds else None
    return Bounded(code, b"".join(chunks[out_r]).decode("utf-8", "replace"),
                   b"".join(chunks[err_r]).decode("utf-8", "replace"))
