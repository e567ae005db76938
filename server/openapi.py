"""The OpenAPI 3 document, built with apispec from the marshmallow schemas the handlers use.

Each handler class declares its operations once, beside ``public_methods``::

    openapi = {"post": Op("createEvent", "Create an event", "events", {201: EventSchema},
                          body=EventCreateSchema)}

The rest is read from the application: the paths from ``server.app.all_routes()`` (path
parameters named after the handler method's arguments), the methods from the ones the
handler implements (a declaration must cover exactly those), and the security from
``public_methods`` (bearer required, or optional). The error responses follow from the
declaration (a body can be malformed, too large or invalid; a path id can be unknown; a
bearer route can be refused), and each one references the ``Error`` component, the
contract's one error body. Handlers without a declaration (pages, static files, /metrics)
are left out; ``tests/integration/test_docs_pages.py`` checks that every API route is in.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import EXCLUDE, Schema, fields
from tornado.web import RequestHandler, URLSpec

from server.schemas.admin import (
    AuditEntrySchema,
    CorrectionSchema,
    RoleSchema,
    TaskSchema,
)
from server.schemas.auth import (
    LoginSchema,
    PasswordChangeSchema,
    RefreshSchema,
    RegisterSchema,
    TokenPairSchema,
    UserEnvelopeSchema,
    UserSchema,
)
from server.schemas.calendar import CalendarTokenSchema, IssuedCalendarTokenSchema
from server.schemas.common import ErrorDetailSchema, ErrorSchema, page_schema
from server.schemas.events import (
    EventCreateSchema,
    EventSchema,
    EventUpdateSchema,
    PlayingHoursSchema,
    ScheduleRulesSchema,
    ScorekeeperCreateSchema,
    ScorekeeperSchema,
    ScoringSchema,
    TeamCreateSchema,
    TeamSchema,
)
from server.schemas.games import (
    DecidedBySchema,
    GameChangePreviewSchema,
    GameChangeSchema,
    GameCreateSchema,
    GameSchema,
    GamesEnvelopeSchema,
    GameUpdateSchema,
    PreviewGameSchema,
    ScheduleConflictDetailsSchema,
    ScheduleConflictErrorSchema,
    ScheduleConflictSchema,
    SchedulePreviewSchema,
    ScheduleSchema,
    ScoreSchema,
    StandingsRowSchema,
    StandingsSchema,
    ViolationSchema,
)
from server.schemas.webhooks import (
    WebhookCreateSchema,
    WebhookDeliverySchema,
    WebhookSchema,
    WebhookSecretSchema,
    WebhookUpdateSchema,
)

OPENAPI_VERSION = "3.0.3"
MAX_ID = 2**31 - 1
JSON = "application/json"

# --- schemas that exist only to describe responses ---------------------------------------


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})


class ReadinessSchema(Schema):
    status = fields.String(metadata={"enum": ["ready", "unavailable"]})
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "each dependency → `ok` or `failed: <reason>`; "
            "`process: draining` while shutting down",
            "example": {"database": "ok", "redis": "ok"},
        },
    )


EventPageSchema = page_schema(EventSchema, "EventPage")
TeamPageSchema = page_schema(TeamSchema, "TeamPage")
GamePageSchema = page_schema(GameSchema, "GamePage")
AuditPageSchema = page_schema(AuditEntrySchema, "AuditPage")
WebhookPageSchema = page_schema(WebhookSchema, "WebhookPage")
WebhookDeliveryPageSchema = page_schema(WebhookDeliverySchema, "WebhookDeliveryPage")


class ImportResultSchema(Schema):
    teams = fields.List(fields.Nested(TeamSchema))
    games = fields.List(fields.Nested(GameSchema))


def _reply(schema: type[Schema]) -> Schema:
    """A response body: the server may add fields (the contract allows it), so the document
    must not say `additionalProperties: false`, which apispec derives from `unknown=RAISE`.
    (`unknown` is no apispec schema modifier: references to the class still resolve here.)"""
    return schema(unknown=EXCLUDE)


# Every schema the document names, under one explicit, distinct component name each.
# Nested schemas come before the ones that use them. Request bodies keep
# `additionalProperties: false`: unknown fields are refused with 422.
# (EventUpdate is the PATCH body: loaded with partial=True, so nothing in it is required.)
COMPONENT_SCHEMAS: dict[str, Schema | type[Schema]] = {
    "ErrorDetail": _reply(ErrorDetailSchema),
    "Error": _reply(ErrorSchema),
    "Register": RegisterSchema,
    "Login": LoginSchema,
    "Refresh": RefreshSchema,
    "PasswordChange": PasswordChangeSchema,
    "TokenPair": _reply(TokenPairSchema),
    "User": _reply(UserSchema),
    "UserEnvelope": _reply(UserEnvelopeSchema),
    "CalendarToken": _reply(CalendarTokenSchema),
    "IssuedCalendarToken": _reply(IssuedCalendarTokenSchema),
    "Scoring": ScoringSchema,
    "PlayingHours": PlayingHoursSchema,
    "ScheduleRules": ScheduleRulesSchema,
    "EventCreate": EventCreateSchema,
    "EventUpdate": EventUpdateSchema(partial=True),
    "Event": _reply(EventSchema),
    "EventPage": _reply(EventPageSchema),
    "ScorekeeperCreate": ScorekeeperCreateSchema,
    "Scorekeeper": _reply(ScorekeeperSchema),
    "TeamCreate": TeamCreateSchema,
    "Team": _reply(TeamSchema),
    "TeamPage": _reply(TeamPageSchema),
    "GameCreate": GameCreateSchema,
    "Game": _reply(GameSchema),
    "GamePage": _reply(GamePageSchema),
    "GamesEnvelope": _reply(GamesEnvelopeSchema),
    "GameUpdate": GameUpdateSchema,
    "Violation": _reply(ViolationSchema),
    "ScheduleConflictDetails": _reply(ScheduleConflictDetailsSchema),
    "ScheduleConflictError": _reply(ScheduleConflictErrorSchema),
    "ScheduleConflict": _reply(ScheduleConflictSchema),
    "GameChange": _reply(GameChangeSchema),
    "GameChangePreview": _reply(GameChangePreviewSchema),
    "PreviewGame": _reply(PreviewGameSchema),
    "SchedulePreview": _reply(SchedulePreviewSchema),
    "Schedule": ScheduleSchema,
    "Score": ScoreSchema,
    "DecidedBy": _reply(DecidedBySchema),
    "StandingsRow": _reply(StandingsRowSchema),
    "Standings": _reply(StandingsSchema),
    "Correction": CorrectionSchema,
    "Role": RoleSchema,
    "Task": _reply(TaskSchema),
    "AuditEntry": _reply(AuditEntrySchema),
    "AuditPage": _reply(AuditPageSchema),
    "Health": _reply(HealthSchema),
    "Readiness": _reply(ReadinessSchema),
    "ImportResult": _reply(ImportResultSchema),
    "WebhookCreate": WebhookCreateSchema,
    "WebhookUpdate": WebhookUpdateSchema,
    "Webhook": _reply(WebhookSchema),
    "WebhookSecret": _reply(WebhookSecretSchema),
    "WebhookPage": _reply(WebhookPageSchema),
    "WebhookDelivery": _reply(WebhookDeliverySchema),
    "WebhookDeliveryPage": _reply(WebhookDeliveryPageSchema),
}


# --- what a handler declares ---------------------------------------------------------------

# A success response: a schema (class, instance or component name), None for no body, or
# a complete OpenAPI response object (a dict with "description").
Reply = Schema | type[Schema] | str | Mapping[str, Any] | None


@dataclass(frozen=True)
class Op:
    """One operation, declared on its handler class: ``openapi = {"get": Op(...), ...}``.

    The path, the method and who may call it come from the handler itself (its route, the
    methods it implements, ``public_methods``); the error responses follow from the rest."""

    operation_id: str
    summary: str
    tag: str  # one of TAGS
    responses: Mapping[int, Reply]
    token: bool = True  # False: a public operation that reads no token (no security at all)
    body: Schema | type[Schema] | Mapping[str, Any] | None = None  # a mapping: a raw schema
    body_type: str = JSON  # the media type of `body`
    query: type[Schema] | None = None
    headers: tuple[str, ...] = ()  # names from HEADER_PARAMETERS
    errors: tuple[int, ...] = ()  # beyond the ones the declaration implies
    description: str = ""
    api: bool = True  # rate limited and backed by the database (429, 503)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """An ``Op`` placed: at its path and method, public or not (from the handler)."""

    path: str
    method: str
    public: bool
    op: Op


ETAG_HEADER = {
    "description": "the resource version, for `If-Match` / `If-None-Match`",
    "schema": {"type": "string"},
}
HTML_PAGE = {
    "description": "An HTML page",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
# What server/ratelimit.py's rate_limit_headers() sends with a 429 (draft-ietf-httpapi-
# ratelimit-headers), about the limit that refused the request. Successful rate-limited
# requests carry the four RateLimit-* headers too, for the tightest limit they counted against.
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {
        "description": "requests the refusing limit allows per window",
        "schema": {"type": "integer", "example": 60},
    },
    "RateLimit-Remaining": {
        "description": "requests left in the window (0 when refused)",
        "schema": {"type": "integer", "example": 0},
    },
    "RateLimit-Reset": {
        "description": "seconds until a request is allowed again",
        "schema": {"type": "integer", "example": 12},
    },
    "RateLimit-Policy": {
        "description": "the limit as `<count>;w=<window seconds>`",
        "schema": {"type": "string", "example": "60;w=60"},
    },
    "Retry-After": {
        "description": "seconds to wait before retrying (RFC 9110)",
        "schema": {"type": "integer", "example": 12},
    },
}
# What server/base.py sends with a 503 for the database (a full pool included) or the task
# queue: they are usually back within seconds.
UNAVAILABLE_HEADERS = {
    "Retry-After": {
        "description": "seconds to wait before retrying (RFC 9110); sent when the database "
        "or the task queue is unavailable",
        "schema": {"type": "integer", "example": 2},
    },
}
NOT_MODIFIED = {"description": "Not modified: the `If-None-Match` ETag is current"}
IDEMPOTENT_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored reply to an earlier request with the "
        "same `Idempotency-Key`",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def json_reply(
    description: str, schema: Reply, headers: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON response with its own description (and headers)."""
    reply: dict[str, Any] = {"description": description}
    if headers:
        reply["headers"] = dict(headers)
    reply["content"] = {JSON: {"schema": schema}}
    return reply


CACHE_CONTROL_HEADER = {
    "description": "`no-cache` (may be kept, revalidate with `If-None-Match`); `private, "
    "no-cache` for a private event's data",
    "schema": {"type": "string"},
}


def cached_read(description: str, schema: Reply) -> dict[Any, Any]:
    """The responses of a read served from pre-serialised bytes: 200 with ETag and
    Cache-Control, 304 when the caller's ETag is current."""
    return {
        200: with_etag(description, schema, **{"Cache-Control": CACHE_CONTROL_HEADER}),
        304: NOT_MODIFIED,
    }


def with_etag(description: str, schema: Reply, **headers: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON response carrying the resource's ``ETag`` (and ``headers``)."""
    return json_reply(description, schema, {"ETag": ETAG_HEADER, **headers})


def text_reply(media_type: str, description: str) -> dict[str, Any]:
    """A response whose body is text of ``media_type`` (an event stream, CSV, ...)."""
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def query_parameter(name: str, description: str) -> dict[str, Any]:
    """A string query parameter not described by a schema (for ``Op.extra``)."""
    return {"name": name, "in": "query", "schema": {"type": "string"}, "description": description}


HEADER_PARAMETERS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "description": "1-200 visible ASCII characters. A retry with the same key and body "
        "gets the stored reply (with `Idempotent-Replayed: true`) instead of applying twice.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    },
    "If-Match": {
        "description": 'The game version the change is based on, e.g. `"3"` (its ETag); '
        "409 `version_conflict` when the game changed meanwhile. `*` or absent: no check.",
        "schema": {"type": "string"},
    },
    "Last-Event-ID": {
        "description": "The id of the last message seen; everything after it is replayed.",
        "schema": {"type": "string", "example": "1764370000000-0"},
    },
    "If-None-Match": {
        "description": "The ETag of a previous answer; 304 when the body is unchanged.",
        "schema": {"type": "string"},
    },
}

PATH_PARAMETERS: dict[str, str] = {
    "event_id": "The event's id.",
    "game_id": "The game's id.",
    "team_id": "The team's id.",
    "user_id": "The user's id.",
    "webhook_id": "The webhook subscription's id.",
    "delivery_id": "The delivery's id (its `Matchday-Delivery` header).",
}

SUCCESS_DESCRIPTIONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}

STATUS_DESCRIPTIONS = {
    400: "Malformed request (body not JSON, bad header)",
    401: "No token, or an invalid, expired or revoked one",
    403: "Authenticated, but not allowed to do this",
    404: "No such resource, or one the caller may not see",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Wrong content type: the body must be application/json (text/csv for imports)",
    422: "Validation failed; `details` maps each field to its messages",
    429: "Rate limited; retry after `Retry-After` seconds",
    503: "A dependency (database, Redis) is unavailable",
    504: "No answer in time (`analytics_timeout`, `query_timeout`)",
}

TAGS = [
    {"name": "auth", "description": "Accounts and tokens"},
    {"name": "events", "description": "Events (leagues, tournaments) and their scorekeepers"},
    {"name": "teams", "description": "Teams of an event"},
    {"name": "games", "description": "Games, schedules, scores and standings"},
    {"name": "admin", "description": "Corrections, recomputes, audit trail, roles"},
    {"name": "analytics", "description": "Plain-English questions about an event"},
    {"name": "webhooks", "description": "Signed HTTP callbacks of an event's live events"},
    {"name": "ops", "description": "Health checks and this documentation"},
]
TAG_NAMES = frozenset(tag["name"] for tag in TAGS)


# --- the operations, read from the handlers ---------------------------------------------------

HTTP_METHODS = ("get", "post", "put", "patch", "delete")  # HEAD and OPTIONS go undocumented
BODY_METHODS = ("post", "put", "patch")


def implemented_methods(handler: type[RequestHandler]) -> list[str]:
    """The HTTP methods ``handler`` answers: those it (or a base of ours) defines."""
    return [
        method
        for method in HTTP_METHODS
        if getattr(handler, method) is not getattr(RequestHandler, method)
    ]


def _route_parts(route: Any) -> tuple[str, type[RequestHandler]]:
    if isinstance(route, URLSpec):
        return route.regex.pattern, route.handler_class
    return route[0], route[1]


def _path_template(pattern: str, handler: type[RequestHandler], method: str) -> str:
    """``/api/v1/events/([0-9]+)/teams`` → ``/api/v1/events/{event_id}/teams``: each group is
    named after the handler method's argument in its place."""
    groups = re.findall(r"\([^)]*\)", pattern)
    names = [
        p.name
        for p in inspect.signature(getattr(handler, method)).parameters.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]
    if len(names) < len(groups):
        raise ValueError(f"{handler.__name__}.{method} does not name the groups of {pattern}")
    path = pattern.removesuffix("$").replace("\\.", ".")
    for name in names[: len(groups)]:
        path = re.sub(r"\([^)]*\)", "{" + name + "}", path, count=1)
    return path


def _declared(handler: type[RequestHandler]) -> Mapping[str, Op]:
    """The handler's own declarations: a subclass documents its routes itself."""
    declared: Mapping[str, Op] = vars(handler).get("openapi", {})
    implemented = implemented_methods(handler)
    if declared and sorted(declared) != sorted(implemented):
        raise ValueError(
            f"{handler.__name__}: openapi declares {sorted(declared)}, "
            f"the handler implements {sorted(implemented)}"
        )
    for method, op in declared.items():
        if op.tag not in TAG_NAMES:
            raise ValueError(f"{handler.__name__}.{method}: unknown tag {op.tag!r}")
    return declared


def declared_operations(routes: list[Any]) -> list[Operation]:
    """Every declared operation of ``routes``, each handler class at its first route (later
    ones, such as ``/docs/`` beside ``/docs``, are aliases)."""
    placed: list[Operation] = []
    seen: set[type[RequestHandler]] = set()
    for pattern, handler in map(_route_parts, routes):
        if handler in seen:
            continue
        seen.add(handler)
        public: frozenset[str] = getattr(handler, "public_methods", frozenset())
        for method, op in _declared(handler).items():
            path = _path_template(pattern, handler, method)
            placed.append(Operation(path, method, method.upper() in public, op))
    return placed


# --- building -----------------------------------------------------------------------------


def _schema_name_resolver(schema: Schema | type[Schema]) -> str:
    """Names for schemas met only as nested fields (all the document's are registered)."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name.removesuffix("Schema") or name


def _error(status: int) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "description": STATUS_DESCRIPTIONS[status],
        "content": {JSON: {"schema": "Error"}},
    }
    if status == 429:
        reply["headers"] = RATE_LIMIT_HEADERS
    elif status == 503:
        reply["headers"] = UNAVAILABLE_HEADERS
    return reply


def _success(status: int, reply: Reply) -> dict[str, Any]:
    if reply is None:
        return {"description": SUCCESS_DESCRIPTIONS.get(status, "Success")}
    if isinstance(reply, Mapping):
        return dict(reply)
    description = SUCCESS_DESCRIPTIONS.get(status, "Success")
    return {"description": description, "content": {JSON: {"schema": reply}}}


def _path_parameter_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _security(placed: Operation) -> list[dict[str, list[str]]]:
    """Bearer required, bearer optional (a token shows the caller's private data), or none."""
    if not placed.public:
        if not placed.op.token:
            raise ValueError(f"{placed.method} {placed.path}: needs a token, yet token=False")
        return [{"bearerAuth": []}]
    return [{}, {"bearerAuth": []}] if placed.op.token else []


def _error_statuses(placed: Operation) -> list[int]:
    op = placed.op
    statuses = set(op.errors)
    if op.body is not None:
        statuses |= {400, 413, 415, 422}
    if placed.method in BODY_METHODS and op.api:
        statuses |= {413, 415}  # a body sent where none is expected is checked all the same
    if op.query is not None:
        statuses.add(422)
    if _security(placed):
        statuses.add(401)  # a public operation refuses an invalid token, too
    if _path_parameter_names(placed.path):
        statuses.add(404)
    if op.headers:
        statuses.add(400)
    if op.api:
        statuses |= {429, 503}
    return sorted(statuses - set(op.responses))


def _parameters(op: Op) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    parameters += [
        {"in": "header", "name": name, "required": False, **HEADER_PARAMETERS[name]}
        for name in op.headers
    ]
    return parameters + list(op.extra.get("parameters", []))


def _operation(placed: Operation) -> dict[str, Any]:
    op = placed.op
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {str(code): _success(code, reply) for code, reply in op.responses.items()},
    }
    if op.description:
        result["description"] = op.description
    for status in _error_statuses(placed):
        result["responses"][str(status)] = _error(status)
    result["security"] = _security(placed)
    if parameters := _parameters(op):
        result["parameters"] = parameters
    if op.body is not None:
        result["requestBody"] = {"required": True, "content": {op.body_type: {"schema": op.body}}}
    result.update({key: value for key, value in op.extra.items() if key != "parameters"})
    return result


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "in": "path",
            "name": name,
            "required": True,
            "description": PATH_PARAMETERS.get(name, ""),
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name in _path_parameter_names(path)
    ]


def _version() -> str:
    try:
        return metadata.version("matchday")
    except metadata.PackageNotFoundError:
        return "0.0.0"


DESCRIPTION = """\
Real-time backend for sports leagues and tournaments.

JSON in and out. Errors always have the shape
`{"error": {"code", "message", "details", "request_id"}}`; every response carries
`X-Request-ID`. Lists take `?page=1&per_page=50` (at most 200) and answer
`{"items", "page", "per_page", "total"}`. Authenticate with
`Authorization: Bearer <access_token>` from `POST /api/v1/auth/login`.

Live updates: `GET /api/v1/events/{event_id}/stream` (server-sent events `score`,
`correction`, `standings`, `game`).
"""


@functools.lru_cache(maxsize=1)
def _build() -> dict[str, Any]:
    spec = APISpec(
        title="Matchday API",
        version=_version(),
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name_resolver)],
        info={"description": DESCRIPTION},
    )
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    for name, schema in COMPONENT_SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    for tag in TAGS:
        spec.tag(tag)

    from server.app import all_routes  # the handlers import this module for `Op`

    by_path: dict[str, dict[str, Any]] = {}
    for placed in declared_operations(all_routes()):
        methods = by_path.setdefault(placed.path, {})
        if placed.method in methods:
            raise ValueError(f"{placed.method.upper()} {placed.path} is served twice")
        methods[placed.method] = _operation(placed)
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations, parameters=_path_parameters(path))
    return spec.to_dict()


def build_openapi() -> dict[str, Any]:
    """The document as a dict (a fresh copy: callers may change it)."""
    return copy.deepcopy(_build())


@functools.lru_cache(maxsize=1)
def openapi_json() -> str:
    """The document serialised once, for the handler."""
    return json.dumps(_build(), ensure_ascii=False, separators=(",", ":"))
