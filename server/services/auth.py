"""Registration, login, token refresh and logout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import RevokedToken, User
from server.auth.tokens import TokenPair, TokenService, claim_expiry
from server.services.errors import AuthenticationFailed, Conflict


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def create_user(
    session: AsyncSession, *, email: str, display_name: str, password_hash: str, role: str = "user"
) -> User:
    if await find_user_by_email(session, email) is not None:
        raise Conflict("an account with this email already exists", code="email_taken")
    user = User(email=email, display_name=display_name, password_hash=password_hash, role=role)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("an account with this email already exists", code="email_taken") from exc
    return user


async def is_revoked(session: AsyncSession, *jtis: str) -> bool:
    found = await session.scalar(select(func.count()).where(RevokedToken.jti.in_(jtis)))
    return bool(found)


async def revoke(session: AsyncSession, jti: str, expires_at: datetime) -> None:
    if await session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))
        await session.flush()


async def user_for_access_token(
    session: AsyncSession, tokens: TokenService, token: str
) -> tuple[User, dict[str, Any]]:
    claims = tokens.decode(token, "access")
    if await is_revoked(session, claims["jti"], claims.get("sid", "")):
        raise AuthenticationFailed("this token has been revoked", code="token_revoked")
    user = await session.get(User, int(claims["sub"]))
    if user is None:
        raise AuthenticationFailed("the account no longer exists", code="invalid_token")
    return user, claims


async def rotate_refresh_token(
    session: AsyncSession, tokens: TokenService, refresh_token: str
) -> tuple[User, TokenPair]:
    """A new pair for a valid refresh token; the old one stops working at once."""
    claims = tokens.decode(refresh_token, "refresh")
    if await is_revoked(session, claims["jti"]):
        raise AuthenticationFailed("this refresh token has been used", code="token_revoked")
    user = await session.get(User, int(claims["sub"]))
    if user is None:
        raise AuthenticationFailed("the account no longer exists", code="invalid_token")
    session.add(RevokedToken(jti=claims["jti"], expires_at=claim_expiry(claims)))
    try:
        await session.flush()  # the primary key makes a concurrent second use fail here
    except IntegrityError as exc:
        raise AuthenticationFailed(
            "this refresh token has been used", code="token_revoked"
        ) from exc
    return user, tokens.issue_pair(user.id)


async def logout(session: AsyncSession, tokens: TokenService, claims: dict[str, Any]) -> None:
    await revoke(session, claims["jti"], claim_expiry(claims))
    if claims.get("sid"):
        refresh_expiry = datetime.now(UTC) + timedelta(seconds=tokens.refresh_ttl)
        await revoke(session, claims["sid"], refresh_expiry)
