"""Operational endpoints: liveness and size, for load balancers and monitoring."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
def healthz():
    stats = current_app.extensions["cnkg"].stats
    return jsonify(status="ok", triples=stats.triples, graphs=len(stats.graphs))
