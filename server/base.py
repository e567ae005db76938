"""The one base handler: JSON in and out, deny-by-default auth, the contract's error body."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import tornado
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from tornado import httputil
from tornado.web import Finish, HTTPError, RequestHandler

from config.logging import log_context
from config.tracing import annotate, current_trace_id
from models import User
from models.query_metrics import QueryTime, query_time
from server import metrics
from server.content_coding import accepts_gzip
from server.cors import answer_preflight, apply_cors_headers, is_preflight
from server.dispatch import DispatchUnavailable
from server.errors import DEFAULT_CODES, ApiError, error_body
from server.proxies import client_address
from server.query_args import query_memo
from server.ratelimit import (
    Decision,
    LoginAttempt,
    RateLimited,
    address_subject,
    rate_limit_headers,
    tighter,
)
from server.reads.cache import Body
from server.security_headers import SECURITY_HEADERS
from server.services import auth as auth_service
from server.services.errors import DomainError
from server.unit_of_work import AuditContext, unit_of_work

if TYPE_CHECKING:
    from server.app import MatchdayApp

log = logging.getLogger("matchday.http")

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
BODY_METHODS = {"POST", "PUT", "PATCH"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}  # count against the `write` limit
MAX_ID = 2**31 - 1
# A dependency that is away or saturated (a 503) is usually back within seconds: clients and
# load balancers that honour Retry-After spread their retries instead of hammering at once.
# (Declared in the OpenAPI document: server/openapi.py, UNAVAILABLE_HEADERS.)
RETRY_AFTER_SECONDS = "2"
QUEUE_UNAVAILABLE = ApiError(
    503,
    "the task queue is unavailable; retry shortly",
    code="queue_unavailable",
    headers={"Retry-After": RETRY_AFTER_SECONDS},
)


# What every JSON response starts with (Tornado's Server header, JSON, the security headers);
# Date, X-Request-ID, CORS and rate-limit headers are added per response (BaseHandler.clear).
DEFAULT_HEADERS = {
    "Server": f"TornadoServer/{tornado.version}",
    "Content-Type": "application/json; charset=UTF-8",
    **SECURITY_HEADERS,
}
_date: list[Any] = [None, ""]  # the last whole second formatted, and its Date header


def http_date() -> str:
    """The Date header for now, formatted once a second (Tornado formats it per response,
    ~5 µs; the header has whole seconds anyway)."""
    second = int(time.time())
    if _date[0] != second:
        _date[:] = [second, httputil.format_timestamp(second)]
    return str(_date[1])


def new_request_id() -> str:
    """32 random hex digits, as uuid4().hex gave (at a quarter of its cost)."""
    return os.urandom(16).hex()


def header_value(headers: httputil.HTTPHeaders, name: str) -> str:
    """`headers.get(name, "")`, without the KeyError that HTTPHeaders.get raises and catches
    when the header is missing (most requests, on the hot path)."""
    return headers[name] if name in headers else ""  # noqa: SIM401 (the point)


def _not_valid(exc: ValidationError) -> ApiError:
    """A body or query string its schema refused: 422 with the fields' messages."""
    return ApiError(422, "the request is not valid", details=exc.normalized_messages())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _infrastructure_error(exc: BaseException) -> ApiError:
    if isinstance(exc, StaleDataError):
        return ApiError(
            409, "the game changed meanwhile; fetch it and retry", code="version_conflict"
        )
    # Also a full pool: no connection came free within DB_POOL_TIMEOUT_SECONDS.
    return ApiError(
        503,
        "the database is unavailable; retry shortly",
        code="database_unavailable",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _first_line(exc: BaseException) -> str:
    """The cause, without the SQL and the documentation link SQLAlchemy appends."""
    original = getattr(exc, "orig", None) or exc  # the driver's error, inside SQLAlchemy's
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else ''}".rstrip(": ")


class BaseHandler(RequestHandler):
    """Subclasses list the methods anonymous callers may use in ``public_methods``."""

    public_methods: frozenset[str] = frozenset()
    # The Settings field limiting the request body (413); enforced before the body is read
    # (server/body_limit.py), and checked again here.
    body_limit_setting: str = "max_json_body_bytes"
    # Rate limits (server/ratelimit.py): every request counts against `ip` (and `user` when
    # authenticated) unless rate_limited is False; `endpoint_limit` names the endpoint's own
    # per-address limit (`auth`, `sse_connect`); without one, writes count against `write`.
    rate_limited: bool = True
    endpoint_limit: str | None = None
    # A live stream: counted by status, but kept out of the latency, size and in-flight
    # metrics (server/access_log.py) and the slow-request log.
    streaming: bool = False

    application: MatchdayApp
    current_user: User | None

    def initialize(self) -> None:
        self.request_id = self._incoming_request_id() or new_request_id()
        # Every log line written while serving this request carries its id.
        log_context.set({"request_id": self.request_id})
        # The statements this request runs add up here (models/query_metrics.py).
        self.query_time = QueryTime()
        query_time.set(self.query_time)
        self.user_id: int | None = None
        self.bytes_sent = 0
        self._in_flight = not self.streaming
        if self._in_flight:
            metrics.HTTP_IN_FLIGHT.inc()
        self.token_claims: dict[str, Any] | None = None
        self.login_attempt: LoginAttempt | None = None
        self._rate: Decision | None = None
        # Why an infrastructure failure answered 503: the access log's line says it.
        self.failure: str | None = None
        # set_default_headers() ran before initialize(); now the id is known, send it (checked
        # by REQUEST_ID_PATTERN or made here: set_header's checks have nothing to find).
        self._headers["X-Request-ID"] = self.request_id

    # --- response plumbing -------------------------------------------------------------

    def _incoming_request_id(self) -> str | None:
        value = header_value(self.request.headers, "X-Request-ID")
        return value if REQUEST_ID_PATTERN.match(value) else None

    def clear(self) -> None:
        """Tornado's clear() with our defaults: the constant headers (JSON, the security
        headers) are one prepared map instead of a set_header() call and its checks each, and
        the Date is formatted once a second. Runs for every response (and again on an error)."""
        self._headers = httputil.HTTPHeaders(DEFAULT_HEADERS)
        self._headers["Date"] = http_date()
        self.set_default_headers()
        self._write_buffer: list[bytes] = []
        self._status_code = 200
        self._reason = httputil.responses[200]

    def set_default_headers(self) -> None:
        # JSON and the security headers are there already (clear()).
        # On the first call (RequestHandler.__init__) the id is not known yet: initialize()
        # sends it; an error clears the headers later and they come back here with the id.
        request_id: str | None = getattr(self, "request_id", None)
        if request_id is not None:
            self._headers["X-Request-ID"] = request_id
        apply_cors_headers(self, self.application.config.cors_origins)
        rate: Decision | None = getattr(self, "_rate", None)
        if rate is not None:  # kept when an error clears the headers
            for name, value in rate_limit_headers(rate).items():
                self.set_header(name, value)

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload, separators=(",", ":"), ensure_ascii=False))

    def write_body(self, body: Body, *, public: bool | None = None) -> None:
        """A pre-serialised body with its ETag: 304 when the caller already has it, gzip when
        the caller accepts it. Clients may keep it but must revalidate; a private event's body
        is for the caller only (`public` overrides the body's own flag)."""
        public = body.public if public is None else public
        data, etag = body.data, body.etag
        # Vary on every answer, gzipped or not: a shared cache must not give one to the other.
        self._headers.add("Vary", "Accept-Encoding")
        gzipped = (
            body.gzipped()
            if accepts_gzip(header_value(self.request.headers, "Accept-Encoding"))
            else None
        )
        if gzipped is not None:
            data, etag = gzipped
            self._headers["Content-Encoding"] = "gzip"
        self._headers["ETag"] = etag
        self._headers["Cache-Control"] = "no-cache" if public else "private, no-cache"
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.finish(data)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        # Services raise domain errors: give them their mapped status instead of a 500.
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            status_code = exc.status
        elif isinstance(exc, DomainError):
            status_code = ApiError.from_domain(exc).status
        elif isinstance(exc, DispatchUnavailable):
            status_code = QUEUE_UNAVAILABLE.status
            self.failure = f"task queue unavailable: {exc}"
        elif isinstance(exc, StaleDataError | OperationalError | InterfaceError):
            kwargs["exc_info"] = (ApiError, _infrastructure_error(exc), None)
            status_code = kwargs["exc_info"][1].status
            if status_code == 503:
                self.failure = f"database unavailable: {_first_line(exc)}"
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        api_error = self._as_api_error(status_code, exc)
        for name, value in api_error.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        body = error_body(
            status_code, api_error.message, api_error.code, api_error.details, self.request_id
        )
        self.finish(json.dumps(body, ensure_ascii=False))

    def _as_api_error(self, status_code: int, exc: BaseException | None) -> ApiError:
        if isinstance(exc, ApiError):
            return exc
        if isinstance(exc, DomainError):
            return ApiError.from_domain(exc)
        if isinstance(exc, DispatchUnavailable):
            return QUEUE_UNAVAILABLE
        if isinstance(exc, HTTPError) and exc.log_message and status_code < 500:
            return ApiError(status_code, exc.log_message % exc.args)
        message = self._reason if status_code < 500 else "internal server error"
        return ApiError(status_code, message, code=DEFAULT_CODES.get(status_code))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, ApiError | DomainError | HTTPError | DispatchUnavailable):
            return  # expected answers; the access log has them
        if isinstance(value, StaleDataError | OperationalError | InterfaceError):
            return  # the database is away (a 503) or a row changed (409): no traceback; the
            # access log's line carries the cause (log_request)
        log.error(
            "unhandled error",
            exc_info=(typ, value, tb),
            extra={"request_id": self.request_id, "path": self.request.path},
        )

    # --- request plumbing --------------------------------------------------------------

    async def prepare(self) -> None:
        # The request's server span (tracing on) carries its id: a trace is found from the
        # X-Request-ID a client reports (docs/operations.md, "Tracing and errors").
        annotate(request_id=self.request_id)
        if trace_id := current_trace_id():
            # Lines logged after the span has ended (an unhandled error's) still name it.
            log_context.set({"request_id": self.request_id, "trace_id": trace_id})
        await self.limit_address()
        if is_preflight(self):  # CORS preflight: no body, no authentication
            if not answer_preflight(self, self.application.config.cors_origins):
                raise ApiError(403, "this origin may not call the API", code="forbidden")
            self.clear_header("Content-Type")
            self.set_status(204)
            raise Finish()  # ends the request here, for subclasses' prepare() too
        self._check_body()
        user = await self._authenticate() if self._reads_token() else None
        self.current_user = user
        self.user_id = user.id if user is not None else None
        if user is None and self.request.method not in self.public_methods:
            raise ApiError(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        await self._limit_caller(user)

    # --- rate limits -------------------------------------------------------------------

    async def limit_address(self) -> None:
        """The per-address limits, before any work (authentication included)."""
        if self.rate_limited and self.application.throttle.enabled:
            address = address_subject(self.client_ip)
            await self._count("ip", address)
            if self.endpoint_limit is not None:
                await self._count(self.endpoint_limit, address)

    async def _limit_caller(self, user: User | None) -> None:
        if not (self.rate_limited and self.application.throttle.enabled):
            return  # (with limits off, every check would pass: not even the address is read)
        if user is not None:
            await self._count("user", str(user.id))
        if self.endpoint_limit is None and self.request.method in WRITE_METHODS:
            caller = f"user:{user.id}" if user else f"ip:{address_subject(self.client_ip)}"
            await self._count("write", caller)

    async def _count(self, name: str, subject: str) -> None:
        try:
            self._note_rate(await self.application.throttle.check(name, subject))
        except RateLimited as limited:
            raise self._too_many(limited) from None

    def _note_rate(self, decision: Decision | None) -> None:
        """Report the tightest of the limits this request counted against."""
        if decision is None:
            return
        self._rate = tighter(self._rate, decision)
        for name, value in rate_limit_headers(self._rate).items():
            self.set_header(name, value)

    def _too_many(self, limited: RateLimited) -> ApiError:
        self._rate = limited.decision
        return ApiError(
            429,
            "too many requests; retry after the number of seconds in Retry-After",
            code="rate_limited",
            details={"limit": limited.name},
            headers=rate_limit_headers(limited.decision),
        )

    async def begin_login(self, email: str) -> LoginAttempt:
        """Charge a failed-login reservation (see ratelimit.LoginAttempt); 429 when the address
        or the account has no failures left, before any password is checked."""
        try:
            self.login_attempt = await self.application.throttle.begin_login(self.client_ip, email)
        except RateLimited as limited:
            log.info("login throttled", extra={"request_id": self.request_id})
            raise self._too_many(limited) from None
        return self.login_attempt

    def flush(self, include_footers: bool = False) -> Any:
        # What goes out, for the access line (Tornado keeps the pending chunks here).
        self.bytes_sent += sum(map(len, self._write_buffer))
        return super().flush(include_footers)

    def _left_flight(self) -> None:
        if self._in_flight:
            self._in_flight = False
            metrics.HTTP_IN_FLIGHT.dec()

    def on_connection_close(self) -> None:
        self._left_flight()  # the client left: its request will never finish
        super().on_connection_close()

    def on_finish(self) -> None:
        self._left_flight()
        attempt = self.login_attempt
        if attempt is not None and not attempt.settled:  # ended neither in success nor a 401
            self.application.background(attempt.abandon())

    def _check_body(self) -> None:
        limit = getattr(self.application.config, self.body_limit_setting)
        if len(self.request.body) > limit:
            raise ApiError(413, f"request body larger than {limit} bytes")
        if self.request.method in BODY_METHODS and self.request.body:
            content_type = self.request.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() != "application/json":
                raise ApiError(415, "send the body as application/json")

    def _reads_token(self) -> bool:
        """False for an operation declared public without a token (`Op(token=False)`: log in,
        register, refresh, the health checks): a stale `Authorization` header a client still
        sends is ignored there, not refused with a 401."""
        declared = vars(type(self)).get("openapi", {}).get(self.request.method.lower())
        return bool(getattr(declared, "token", True))

    def bearer_token(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return None
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "use 'Authorization: Bearer <token>'")
        return token.strip()

    async def _authenticate(self) -> User | None:
        token = self.bearer_token()
        if token is None:
            return None
        cache = self.application.auth_cache
        known = cache.get(token)  # server/auth/cache.py: no database read on a hit
        if known is not None:
            user, self.token_claims = known
            return user
        began = cache.begin()
        async with self.db() as session:
            user, claims = await auth_service.user_for_access_token(
                session, self.application.tokens, token
            )
        cache.store(token, user, claims, began)
        self.token_claims = claims
        return user

    def db(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One unit of work (server/unit_of_work.py): commits when the block ends cleanly,
        rolls back otherwise; what the change implies is carried out after the commit."""
        app = self.application
        return unit_of_work(app.sessions, app.follow_ups, self.audit_context())

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body, parse_constant=_reject_constant)
            # Lone surrogates ("\ud800") parse but cannot be stored or hashed: refuse them here.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except RecursionError as exc:  # the decoder's message names Python internals
            raise ApiError(
                400, "malformed JSON body: JSON nested too deeply", code="malformed_json"
            ) from exc
        except ValueError as exc:
            raise ApiError(400, f"malformed JSON body: {exc}", code="malformed_json") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object", code="malformed_json")
        return data

    def load_body(self, schema: Schema, *, partial: bool = False) -> dict[str, Any]:
        return self._load(schema, self.json_body(), partial=partial)

    def load_query(self, schema_class: type[Schema]) -> dict[str, Any]:
        """The query string loaded by `schema_class` (422 if it is not valid); a query string
        loaded before is not loaded again (server/query_args.py)."""
        raw = {name: self.get_query_argument(name) for name in self.request.query_arguments}
        try:
            return query_memo(schema_class).load(self.request.query, raw)
        except ValidationError as exc:
            raise _not_valid(exc) from exc

    @staticmethod
    def _load(schema: Schema, data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
        try:
            # Partial means "top-level fields may be omitted"; a nested object that is sent
            # (e.g. `scoring`) is loaded whole, with its own defaults.
            return schema.load(data, partial=tuple(schema.fields) if partial else False)
        except ValidationError as exc:
            raise _not_valid(exc) from exc

    @property
    def client_ip(self) -> str:
        """The client's address; behind TRUSTED_PROXIES, from X-Forwarded-For (server/proxies)."""
        cached: str | None = getattr(self, "_client_ip", None)
        if cached is None:
            cached = self._client_ip = client_address(
                self.request.remote_ip or "",
                self.request.headers.get_list("X-Forwarded-For"),
                self.application.config.trusted_proxies,
            )
        return cached

    @staticmethod
    def path_id(raw: str) -> int:
        """An id from the URL; ids beyond the column range cannot exist."""
        value = int(raw)
        if not 0 < value <= MAX_ID:
            raise ApiError(404, "no such resource")
        return value

    def page_envelope(self, items: list[Any], total: int, query: dict[str, Any]) -> dict[str, Any]:
        return {
            "items": items,
            "page": query["page"],
            "per_page": query["per_page"],
            "total": total,
        }

    def audit_context(self) -> AuditContext:
        """Who acts: the caller (services name the actor where the action identifies them)."""
        actor_id = self.current_user.id if self.current_user is not None else None
        return AuditContext(actor_id=actor_id, request_id=self.request_id, ip=self.client_ip)

    def require_user(self) -> User:
        if self.current_user is None:
            raise ApiError(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        return self.current_user


class NotFoundHandler(BaseHandler):
    """Unknown paths get the contract's 404 body, not Tornado's HTML page."""

    public_methods = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    async def prepare(self) -> None:
        # The request's server span (tracing on) carries its id: a trace is found from the
        # X-Request-ID a client reports (docs/operations.md, "Tracing and errors").
        annotate(request_id=self.request_id)
        if trace_id := current_trace_id():
            # Lines logged after the span has ended (an unhandled error's) still name it.
            log_context.set({"request_id": self.request_id, "trace_id": trace_id})
        await self.limit_address()  # probing for paths counts too
        raise ApiError(404, "no such resource")
