"""Configuration: defaults, validation, secrets from files, the embedded secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SETTINGS, ConfigError, load_settings, settings_table

STRONG = "settings-test-secret-" + "s" * 20


def test_embedded_default_uses_sqlite_and_keeps_a_generated_secret(tmp_path: Path) -> None:
    first = load_settings({"DATA_DIR": str(tmp_path)})
    assert first.embedded and not first.uses_redis
    assert first.database_url.startswith("sqlite+aiosqlite:///")
    assert len(first.jwt_secret) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600
    assert load_settings({"DATA_DIR": str(tmp_path)}).jwt_secret == first.jwt_secret


@pytest.mark.parametrize("secret", ["", "short"])
def test_production_refuses_a_missing_or_short_secret(tmp_path: Path, secret: str) -> None:
    env = {
        "DATABASE_URL": "postgresql://postgres@localhost/test",
        "JWT_SECRET": secret,
        "DATA_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings(env)
    assert not (tmp_path / "jwt_secret").exists()


def test_postgres_url_gets_the_psycopg_driver(tmp_path: Path) -> None:
    settings = load_settings(
        {"DATABASE_URL": "postgres://u@h/db", "JWT_SECRET": STRONG, "DATA_DIR": str(tmp_path)}
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert not settings.embedded


def test_secret_from_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(STRONG + "\n")
    settings = load_settings(
        {"DATABASE_URL": "postgresql://h/db", "JWT_SECRET_FILE": str(secret_file)}
    )
    assert settings.jwt_secret == STRONG
    assert STRONG not in repr(settings)


def test_unreadable_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_FILE"):
        load_settings({"JWT_SECRET_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "http"),
        ("PORT", "70000"),
        ("BCRYPT_ROUNDS", "2"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
        ("MAX_JSON_BODY_BYTES", "0"),
        ("DATABASE_URL", "mysql://x/y"),
        ("DATABASE_REPLICA_URL", "mysql://x/y"),
        ("ANALYTICS_LLM_URL", "file:///etc/passwd"),
        ("ANALYTICS_LLM_URL", "https://"),
        ("ANALYTICS_LLM_URL", "https://user:sk-secret@llm.example/v1/chat/completions"),
        ("ANALYTICS_ROW_CAP", "0"),
        ("ANALYTICS_TIMEOUT_SECONDS", "-1"),
        ("TASK_RUNNER", "cron"),
        ("TLS_REDIRECT_PORT", "70000"),
        ("RATE_LIMIT_ENABLED", "maybe"),
    ],
)
def test_invalid_values_name_the_setting(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value, "DATA_DIR": str(tmp_path)})


def test_readme_table_lists_every_setting() -> None:
    table = settings_table()
    assert all(f"`{setting.name}`" in table for setting in SETTINGS)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in readme]
    assert not missing, f"README's configuration table lacks {missing}"


def test_every_default_is_allowed_by_its_own_declaration() -> None:
    for setting in SETTINGS:
        assert setting.problem(setting.default) is None, setting.name


def test_declared_ranges_and_choices_reach_the_table() -> None:
    rows = {line.split(" | ")[0]: line for line in settings_table().splitlines()}
    assert "integer 4-31" in rows["| `BCRYPT_ROUNDS`"]
    assert "`DEBUG`, `INFO`, `WARNING`, `ERROR`" in rows["| `LOG_LEVEL`"]
    assert "Also `_FILE`." in rows["| `METRICS_TOKEN`"]


def test_secret_settings_stay_out_of_repr(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path), "METRICS_TOKEN": STRONG})
    assert settings.jwt_secret not in repr(settings)
    assert STRONG not in repr(settings)


def test_a_language_model_key_must_be_printable_ascii(tmp_path: Path) -> None:
    env = {
        "ANALYTICS_LLM_URL": "https://llm.example/v1/chat/completions",
        "DATA_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="ANALYTICS_LLM_API_KEY"):
        load_settings({**env, "ANALYTICS_LLM_API_KEY": "sk-abc\r\nX-Evil: 1"})
    assert (
        load_settings({**env, "ANALYTICS_LLM_API_KEY": "sk-abc"}).analytics_llm_api_key == "sk-abc"
    )
