"""Every Matchday setting: one name, one type, one default, validated at start-up.

Each setting is declared once, as a field of ``Settings`` made by ``setting()`` (see
``config/fields.py``): the field name upper-cased is the environment variable, and the
declaration holds the default, the parser, the allowed values and the description.
``SETTINGS``, the parsing and the README's configuration table (``settings_table()``,
``matchday settings``) are derived from those fields, so they cannot drift. Rules that
join several settings (the JWT key ring, TLS file pairs, the task runner's broker) are
checked in ``load_settings``.

Settings come from the environment; secrets may also come from a file named by
``<NAME>_FILE`` (Docker and Kubernetes secrets) or from Vault (``config/vault.py``).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config.data_dir import ensure_data_dir
from config.fields import Setting, declared_settings, setting
from config.limits import (
    DEFAULT_RATE_LIMITS,
    IpNetwork,
    RateLimits,
    parse_networks,
    parse_rate_limits,
)
from config.redis_target import parse_sentinels, sentinel_url

MIN_SECRET_BYTES = 32
DEFAULT_KID = "default"  # the key id of JWT_SECRET (and of tokens issued without a `kid`)
KID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message says which and why."""


# --- parsers of the settings that are more than a str, int, float or bool ------------------


def _upper(raw: str) -> str:
    return raw.strip().upper()


def _kid(raw: str) -> str:
    value = raw.strip()
    if not KID_PATTERN.match(value):
        raise ValueError("a key id is 1-64 characters of A-Z a-z 0-9 . _ -")
    return value


def parse_jwt_keys(raw: str) -> tuple[tuple[str, str], ...]:
    """``kid1:secret1,kid2:secret2`` (commas or newlines between entries) → ((kid, secret), ...).

    Every secret must be at least MIN_SECRET_BYTES long. Errors name the entry by its position
    or its key id, never by its secret."""
    keys: list[tuple[str, str]] = []
    for position, entry in enumerate(re.split(r"[,\n]", raw), start=1):
        if not entry.strip():
            continue
        kid, colon, secret = (part.strip() for part in entry.partition(":"))
        if not colon or not secret:
            raise ValueError(f"entry {position} is not `kid:secret`")
        if not KID_PATTERN.match(kid):
            raise ValueError(f"entry {position}: a key id is 1-64 characters of A-Z a-z 0-9 . _ -")
        if any(kid == known for known, _ in keys):
            raise ValueError(f"key id {kid!r} is listed twice")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"the secret of key id {kid!r} is shorter than {MIN_SECRET_BYTES} bytes"
            )
        if reason := weak_secret_reason(secret):
            raise ValueError(f"the secret of key id {kid!r} {reason}")
        keys.append((kid, secret))
    if not keys:
        raise ValueError("lists no key")
    return tuple(keys)


ORIGIN_PATTERN = re.compile(r"^https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$")


def parse_origins(raw: str) -> tuple[str, ...]:
    """``https://a.example,https://b.example:8443`` → exact origins (scheme://host[:port])."""
    origins: list[str] = []
    for entry in raw.split(","):
        origin = entry.strip().lower()
        if not origin:
            continue
        if not ORIGIN_PATTERN.match(origin):
            raise ValueError(
                f"{origin!r} is not an origin like https://app.example.org "
                "(scheme and host, optional port, no path, no wildcard)"
            )
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


def _llm_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("use an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("put the key in ANALYTICS_LLM_API_KEY, not the URL")
    return raw


def _header_value(raw: str) -> str:
    """A value sent in an HTTP header: a newline in it would start a header of its own."""
    if not (raw.isascii() and raw.isprintable()):
        raise ValueError("must be printable ASCII")
    return raw


def _ratio(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("a fraction between 0 and 1")
    return value


def _http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("use an http:// or https:// URL with a host")
    return raw.rstrip("/")


def _uid_domain(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", raw):
        raise ValueError("a host name such as matchday.example.org")
    return raw.lower()


def _dsn(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.username:
        raise ValueError("a Sentry DSN looks like https://<key>@<host>/<project>")
    return raw


def parse_basic_auth(raw: str) -> tuple[str, ...]:
    """``user:password,user2:password2`` → the entries; every password must be strong."""
    entries: list[str] = []
    for position, entry in enumerate(raw.split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        user, colon, password = entry.partition(":")
        if not colon or not user or not password:
            raise ValueError(f"entry {position} is not `user:password`")
        if len(password) < 12:
            raise ValueError(f"the password of {user!r} is shorter than 12 characters")
        if reason := weak_secret_reason(password):
            raise ValueError(f"the password of {user!r} {reason}")
        entries.append(entry)
    if not entries:
        raise ValueError("lists no `user:password`")
    return tuple(entries)


FLOWER_PROVIDERS = ("google", "github", "gitlab", "okta")


def _flower_provider(raw: str) -> str:
    value = raw.strip().lower()
    if value not in FLOWER_PROVIDERS:
        raise ValueError("one of " + ", ".join(FLOWER_PROVIDERS))
    return value


def _strong_token(raw: str) -> str:
    if reason := weak_secret_reason(raw):
        raise ValueError(f"the token {reason}")
    return raw


# Placeholders people leave in configuration; a secret made only of these is no secret.
DEFAULT_SECRET_WORDS = (
    "changeme",
    "changeit",
    "replaceme",
    "secret",
    "password",
    "default",
    "example",
    "mysecret",
    "jwtsecret",
    "supersecret",
    "token",
    "test",
    "admin",
    "0123456789",
    "1234567890",
    "abcdefghijklmnopqrstuvwxyz",
)


def weak_secret_reason(value: str) -> str | None:
    """Why ``value`` is an obviously default or guessable secret, or None. Never echoes it."""
    if len(set(value)) <= 2:
        return "is one or two characters repeated"
    letters = re.sub(r"[^a-z0-9]", "", value.lower())
    if "changeme" in letters or "replaceme" in letters:
        return "is a placeholder (change-me / replace-me)"
    for word in DEFAULT_SECRET_WORDS:
        # only repetitions of a default word (and digits/separators around it)
        if letters and not re.sub(word, "", letters).strip("0123456789"):
            return "is a default value (repetitions of a well-known word)"
    return None


# --- the settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    database_url: str = setting("", "PostgreSQL URL (production). Unset: SQLite under DATA_DIR.")
    redis_url: str = setting("", "Redis URL (production); /readyz checks it when set.")
    redis_sentinels: tuple[tuple[str, int], ...] = setting(
        (),
        "Redis Sentinels, `host:port` (commas): Redis is the primary they name "
        "REDIS_SENTINEL_MASTER, with REDIS_URL's password and database (deploy/redis).",
        parse=parse_sentinels,
        default_doc="(unset): REDIS_URL directly",
    )
    redis_sentinel_master: str = setting(
        "matchday", "The name Sentinel monitors the Redis primary under."
    )
    data_dir: Path = setting(
        "./var", "Where the embedded default keeps its SQLite file and secret."
    )  # the text `./var`: load_settings makes it a Path
    host: str = setting("127.0.0.1", "Address `matchday serve` binds.")
    port: int = setting(8000, "Port `matchday serve` binds.", between=(1, 65535))
    jwt_secret: str = setting(
        "",
        "HMAC key for tokens, at least 32 bytes.",
        secret=True,
        default_doc="generated into DATA_DIR (embedded); required (production)",
    )
    jwt_keys: tuple[tuple[str, str], ...] = setting(  # (kid, secret): all verify
        (),
        "Token keys for rotation: `kid1:secret1,kid2:secret2`, each secret at least 32 bytes; "
        "all verify, JWT_SIGNING_KID signs. Replaces JWT_SECRET (set one of the two).",
        parse=parse_jwt_keys,
        secret=True,
        default_doc="(unset): JWT_SECRET is the one key, kid `default`",
    )
    jwt_signing_kid: str = setting(
        "",
        "Key id (from JWT_KEYS) that signs new tokens; required when JWT_KEYS lists several.",
        parse=_kid,
        default_doc="(unset): the only key",
    )
    jwt_issuer: str = setting("matchday", "`iss` claim of issued tokens.")
    jwt_audience: str = setting("matchday-api", "`aud` claim of issued tokens.")
    access_token_ttl_seconds: int = setting(900, "Lifetime of an access token.", positive=True)
    refresh_token_ttl_seconds: int = setting(
        1_209_600, "Lifetime of a refresh token.", positive=True
    )
    bcrypt_rounds: int = setting(12, "bcrypt cost factor.", between=(4, 31))
    max_json_body_bytes: int = setting(
        1_048_576, "Largest JSON body accepted (413).", positive=True
    )
    max_upload_bytes: int = setting(5_242_880, "Largest CSV import accepted (413).", positive=True)
    idempotency_ttl_seconds: int = setting(
        86_400, "How long Idempotency-Key replies live.", positive=True
    )
    db_pool_size: int = setting(
        10,
        "Connections per pool (PostgreSQL); with DB_MAX_OVERFLOW, a pool opens at most "
        "DB_POOL_SIZE + DB_MAX_OVERFLOW.",
        positive=True,
    )
    db_max_overflow: int = setting(10, "Extra connections allowed under load (PostgreSQL).")
    db_pool_min_size: int = setting(
        1,
        "Connections each pool opens ahead and keeps even when idle (PostgreSQL; at most "
        "DB_POOL_SIZE). Those above it close after 10 idle minutes.",
        between=(0, 1000),
    )
    auth_cache_seconds: float = setting(
        5.0,
        "How long a serve process remembers whom a bearer token belongs to (no database read "
        "per request). A sign-out, password or role change counts at once in the process that "
        "made it and, through Redis, in the others; this bounds it if that message is lost. "
        "0: off.",
        between=(0, 300),
    )
    db_pool_timeout_seconds: float = setting(
        10.0,
        "Longest wait for a free pooled connection before a 503 with Retry-After (PostgreSQL): "
        "a saturated process sheds load quickly instead of queueing callers for long.",
        positive=True,
    )
    slow_query_ms: float = setting(
        250.0, "Statements slower than this are logged (WARNING) with their timing; 0: off."
    )
    slow_request_ms: float = setting(
        1000.0,
        "Requests slower than this are logged (WARNING) with their timings (database time "
        "included); 0: off. Live streams are exempt.",
    )
    db_connections_per_host: int = setting(
        40,
        "PostgreSQL connections the `serve` processes of one host share: with `--processes N` "
        "each keeps a pool of at most this / 2N and as much overflow (at least 2 each; "
        "DB_POOL_SIZE and DB_MAX_OVERFLOW stay upper bounds). See docs/performance.md.",
        positive=True,
    )
    db_statement_timeout_ms: int = setting(
        5_000, "Per-statement timeout (PostgreSQL).", positive=True
    )
    blocking_pool_size: int = setting(
        4, "Threads for blocking work (bcrypt, tasks).", positive=True
    )
    redis_key_prefix: str = setting("matchday:", "Prefix of every Redis key Matchday writes.")
    stream_history_length: int = setting(1_000, "Live events kept per league event.", positive=True)
    sse_heartbeat_seconds: float = setting(15.0, "Idle SSE heartbeat (±20% jitter).", positive=True)
    sse_retry_ms: int = setting(3_000, "`retry:` hint sent to SSE clients.", positive=True)
    sse_max_connections: int = setting(20_000, "SSE streams per process (503).", positive=True)
    sse_max_connections_per_ip: int = setting(50, "SSE streams per client IP (429).", positive=True)
    sse_client_buffer_bytes: int = setting(
        262_144, "Unsent bytes before a slow client is dropped.", positive=True
    )
    outbox_sweep_seconds: float = setting(
        1.0, "How often unpublished events are retried.", positive=True
    )
    follow_up_grace_seconds: float = setting(
        10.0,
        "How long a committed change's recompute or audit entry may wait for a worker before "
        "the server queues the recompute again or writes the entry itself (after a lost task).",
        positive=True,
    )
    webhook_urls: str = setting(
        "auto",
        "Which webhook URLs are allowed: `public` (https only, and every address the host "
        "resolves to must be public: no private, loopback, link-local or reserved ranges; "
        "checked on subscribe and on every delivery), `any` (tests, a local receiver) or "
        "`auto`: `any` on the embedded default, `public` otherwise.",
        choices=("auto", "public", "any"),
    )
    webhook_max_attempts: int = setting(
        8,
        "Attempts of a webhook delivery before it is dead-lettered (status `dead`).",
        between=(1, 100),
    )
    webhook_retry_base_seconds: float = setting(
        10.0,
        "Backoff of webhook retries: after the n-th failure, a random delay in "
        "[0, min(WEBHOOK_RETRY_MAX_SECONDS, base * 2^(n-1))] (full jitter).",
        positive=True,
    )
    webhook_retry_max_seconds: float = setting(
        3_600.0, "Longest delay between two attempts of a webhook delivery.", positive=True
    )
    webhook_timeout_seconds: float = setting(
        5.0,
        "Connect and total timeout of one webhook attempt (a slower receiver fails it).",
        positive=True,
    )
    standings_cache_ttl_seconds: float = setting(
        5.0, "How long cached visibility is trusted.", positive=True
    )
    read_cache_events: int = setting(
        500,
        "How many league events each process keeps pre-serialised reads of (the event, its "
        "teams and games pages), least recently read out first; 0 turns the cache off.",
        between=(0, 1_000_000),
    )
    read_cache_max_age_seconds: float = setting(
        30.0,
        "Longest a cached read is served before it is read again from the database (bounds "
        "staleness only if a change's version bump failed; changes otherwise show at once).",
        positive=True,
    )
    calendar_uid_domain: str = setting(
        "matchday.local",
        "Domain of the calendar feeds' UIDs (`game-<id>@<domain>`): set it to your public host "
        "name once; changing it later makes every subscribed calendar see new entries.",
        parse=_uid_domain,
    )
    calendar_refresh_minutes: int = setting(
        60,
        "How often calendar apps are asked to fetch a feed again (REFRESH-INTERVAL, "
        "X-PUBLISHED-TTL); Google Calendar keeps its own pace (hours).",
        between=(5, 10_080),
    )
    calendar_cache_bytes: int = setting(
        16_777_216,
        "Rendered calendar feeds each process keeps (bytes; a season of 400 games is about "
        "120 kB), served again while their ETag holds; 0 turns the cache off.",
        between=(0, 2**31 - 1),
    )
    drain_seconds: float = setting(10.0, "Longest graceful shutdown on SIGTERM.", positive=True)
    metrics_port: int = setting(
        0,
        "Also serve /metrics on this port (on HOST), apart from the API; 0: only on the API "
        "port. Same loopback/METRICS_TOKEN rule. `matchday worker` given no `--metrics-port` "
        "serves its metrics on this port.",
        between=(0, 65535),
    )
    metrics_token: str = setting(
        "",
        "Bearer token for /metrics; unset: loopback only.",
        parse=_strong_token,
        secret=True,
    )
    task_runner: str = setting(
        "auto",
        "`celery` (workers via Redis), `local` (in-process pool) or `auto`: celery iff REDIS_URL.",
        choices=("auto", "celery", "local"),
    )
    task_time_limit_seconds: int = setting(60, "Hard time limit of a Celery task.", positive=True)
    task_visibility_timeout_seconds: int = setting(
        300,
        "Unacknowledged tasks of a dead worker are redelivered after this long.",
        positive=True,
    )
    reconcile_seconds: float = setting(60.0, "Period of the beat reconcile task.", positive=True)
    database_replica_url: str = setting(
        "",
        "Read replica (PostgreSQL) for lag-tolerant reads: analytics questions, and the "
        "anonymous event lists when the read cache is off (READ_CACHE_EVENTS=0). Unset: "
        "DATABASE_URL.",
    )
    database_pgbouncer: bool = setting(
        False,
        "DATABASE_URL (and the replica) go through PgBouncer in transaction mode: no prepared "
        "statements, no startup `options`; the statement timeout comes from PgBouncer's "
        "`connect_query` (deploy/pgbouncer).",
    )
    analytics_statement_timeout_ms: int = setting(
        2_000, "Longest an analytics query may run before it is cancelled.", positive=True
    )
    analytics_row_cap: int = setting(500, "Most rows an analytics answer returns.", positive=True)
    analytics_timeout_seconds: float = setting(
        10.0, "How long the server waits for an answer before a 504.", positive=True
    )
    analytics_cache_ttl_seconds: float = setting(
        300.0,
        "How long an answer is cached (the key also holds the event's data version).",
        positive=True,
    )
    analytics_llm_url: str = setting(
        "",
        "OpenAI-compatible chat-completions URL for questions the parser cannot read; unset: off.",
        parse=_llm_url,
    )
    analytics_llm_model: str = setting("gpt-4o-mini", "Model name sent to ANALYTICS_LLM_URL.")
    analytics_llm_api_key: str = setting(
        "", "Bearer key for ANALYTICS_LLM_URL.", parse=_header_value, secret=True
    )
    analytics_llm_timeout_seconds: float = setting(
        5.0, "Longest wait for the language model's reply.", positive=True
    )
    log_level: str = setting(
        "INFO",
        "Least severe level logged (any case).",
        parse=_upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )
    log_format: str = setting(
        "json",
        "`json`: one object per line, for collectors; `text`: for people.",
        choices=("json", "text"),
    )
    otel_exporter_otlp_endpoint: str = setting(
        "",
        "OpenTelemetry collector (OTLP over HTTP, e.g. `http://otel-collector:4318`): traces "
        "of requests, SQL, Redis, tasks and publications are exported there. See "
        'docs/operations.md, "Tracing and errors".',
        parse=_http_url,
        default_doc="(unset): tracing off (no SDK set up)",
    )
    otel_service_name: str = setting(
        "matchday",
        "Service name of the traces; `-api`, `-worker`, `-beat` is appended per process kind.",
    )
    trace_sample_ratio: float = setting(
        1.0,
        "Share of requests (and tasks started without one) traced; the rest of a trace "
        "follows its first span's choice.",
        parse=_ratio,
    )
    sentry_dsn: str = setting(
        "",
        "Sentry DSN: unhandled errors of the server, workers and beat are reported there.",
        parse=_dsn,
        secret=True,
        default_doc="(unset): Sentry off",
    )
    sentry_environment: str = setting("production", "Sentry `environment` tag.")
    sentry_release: str = setting(
        "",
        "Sentry `release` tag.",
        default_doc="`matchday@<package version>`",
    )
    sentry_traces_sample_rate: float = setting(
        0.0,
        "Share of requests and tasks Sentry records as performance transactions.",
        parse=_ratio,
    )
    sentry_send_default_pii: bool = setting(
        False,
        "Let Sentry attach personal data (client addresses, user ids, request bodies).",
    )
    flower_basic_auth: tuple[str, ...] = setting(
        (),
        "`user:password` entries (commas) that may open Flower; each password at least 12 "
        "characters. `matchday flower` refuses to start with neither this nor FLOWER_AUTH.",
        parse=parse_basic_auth,
        secret=True,
    )
    flower_auth: str = setting(
        "",
        "Flower OAuth: regular expression of the e-mail addresses let in (with "
        "FLOWER_AUTH_PROVIDER and FLOWER_OAUTH2_*).",
    )
    flower_auth_provider: str = setting(
        "",
        "Flower OAuth provider: `google`, `github`, `gitlab` or `okta`.",
        parse=_flower_provider,
    )
    flower_oauth2_key: str = setting("", "Flower OAuth client id.")
    flower_oauth2_secret: str = setting("", "Flower OAuth client secret.", secret=True)
    flower_oauth2_redirect_uri: str = setting(
        "", "Flower OAuth redirect URI (`https://flower.example.org/login`)."
    )
    rate_limit_enabled: bool = setting(
        True, "Rate limiting and failed-login throttling on (`true`) or off (`false`)."
    )
    rate_limits: RateLimits = setting(
        DEFAULT_RATE_LIMITS,
        "`name:count/seconds` entries (commas); unnamed limits keep their defaults, "
        "`name:off` turns one off. See docs/security.md.",
        parse=parse_rate_limits,
    )
    trusted_proxies: tuple[IpNetwork, ...] = setting(
        (),
        "Addresses/CIDR blocks of reverse proxies whose `X-Forwarded-For` is believed.",
        parse=parse_networks,
        default_doc="(none): `X-Forwarded-For` is ignored",
    )
    cors_origins: tuple[str, ...] = setting(
        (),
        "Exact origins (`https://app.example.org`, commas) allowed to call the API from a "
        "browser; see docs/security.md.",
        parse=parse_origins,
        default_doc="(none): CORS off",
    )
    tls_certfile: str = setting(
        "",
        "PEM certificate chain: `matchday serve` speaks HTTPS (with TLS_KEYFILE).",
        default_doc="(unset): plain HTTP (TLS at the ingress)",
    )
    tls_keyfile: str = setting("", "PEM private key of TLS_CERTFILE.")
    tls_redirect_port: int = setting(
        0,
        "With TLS: also listen here and 301-redirect plain HTTP to HTTPS; `0` = off.",
        between=(0, 65535),
    )
    vault_addr: str = setting(
        "",
        "HashiCorp Vault URL: secret settings are read from KV v2 at start-up when set.",
        default_doc="(unset): no Vault",
    )
    vault_path: str = setting(
        "secret/data/matchday",
        "KV v2 secret: `<mount>/data/<path>` or `<mount>/<path>`; its keys are setting names.",
    )
    vault_token: str = setting("", "Vault token (or use AppRole).", secret=True)
    vault_role_id: str = setting("", "AppRole role id (with VAULT_SECRET_ID), instead of a token.")
    vault_secret_id: str = setting("", "AppRole secret id.", secret=True)

    @property
    def embedded(self) -> bool:
        """True on the embedded default: SQLite, no external services."""
        return self.database_url.startswith("sqlite")

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)

    @property
    def uses_celery(self) -> bool:
        return self.task_runner == "celery" or (self.task_runner == "auto" and self.uses_redis)

    @property
    def webhook_any_url(self) -> bool:
        """Webhooks may call any http(s) URL (no https or public-address rule)."""
        return self.webhook_urls == "any" or (self.webhook_urls == "auto" and self.embedded)


SETTINGS: tuple[Setting, ...] = tuple(declared_settings(Settings))
SETTING_BY_NAME = {each.name: each for each in SETTINGS}


# --- reading -------------------------------------------------------------------------------


def raw_value(setting: Setting, env: Mapping[str, str]) -> str | None:
    """The text ``env`` gives a setting (a secret's ``<NAME>_FILE`` first), or None."""
    file_name = env.get(f"{setting.name}_FILE") if setting.secret else None
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{setting.name}_FILE: cannot read {file_name}: {exc}") from exc
    return env.get(setting.name)


def _parse_all(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for each in SETTINGS:
        raw = raw_value(each, env)
        if raw is None or raw == "":
            values[each.name.lower()] = each.default
            continue
        try:
            values[each.name.lower()] = each.read(raw)
        except ValueError as exc:
            raise ConfigError(f"{each.name}: {exc}") from exc
    return values


def normalise_database_url(url: str, data_dir: Path) -> str:
    """Pick the async driver for each backend; unset means SQLite under DATA_DIR."""
    if not url:
        return f"sqlite+aiosqlite:///{(data_dir / 'matchday.sqlite3').resolve()}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    if url.startswith(("postgresql+psycopg://", "sqlite+aiosqlite://")):
        return url
    raise ConfigError("DATABASE_URL: use a postgresql:// or sqlite:// URL")


def _embedded_secret(data_dir: Path) -> str:
    """Generated once and kept, so tokens survive restarts of the embedded default."""
    path = data_dir / "jwt_secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    ensure_data_dir(data_dir)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def _check_secret(values: dict[str, Any], embedded: bool, data_dir: Path) -> None:
    secret = values["jwt_secret"]
    if not secret and embedded:
        values["jwt_secret"] = _embedded_secret(data_dir)
        return
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"JWT_SECRET must be set to at least {MIN_SECRET_BYTES} bytes in production "
            "(or JWT_SECRET_FILE); generate one with: python -c "
            "'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if reason := weak_secret_reason(secret):
        raise ConfigError(
            f"JWT_SECRET {reason}; generate one with: python -c "
            "'import secrets; print(secrets.token_urlsafe(48))'"
        )


def _resolve_keys(values: dict[str, Any], embedded: bool, data_dir: Path) -> None:
    """The key ring: JWT_KEYS, or JWT_SECRET alone as kid `default`; and the signing kid."""
    keys: tuple[tuple[str, str], ...] = values["jwt_keys"]
    if keys and values["jwt_secret"]:
        raise ConfigError(
            "set JWT_KEYS or JWT_SECRET, not both (list the JWT_SECRET key in JWT_KEYS as "
            f"`{DEFAULT_KID}:<secret>` so the tokens it signed stay valid)"
        )
    if not keys:
        _check_secret(values, embedded, data_dir)
        keys = ((DEFAULT_KID, values["jwt_secret"]),)
    kids = [kid for kid, _ in keys]
    signing_kid = values["jwt_signing_kid"]
    if not signing_kid:
        if len(kids) > 1:
            raise ConfigError(
                f"JWT_SIGNING_KID: required when JWT_KEYS lists several keys ({', '.join(kids)})"
            )
        signing_kid = kids[0]
    elif signing_kid not in kids:
        raise ConfigError(f"JWT_SIGNING_KID: {signing_kid!r} is not one of {', '.join(kids)}")
    values["jwt_keys"] = keys
    values["jwt_signing_kid"] = signing_kid


def _check_pairs(values: dict[str, Any]) -> None:
    """Settings that only make sense together."""
    if bool(values["tls_certfile"]) != bool(values["tls_keyfile"]):
        raise ConfigError("TLS_CERTFILE and TLS_KEYFILE go together: set both or neither")
    if values["task_runner"] == "celery" and not values["redis_url"]:
        raise ConfigError("TASK_RUNNER=celery needs REDIS_URL (the broker)")
    oauth = ("flower_auth", "flower_auth_provider", "flower_oauth2_key", "flower_oauth2_secret")
    if any(values[name] for name in oauth) and not all(values[name] for name in oauth):
        raise ConfigError(
            "Flower OAuth needs FLOWER_AUTH, FLOWER_AUTH_PROVIDER, FLOWER_OAUTH2_KEY and "
            "FLOWER_OAUTH2_SECRET together"
        )


def _normalise_urls(values: dict[str, Any]) -> None:
    data_dir = values["data_dir"]
    if values["redis_sentinels"]:  # one URL for every client (config/redis_target.py)
        values["redis_url"] = sentinel_url(
            values["redis_url"], values["redis_sentinels"], values["redis_sentinel_master"]
        )
    values["database_url"] = normalise_database_url(values["database_url"], data_dir)
    if values["database_replica_url"]:
        try:
            values["database_replica_url"] = normalise_database_url(
                values["database_replica_url"], data_dir
            )
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("DATABASE_URL", "DATABASE_REPLICA_URL")) from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read, normalise and validate every setting; raise ConfigError on the first problem."""
    source = os.environ if env is None else env
    if raw_value(SETTING_BY_NAME["VAULT_ADDR"], source):
        from config.vault import with_vault_secrets

        source = with_vault_secrets(source)
    values = _parse_all(source)
    values["data_dir"] = Path(values["data_dir"])
    _normalise_urls(values)
    embedded = values["database_url"].startswith("sqlite")
    _resolve_keys(values, embedded, values["data_dir"])
    _check_pairs(values)
    return Settings(**values)


def settings_table() -> str:
    """The README's configuration table, in Markdown."""
    lines = ["| setting | default | values | meaning |", "|---|---|---|---|"]
    for each in SETTINGS:
        secret_note = " Also `_FILE`." if each.secret else ""
        lines.append(
            f"| `{each.name}` | {each.default_text()} | {each.values_doc()} "
            f"| {each.help}{secret_note} |"
        )
    return "\n".join(lines)
