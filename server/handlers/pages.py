"""Spectator pages: the public events, and one event's standings and games.

The pages are static HTML shells under ``server/static``; ``app.js`` fills them from the
JSON API (no inline script: the CSP allows scripts from 'self' only). Everything served
here carries the same security headers and ``X-Request-ID`` as the API.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

from tornado.web import StaticFileHandler

from server.base import REQUEST_ID_PATTERN, BaseHandler
from server.errors import DEFAULT_CODES, ApiError, error_body
from server.policy import Need
from server.security_headers import apply_security_headers
from server.services import events as event_service
from server.services.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


# Where a page names a file under /static/ (href="/static/app.js"), it names a version too.
STATIC_REF = re.compile(rb'(?P<attr>(?:href|src)=")/static/(?P<name>[A-Za-z0-9._-]+)"')
IMMUTABLE = "public, max-age=31536000, immutable"


@functools.cache
def asset_version(directory: Path, name: str) -> str:
    """The first 12 hex digits of a static file's SHA-256: its URL changes when it does."""
    return hashlib.sha256((directory / name).read_bytes()).hexdigest()[:12]


@functools.cache
def read_page(directory: Path, name: str) -> bytes:
    """A page's bytes, read once per process, its /static/ references made `?v=<hash>` URLs
    (cached for a year by browsers; the page itself is revalidated every time)."""

    def versioned(match: re.Match[bytes]) -> bytes:
        asset = match["name"].decode()
        if not (directory / asset).is_file():
            return match[0]
        return match["attr"] + f'/static/{asset}?v={asset_version(directory, asset)}"'.encode()

    return STATIC_REF.sub(versioned, (directory / name).read_bytes())


class HtmlPageHandler(BaseHandler):
    """Serves one HTML file from ``page_dir``; subclasses set ``page``."""

    public_methods = frozenset({"GET", "HEAD"})
    page_dir: Path = STATIC_DIR
    page: str = ""

    def set_default_headers(self) -> None:
        super().set_default_headers()  # X-Request-ID and the security headers
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")

    async def prepare(self) -> None:
        """Pages are public shells: no token, no body, nothing to authenticate."""

    def check_path(self, *path_args: str) -> None:
        """Reject path arguments early (404); the page's script loads the data."""

    async def get(self, *path_args: str) -> None:
        self.check_path(*path_args)
        self.finish(read_page(self.page_dir, self.page))

    async def head(self, *path_args: str) -> None:
        await self.get(*path_args)  # Tornado sends the headers (ETag, length) but no body


class IndexPageHandler(HtmlPageHandler):
    page = "index.html"


class EventPageHandler(HtmlPageHandler):
    """One public event's page; any other id is a plain HTML 404, not a page that spins."""

    page = "event.html"
    missing_page = "no-such-event.html"

    async def get(self, *path_args: str) -> None:
        if await self._public(path_args[0]):
            await super().get(*path_args)
            return
        self.set_status(404)
        self.finish(read_page(self.page_dir, self.missing_page))

    async def _public(self, raw_id: str) -> bool:
        """Spectators' browsers carry no token: a private event's page is 404 to everyone,
        as the event is to anyone outside it (its existence is not revealed)."""
        try:
            event_id = self.path_id(raw_id)
            async with self.db() as session:
                await event_service.load_event(session, event_id, None, Need.VIEW)
        except (ApiError, NotFound):
            return False
        return True


class SecureStaticFileHandler(StaticFileHandler):
    """StaticFileHandler with the API's security headers, X-Request-ID and error body.

    ``max_age`` (seconds) applies to requests without a ``?v=`` version argument; 0 means
    browsers revalidate every time (cheap: ETag / Last-Modified answer 304). A versioned URL
    (the pages add ``?v=<content hash>``) is cached for a year and never revalidated.
    """

    max_age = 0

    def set_default_headers(self) -> None:
        incoming = self.request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        self.request_id = getattr(self, "request_id", None) or request_id
        self.set_header("X-Request-ID", self.request_id)
        apply_security_headers(self)

    def get_cache_time(self, path: str, modified: Any, mime_type: str) -> int:
        if "v" in self.request.arguments:
            return super().get_cache_time(path, modified, mime_type)
        return self.max_age

    def set_extra_headers(self, path: str) -> None:
        if "v" in self.request.arguments:
            self.set_header("Cache-Control", IMMUTABLE)
        elif "Cache-Control" not in self._headers:
            self.set_header("Cache-Control", "no-cache")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        code = DEFAULT_CODES.get(status_code, "error")
        message = "no such file" if status_code == 404 else self._reason
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(error_body(status_code, message, code, {}, self.request_id)))


routes = [
    (r"/", IndexPageHandler),
    (r"/events/([0-9]+)", EventPageHandler),
    (r"/static/(.*)", SecureStaticFileHandler, {"path": str(STATIC_DIR)}),
]
