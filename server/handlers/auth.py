"""Register, log in, refresh, log out, who am I, change my password."""

from __future__ import annotations

from server.auth.passwords import hash_password, verify_password
from server.base import BaseHandler
from server.errors import ApiError
from server.openapi import Op
from server.schemas.auth import (
    LoginSchema,
    PasswordChangeSchema,
    RefreshSchema,
    RegisterSchema,
    TokenPairSchema,
    UserEnvelopeSchema,
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
    openapi = {
        "post": Op(
            operation_id="register",
            summary="Create an account",
            tag="auth",
            responses={201: UserEnvelopeSchema},
            token=False,
            body=RegisterSchema,
            errors=(409,),
            description="409 `email_taken`; 422 for a weak password or a bad email address.",
        )
    }
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
    openapi = {
        "post": Op(
            operation_id="login",
            summary="Log in: get an access and a refresh token",
            tag="auth",
            responses={200: TokenPairSchema},
            token=False,
            body=LoginSchema,
            errors=(401,),
            description="Repeated failures for one account or from one IP are throttled (429).",
        )
    }
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
    openapi = {
        "post": Op(
            operation_id="refreshTokens",
            summary="Swap a refresh token for a new pair",
            tag="auth",
            responses={200: TokenPairSchema},
            token=False,
            body=RefreshSchema,
            errors=(401,),
            description="The refresh token used stops working. Presenting it again ends the "
            "whole session (every token of that login): a copied refresh token is caught.",
        )
    }
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
    openapi = {
        "post": Op(
            operation_id="logout",
            summary="Log out",
            tag="auth",
            responses={204: None},
            description="The access token and its refresh token stop working.",
        )
    }

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
    openapi = {
        "get": Op(
            operation_id="getMe",
            summary="The calling user",
            tag="auth",
            responses={200: UserSchema},
        )
    }

    async def get(self) -> None:
        self.write_json(USER.dump(self.require_user()))


class PasswordHandler(BaseHandler):
    openapi = {
        "post": Op(
            operation_id="changePassword",
            summary="Change the caller's password",
            tag="auth",
            responses={204: None},
            body=PasswordChangeSchema,
            description="401 `invalid_credentials` when `current_password` is wrong; 422 when "
            "`new_password` is weak (the registration rules). Every token issued before the "
            "change stops working, the caller's included: log in again with the new password.",
        )
    }
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
