"""Token keys: parsing JWT_KEYS, choosing the signing key, and verifying by `kid`."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from config.settings import ConfigError, load_settings, parse_jwt_keys
from server.auth.tokens import TokenService
from server.services.errors import AuthenticationFailed

K1 = "first-secret-" + "a" * 32
K2 = "second-secret-" + "b" * 32
PG = "postgresql://postgres@localhost/test"


def service(keys: dict[str, str], signing_kid: str) -> TokenService:
    return TokenService(
        keys,
        signing_kid,
        issuer="matchday",
        audience="matchday-api",
        access_ttl=60,
        refresh_ttl=120,
    )


# --- parse_jwt_keys ---------------------------------------------------------------------------


def test_keys_parse_in_order() -> None:
    assert parse_jwt_keys(f"k1:{K1},k2:{K2}") == (("k1", K1), ("k2", K2))


def test_keys_may_be_spread_over_lines_with_spaces_and_a_trailing_separator() -> None:
    raw = f"\n  k1 : {K1} ,\n k2:{K2}\n,"
    assert parse_jwt_keys(raw) == (("k1", K1), ("k2", K2))


def test_a_secret_may_contain_colons() -> None:
    secret = "a:b:" + "c" * 40
    assert parse_jwt_keys(f"2026-11.a_b-c:{secret}") == (("2026-11.a_b-c", secret),)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "lists no key"),
        (" , \n ", "lists no key"),
        (K1, "entry 1 is not `kid:secret`"),
        (f"k1:{K1},k2:", "entry 2 is not `kid:secret`"),
        (f":{K1}", "entry 1: a key id is"),
        (f"k 1:{K1}", "entry 1: a key id is"),
        (f"k/1:{K1}", "entry 1: a key id is"),
        ("k" * 65 + f":{K1}", "entry 1: a key id is"),
        (f"k1:{K1},k1:{K2}", "key id 'k1' is listed twice"),
        ("k1:short-secret", "the secret of key id 'k1' is shorter than 32 bytes"),
    ],
)
def test_bad_keys_are_refused_without_echoing_secrets(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")) as caught:
        parse_jwt_keys(raw)
    assert K1 not in str(caught.value) and "short-secret" not in str(caught.value)


def test_a_secret_is_measured_in_bytes() -> None:
    assert parse_jwt_keys("k1:" + "é" * 15 + "ab")  # 32 bytes in UTF-8
    with pytest.raises(ValueError, match="shorter than 32 bytes"):
        parse_jwt_keys("k1:" + "e" * 31)


# --- load_settings ----------------------------------------------------------------------------


def test_without_jwt_keys_the_secret_is_the_default_key(tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": PG, "JWT_SECRET": K1, "DATA_DIR": str(tmp_path)})
    assert settings.jwt_keys == (("default", K1),)
    assert settings.jwt_signing_kid == "default"


def test_the_embedded_generated_secret_is_the_default_key(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    generated = (tmp_path / "jwt_secret").read_text().strip()
    assert settings.jwt_keys == (("default", generated),)
    assert settings.jwt_signing_kid == "default"


def test_jwt_keys_replace_the_secret_and_need_no_jwt_secret(tmp_path: Path) -> None:
    env = {"DATABASE_URL": PG, "JWT_KEYS": f"k1:{K1},k2:{K2}", "JWT_SIGNING_KID": "k2"}
    settings = load_settings({**env, "DATA_DIR": str(tmp_path)})
    assert settings.jwt_keys == (("k1", K1), ("k2", K2))
    assert settings.jwt_signing_kid == "k2"
    assert K1 not in repr(settings) and K2 not in repr(settings)
    assert not (tmp_path / "jwt_secret").exists()


def test_one_key_signs_without_naming_it(tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": PG, "JWT_KEYS": f"only:{K1}"})
    assert settings.jwt_signing_kid == "only"


def test_jwt_keys_from_a_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"k1:{K1}\nk2:{K2}\n")
    env = {"DATABASE_URL": PG, "JWT_KEYS_FILE": str(keys_file), "JWT_SIGNING_KID": "k1"}
    assert load_settings(env).jwt_keys == (("k1", K1), ("k2", K2))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JWT_KEYS": f"k1:{K1},k2:{K2}"}, "JWT_SIGNING_KID: required when JWT_KEYS lists"),
        ({"JWT_KEYS": f"k1:{K1}", "JWT_SIGNING_KID": "k2"}, "JWT_SIGNING_KID: 'k2' is not one"),
        ({"JWT_SECRET": K1, "JWT_SIGNING_KID": "k2"}, "JWT_SIGNING_KID: 'k2' is not one"),
        ({"JWT_SIGNING_KID": "bad kid"}, "JWT_SIGNING_KID: a key id is"),
        ({"JWT_SECRET": K1, "JWT_KEYS": f"k1:{K2}"}, "set JWT_KEYS or JWT_SECRET, not both"),
        ({"JWT_KEYS": "k1:short"}, "JWT_KEYS: the secret of key id 'k1' is shorter"),
        ({"JWT_KEYS": K1}, "JWT_KEYS: entry 1 is not"),
    ],
)
def test_bad_key_settings_name_the_setting(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match="^" + message) as caught:
        load_settings({"DATABASE_URL": PG, "DATA_DIR": str(tmp_path), **env})
    assert K1 not in str(caught.value) and K2 not in str(caught.value)


def test_short_keys_are_refused_in_embedded_mode_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JWT_KEYS"):
        load_settings({"DATA_DIR": str(tmp_path), "JWT_KEYS": "k1:short"})


def test_the_signing_kid_may_name_the_default_key(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path), "JWT_SIGNING_KID": "default"})
    assert settings.jwt_signing_kid == "default"


# --- TokenService -----------------------------------------------------------------------------


def test_tokens_carry_the_signing_kid_and_verify_with_any_listed_key() -> None:
    old = service({"k1": K1}, "k1").issue_pair(7)
    both = service({"k1": K1, "k2": K2}, "k2")
    new = both.issue_pair(7, family=old.family)
    assert jwt.get_unverified_header(old.access_token)["kid"] == "k1"
    assert jwt.get_unverified_header(new.refresh_token)["kid"] == "k2"
    assert both.decode(old.access_token, "access")["sub"] == "7"
    claims = both.decode(new.refresh_token, "refresh")
    assert claims["fam"] == old.family and claims["jti"] == new.refresh_jti
    assert both.decode(new.access_token, "access")["sid"] == new.refresh_jti


def test_a_removed_key_no_longer_verifies() -> None:
    token = service({"k1": K1}, "k1").issue_pair(7).access_token
    with pytest.raises(AuthenticationFailed, match="unknown key"):
        service({"k2": K2}, "k2").decode(token, "access")


def test_the_same_secret_under_another_kid_does_not_verify() -> None:
    token = service({"k1": K1}, "k1").issue_pair(7).access_token
    with pytest.raises(AuthenticationFailed, match="unknown key"):
        service({"k9": K1}, "k9").decode(token, "access")


def test_a_token_without_kid_names_the_default_key() -> None:
    claims = service({"default": K1}, "default").decode(
        service({"default": K1}, "default").issue_pair(3).access_token, "access"
    )
    no_kid = jwt.encode(claims, K1, algorithm="HS256")
    assert "kid" not in jwt.get_unverified_header(no_kid)
    assert service({"default": K1, "k2": K2}, "k2").decode(no_kid, "access")["sub"] == "3"
    with pytest.raises(AuthenticationFailed, match="unknown key"):
        service({"k2": K2}, "k2").decode(no_kid, "access")


def test_only_hs256_is_accepted() -> None:
    tokens = service({"k1": K1}, "k1")
    claims = tokens.decode(tokens.issue_pair(3).access_token, "access")
    long_key = K1 * 2  # HS512 wants 64 bytes
    hs512 = jwt.encode(claims, long_key, algorithm="HS512", headers={"kid": "k1"})
    with pytest.raises(AuthenticationFailed, match="algorithm is not allowed"):
        service({"k1": long_key}, "k1").decode(hs512, "access")


def test_the_signing_kid_must_be_a_key() -> None:
    with pytest.raises(ValueError, match="signing key id"):
        service({"k1": K1}, "k2")
