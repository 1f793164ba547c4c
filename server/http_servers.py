"""The HTTP servers ``cnkg serve --http-server NAME`` can serve with, by name."""
from __future__ import annotations

from .loop_server import LoopServer
from .serve import GracefulServer

# name -> class; both take the same arguments and have ``run``, ``stop`` and ``effective_port``
HTTP_SERVERS = {"asyncio": LoopServer, "waitress": GracefulServer}


def http_server_class(name: str):
    """The server class named ``name`` ("asyncio": the default, or "waitress")."""
    try:
        return HTTP_SERVERS[name]
    except KeyError:
        raise ValueError(f"unknown HTTP server {name!r}: one of {', '.join(HTTP_SERVERS)}") from None


__all__ = ["HTTP_SERVERS", "http_server_class"]
