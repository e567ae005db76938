"""The OpenAPI document, Swagger UI and the spectator pages, over real HTTP."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tornado.httpserver
import tornado.testing
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.web import RequestHandler, URLSpec

import server.app
from config.settings import Settings, load_settings
from models import migrate
from server.base import BaseHandler
from server.openapi import Op, build_openapi, declared_operations
from server.security_headers import SECURITY_HEADERS
from tests.support import Api

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
API_ROUTE = re.compile(r"^/api/v1/|^/healthz$|^/readyz$")


# --- fixtures (independent of tests/conftest.py) -------------------------------------------


@dataclass
class Client:
    base_url: str
    http: AsyncHTTPClient

    async def get(self, path: str, **kwargs: Any) -> HTTPResponse:
        return await self.http.fetch(self.base_url + path, raise_error=False, **kwargs)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    # Synchronous on purpose: Alembic's env may run its own event loop.
    config = load_settings({"DATA_DIR": str(tmp_path), "BCRYPT_ROUNDS": "4"})
    migrate.upgrade(config.database_url)
    yield config


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    app = await server.app.make_app(settings)
    sock, port = tornado.testing.bind_unused_port()
    http_server = tornado.httpserver.HTTPServer(app)
    http_server.add_sockets([sock])
    http = AsyncHTTPClient(force_instance=True)
    try:
        yield Client(f"http://127.0.0.1:{port}", http)
    finally:
        http.close()
        http_server.stop()
        await http_server.close_all_connections()
        await app.close()


def assert_security_headers(response: HTTPResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers.get("X-Request-ID")


# --- the document, without a server --------------------------------------------------------


def _route_parts(route: Any) -> tuple[str, type[RequestHandler]]:
    if isinstance(route, URLSpec):
        return route.regex.pattern, route.handler_class
    return route[0], route[1]


def _normalise(path: str) -> str:
    """`/api/v1/events/([0-9]+)$` and `/api/v1/events/{event_id}` both → `/api/v1/events/{}`."""
    path = path.removesuffix("$").replace("\\.", ".")  # `export\.csv` → `export.csv`
    path = re.sub(r"\([^)]*\)", "{}", path)
    return re.sub(r"\{[^}]*\}", "{}", path)


def _implemented_methods(handler: type[RequestHandler]) -> set[str]:
    return {
        method
        for method in HTTP_METHODS
        if getattr(handler, method) is not getattr(RequestHandler, method)
    }


def _api_routes() -> list[tuple[str, type[RequestHandler]]]:
    routes = [_route_parts(route) for route in server.app.all_routes()]
    return [(pattern, handler) for pattern, handler in routes if API_ROUTE.match(pattern)]


def _document_operations() -> dict[tuple[str, str], dict[str, Any]]:
    document = build_openapi()
    return {
        (_normalise(path), method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_document_is_openapi_3() -> None:
    document = build_openapi()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    json.dumps(document)  # serialisable as it stands


def test_every_api_route_and_method_is_documented() -> None:
    operations = _document_operations()
    routes = _api_routes()
    assert len(routes) >= 15
    missing = [
        f"{method.upper()} {pattern}"
        for pattern, handler in routes
        for method in sorted(_implemented_methods(handler))
        if (_normalise(pattern), method) not in operations
    ]
    assert not missing, f"routes missing from the OpenAPI document: {missing}"


def test_every_documented_operation_exists() -> None:
    served = {
        (_normalise(pattern), method)
        for pattern, handler in (_route_parts(r) for r in server.app.all_routes())
        for method in _implemented_methods(handler)
    }
    stale = sorted(key for key in _document_operations() if key not in served)
    assert not stale, f"documented but not served: {stale}"


def test_security_matches_the_handlers() -> None:
    operations = _document_operations()
    for pattern, handler in _api_routes():
        public = getattr(handler, "public_methods", frozenset())
        for method in _implemented_methods(handler):
            security = operations[(_normalise(pattern), method)]["security"]
            needs_token = security == [{"bearerAuth": []}]
            assert needs_token == (method.upper() not in public), f"{method} {pattern}"


def test_every_operation_has_responses_and_errors_reference_error() -> None:
    document = build_openapi()
    for (path, method), operation in _document_operations().items():
        responses = operation["responses"]
        assert responses, f"{method} {path}"
        assert any(code.startswith("2") for code in responses), f"{method} {path}"
        for code, response in responses.items():
            assert response.get("description"), f"{method} {path} {code}"
            if int(code) < 400 or path == "/readyz":
                continue  # /readyz answers 503 with its checks, not an error body
            schema = response["content"]["application/json"]["schema"]
            # A schedule conflict is the one error body with its `details` spelled out.
            allowed = ["Error", *(["ScheduleConflict"] if code == "409" else [])]
            names = [f"#/components/schemas/{name}" for name in allowed]
            assert schema in [{"$ref": name} for name in names], f"{method} {path} {code}"
    components = document["components"]["schemas"]
    assert "Error" in components
    error = components["ErrorDetail"]["properties"]
    conflict = components["ScheduleConflictError"]["properties"]
    assert conflict.keys() == error.keys()


def test_schedule_operations_document_the_conflict_and_the_dry_run() -> None:
    document = build_openapi()
    patch = document["paths"]["/api/v1/games/{game_id}"]["patch"]
    assert patch["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScheduleConflict"
    }
    assert {p["name"] for p in patch["parameters"]} >= {"dry_run", "If-Match"}
    schedule = document["paths"]["/api/v1/events/{event_id}/schedule"]["post"]
    assert "409" in schedule["responses"] and "200" in schedule["responses"]
    violation = document["components"]["schemas"]["Violation"]["properties"]
    assert set(violation) == {"rule", "game_ids", "team_ids", "venue", "starts_at"}
    rules = document["components"]["schemas"]["ScheduleRules"]["properties"]
    assert set(rules) == {"game_minutes", "min_rest_minutes", "playing_hours", "blackout_dates"}


def test_list_endpoints_use_the_page_envelope() -> None:
    document = build_openapi()
    schemas = document["components"]["schemas"]
    for path in (
        "/api/v1/events",
        "/api/v1/events/{event_id}/teams",
        "/api/v1/events/{event_id}/games",
    ):
        operation = document["paths"][path]["get"]
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schemas[ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"items", "page", "per_page", "total"}
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"page", "per_page"} <= names


def test_score_and_standings_details() -> None:
    paths = build_openapi()["paths"]
    score = paths["/api/v1/games/{game_id}/score"]["put"]
    headers = {p["name"] for p in score["parameters"] if p["in"] == "header"}
    assert headers == {"Idempotency-Key", "If-Match"}
    assert {"200", "409", "422"} <= set(score["responses"])
    standings = paths["/api/v1/events/{event_id}/standings"]["get"]
    assert "ETag" in standings["responses"]["200"]["headers"]
    assert "304" in standings["responses"]
    patch_body = paths["/api/v1/events/{event_id}"]["patch"]["requestBody"]
    assert patch_body["content"]["application/json"]["schema"]["$ref"].endswith("/EventUpdate")


def test_paths_name_their_groups_after_the_handler_arguments() -> None:
    class Thing(BaseHandler):
        public_methods = frozenset({"GET"})
        openapi = {"get": Op(operation_id="t", summary="t", tag="ops", responses={200: None})}

        async def get(self, event_id: str, game_id: str) -> None: ...

    [placed] = declared_operations([(r"/api/v1/events/([0-9]+)/x/([0-9]+)\.csv", Thing)])
    assert placed.path == "/api/v1/events/{event_id}/x/{game_id}.csv"
    assert placed.method == "get" and placed.public


def test_a_declaration_covers_exactly_the_methods_its_handler_implements() -> None:
    class Half(BaseHandler):
        openapi = {"get": Op(operation_id="h", summary="h", tag="ops", responses={200: None})}

        async def get(self) -> None: ...

        async def post(self) -> None: ...

    with pytest.raises(ValueError, match="implements"):
        declared_operations([(r"/api/v1/half", Half)])


def test_document_is_valid_openapi() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(build_openapi())


# --- over HTTP ---------------------------------------------------------------------------


async def test_openapi_json_is_served(client: Client) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert_security_headers(response)
    document = json.loads(response.body)
    assert document["openapi"].startswith("3.")
    assert document == build_openapi()


async def test_docs_page_loads_swagger_ui_locally(client: Client) -> None:
    response = await client.get("/docs")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert_security_headers(response)
    html = response.body.decode()
    assert "/docs/static/swagger-ui-bundle.js" in html
    assert "/static/swagger-init.js" in html
    assert "<script>" not in html  # no inline script: the CSP would block it
    assert "https://" not in html  # no CDN

    for path, kind in [
        ("/docs/static/swagger-ui-bundle.js", "javascript"),
        ("/docs/static/swagger-ui.css", "text/css"),
        ("/static/swagger-init.js", "javascript"),
    ]:
        asset = await client.get(path)
        assert asset.code == 200, path
        assert kind in asset.headers["Content-Type"], path
        assert_security_headers(asset)

    init = (await client.get("/static/swagger-init.js")).body.decode()
    assert '"/api/v1/openapi.json"' in init
    assert "validatorUrl: null" in init


async def public_event(client: Client, visibility: str = "public") -> int:
    """An event created through the API (the event page is 200 for public events only)."""
    api = Api(client.base_url)
    token = await api.user(f"owner-{visibility}@example.com")
    reply = await api.post(
        "/api/v1/events", {"name": f"{visibility} cup", "visibility": visibility}, token=token
    )
    assert reply.status == 201, reply.body
    return int(reply.json["id"])


@pytest.mark.parametrize("path", ["/", "/events/{event}"])
async def test_spectator_pages(client: Client, path: str) -> None:
    if "{event}" in path:
        path = path.format(event=await public_event(client))
    response = await client.get(path)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert_security_headers(response)
    html = response.body.decode()
    assert '<script src="/static/app.js?v=' in html
    assert "<script>" not in html


async def test_index_points_to_the_docs(client: Client) -> None:
    html = (await client.get("/")).body.decode()
    assert 'href="/docs"' in html


@pytest.mark.parametrize("path", ["/static/app.js", "/static/style.css"])
async def test_page_assets_are_served(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.code == 200
    assert_security_headers(response)
    assert response.headers.get("Cache-Control") == "no-cache"


async def test_pages_name_their_assets_by_content_hash(client: Client) -> None:
    """One script and one stylesheet, under URLs that change with their content: cached for a
    year without revalidation, while the page itself is revalidated every time."""
    page = await client.get("/")
    assert page.headers["Cache-Control"] == "no-cache"
    html = page.body.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert len(scripts) == 1 and len(sheets) == 1, (scripts, sheets)
    for url, name in [(scripts[0], "app.js"), (sheets[0], "style.css")]:
        source = (Path(server.app.__file__).parent / "static" / name).read_bytes()
        assert url == f"/static/{name}?v={hashlib.sha256(source).hexdigest()[:12]}"
        asset = await client.get(url)
        assert asset.code == 200 and asset.body == source
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"


async def test_app_js_never_writes_html() -> None:
    source = (Path(server.app.__file__).parent / "static" / "app.js").read_text()
    assert "innerHTML" not in source.replace("never innerHTML", "")
    assert "insertAdjacentHTML" not in source
    assert "document.write" not in source


@pytest.mark.parametrize(
    "path",
    [
        "/static/nope.js",
        "/docs/static/nope.js",
        "/static/../app.py",
    ],
)
async def test_unknown_files_and_pages_are_404(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.code in (403, 404), path
    if response.code == 404:
        assert json.loads(response.body)["error"]["code"] == "not_found"
    assert_security_headers(response)


async def test_the_page_of_an_unknown_or_private_event_is_an_html_404(client: Client) -> None:
    public = await public_event(client)
    private = await public_event(client, "private")
    assert (await client.get(f"/events/{public}")).code == 200
    for path in [f"/events/{private}", "/events/999", "/events/0", "/events/99999999999"]:
        for method in ("GET", "HEAD"):
            response = await client.get(path, method=method)
            assert response.code == 404, (path, method)
            assert response.headers["Content-Type"].startswith("text/html"), path
            assert_security_headers(response)
        html = (await client.get(path)).body.decode()
        assert "<h1>No such event</h1>" in html, path
        assert "Connecting" not in html and "app.js" not in html, path


async def test_head_of_a_page(client: Client) -> None:
    response = await client.get("/", method="HEAD")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert int(response.headers["Content-Length"]) > 0


async def test_request_id_is_echoed_on_static_files(client: Client) -> None:
    response = await client.get("/static/style.css", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


async def test_the_event_page_has_a_question_box_posting_to_analytics(client: Client) -> None:
    html = (await client.get(f"/events/{await public_event(client)}")).body.decode()
    source = (Path(server.app.__file__).parent / "static" / "app.js").read_text()
    assert '<form id="ask"' in html and 'id="question"' in html and 'maxlength="500"' in html
    assert '"/api/v1/analytics/query"' in source
