"""Register, log in, refresh, log out, who am I, change my password."""

from __future__ import annotations

from server.auth.passwords import hash_password, verify_password
from server.base import BaseHandler
from server.errors import ApiError
from server.schemas.auth import (
    LoginSchema,
    PasswordChangeSchema,
    RefreshSchema,
    RegisterSchema,
    UserSchema,
    password_problems,
)
from server.services import auth as auth_service

USER = UserSchema()


async def refuse_weak_password(
    handler: BaseHandler, field: str, password: str, email: str | None
) -> None:
    """A 422 naming `field`, as schema validation gives, if the password is too weak. zxcvbn
    takes 13-60 ms a call: in the blocking runner, not on the event loop."""
    problems = await handler.application.blocking.run(password_problems, password, email)
    if problems:
        raise ApiError(422, "the request is not valid", details={field: problems})


class RegisterHandler(BaseHandler):
    public_methods = frozenset({"POST"})
    endpoint_limit = "auth"  # stricter per-address limit (RATE_LIMITS)

    async def post(self) -> None:
        body = self.load_body(RegisterSchema())
        await refuse_weak_password(self, "password", body["password"], body["email"])
        rounds = self.application.config.bcrypt_rounds
        password_hash = await self.application.blocking.run(hash_password, body["password"], rounds)
        async with self.db() as session:
            user = await auth_service.register(
                session,
                email=body["email"],
                display_name=body["display_name"],
                password_hash=password_hash,
            )
        self.write_json({"user": USER.dump(user)}, 201)


class LoginHandler(BaseHandler):
    public_methods = frozenset({"POST"})
    endpoint_limit = "auth"  # stricter per-address limit (RATE_LIMITS)

    async def post(self) -> None:
        body = self.load_body(LoginSchema())
        attempt = await self.begin_login(body["email"])  # 429 after too many failures
        async with self.db() as session:
            user = await auth_service.find_user_by_email(session, body["email"])
        stored_hash = user.password_hash if user else None
        ok = await self.application.blocking.run(verify_password, body["password"], stored_hash)
        async with self.db() as session:
            pair = auth_service.finish_login(
                session, self.application.tokens, user, body["email"], ok=ok
            )
        if pair is None:
            attempt.failed()  # the reserved failure stays counted
            raise ApiError(401, "wrong email or password", code="invalid_credentials")
        await attempt.succeeded()
        self.write_json(pair.as_response())


class RefreshHandler(BaseHandler):
    public_methods = frozenset({"POST"})
    endpoint_limit = "auth"  # stricter per-address limit (RATE_LIMITS)

    async def post(self) -> None:
        body = self.load_body(RefreshSchema())
        try:
            async with self.db() as session:
                _user, pair = await auth_service.rotate_refresh_token(
                    session, self.application.tokens, body["refresh_token"]
                )
        except auth_service.RefreshTokenReused as reuse:
            # A copied refresh token: end the whole family, in a transaction that is kept.
            async with self.db() as session:
                await auth_service.end_reused_family(session, reuse)
            raise
        self.write_json(pair.as_response())


class LogoutHandler(BaseHandler):
    async def post(self) -> None:
        assert self.token_claims is not None  # prepare() authenticated the caller
        async with self.db() as session:
            await auth_service.logout(
                session, self.application.tokens, self.require_user(), self.token_claims
            )
        self.set_status(204)
        self.clear_header("Content-Type")
        self.finish()


class MeHandler(BaseHandler):
    async def get(self) -> None:
        self.write_json(USER.dump(self.require_user()))


class PasswordHandler(BaseHandler):
    endpoint_limit = "auth"  # it checks a password: the stricter per-address limit

    async def post(self) -> None:
        body = self.load_body(PasswordChangeSchema())
        user = self.require_user()
        await refuse_weak_password(self, "new_password", body["new_password"], user.email)
        run = self.application.blocking.run
        if not await run(verify_password, body["current_password"], user.password_hash):
            raise ApiError(401, "the current password is wrong", code="invalid_credentials")
        rounds = self.application.config.bcrypt_rounds
        password_hash = await run(hash_password, body["new_password"], rounds)
        async with self.db() as session:
            await auth_service.change_password(session, user.id, password_hash)
        self.set_status(204)
        self.clear_header("Content-Type")
        self.finish()


routes = [
    (r"/api/v1/auth/register", RegisterHandler),
    (r"/api/v1/auth/login", LoginHandler),
    (r"/api/v1/auth/refresh", RefreshHandler),
    (r"/api/v1/auth/logout", LogoutHandler),
    (r"/api/v1/me", MeHandler),
    (r"/api/v1/me/password", PasswordHandler),
]
