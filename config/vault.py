"""Secret settings from HashiCorp Vault KV v2, read once at start-up (``VAULT_ADDR`` set).

The secret at ``VAULT_PATH`` holds setting names as keys (``JWT_SECRET``, ``JWT_KEYS``,
``METRICS_TOKEN``...). Only settings marked ``secret`` are taken from it, and the Vault
settings themselves never are. The environment (and ``<NAME>_FILE``) wins over Vault: an
operator can override one value without editing Vault, and ``matchday`` logs which names
came from Vault, never their values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import hvac
import requests
from hvac.exceptions import VaultError

from config.settings import SETTING_BY_NAME, SETTINGS, ConfigError, raw_value

log = logging.getLogger("matchday.config")

TIMEOUT_SECONDS = 10
# The Vault settings say where Vault is; they are never read from it.
VAULT_SETTINGS = frozenset(s.name for s in SETTINGS if s.name.startswith("VAULT_"))
SECRET_NAMES = frozenset(s.name for s in SETTINGS if s.secret and s.name not in VAULT_SETTINGS)


def split_path(path: str) -> tuple[str, str]:
    """``secret/data/matchday`` or ``secret/matchday`` → (mount ``secret``, path ``matchday``)."""
    mount, slash, rest = path.strip().strip("/").partition("/")
    if rest.startswith("data/"):
        rest = rest[len("data/") :]
    if not mount or not slash or not rest:
        raise ConfigError(
            f"VAULT_PATH: {path!r} is not `<mount>/data/<path>` (e.g. secret/data/matchday)"
        )
    return mount, rest


def _value(name: str, env: Mapping[str, str]) -> str:
    """A Vault setting from ``env`` (or its ``_FILE``), else its declared default."""
    setting = SETTING_BY_NAME[name]
    return raw_value(setting, env) or setting.default


def read_vault_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """The secret settings stored in Vault; ConfigError (naming no secret) on any failure."""
    addr = _value("VAULT_ADDR", env)
    token = _value("VAULT_TOKEN", env)
    role_id = _value("VAULT_ROLE_ID", env)
    secret_id = _value("VAULT_SECRET_ID", env)
    mount, path = split_path(_value("VAULT_PATH", env))
    if not token and not (role_id and secret_id):
        raise ConfigError(
            "VAULT_ADDR is set: also set VAULT_TOKEN (or VAULT_TOKEN_FILE), "
            "or VAULT_ROLE_ID and VAULT_SECRET_ID (AppRole)"
        )
    where = f"{addr.rstrip('/')}/v1/{mount}/data/{path}"
    try:
        client = hvac.Client(url=addr, token=token or None, timeout=TIMEOUT_SECONDS)
        if not token:
            client.auth.approle.login(role_id=role_id, secret_id=secret_id)
        reply: Any = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=mount, raise_on_deleted_version=True
        )
    except VaultError as exc:
        # hvac's message is Vault's error list (e.g. "permission denied"), never a secret.
        raise ConfigError(f"Vault: cannot read {where}: {type(exc).__name__}: {exc}") from exc
    except requests.RequestException as exc:
        raise ConfigError(f"Vault: cannot reach {addr}: {type(exc).__name__}") from exc
    try:
        data = reply["data"]["data"]
    except (KeyError, TypeError):
        raise ConfigError(f"Vault: {where} is not a KV v2 secret") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Vault: {where} is not a KV v2 secret")
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in SECRET_NAMES:
            continue  # other keys belong to other readers of the same secret
        if not isinstance(value, str):
            raise ConfigError(f"Vault: {where}: {key} must be a string")
        values[key] = value
    return values


def with_vault_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` completed with Vault's secrets; a value set in ``env`` (or its ``_FILE``) wins."""
    from_vault = read_vault_secrets(env)
    merged = dict(env)
    used = []
    for name, value in from_vault.items():
        if env.get(name) or env.get(f"{name}_FILE"):
            continue
        merged[name] = value
        used.append(name)
    log.info("secrets from Vault", extra={"settings": sorted(used)})
    return merged
