"""SPARQL 1.1 Update (Protocol §2.2), off unless the server is started with ``cnkg serve --allow-update``.

* **Auth.** Off: every update is refused with 403 (read-only endpoint). On: a request must carry
  ``Authorization: Bearer <UPDATE_TOKEN>`` (compared in constant time), else 401 with ``WWW-Authenticate``.
* **Safety.** Checked before anything is evaluated: ``LOAD`` and ``SERVICE`` are refused (400): the endpoint never
  opens a connection. ``USING`` / protocol ``using-graph-uri`` graphs are read from the dataset only; a graph it
  does not hold is empty.
* **The default graph.** Reads (``WHERE``) see the union of all graphs, as queries do. Triples written outside a
  ``GRAPH`` clause go into the named graph :data:`UPDATES_GRAPH` (the served default graph is the union of the named
  graphs, so a triple must live in one of them); triples deleted outside a ``GRAPH`` clause
  are removed from every graph holding them, so they are gone from the default graph. ``WITH <g>`` makes ``<g>``
  the target of both. ``CLEAR``/``DROP DEFAULT`` and ``ADD``/``COPY``/``MOVE`` involving ``DEFAULT`` are refused
  (400): name the graph. ``CREATE`` is accepted; graphs exist as soon as they hold a triple.
* **Evaluation.** :func:`cnkg.sparql_update.change` reads the request's operations and works out its net change:
  data blocks and templates by Oxigraph's TriG parser, ``WHERE`` clauses by Oxigraph in the query sandbox under the
  query timeout (over the store as the request's earlier operations left it: a :class:`ScratchCopy`), a request
  that is not a sequence of
  operations it reads by Oxigraph's update parser, for the position of the syntax error. The change is then applied
  in one step under the write lock, serialised with every other update. A request is atomic: if any operation
  fails, or the request passes a bound (``UPDATE_TIMEOUT``: 503; ``UPDATE_MAX_OPERATIONS``, ``UPDATE_MAX_TRIPLES``:
  413), nothing is applied.
* **Inferences.** The inferred graph follows every update exactly (:meth:`cnkg.KnowledgeGraph.update`: the
  compiled reasoner's semi-naive insert and DRed delete); an update that would make the graph inconsistent, such
  as a lineage cycle, is refused with 409 and changes nothing. The inferred graph itself cannot be written (400).
  The default graph's current values of time-varying facts follow too (:func:`cnkg.current.follow`).
* **What it does not do.** Changes live in memory only: they are not written to the cache or the fact files and
  are gone when the server stops.
"""
from __future__ import annotations

import gc
import hmac
import shutil
import tempfile
from pathlib import Path

from flask import current_app, request

from ..errors import InvalidInput, ReasoningError
from ..namespaces import GRAPH
from ..rules import UnsupportedConstruct
from ..sparql_update import DataChange
from .errors import BadRequest, Conflict, ReadOnly, Timeout, Unauthorized
from .safety import READ_ONLY

UPDATES_GRAPH = GRAPH["updates"]
NOTE = ("the inferred graph follows the change (OWL 2 RL, maintained incrementally). Changes live in memory only and "
        "are lost when the server stops")


# ---------------------------------------------------------------------------------------------- auth

def authorize() -> None:
    """403 when updates are off; 401 (with ``WWW-Authenticate: Bearer``) without the right bearer token."""
    config = current_app.config
    if not config["ALLOW_UPDATE"]:
        raise ReadOnly(READ_ONLY + " (the server was started without --allow-update)")
    expected = config["UPDATE_TOKEN"] or ""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("SPARQL Update needs authorisation: send the header 'Authorization: Bearer <token>' "
                           "with the token the server was started with (--update-token or CNKG_UPDATE_TOKEN)",
                           headers={"WWW-Authenticate": 'Bearer realm="cnkg-update"'})
    if not hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8")):
        raise Unauthorized("wrong bearer token for SPARQL Update",
                           headers={"WWW-Authenticate": 'Bearer realm="cnkg-update", error="invalid_token"'})


# ---------------------------------------------------------------------------------------------- commit

def commit(state, change: DataChange):
    """Apply a computed change to the served graph, with the inferences that follow from it; returns what the graph
    applied (:class:`cnkg.api.Change`).

    Runs under the write lock, so no page is rendered while the graph changes. The graph tells everything derived
    from it (its indexes, the result cache, the statistics, the workers' snapshot) that it changed. A change that
    would make the graph inconsistent (a lineage cycle) is refused with 409 and changes nothing."""
    with state.lock.write():
        try:
            return state.graph.update(change.removed, change.added)
        except ReasoningError as exc:
            raise Conflict(f"the update would make the graph inconsistent, so nothing was changed: "
                           f"{'; '.join(p.message for p in exc.problems)}") from None
        except UnsupportedConstruct as exc:
            raise BadRequest(f"the update uses OWL the incremental reasoner does not implement, so nothing was "
                             f"changed: {exc}") from None
        except InvalidInput as exc:
            raise BadRequest("; ".join(p.message for p in exc.problems)) from None


# ---------------------------------------------------------------------------------------------- bounds

def timed_out(limit: float, doing: str) -> Timeout:
    """The 503 (reason ``timeout``) for an update stopped at its deadline, before anything was applied."""
    return Timeout(f"the update did not finish within {limit:g} s (setting UPDATE_TIMEOUT; it ran out while "
                   f"{doing}), so nothing was changed; split it into smaller requests",
                   headers={"Retry-After": "5"})


class ScratchCopy:
    """The store as one update request's earlier operations left it, for its later ``WHERE`` clauses: made on the
    first clause that needs it (a checkpoint of the private on-disk store, :meth:`cnkg.store.TripleStore.scratch_copy`:
    milliseconds whatever the graph's size), then brought up to date with only what changed since the clause before
    (:meth:`cnkg.sparql_update._Pending.sync`) and published for the workers as a checkpoint of its own. The
    served graph is never touched; everything is deleted when the request ends."""

    def __init__(self, state):
        self.state = state
        self.directory: Path | None = None
        self.store = None
        self.published = 0

    def __enter__(self) -> ScratchCopy:
        return self

    def snapshot(self, pending) -> Path:
        if self.store is None:
            self.directory = Path(tempfile.mkdtemp(prefix="update-", dir=self.state.snapshots))
            self.store = self.state.graph.store.scratch_copy(self.directory / "store")
        pending.sync(self.store)
        self.published += 1
        return self.store.publish(self.directory / f"where-{self.published}")

    def __exit__(self, *_exc) -> None:
        self.store = None
        gc.collect()  # the RocksDB handle closes when the last reference goes
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
