"""Obviously default or guessable secrets are refused at start-up, without echoing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings, weak_secret_reason
from tests.support import TEST_SECRET

WEAK = [
    "changeme" * 4,
    "x" * 40,
    "ab" * 20,
    "secret" * 6,
    "password-password-password-1234",
    "CHANGE-ME-" * 4,
]


@pytest.mark.parametrize("secret", WEAK)
def test_default_secrets_are_refused(tmp_path: Path, secret: str) -> None:
    assert weak_secret_reason(secret)
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://db/matchday"}
    for extra in ({"JWT_SECRET": secret}, {"JWT_KEYS": f"k1:{secret}"}):
        with pytest.raises(ConfigError) as refused:
            load_settings({**env, **extra})
        assert secret not in str(refused.value)
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_settings({**env, "JWT_SECRET": TEST_SECRET, "METRICS_TOKEN": secret})


@pytest.mark.parametrize(
    "secret", [TEST_SECRET, "Zr8_vK2mQ9-xT4pL7wN1sB6hD3fJ0cY5", "my-jwt-secret-0123456789-abcdefgh"]
)
def test_real_secrets_pass(secret: str) -> None:
    assert weak_secret_reason(secret) is None
