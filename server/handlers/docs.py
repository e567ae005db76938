"""The OpenAPI document and Swagger UI, served locally (no CDN; the CSP forbids one anyway).

Swagger UI's files come from the installed ``swagger-ui-py`` package; our page
(``server/static/docs.html``) loads them and ``/static/swagger-init.js`` starts the UI on
``/api/v1/openapi.json``: no inline script.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from server.base import BaseHandler
from server.handlers.pages import HtmlPageHandler, SecureStaticFileHandler
from server.openapi import HTML_PAGE, Op, json_reply, openapi_json


def swagger_ui_static_dir() -> Path:
    """Swagger UI's bundle directory, found without importing the package (which would pull
    in its template engine and framework adapters)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


SWAGGER_UI_STATIC = swagger_ui_static_dir()


class OpenApiHandler(BaseHandler):
    public_methods = frozenset({"GET", "HEAD"})
    openapi = {
        "get": Op(
            operation_id="getOpenapi",
            summary="This OpenAPI document",
            tag="ops",
            responses={200: json_reply("The OpenAPI 3 document", {"type": "object"})},
            token=False,
            api=False,
        )
    }

    async def prepare(self) -> None:
        """The document is public and the same for everyone: no authentication."""

    async def get(self) -> None:
        self.set_header("Cache-Control", "no-cache")
        self.finish(openapi_json())


class DocsPageHandler(HtmlPageHandler):
    openapi = {
        "get": Op(
            operation_id="docs",
            summary="Interactive documentation (Swagger UI)",
            tag="ops",
            responses={200: HTML_PAGE},
            token=False,
            api=False,
        )
    }
    page = "docs.html"


class SwaggerStaticHandler(SecureStaticFileHandler):
    """Swagger UI's files change only with the package: let browsers keep them a day."""

    max_age = 86_400


routes = [
    (r"/api/v1/openapi.json", OpenApiHandler),
    (r"/docs", DocsPageHandler),
    (r"/docs/", DocsPageHandler),
    (r"/docs/static/(.*)", SwaggerStaticHandler, {"path": str(SWAGGER_UI_STATIC)}),
]
