"""JWT manipulation: forged, tampered, stale, misused, revoked or replayed tokens are all 401.

Every test runs on SQLite and on PostgreSQL (the `api`/`app` fixtures). Tokens pyjwt refuses
to make (`alg: none`, HMAC keyed with an RSA public key) are signed by hand; a hand-signed
token with the right key is accepted, so each refusal is for the reason its case names.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import select
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models import AuditEntry, TokenFamily
from models.base import utcnow
from models.db import sync_session_factory
from server.app import MatchdayApp, make_app
from tests.support import STRONG_PASSWORD, TEST_SECRET, Api, Reply, settings_for
from workers.maintenance import prune_expired

ME = "/api/v1/me"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PASSWORD = "/api/v1/me/password"
OTHER_SECRET = "another-secret-" + "y" * 40
NEW_SECRET = "rotated-secret-" + "z" * 40
NEW_PASSWORD = "a-different-long-passphrase-42"

# A real RSA public key (public by nature): the HS/RS confusion attack uses it as an HMAC key.
RSA_PUBLIC_KEY_PEM = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnAYyA5nZCD6i81Ug+DO7
5JK9boiylNNzWP6Rd+Xfdgi8BsuK6W4D95lIt9XRUVLfMAaW0hSIfncgNTTjZHl3
PNF0+8kbsHyfvAvvqsViQgabh19H943AtDY/oywnIJab0dZLPUCg0bpUKphcRoxU
1pE3cNLhxZ+VnsTB1J0HFSy9DFitmL9J1Nnf1WO7sgknVQo2GdLRF9a7QqUw7if1
FYABEECn425RKFKtlC/MsFBHTb3ZcLtPT3rWxupDPNjOlt5+3+5i/1+MJX6Zx/8k
u5OhJJi/stEhjAshXKx3neHIkF/EhF8+vJycb2eD3jkWy4oRszma8rnwMHx8kPxZ
hwIDAQAB
-----END PUBLIC KEY-----
"""

# --- token surgery ------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segment(data: Any) -> str:
    return _b64(json.dumps(data, separators=(",", ":")).encode())


def _unsegment(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def hand_signed(
    header: dict[str, Any],
    claims: dict[str, Any],
    key: str | None,
    digest: Callable[..., Any] = hashlib.sha256,
) -> str:
    """A JWT with any header, HMAC-signed with `key` (None: an empty signature)."""
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{_b64(signature)}"


def signed(claims: dict[str, Any], key: str = TEST_SECRET, kid: str | None = "default") -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, key, algorithm="HS256", headers=headers)


def with_payload(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """`token` with its payload edited and its original header and signature kept."""
    header, payload, signature = token.split(".")
    claims = _unsegment(payload)
    change(claims)
    return f"{header}.{_segment(claims)}.{signature}"


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def claims_of(token: str) -> dict[str, Any]:
    return _unsegment(token.split(".")[1])


# --- the API --------------------------------------------------------------------------------


def problem(reply: Reply, status: int = 401) -> str | None:
    """Why `reply` is not the contract's error answer with `status`, or None."""
    if reply.status != status:
        return f"status {reply.status}: {reply.body[:200]!r}"
    if b"Traceback" in reply.body:
        return "a stack trace in the body"
    try:
        error = reply.json["error"]
    except (ValueError, KeyError, TypeError):
        return f"not an error body: {reply.body[:200]!r}"
    if not {"code", "message", "details", "request_id"} <= set(error):
        return f"error body lacks fields: {error!r}"
    if error["request_id"] != reply.headers.get("X-Request-ID"):
        return "request_id differs from X-Request-ID"
    return None


def assert_401(reply: Reply) -> None:
    assert problem(reply) is None, problem(reply)


async def login(api: Api, email: str, password: str = STRONG_PASSWORD) -> dict[str, Any]:
    reply = await api.post(LOGIN, {"email": email, "password": password})
    assert reply.status == 200, reply.body
    return reply.json


async def refresh(api: Api, refresh_token: str) -> Reply:
    return await api.post(REFRESH, {"refresh_token": refresh_token})


async def works(api: Api, pair: dict[str, Any]) -> bool:
    return (await api.get(ME, token=pair["access_token"])).status == 200


@asynccontextmanager
async def served(database_url: str, data_dir: Path, **env: str) -> AsyncIterator[Api]:
    """Another Matchday process on the same database, configured with `env`."""
    application = await make_app(settings_for(database_url, data_dir, **env))
    sock, port = bind_unused_port()
    server = HTTPServer(application)
    server.add_sockets([sock])
    try:
        yield Api(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
        await server.close_all_connections()
        await application.close()


async def audit_actions(app: MatchdayApp, user_id: int) -> list[str]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.target_id == user_id).order_by(AuditEntry.id)
        )
        return list(rows)


async def family_of(app: MatchdayApp, token: str) -> TokenFamily:
    async with app.sessions() as session:
        family = await session.get(TokenFamily, claims_of(token)["fam"])
        assert family is not None
        return family


# --- forged tokens --------------------------------------------------------------------------


def forgeries(claims: dict[str, Any], other_user_id: int, other_family: str) -> dict[str, str]:
    """Tokens an attacker might present, all built around `claims` (valid as they stand)."""
    now = int(time.time())
    hs256 = {"alg": "HS256", "typ": "JWT", "kid": "default"}

    def changed(**changes: Any) -> dict[str, Any]:
        return {k: v for k, v in {**claims, **changes}.items() if v is not None}

    return {
        # algorithm
        "alg none": hand_signed({**hs256, "alg": "none"}, claims, None),
        "alg None": hand_signed({**hs256, "alg": "None"}, claims, None),
        "alg NONE with the real HMAC": hand_signed({**hs256, "alg": "NONE"}, claims, TEST_SECRET),
        "no alg": hand_signed({"typ": "JWT", "kid": "default"}, claims, TEST_SECRET),
        "signature stripped": hand_signed(hs256, claims, None),
        "HS384 with the real key": hand_signed(
            {**hs256, "alg": "HS384"}, claims, TEST_SECRET, hashlib.sha384
        ),
        "HS512 with the real key": hand_signed(
            {**hs256, "alg": "HS512"}, claims, TEST_SECRET, hashlib.sha512
        ),
        # HS/RS confusion: the RSA public key as an HMAC secret, under either label.
        "HS256 keyed with an RSA public key": hand_signed(hs256, claims, RSA_PUBLIC_KEY_PEM),
        "RS256 header, HMAC with an RSA public key": hand_signed(
            {**hs256, "alg": "RS256"}, claims, RSA_PUBLIC_KEY_PEM
        ),
        "RS256 header, HMAC with the real key": hand_signed(
            {**hs256, "alg": "RS256"}, claims, TEST_SECRET
        ),
        "ES256 header": hand_signed({**hs256, "alg": "ES256"}, claims, TEST_SECRET),
        # keys
        "wrong key": signed(claims, OTHER_SECRET),
        "wrong key, no kid": signed(claims, OTHER_SECRET, kid=None),
        "unknown kid": signed(claims, kid="retired"),
        "empty kid": signed(claims, kid=""),
        "kid not a string": hand_signed({**hs256, "kid": 1}, claims, TEST_SECRET),
        "kid path traversal": signed(claims, kid="../../../../dev/null"),
        "embedded jwk of the attacker": hand_signed(
            {**hs256, "jwk": {"kty": "oct", "k": _b64(OTHER_SECRET.encode())}},
            claims,
            OTHER_SECRET,
        ),
        # time
        "expired": signed(changed(iat=now - 7200, nbf=now - 7200, exp=now - 3600)),
        "not yet valid": signed(changed(nbf=now + 3600)),
        "issued in the future": signed(changed(iat=now + 3600, nbf=now + 3600)),
        # who it is for
        "wrong issuer": signed(changed(iss="someone-else")),
        "wrong audience": signed(changed(aud="someone-else")),
        "audience list without ours": signed(changed(aud=["someone-else", "another"])),
        # claims
        **{f"no {name}": signed(changed(**{name: None})) for name in REQUIRED},
        "type unknown": signed(changed(type="admin")),
        "sub not numeric": signed(changed(sub="admin")),
        "sub an integer": signed(changed(sub=int(claims["sub"]))),
        "sub zero": signed(changed(sub="0")),
        "sub out of range": signed(changed(sub="9" * 30)),
        "jti too long": signed(changed(jti="j" * 65)),
        "fam not a string": signed(changed(fam=["x"])),
        "unknown family": signed(changed(fam=uuid.uuid4().hex)),
        "another account's family": signed(changed(fam=other_family)),
        "another account's sub": signed(changed(sub=str(other_user_id))),
        # not tokens at all
        "garbage": "garbage",
        "three dots": "a.b.c",
        "header only": _segment(hs256),
        "huge": "x" * 5000,
    }


REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "type"]
# The refresh endpoint has a strict per-address rate limit (`auth`): a subset aimed at it.
REFRESH_CASES = [
    "alg none",
    "signature stripped",
    "HS512 with the real key",
    "HS256 keyed with an RSA public key",
    "RS256 header, HMAC with the real key",
    "wrong key",
    "unknown kid",
    "expired",
    "not yet valid",
    "wrong issuer",
    "wrong audience",
    "no exp",
    "no jti",
    "no type",
    "unknown family",
    "another account's family",
    "another account's sub",
    "garbage",
]


async def test_real_tokens_name_their_key_and_family(api: Api) -> None:
    await api.register("owner@example.com")
    pair = await login(api, "owner@example.com")
    assert header_of(pair["access_token"]) == {"alg": "HS256", "typ": "JWT", "kid": "default"}
    assert header_of(pair["refresh_token"])["kid"] == "default"
    access, refresh_claims = claims_of(pair["access_token"]), claims_of(pair["refresh_token"])
    assert set(REQUIRED) <= set(access) and set(REQUIRED) <= set(refresh_claims)
    assert access["type"] == "access" and refresh_claims["type"] == "refresh"
    assert access["fam"] == refresh_claims["fam"]
    assert access["sid"] == refresh_claims["jti"]
    assert "role" not in access  # the role is read from the database on every request


async def test_forged_access_tokens_are_401(api: Api, app: MatchdayApp) -> None:
    user = await api.register("owner@example.com")
    other = await api.register("other@example.com")
    real = claims_of((await login(api, "owner@example.com"))["access_token"])
    other_family = claims_of((await login(api, "other@example.com"))["access_token"])["fam"]
    now = int(time.time())
    claims = {
        **{name: real[name] for name in ("sub", "type", "iss", "aud", "fam", "sid")},
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    # The forging is right: with the right key the same claims are accepted, signed by pyjwt
    # or by hand.
    hs256 = {"alg": "HS256", "typ": "JWT", "kid": "default"}
    for control in (signed(claims), hand_signed(hs256, claims, TEST_SECRET)):
        reply = await api.get(ME, token=control)
        assert reply.status == 200, reply.body
        assert reply.json["id"] == user["id"]

    failures = []
    for name, token in forgeries(claims, other["id"], other_family).items():
        for method, path, body in (
            ("GET", ME, None),
            ("POST", "/api/v1/events", {"name": "x"}),
            ("GET", "/api/v1/events", None),  # a bad token is refused even where none is needed
        ):
            reply = await api.request(method, path, body, token=token)
            if problem(reply):
                failures.append(f"{name} {method} {path}: {problem(reply)}")
    assert not failures, "\n".join(failures)
    # Nothing was created by any of them.
    assert (await api.get("/api/v1/events")).json["total"] == 0


async def test_forged_refresh_tokens_are_401_and_spend_nothing(api: Api, app: MatchdayApp) -> None:
    user = await api.register("owner@example.com")
    other = await api.register("other@example.com")
    other_family = claims_of((await login(api, "other@example.com"))["refresh_token"])["fam"]
    # A family the forgeries aim at, whose current refresh token is `claims`.
    family_id, jti = uuid.uuid4().hex, uuid.uuid4().hex
    async with app.sessions() as session, session.begin():
        session.add(
            TokenFamily(
                id=family_id,
                user_id=user["id"],
                refresh_jti=jti,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    now = int(time.time())
    claims = {
        "sub": str(user["id"]),
        "type": "refresh",
        "jti": jti,
        "iss": app.config.jwt_issuer,
        "aud": app.config.jwt_audience,
        "fam": family_id,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    cases = forgeries(claims, other["id"], other_family)
    failures = []
    for name in REFRESH_CASES:
        if problem(reply := await refresh(api, cases[name])):
            failures.append(f"{name}: {problem(reply)}")
    assert not failures, "\n".join(failures)

    # None of them spent or revoked the family: the genuine token still works, once.
    family = await family_of(app, signed(claims))
    assert family.revoked_at is None and family.refresh_jti == jti
    rotated = await refresh(api, signed(claims))
    assert rotated.status == 200, rotated.body
    assert claims_of(rotated.json["refresh_token"])["fam"] == family_id


async def test_tampered_real_tokens_are_401(api: Api) -> None:
    await api.register("owner@example.com")
    victim = await api.register("victim@example.com")
    pair = await login(api, "owner@example.com")
    access, refresh_token = pair["access_token"], pair["refresh_token"]
    victim_pair = await login(api, "victim@example.com")

    def set_claims(**values: Any) -> Callable[[dict[str, Any]], None]:
        return lambda claims: claims.update(values)

    tampered = {
        "sub → another user": with_payload(access, set_claims(sub=str(victim["id"]))),
        "role → admin": with_payload(access, set_claims(role="admin")),
        "exp extended": with_payload(
            access, set_claims(exp=claims_of(access)["exp"] + 86_400 * 30)
        ),
        "fam → the victim's": with_payload(
            access, set_claims(fam=claims_of(victim_pair["access_token"])["fam"])
        ),
        "refresh relabelled access": with_payload(refresh_token, set_claims(type="access")),
        "another token's signature": ".".join(
            [*access.split(".")[:2], victim_pair["access_token"].split(".")[2]]
        ),
        "kid → unknown": ".".join(
            [_segment({**header_of(access), "kid": "k9"}), *access.split(".")[1:]]
        ),
        "alg → none, signature kept": ".".join(
            [_segment({**header_of(access), "alg": "none"}), *access.split(".")[1:]]
        ),
    }
    failures = [
        f"{name}: {problem(reply)}"
        for name, token in tampered.items()
        if problem(reply := await api.get(ME, token=token))
    ]
    assert not failures, "\n".join(failures)
    # The originals are intact.
    assert await works(api, pair) and await works(api, victim_pair)


async def test_a_role_claim_in_a_token_grants_nothing(api: Api, app: MatchdayApp) -> None:
    # Even a correctly signed token cannot make its bearer an admin: roles come from the
    # database, never from the token.
    await api.register("owner@example.com")
    genuine = claims_of((await login(api, "owner@example.com"))["access_token"])
    token = signed({**genuine, "jti": uuid.uuid4().hex, "role": "admin", "admin": True})
    me = await api.get(ME, token=token)
    assert me.status == 200, me.body
    assert me.json["role"] == "user"
    assert (await api.get("/api/v1/admin/audit", token=token)).status == 403


async def test_token_types_are_not_interchangeable(api: Api) -> None:
    await api.register("owner@example.com")
    pair = await login(api, "owner@example.com")
    assert_401(await api.get(ME, token=pair["refresh_token"]))
    assert_401(await api.post(LOGOUT, token=pair["refresh_token"]))
    assert_401(await api.post("/api/v1/events", {"name": "x"}, token=pair["refresh_token"]))
    assert_401(await refresh(api, pair["access_token"]))
    # The refused attempts spent and revoked nothing.
    assert await works(api, pair)
    assert (await refresh(api, pair["refresh_token"])).status == 200


async def test_logout_revokes_every_token_of_the_session(api: Api, app: MatchdayApp) -> None:
    await api.register("owner@example.com")
    first = await login(api, "owner@example.com")
    other_session = await login(api, "owner@example.com")
    second = (await refresh(api, first["refresh_token"])).json

    assert (await api.post(LOGOUT, token=second["access_token"])).status == 204
    for name, reply in {
        "first access": await api.get(ME, token=first["access_token"]),
        "second access": await api.get(ME, token=second["access_token"]),
        "second refresh": await refresh(api, second["refresh_token"]),
        "logout again": await api.post(LOGOUT, token=second["access_token"]),
    }.items():
        assert problem(reply) is None, f"{name}: {problem(reply)}"
    assert (await family_of(app, second["access_token"])).revoked_reason == "logout"
    # Another login of the same account is another session: untouched.
    assert await works(api, other_session)
    assert (await refresh(api, other_session["refresh_token"])).status == 200


async def test_a_replayed_refresh_token_revokes_its_whole_family(
    api: Api, app: MatchdayApp
) -> None:
    user = await api.register("owner@example.com")
    first = await login(api, "owner@example.com")
    other_session = await login(api, "owner@example.com")
    second = (await refresh(api, first["refresh_token"])).json
    newest = (await refresh(api, second["refresh_token"])).json
    assert await works(api, newest)

    # Someone replays the first refresh token (stolen, say): refused, and the whole family
    # ends, so whoever holds the newest pair (the thief or the owner) must log in again.
    replay = await refresh(api, first["refresh_token"])
    assert_401(replay)
    assert replay.json["error"]["code"] == "token_revoked"
    for name, reply in {
        "newest access": await api.get(ME, token=newest["access_token"]),
        "newest refresh": await refresh(api, newest["refresh_token"]),
        "second access": await api.get(ME, token=second["access_token"]),
        "first access": await api.get(ME, token=first["access_token"]),
        "replay again": await refresh(api, first["refresh_token"]),
    }.items():
        assert problem(reply) is None, f"{name}: {problem(reply)}"

    family = await family_of(app, newest["refresh_token"])
    assert family.revoked_at is not None and family.revoked_reason == "reuse"
    assert "user.token_reuse" in await audit_actions(app, user["id"])
    # Other sessions of the account are unaffected.
    assert await works(api, other_session)
    assert (await refresh(api, other_session["refresh_token"])).status == 200


async def test_two_concurrent_uses_of_one_refresh_token(api: Api) -> None:
    await api.register("owner@example.com")
    pair = await login(api, "owner@example.com")
    replies = await asyncio.gather(*(refresh(api, pair["refresh_token"]) for _ in range(2)))
    assert sorted(reply.status for reply in replies) == [200, 401], [r.body for r in replies]
    # One of the two uses was a reuse: the family is over, the winner's pair included.
    [winner] = [reply.json for reply in replies if reply.status == 200]
    assert_401(await api.get(ME, token=winner["access_token"]))
    assert_401(await refresh(api, winner["refresh_token"]))


async def test_key_rotation(api: Api, database_url: str, tmp_path: Path) -> None:
    """The steps of docs/security.md: add a key, sign with it, retire the old one."""
    await api.register("owner@example.com")
    # Before: JWT_SECRET alone, which is the key `default`.
    before = await login(api, "owner@example.com")
    untouched = await login(api, "owner@example.com")
    assert header_of(before["access_token"])["kid"] == "default"

    both = f"default:{TEST_SECRET},k2:{NEW_SECRET}"
    # Step 1: add the new key; `default` still signs.
    async with served(
        database_url, tmp_path, JWT_SECRET="", JWT_KEYS=both, JWT_SIGNING_KID="default"
    ) as step1:
        assert await works(step1, before)
        added = await login(step1, "owner@example.com")
        assert header_of(added["access_token"])["kid"] == "default"

    # Step 2: sign with the new key; tokens of the old one, still listed, keep working.
    async with served(
        database_url, tmp_path, JWT_SECRET="", JWT_KEYS=both, JWT_SIGNING_KID="k2"
    ) as step2:
        assert await works(step2, before) and await works(step2, untouched)
        switched = await login(step2, "owner@example.com")
        assert header_of(switched["access_token"])["kid"] == "k2"
        assert header_of(switched["refresh_token"])["kid"] == "k2"
        assert await works(step2, switched)
        # Refreshing an old-key token yields a new-key pair in the same family.
        moved = (await refresh(step2, before["refresh_token"])).json
        assert header_of(moved["access_token"])["kid"] == "k2"
        assert claims_of(moved["refresh_token"])["fam"] == claims_of(before["refresh_token"])["fam"]
        assert await works(step2, moved)

    # Step 3 (after the TTLs): remove the old key. Its tokens fail; the new ones work.
    async with served(database_url, tmp_path, JWT_SECRET="", JWT_KEYS=f"k2:{NEW_SECRET}") as step3:
        for name, reply in {
            "old access": await step3.get(ME, token=untouched["access_token"]),
            "old refresh": await refresh(step3, untouched["refresh_token"]),
        }.items():
            assert problem(reply) is None, f"{name}: {problem(reply)}"
            assert "unknown key" in reply.json["error"]["message"]
        assert await works(step3, switched) and await works(step3, moved)
        assert (await refresh(step3, switched["refresh_token"])).status == 200
        # A token of the new key is worthless to a server that does not list it.
    assert_401(await api.get(ME, token=switched["access_token"]))


async def test_password_change_revokes_every_earlier_token(api: Api, app: MatchdayApp) -> None:
    email = "owner@example.com"
    user = await api.register(email)
    laptop, phone = await login(api, email), await login(api, email)
    token = laptop["access_token"]

    wrong = await api.post(
        PASSWORD,
        {"current_password": "not-the-password-1", "new_password": NEW_PASSWORD},
        token=token,
    )
    assert_401(wrong)
    assert wrong.json["error"]["code"] == "invalid_credentials"
    for weak, why in (("short", "12"), ("owner-owner-owner", "email"), ("password1234", "common")):
        reply = await api.post(
            PASSWORD, {"current_password": STRONG_PASSWORD, "new_password": weak}, token=token
        )
        assert problem(reply, 422) is None, problem(reply, 422)
        assert why in " ".join(reply.json["error"]["details"]["new_password"]), reply.body
    assert (
        problem(await api.post(PASSWORD, {"new_password": NEW_PASSWORD}, token=token), 422) is None
    )
    unauthenticated = await api.post(
        PASSWORD, {"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert_401(unauthenticated)
    # None of that changed anything.
    assert await works(api, laptop) and await works(api, phone)

    changed = await api.post(
        PASSWORD, {"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD}, token=token
    )
    assert changed.status == 204, changed.body
    assert changed.body == b""

    for name, reply in {
        "laptop access": await api.get(ME, token=laptop["access_token"]),
        "laptop refresh": await refresh(api, laptop["refresh_token"]),
        "phone access": await api.get(ME, token=phone["access_token"]),
        "phone refresh": await refresh(api, phone["refresh_token"]),
        "change again with an old token": await api.post(
            PASSWORD,
            {"current_password": NEW_PASSWORD, "new_password": STRONG_PASSWORD},
            token=laptop["access_token"],
        ),
    }.items():
        assert problem(reply) is None, f"{name}: {problem(reply)}"
    # Even a token signed with the key, issued before the change and in no family, is
    # refused: its `iat` is before the account's tokens_valid_after.
    before = int(time.time()) - 5
    stale = {**claims_of(phone["access_token"]), "jti": uuid.uuid4().hex, "iat": before}
    stale.pop("fam")
    assert_401(await api.get(ME, token=signed({**stale, "nbf": before})))

    assert_401(await api.post(LOGIN, {"email": email, "password": STRONG_PASSWORD}))
    fresh = await login(api, email, NEW_PASSWORD)
    assert await works(api, fresh)
    assert (await refresh(api, fresh["refresh_token"])).status == 200
    assert "user.password_change" in await audit_actions(app, user["id"])


async def test_expired_families_are_pruned(api: Api, app: MatchdayApp) -> None:
    await api.register("owner@example.com")
    live = await login(api, "owner@example.com")
    expired = await login(api, "owner@example.com")
    async with app.sessions() as session, session.begin():
        family = await session.get(TokenFamily, claims_of(expired["access_token"])["fam"])
        assert family is not None
        family.expires_at = utcnow() - timedelta(seconds=1)

    pruned = prune_expired(sync_session_factory(app.sync_engine))
    assert pruned["token_families_pruned"] == 1
    assert await works(api, live)
    assert_401(await api.get(ME, token=expired["access_token"]))
