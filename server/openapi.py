"""The OpenAPI 3 document, built with apispec from the marshmallow schemas the handlers use.

One declarative table, ``OPERATIONS``, lists every operation: path template, method,
summary, tag, who may call it, request body, query string, headers and the success
responses. The error responses follow from that row (a body can be malformed, too large
or invalid; a path id can be unknown; a bearer route can be refused), and each one
references the ``Error`` component, the contract's one error body.

``tests/integration/test_docs_pages.py`` checks that every API route of the application
appears here, with every method its handler implements.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import EXCLUDE, Schema, fields

from server.schemas.admin import (
    AuditEntrySchema,
    AuditQuerySchema,
    CorrectionSchema,
    RoleSchema,
    TaskSchema,
)
from server.schemas.analytics import AnalyticsAnswerSchema, AnalyticsQuerySchema
from server.schemas.auth import (
    LoginSchema,
    PasswordChangeSchema,
    RefreshSchema,
    RegisterSchema,
    TokenPairSchema,
    UserEnvelopeSchema,
    UserSchema,
)
from server.schemas.common import ErrorDetailSchema, ErrorSchema, PageQuerySchema, page_schema
from server.schemas.events import (
    EventCreateSchema,
    EventSchema,
    EventUpdateSchema,
    ScorekeeperCreateSchema,
    ScorekeeperSchema,
    ScoringSchema,
    TeamCreateSchema,
    TeamListQuerySchema,
    TeamSchema,
)
from server.schemas.games import (
    GameCreateSchema,
    GameListQuerySchema,
    GameSchema,
    GamesEnvelopeSchema,
    ScheduleSchema,
    ScoreSchema,
    StandingsRowSchema,
    StandingsSchema,
)

OPENAPI_VERSION = "3.0.3"
MAX_ID = 2**31 - 1
JSON = "application/json"

Auth = Literal["none", "optional", "required"]


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
    "Scoring": ScoringSchema,
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
    "Schedule": ScheduleSchema,
    "Score": ScoreSchema,
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
}


# --- the table ----------------------------------------------------------------------------

# A success response: a schema (class, instance or component name), None for no body, or
# a complete OpenAPI response object (a dict with "description").
Reply = Schema | type[Schema] | str | Mapping[str, Any] | None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    responses: Mapping[int, Reply]
    auth: Auth = "required"  # "optional": public, but a token shows the caller's private data
    body: Schema | type[Schema] | Mapping[str, Any] | None = None  # a mapping: a raw schema
    body_type: str = JSON  # the media type of `body`
    query: type[Schema] | None = None
    headers: tuple[str, ...] = ()  # names from HEADER_PARAMETERS
    errors: tuple[int, ...] = ()  # beyond the ones the row implies
    description: str = ""
    api: bool = True  # under /api/v1: rate limited, backed by the database
    extra: Mapping[str, Any] = field(default_factory=dict)


ETAG_HEADER = {
    "description": "the resource version, for `If-Match` / `If-None-Match`",
    "schema": {"type": "string"},
}
HTML_PAGE = {
    "description": "An HTML page",
    "content": {"text/html": {"schema": {"type": "string"}}},
}

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
    "user_id": "The user's id.",
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

AUTH_TAG, EVENTS_TAG, TEAMS_TAG, GAMES_TAG, OPS_TAG = "auth", "events", "teams", "games", "ops"
ADMIN_TAG, ANALYTICS_TAG = "admin", "analytics"

TAGS = [
    {"name": AUTH_TAG, "description": "Accounts and tokens"},
    {"name": EVENTS_TAG, "description": "Events (leagues, tournaments) and their scorekeepers"},
    {"name": TEAMS_TAG, "description": "Teams of an event"},
    {"name": GAMES_TAG, "description": "Games, schedules, scores and standings"},
    {"name": ADMIN_TAG, "description": "Corrections, recomputes, audit trail, roles"},
    {"name": ANALYTICS_TAG, "description": "Plain-English questions about an event"},
    {"name": OPS_TAG, "description": "Health checks and this documentation"},
]

EVENT_PATH = "/api/v1/events/{event_id}"
GAME_PATH = "/api/v1/games/{game_id}"

# fmt: off
# Positional: method, path, operationId, summary, tag, success responses.
OPERATIONS: tuple[Operation, ...] = (
    # auth
    Operation(
        "post", "/api/v1/auth/register", "register", "Create an account", AUTH_TAG,
        {201: UserEnvelopeSchema}, auth="none", body=RegisterSchema, errors=(409,),
        description="409 `email_taken`; 422 for a weak password or a bad email address.",
    ),
    Operation(
        "post", "/api/v1/auth/login", "login", "Log in: get an access and a refresh token",
        AUTH_TAG, {200: TokenPairSchema}, auth="none", body=LoginSchema, errors=(401,),
        description="Repeated failures for one account or from one IP are throttled (429).",
    ),
    Operation(
        "post", "/api/v1/auth/refresh", "refreshTokens", "Swap a refresh token for a new pair",
        AUTH_TAG, {200: TokenPairSchema}, auth="none", body=RefreshSchema, errors=(401,),
        description="The refresh token used stops working. Presenting it again ends the "
        "whole session (every token of that login): a copied refresh token is caught.",
    ),
    Operation(
        "post", "/api/v1/auth/logout", "logout", "Log out", AUTH_TAG, {204: None},
        description="The access token and its refresh token stop working.",
    ),
    Operation("get", "/api/v1/me", "getMe", "The calling user", AUTH_TAG, {200: UserSchema}),
    Operation(
        "post", "/api/v1/me/password", "changePassword", "Change the caller's password",
        AUTH_TAG, {204: None}, body=PasswordChangeSchema,
        description="401 `invalid_credentials` when `current_password` is wrong; 422 when "
        "`new_password` is weak (the registration rules). Every token issued before the "
        "change stops working, the caller's included: log in again with the new password.",
    ),
    # events
    Operation(
        "get", "/api/v1/events", "listEvents", "List events", EVENTS_TAG,
        {200: EventPageSchema}, auth="optional", query=PageQuerySchema,
        description="Public events, plus the caller's own private ones.",
    ),
    Operation(
        "post", "/api/v1/events", "createEvent", "Create an event", EVENTS_TAG,
        {201: EventSchema}, body=EventCreateSchema,
        description="The caller owns the new event.",
    ),
    Operation(
        "get", EVENT_PATH, "getEvent", "Get an event", EVENTS_TAG, {200: EventSchema},
        auth="optional",
        description="A private event is 404 to everyone but its owner, scorekeepers and admins.",
    ),
    Operation(
        "patch", EVENT_PATH, "updateEvent", "Change an event (owner, admin)", EVENTS_TAG,
        {200: EventSchema}, body=EventUpdateSchema(partial=True), errors=(403,),
        description="Send only the fields to change. Changing `scoring` or `tiebreakers` "
        "recomputes the standings.",
    ),
    Operation(
        "post", f"{EVENT_PATH}/scorekeepers", "addScorekeeper",
        "Name a scorekeeper (owner, admin)", EVENTS_TAG, {201: ScorekeeperSchema},
        body=ScorekeeperCreateSchema, errors=(403, 409),
        description="409 `already_scorekeeper`; 422 when the user does not exist.",
    ),
    # teams
    Operation(
        "get", f"{EVENT_PATH}/teams", "listTeams", "List an event's teams", TEAMS_TAG,
        {200: TeamPageSchema}, auth="optional", query=TeamListQuerySchema,
    ),
    Operation(
        "post", f"{EVENT_PATH}/teams", "createTeam", "Add a team (owner, admin)", TEAMS_TAG,
        {201: TeamSchema}, body=TeamCreateSchema, errors=(403, 409),
        description="409 `team_name_taken` when the event already has a team of that name.",
    ),
    # games
    Operation(
        "get", f"{EVENT_PATH}/games", "listGames", "List an event's games", GAMES_TAG,
        {200: GamePageSchema}, auth="optional", query=GameListQuerySchema,
        description="Filter by `status`, `team_id` (home or away) and `round`.",
    ),
    Operation(
        "post", f"{EVENT_PATH}/games", "createGame", "Add a game (owner, admin)", GAMES_TAG,
        {201: GameSchema}, body=GameCreateSchema, errors=(403,),
    ),
    Operation(
        "post", f"{EVENT_PATH}/schedule", "generateSchedule",
        "Generate the schedule (owner, admin)", GAMES_TAG, {201: GamesEnvelopeSchema},
        body=ScheduleSchema, errors=(403, 409),
        description="409 `already_scheduled` when the event has games; 422 with fewer than "
        "two teams.",
    ),
    Operation(
        "get", f"{EVENT_PATH}/standings", "getStandings", "The event's standings", GAMES_TAG,
        {
            200: {
                "description": "The table, rows ordered by group then rank",
                "headers": {"ETag": ETAG_HEADER},
                "content": {JSON: {"schema": StandingsSchema}},
            },
            304: {"description": "Not modified: the `If-None-Match` ETag is current"},
        },
        auth="optional", headers=("If-None-Match",),
        description="`last_event_id` is the stream id the table is current to: open the "
        "event's stream with it as `Last-Event-ID` to miss nothing in between.",
    ),
    Operation(
        "get", f"{EVENT_PATH}/stream", "streamEvent", "Live events (Server-Sent Events)",
        GAMES_TAG,
        {
            200: {
                "description": "`text/event-stream`: a `retry:` line, then messages with "
                "`id:`, `event:` (`score`, `correction`, `standings`, `game`; `reset` when "
                "`Last-Event-ID` is older than the kept history; `reconnect` when the server "
                "shuts down) and one `data:` line of JSON. `: ping` comments keep it open.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        },
        auth="optional", headers=("Last-Event-ID",), errors=(429, 503),
        extra={"parameters": [
            {"name": "last_event_id", "in": "query", "schema": {"type": "string"},
             "description": "Same as the `Last-Event-ID` header"},
            {"name": "access_token", "in": "query", "schema": {"type": "string"},
             "description": "An access token, for clients (EventSource) that cannot send "
             "`Authorization`; needed for private events"},
        ]},
        description="Replays every event after `Last-Event-ID` before going live, with no "
        "gap and no duplicate. 503 when the process is at its connection cap or shutting "
        "down, 429 past the per-address cap.",
    ),
    Operation(
        "get", GAME_PATH, "getGame", "Get a game", GAMES_TAG,
        {
            200: {
                "description": "The game",
                "headers": {"ETag": ETAG_HEADER},
                "content": {JSON: {"schema": GameSchema}},
            }
        },
        auth="optional",
    ),
    Operation(
        "put", f"{GAME_PATH}/score", "putScore", "Record a score (owner, scorekeeper, admin)",
        GAMES_TAG,
        {
            200: {
                "description": "The game with its new score",
                "headers": {
                    "ETag": ETAG_HEADER,
                    "Idempotent-Replayed": {
                        "description": "`true` when this is the stored reply to an earlier "
                        "request with the same `Idempotency-Key`",
                        "schema": {"type": "string", "enum": ["true"]},
                    },
                },
                "content": {JSON: {"schema": GameSchema}},
            }
        },
        body=ScoreSchema, headers=("Idempotency-Key", "If-Match"), errors=(403, 409),
        description="A final game's score changes only through a correction (409); re-sending "
        "the identical final score is 200 and changes nothing. 409 `version_conflict` when "
        "`If-Match` names an older version.",
    ),
    # CSV import and export (docs/import.md)
    Operation(
        "post", f"{EVENT_PATH}/import", "importCsv",
        "Import teams and games from CSV (owner, admin)", EVENTS_TAG, {201: ImportResultSchema},
        body={"type": "string", "format": "binary",
              "description": "UTF-8 (an optional BOM), a header row, then `team` and `game` "
              "rows; the format is in docs/import.md"},
        body_type="text/csv", errors=(403, 409),
        description="All or nothing: one invalid row and nothing is stored. 422 "
        "`invalid_csv` lists the problems in `details.errors` (`row`, the header being row 1; "
        "`column`, or null for the whole row; `message`), at most 100, with "
        "`details.truncated`. 413 past `MAX_UPLOAD_BYTES` (default 5 MiB) or 10,000 rows "
        "(422). Answers the created teams and games; publishes a `game` event per game and "
        "recomputes the standings; audited as `import.run`.",
    ),
    Operation(
        "get", f"{EVENT_PATH}/export.csv", "exportCsv", "Export teams and games as CSV",
        EVENTS_TAG,
        {200: {"description": "`text/csv` in the import format: imports back unchanged. "
               "Cells a spreadsheet would run as a formula (starting with `=`, `+`, `-`, "
               "`@`, tab or carriage return) are prefixed with `'`.",
               "content": {"text/csv": {"schema": {"type": "string"}}}}},
        auth="optional",
    ),
    # analytics (docs/analytics.md)
    Operation(
        "post", "/api/v1/analytics/query", "askQuestion", "Ask a question about an event",
        ANALYTICS_TAG, {200: AnalyticsAnswerSchema}, auth="optional", body=AnalyticsQuerySchema,
        errors=(404, 504),
        description="The question is read into a `plan` (intent, metric, teams, filters, "
        "grouping, order, limit) — never into SQL — and the plan runs as a parameterised, "
        "read-only query. `answer` is one sentence; the data is in `columns`/`rows`. 422 "
        "`unrecognized_question` with `details.examples` (questions that work) and, when one "
        "is close, `details.did_you_mean`; also when no event is named and several are "
        "visible. 404 for an `event_id` the caller cannot see. 504 `analytics_timeout` / "
        "`query_timeout` when no answer comes in time. Questions are limited to 500 "
        "characters and by the `analytics` rate limit.",
    ),
    # admin
    Operation(
        "post", "/api/v1/admin/games/{game_id}/corrections", "correctScore",
        "Correct a final score (admin)", ADMIN_TAG, {200: GameSchema},
        body=CorrectionSchema, errors=(403, 409),
        description="Writes a `game.correct` audit entry (old and new values, reason), "
        "publishes `correction`, then the recompute publishes `standings`. 409 `not_final` "
        "for a game that is not final. The same score again is 200 and changes nothing.",
    ),
    Operation(
        "post", "/api/v1/admin/events/{event_id}/recompute", "recomputeStandings",
        "Recompute an event's standings (admin)", ADMIN_TAG, {202: TaskSchema},
        errors=(403,),
        description="Queued; the new table is published as a `standings` event.",
    ),
    Operation(
        "get", "/api/v1/admin/audit", "listAudit", "The audit trail, newest first (admin)",
        ADMIN_TAG, {200: AuditPageSchema}, query=AuditQuerySchema, errors=(403,),
    ),
    Operation(
        "post", "/api/v1/admin/users/{user_id}/role", "setRole", "Promote or demote (admin)",
        ADMIN_TAG, {200: UserSchema}, body=RoleSchema, errors=(403, 409),
        description="409 `last_admin` when demoting the only admin.",
    ),
    # operations
    Operation(
        "get", "/healthz", "healthz", "Liveness: 200 while the process runs", OPS_TAG,
        {200: HealthSchema}, auth="none", api=False,
    ),
    Operation(
        "get", "/readyz", "readyz", "Readiness: the database (and Redis) answer", OPS_TAG,
        {
            200: ReadinessSchema,
            503: {
                "description": "Not ready; `checks` says which dependency failed",
                "content": {JSON: {"schema": ReadinessSchema}},
            },
        },
        auth="none", api=False,
    ),
    Operation(
        "get", "/api/v1/openapi.json", "getOpenapi", "This OpenAPI document", OPS_TAG,
        {200: {"description": "The OpenAPI 3 document",
               "content": {JSON: {"schema": {"type": "object"}}}}},
        auth="none", api=False,
    ),
    Operation(
        "get", "/docs", "docs", "Interactive documentation (Swagger UI)", OPS_TAG,
        {200: HTML_PAGE},
        auth="none", api=False,
    ),
)
# fmt: on


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
        reply["headers"] = {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        }
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


def _error_statuses(op: Operation) -> list[int]:
    statuses = set(op.errors)
    if op.body is not None:
        statuses |= {400, 413, 415, 422}
    if op.query is not None:
        statuses.add(422)
    if op.auth != "none":
        statuses.add(401)  # "optional": an invalid token is refused, too
    if _path_parameter_names(op.path):
        statuses.add(404)
    if op.headers:
        statuses.add(400)
    if op.api:
        statuses |= {429, 503}
    return sorted(statuses - set(op.responses))


def _operation(op: Operation) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {str(code): _success(code, reply) for code, reply in op.responses.items()},
    }
    if op.description:
        result["description"] = op.description
    for status in _error_statuses(op):
        result["responses"][str(status)] = _error(status)
    if op.auth == "required":
        result["security"] = [{"bearerAuth": []}]
    elif op.auth == "optional":
        result["security"] = [{}, {"bearerAuth": []}]
    else:
        result["security"] = []
    parameters: list[dict[str, Any]] = []
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    parameters += [
        {"in": "header", "name": name, "required": False, **HEADER_PARAMETERS[name]}
        for name in op.headers
    ]
    parameters += list(op.extra.get("parameters", []))
    if parameters:
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

    by_path: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        methods = by_path.setdefault(op.path, {})
        if op.method in methods:
            raise ValueError(f"{op.method.upper()} {op.path} is listed twice")
        methods[op.method] = _operation(op)
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
