"""What a query worker may not do, enforced by the kernel rather than by reading the query.

A query or update reaches Oxigraph as text, and Oxigraph fetches URLs for ``SERVICE`` and ``LOAD``. cnkg's lexer
refuses those keywords first (:mod:`cnkg.server.safety`), but a rule that depends on two parsers agreeing on what a
text means is bypassed the day they disagree. So each worker process, before it reads its first job, gives up for
good (a seccomp filter, inherited by every thread, that cannot be removed):

- creating sockets of any kind (``socket``, ``socketpair``), hence any network connection or DNS lookup: the
  worker talks to the server over the pipes it was started with, which it already holds;
- io_uring, which can open sockets and files without the system calls above;
- starting programs (``execve``, ``execveat``);
- gaining privileges (``PR_SET_NO_NEW_PRIVS``, which installing the filter requires anyway).

Memory is bounded with ``RLIMIT_DATA`` (the heap, anonymous mappings and thread stacks; not the store's files, which
Oxigraph maps read-only): an allocation past it fails, Oxigraph then aborts the process with "memory allocation of N
bytes failed", and the pool reports the query as over its memory limit (:mod:`cnkg.sandbox`).

The filter is built with libseccomp (through ``pyseccomp``, its ctypes binding), which knows each architecture's
system call numbers and checks the architecture field, so a 32-bit system call cannot slip past a 64-bit rule.
"""
from __future__ import annotations

import errno
import resource
import sys
from dataclasses import dataclass

# Denied with EACCES (what a blocked connect looks like to a program; Oxigraph reports it as an I/O error).
DENIED_SYSCALLS = ("socket", "socketpair", "execve", "execveat")
# Denied with ENOSYS, as on a kernel without io_uring: programs then fall back to ordinary system calls.
ABSENT_SYSCALLS = ("io_uring_setup", "io_uring_enter", "io_uring_register")


class ConfinementError(RuntimeError):
    """The worker could not be confined; the message says why and what to install or set."""


@dataclass(frozen=True)
class Confinement:
    """What a worker gave up: ``network`` is True when sockets and programs are denied by a seccomp filter;
    ``memory`` the RLIMIT_DATA bound in bytes (None: unbounded)."""

    network: bool
    memory: int | None

    def describe(self) -> str:
        network = "no network, no programs (seccomp)" if self.network else "NOT confined (network reachable)"
        memory = f"{self.memory // 2**20} MiB of memory" if self.memory else "unbounded memory"
        return f"{network}, {memory}"


def deny_network() -> None:
    """Install the seccomp filter in this process (every thread, now and later). Raises ConfinementError where
    the kernel or libseccomp cannot."""
    if not sys.platform.startswith("linux"):
        raise ConfinementError(f"seccomp is Linux-only (this is {sys.platform})")
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError) as exc:  # pyseccomp raises RuntimeError when libseccomp is missing
        raise ConfinementError(f"libseccomp is not available ({exc}); install it (Debian: apt-get install "
                               "libseccomp2)") from None
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            rules.add_rule(seccomp.ERRNO(errno.EACCES), name)
        for name in ABSENT_SYSCALLS:
            rules.add_rule(seccomp.ERRNO(errno.ENOSYS), name)
        rules.load()  # sets PR_SET_NO_NEW_PRIVS first (libseccomp's default)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ConfinementError(f"the kernel refused the seccomp filter: {exc}") from None


def limit_memory(limit: int) -> None:
    """Bound this process's data segment (heap, anonymous mappings, thread stacks) to ``limit`` bytes."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY and limit > hard:
        raise ConfinementError(f"the memory limit {limit // 2**20} MiB is above this process's hard limit "
                               f"({hard // 2**20} MiB)")
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def confine(memory: int | None, network: bool = True) -> Confinement:
    """Confine this process: no network (unless ``network`` is False) and at most ``memory`` bytes of data."""
    if memory:
        limit_memory(memory)
    if network:
        deny_network()
    return Confinement(network=network, memory=memory or None)


__all__ = ["Confinement", "ConfinementError", "confine", "deny_network", "limit_memory", "DENIED_SYSCALLS"]
