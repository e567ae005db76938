"""CORS from an explicit allow-list (CORS_ORIGINS); off when the list is empty.

Only the exact origins listed get ``Access-Control-Allow-Origin`` (never ``*``) and no
credentials are allowed: the API authenticates with a bearer token in a header, not cookies.
"""

from __future__ import annotations

from tornado.web import RequestHandler

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOW_HEADERS = (
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, Last-Event-ID, "
    "X-Request-ID"
)
EXPOSE_HEADERS = (
    "ETag, X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
    "RateLimit-Policy"
)
MAX_AGE_SECONDS = "600"


def allowed_origin(handler: RequestHandler, origins: tuple[str, ...]) -> str | None:
    origin = handler.request.headers.get("Origin")
    return origin if origin and origin.lower() in origins else None


def apply_cors_headers(handler: RequestHandler, origins: tuple[str, ...]) -> None:
    """On every response: the allow-origin headers when the Origin is listed."""
    if not origins:
        return
    handler.add_header("Vary", "Origin")  # the answer depends on Origin: caches must know
    origin = allowed_origin(handler, origins)
    if origin is not None:
        handler.set_header("Access-Control-Allow-Origin", origin)
        handler.set_header("Access-Control-Expose-Headers", EXPOSE_HEADERS)


def is_preflight(handler: RequestHandler) -> bool:
    headers = handler.request.headers
    return (
        handler.request.method == "OPTIONS"
        and "Origin" in headers
        and "Access-Control-Request-Method" in headers
    )


def answer_preflight(handler: RequestHandler, origins: tuple[str, ...]) -> bool:
    """The preflight's headers; False when the origin is not allowed (the caller says 403)."""
    if allowed_origin(handler, origins) is None:
        return False
    handler.set_header("Access-Control-Allow-Methods", ALLOW_METHODS)
    handler.set_header("Access-Control-Allow-Headers", ALLOW_HEADERS)
    handler.set_header("Access-Control-Max-Age", MAX_AGE_SECONDS)
    return True
