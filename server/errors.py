"""One error shape for the whole server: ``{"error": {"status": N, "message": "..."}}``.

JSON unless the client accepts text/plain but not JSON (a CSV-only client still gets a readable error).
"""
from __future__ import annotations

import json

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from .negotiation import choose


class ApiError(Exception):
    """A request the server refuses or cannot answer; the message tells the client how to fix it."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    as_text = choose(request.headers.get("Accept"), ["application/json", "text/plain"]) == "text/plain"
    if as_text:
        body, content_type = f"{status} {message}\n", "text/plain; charset=utf-8"
    else:
        body = json.dumps({"error": {"status": status, "message": message}}, ensure_ascii=False) + "\n"
        content_type = "application/json; charset=utf-8"
    response = Response(body, status=status, content_type=content_type)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # werkzeug's own errors (404, 405 with Allow, 413 ...) in our shape, keeping their headers
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        message = exc.description or exc.name
        if isinstance(exc, MethodNotAllowed):
            message = f"{request.method} is not allowed on {request.path}; allowed: {headers.get('Allow', '')}"
        elif isinstance(exc, RequestEntityTooLarge):
            message = f"request body too large: the limit is {request.max_content_length} bytes"
        return error_response(exc.code or 500, message, headers)
