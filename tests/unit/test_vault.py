"""Secrets from Vault KV v2 (through hvac) against a small local stub of Vault's HTTP API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from config.settings import ConfigError, load_settings
from config.vault import split_path

TOKEN = "s.stub-root-token"
ROLE_ID, SECRET_ID = "matchday-role", "matchday-secret-id"
APPROLE_TOKEN = "s.approle-token"
JWT_SECRET = "vault-jwt-" + "k3Y9" * 10


class StubVault(BaseHTTPRequestHandler):
    """`GET /v1/<mount>/data/<path>` and `POST /v1/auth/approle/login`, as Vault answers."""

    secrets: dict[str, dict[str, Any]] = {}
    requests: list[tuple[str, str, str | None]] = []

    def log_message(self, *_args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.requests.append(("POST", self.path, None))
        if self.path != "/v1/auth/approle/login":
            self._answer(404, {"errors": []})
        elif body == {"role_id": ROLE_ID, "secret_id": SECRET_ID}:
            self._answer(200, {"auth": {"client_token": APPROLE_TOKEN, "lease_duration": 60}})
        else:
            self._answer(400, {"errors": ["invalid role or secret ID"]})

    def do_GET(self) -> None:
        token = self.headers.get("X-Vault-Token")
        self.requests.append(("GET", self.path, token))
        if token not in {TOKEN, APPROLE_TOKEN}:
            self._answer(403, {"errors": ["permission denied"]})
            return
        path = self.path.split("?")[0]
        if path not in self.secrets:
            self._answer(404, {"errors": []})
            return
        self._answer(
            200,
            {
                "data": {
                    "data": self.secrets[path],
                    "metadata": {"version": 3, "deletion_time": "", "destroyed": False},
                }
            },
        )


@pytest.fixture
def vault() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubVault)
    StubVault.secrets = {
        "/v1/secret/data/matchday": {
            "JWT_SECRET": JWT_SECRET,
            "METRICS_TOKEN": "vault-metrics-" + "m7Q" * 10,
            "DATABASE_URL": "postgresql://not-a-secret-setting/ignored",
            "UNRELATED": "kept for another reader",
        },
        "/v1/kv/data/teams/matchday": {"JWT_SECRET": "other-mount-" + "z8W" * 12},
    }
    StubVault.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _env(tmp_path: Path, vault: str, **extra: str) -> dict[str, str]:
    return {"DATA_DIR": str(tmp_path), "VAULT_ADDR": vault, **extra}


def test_token_reads_secrets_from_kv_v2(tmp_path: Path, vault: str) -> None:
    settings = load_settings(_env(tmp_path, vault, VAULT_TOKEN=TOKEN))
    assert settings.jwt_secret == JWT_SECRET
    assert settings.jwt_keys == (("default", JWT_SECRET),)
    assert settings.metrics_token.startswith("vault-metrics-")
    assert not settings.database_url.startswith("postgresql")  # only secret settings
    assert StubVault.requests == [("GET", "/v1/secret/data/matchday", TOKEN)]  # read once
    assert JWT_SECRET not in repr(settings) and TOKEN not in repr(settings)


def test_token_file_and_mount_path(tmp_path: Path, vault: str) -> None:
    token_file = tmp_path / "vault-token"
    token_file.write_text(TOKEN + "\n")
    env = _env(tmp_path, vault, VAULT_TOKEN_FILE=str(token_file), VAULT_PATH="kv/teams/matchday")
    assert load_settings(env).jwt_secret.startswith("other-mount-")


def test_approle_login(tmp_path: Path, vault: str) -> None:
    env = _env(tmp_path, vault, VAULT_ROLE_ID=ROLE_ID, VAULT_SECRET_ID=SECRET_ID)
    assert load_settings(env).jwt_secret == JWT_SECRET
    assert StubVault.requests[0][:2] == ("POST", "/v1/auth/approle/login")
    assert StubVault.requests[1] == ("GET", "/v1/secret/data/matchday", APPROLE_TOKEN)


def test_environment_wins_over_vault(tmp_path: Path, vault: str) -> None:
    mine = "from-the-environment-" + "p4X" * 10
    settings = load_settings(_env(tmp_path, vault, VAULT_TOKEN=TOKEN, JWT_SECRET=mine))
    assert settings.jwt_secret == mine
    secret_file = tmp_path / "jwt"
    secret_file.write_text(mine)
    env = _env(tmp_path, vault, VAULT_TOKEN=TOKEN, JWT_SECRET_FILE=str(secret_file))
    assert load_settings(env).jwt_secret == mine


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "VAULT_TOKEN"),  # no credentials at all
        ({"VAULT_TOKEN": "s.wrong"}, "Forbidden"),
        ({"VAULT_ROLE_ID": ROLE_ID, "VAULT_SECRET_ID": "wrong"}, "InvalidRequest"),
        ({"VAULT_TOKEN": TOKEN, "VAULT_PATH": "secret/data/missing"}, "cannot read"),
        ({"VAULT_TOKEN": TOKEN, "VAULT_PATH": "matchday"}, "VAULT_PATH"),
    ],
)
def test_vault_errors_are_clear_config_errors(
    tmp_path: Path, vault: str, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings(_env(tmp_path, vault, **extra))
    for secret in (SECRET_ID, "wrong", TOKEN, "s.wrong"):
        assert secret not in str(refused.value)


def test_unreachable_vault(tmp_path: Path) -> None:
    from tests.e2e.processes import free_port

    env = _env(tmp_path, f"http://127.0.0.1:{free_port()}", VAULT_TOKEN=TOKEN)
    with pytest.raises(ConfigError, match="cannot reach"):
        load_settings(env)


def test_a_weak_secret_from_vault_is_refused(tmp_path: Path, vault: str) -> None:
    StubVault.secrets["/v1/secret/data/matchday"]["JWT_SECRET"] = "changeme" * 5
    env = _env(tmp_path, vault, VAULT_TOKEN=TOKEN, DATABASE_URL="postgresql://db/matchday")
    with pytest.raises(ConfigError, match="placeholder") as refused:
        load_settings(env)
    assert "changeme" * 5 not in str(refused.value)


def test_split_path() -> None:
    assert split_path("secret/data/matchday") == ("secret", "matchday")
    assert split_path("/kv/teams/matchday/") == ("kv", "teams/matchday")
    with pytest.raises(ConfigError):
        split_path("secret")
