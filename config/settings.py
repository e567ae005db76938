"""Every Matchday setting: one name, one type, one default, validated at start-up.

Settings come from the environment; secrets may also come from a file named by
``<NAME>_FILE`` (Docker and Kubernetes secrets). The README's configuration table
is generated from ``SETTINGS`` (``matchday settings``), so the two cannot drift.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config.limits import (
    DEFAULT_RATE_LIMITS,
    IpNetwork,
    RateLimits,
    parse_bool,
    parse_networks,
    parse_rate_limits,
)

MIN_SECRET_BYTES = 32
DEFAULT_KID = "default"  # the key id of JWT_SECRET (and of tokens issued without a `kid`)
KID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message says which and why."""


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    secret: bool = False
    default_doc: str | None = None  # how the README describes the default, if not its value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def _task_runner(raw: str) -> str:
    if raw not in {"auto", "celery", "local"}:
        raise ValueError("one of auto, celery, local")
    return raw


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR")
    return value


def _log_format(raw: str) -> str:
    if raw not in {"json", "text"}:
        raise ValueError("one of json, text")
    return raw


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


def _port_or_off(raw: str) -> int:
    value = int(raw)
    if not 0 <= value < 65536:
        raise ValueError("must be a port (1-65535) or 0 for off")
    return value


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


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", str, "", "PostgreSQL URL (production). Unset: SQLite under DATA_DIR."),
    Setting("REDIS_URL", str, "", "Redis URL (production); /readyz checks it when set."),
    Setting(
        "DATA_DIR", str, "./var", "Where the embedded default keeps its SQLite file and secret."
    ),
    Setting("HOST", str, "127.0.0.1", "Address `matchday serve` binds."),
    Setting("PORT", int, 8000, "Port `matchday serve` binds."),
    Setting(
        "JWT_SECRET",
        str,
        "",
        "HMAC key for tokens, at least 32 bytes.",
        secret=True,
        default_doc="generated into DATA_DIR (embedded); required (production)",
    ),
    Setting(
        "JWT_KEYS",
        parse_jwt_keys,
        (),
        "Token keys for rotation: `kid1:secret1,kid2:secret2`, each secret at least 32 bytes; "
        "all verify, JWT_SIGNING_KID signs. Replaces JWT_SECRET (set one of the two).",
        secret=True,
        default_doc="(unset): JWT_SECRET is the one key, kid `default`",
    ),
    Setting(
        "JWT_SIGNING_KID",
        _kid,
        "",
        "Key id (from JWT_KEYS) that signs new tokens; required when JWT_KEYS lists several.",
        default_doc="(unset): the only key",
    ),
    Setting("JWT_ISSUER", str, "matchday", "`iss` claim of issued tokens."),
    Setting("JWT_AUDIENCE", str, "matchday-api", "`aud` claim of issued tokens."),
    Setting("ACCESS_TOKEN_TTL_SECONDS", _positive_int, 900, "Lifetime of an access token."),
    Setting("REFRESH_TOKEN_TTL_SECONDS", _positive_int, 1_209_600, "Lifetime of a refresh token."),
    Setting("BCRYPT_ROUNDS", _positive_int, 12, "bcrypt cost factor (4-31)."),
    Setting("MAX_JSON_BODY_BYTES", _positive_int, 1_048_576, "Largest JSON body accepted (413)."),
    Setting("MAX_UPLOAD_BYTES", _positive_int, 5_242_880, "Largest CSV import accepted (413)."),
    Setting(
        "IDEMPOTENCY_TTL_SECONDS", _positive_int, 86_400, "How long Idempotency-Key replies live."
    ),
    Setting("DB_POOL_SIZE", _positive_int, 10, "Connections kept per process (PostgreSQL)."),
    Setting("DB_MAX_OVERFLOW", int, 10, "Extra connections allowed under load (PostgreSQL)."),
    Setting("DB_STATEMENT_TIMEOUT_MS", _positive_int, 5_000, "Per-statement timeout (PostgreSQL)."),
    Setting("BLOCKING_POOL_SIZE", _positive_int, 4, "Threads for blocking work (bcrypt, tasks)."),
    Setting("REDIS_KEY_PREFIX", str, "matchday:", "Prefix of every Redis key Matchday writes."),
    Setting("STREAM_HISTORY_LENGTH", _positive_int, 1_000, "Live events kept per league event."),
    Setting("SSE_HEARTBEAT_SECONDS", _positive_float, 15.0, "Idle SSE heartbeat (±20% jitter)."),
    Setting("SSE_RETRY_MS", _positive_int, 3_000, "`retry:` hint sent to SSE clients."),
    Setting("SSE_MAX_CONNECTIONS", _positive_int, 20_000, "SSE streams per process (503)."),
    Setting("SSE_MAX_CONNECTIONS_PER_IP", _positive_int, 50, "SSE streams per client IP (429)."),
    Setting(
        "SSE_CLIENT_BUFFER_BYTES",
        _positive_int,
        262_144,
        "Unsent bytes before a slow client is dropped.",
    ),
    Setting(
        "OUTBOX_SWEEP_SECONDS", _positive_float, 1.0, "How often unpublished events are retried."
    ),
    Setting(
        "STANDINGS_CACHE_TTL_SECONDS",
        _positive_float,
        5.0,
        "How long cached visibility is trusted.",
    ),
    Setting("DRAIN_SECONDS", _positive_float, 10.0, "Longest graceful shutdown on SIGTERM."),
    Setting(
        "METRICS_TOKEN", str, "", "Bearer token for /metrics; unset: loopback only.", secret=True
    ),
    Setting(
        "TASK_RUNNER",
        _task_runner,
        "auto",
        "`celery` (workers via Redis), `local` (in-process pool) or `auto`: celery iff REDIS_URL.",
    ),
    Setting("TASK_TIME_LIMIT_SECONDS", _positive_int, 60, "Hard time limit of a Celery task."),
    Setting(
        "TASK_VISIBILITY_TIMEOUT_SECONDS",
        _positive_int,
        300,
        "Unacknowledged tasks of a dead worker are redelivered after this long.",
    ),
    Setting("RECONCILE_SECONDS", _positive_float, 60.0, "Period of the beat reconcile task."),
    Setting(
        "DATABASE_REPLICA_URL",
        str,
        "",
        "Read replica (PostgreSQL) that analytics questions query; unset: DATABASE_URL.",
    ),
    Setting(
        "ANALYTICS_STATEMENT_TIMEOUT_MS",
        _positive_int,
        2_000,
        "Longest an analytics query may run before it is cancelled.",
    ),
    Setting("ANALYTICS_ROW_CAP", _positive_int, 500, "Most rows an analytics answer returns."),
    Setting(
        "ANALYTICS_TIMEOUT_SECONDS",
        _positive_float,
        10.0,
        "How long the server waits for an answer before a 504.",
    ),
    Setting(
        "ANALYTICS_CACHE_TTL_SECONDS",
        _positive_float,
        300.0,
        "How long an answer is cached (the key also holds the event's data version).",
    ),
    Setting(
        "ANALYTICS_LLM_URL",
        str,
        "",
        "OpenAI-compatible chat-completions URL for questions the parser cannot read; unset: off.",
    ),
    Setting("ANALYTICS_LLM_MODEL", str, "gpt-4o-mini", "Model name sent to ANALYTICS_LLM_URL."),
    Setting("ANALYTICS_LLM_API_KEY", str, "", "Bearer key for ANALYTICS_LLM_URL.", secret=True),
    Setting(
        "ANALYTICS_LLM_TIMEOUT_SECONDS",
        _positive_float,
        5.0,
        "Longest wait for the language model's reply.",
    ),
    Setting("LOG_LEVEL", _log_level, "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting("LOG_FORMAT", _log_format, "json", "`json` (one object per line) or `text`."),
    Setting(
        "RATE_LIMIT_ENABLED",
        parse_bool,
        True,
        "Rate limiting and failed-login throttling on (`true`) or off (`false`).",
        default_doc="`true`",
    ),
    Setting(
        "RATE_LIMITS",
        parse_rate_limits,
        DEFAULT_RATE_LIMITS,
        "`name:count/seconds` entries (commas); unnamed limits keep their defaults, "
        "`name:off` turns one off. See docs/security.md.",
        default_doc=f"`{DEFAULT_RATE_LIMITS}`",
    ),
    Setting(
        "TRUSTED_PROXIES",
        parse_networks,
        (),
        "Addresses/CIDR blocks of reverse proxies whose `X-Forwarded-For` is believed.",
        default_doc="(none): `X-Forwarded-For` is ignored",
    ),
    Setting(
        "CORS_ORIGINS",
        parse_origins,
        (),
        "Exact origins (`https://app.example.org`, commas) allowed to call the API from a "
        "browser; see docs/security.md.",
        default_doc="(none): CORS off",
    ),
    Setting(
        "TLS_CERTFILE",
        str,
        "",
        "PEM certificate chain: `matchday serve` speaks HTTPS (with TLS_KEYFILE).",
        default_doc="(unset): plain HTTP (TLS at the ingress)",
    ),
    Setting("TLS_KEYFILE", str, "", "PEM private key of TLS_CERTFILE."),
    Setting(
        "TLS_REDIRECT_PORT",
        _port_or_off,
        0,
        "With TLS: also listen here and 301-redirect plain HTTP to HTTPS; `0` = off.",
    ),
    Setting(
        "VAULT_ADDR",
        str,
        "",
        "HashiCorp Vault URL: secret settings are read from KV v2 at start-up when set.",
        default_doc="(unset): no Vault",
    ),
    Setting(
        "VAULT_PATH",
        str,
        "secret/data/matchday",
        "KV v2 secret: `<mount>/data/<path>` or `<mount>/<path>`; its keys are setting names.",
    ),
    Setting("VAULT_TOKEN", str, "", "Vault token (or use AppRole).", secret=True),
    Setting(
        "VAULT_ROLE_ID", str, "", "AppRole role id (with VAULT_SECRET_ID), instead of a token."
    ),
    Setting("VAULT_SECRET_ID", str, "", "AppRole secret id.", secret=True),
)


_SETTING_BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    data_dir: Path
    host: str
    port: int
    jwt_secret: str = field(repr=False)
    jwt_keys: tuple[tuple[str, str], ...] = field(repr=False)  # (kid, secret): all verify
    jwt_signing_kid: str
    jwt_issuer: str
    jwt_audience: str
    access_token_ttl_seconds: int
    refresh_token_ttl_seconds: int
    bcrypt_rounds: int
    max_json_body_bytes: int
    max_upload_bytes: int
    idempotency_ttl_seconds: int
    db_pool_size: int
    db_max_overflow: int
    db_statement_timeout_ms: int
    blocking_pool_size: int
    redis_key_prefix: str
    stream_history_length: int
    sse_heartbeat_seconds: float
    sse_retry_ms: int
    sse_max_connections: int
    sse_max_connections_per_ip: int
    sse_client_buffer_bytes: int
    outbox_sweep_seconds: float
    standings_cache_ttl_seconds: float
    drain_seconds: float
    metrics_token: str = field(repr=False)
    task_runner: str
    task_time_limit_seconds: int
    task_visibility_timeout_seconds: int
    reconcile_seconds: float
    database_replica_url: str
    analytics_statement_timeout_ms: int
    analytics_row_cap: int
    analytics_timeout_seconds: float
    analytics_cache_ttl_seconds: float
    analytics_llm_url: str
    analytics_llm_model: str
    analytics_llm_api_key: str = field(repr=False)
    analytics_llm_timeout_seconds: float
    log_level: str
    log_format: str
    rate_limit_enabled: bool
    rate_limits: RateLimits
    trusted_proxies: tuple[IpNetwork, ...]
    cors_origins: tuple[str, ...]
    tls_certfile: str
    tls_keyfile: str
    tls_redirect_port: int
    vault_addr: str
    vault_path: str
    vault_token: str = field(repr=False)
    vault_role_id: str
    vault_secret_id: str = field(repr=False)

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


def _raw_value(setting: Setting, env: Mapping[str, str]) -> str | None:
    file_name = env.get(f"{setting.name}_FILE") if setting.secret else None
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{setting.name}_FILE: cannot read {file_name}: {exc}") from exc
    return env.get(setting.name)


def _parse_all(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _raw_value(setting, env)
        if raw is None or raw == "":
            values[setting.name.lower()] = setting.default
            continue
        try:
            values[setting.name.lower()] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name}: {exc}") from exc
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
    data_dir.mkdir(parents=True, exist_ok=True)
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


def _check_ranges(values: dict[str, Any]) -> None:
    if not 4 <= values["bcrypt_rounds"] <= 31:
        raise ConfigError("BCRYPT_ROUNDS: must be between 4 and 31")
    if not 0 < values["port"] < 65536:
        raise ConfigError("PORT: must be between 1 and 65535")


def _check_llm(values: dict[str, Any]) -> None:
    url = values["analytics_llm_url"]
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("ANALYTICS_LLM_URL: use an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ConfigError("ANALYTICS_LLM_URL: put the key in ANALYTICS_LLM_API_KEY, not the URL")
    key = values["analytics_llm_api_key"]
    if key and not (key.isascii() and key.isprintable()):
        raise ConfigError("ANALYTICS_LLM_API_KEY must be printable ASCII")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read, normalise and validate every setting; raise ConfigError on the first problem."""
    source = os.environ if env is None else env
    if _raw_value(_SETTING_BY_NAME["VAULT_ADDR"], source):
        from config.vault import with_vault_secrets

        source = with_vault_secrets(source)
    values = _parse_all(source)
    data_dir = Path(values["data_dir"])
    values["data_dir"] = data_dir
    values["database_url"] = normalise_database_url(values["database_url"], data_dir)
    if values["database_replica_url"]:
        try:
            values["database_replica_url"] = normalise_database_url(
                values["database_replica_url"], data_dir
            )
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("DATABASE_URL", "DATABASE_REPLICA_URL")) from None
    _check_llm(values)
    embedded = values["database_url"].startswith("sqlite")
    _check_ranges(values)
    _resolve_keys(values, embedded, data_dir)
    if values["metrics_token"] and (reason := weak_secret_reason(values["metrics_token"])):
        raise ConfigError(f"METRICS_TOKEN {reason}")
    if bool(values["tls_certfile"]) != bool(values["tls_keyfile"]):
        raise ConfigError("TLS_CERTFILE and TLS_KEYFILE go together: set both or neither")
    if values["task_runner"] == "celery" and not values["redis_url"]:
        raise ConfigError("TASK_RUNNER=celery needs REDIS_URL (the broker)")
    return Settings(**values)


def settings_table() -> str:
    """The README's configuration table, in Markdown."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for setting in SETTINGS:
        default = f"`{setting.default}`" if setting.default != "" else "(unset)"
        default = setting.default_doc or default
        secret_note = " Also `_FILE`." if setting.secret else ""
        lines.append(f"| `{setting.name}` | {default} | {setting.help}{secret_note} |")
    return "\n".join(lines)
