"""Registration, login, token refresh, logout and password change.

Each login starts a token family (`fam`). A refresh swaps the family's one current refresh
token for a new pair; presenting a refresh token the family has already moved past means it
was copied, so the whole family is revoked. Logout revokes the caller's family; a password
change revokes every family of the account and refuses anything issued before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import CalendarToken, RevokedToken, TokenFamily, User
from models.base import utcnow
from server.auth.tokens import TokenPair, TokenService, claim_expiry, issued_at
from server.services import audit
from server.services.errors import AuthenticationFailed, Conflict
from server.unit_of_work import access_changed


class RefreshTokenReused(AuthenticationFailed):
    """A refresh token its family has already rotated past: the caller revokes the family
    (in a transaction of its own, so the revocation is kept) and answers 401."""

    def __init__(self, family_id: str, user_id: int) -> None:
        super().__init__(
            "this refresh token has already been used; the session has been ended",
            code="token_revoked",
        )
        self.family_id = family_id
        self.user_id = user_id


def _revoked() -> AuthenticationFailed:
    return AuthenticationFailed("this token has been revoked", code="token_revoked")


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


async def register(
    session: AsyncSession, *, email: str, display_name: str, password_hash: str
) -> User:
    """A new account, audited as its own act."""
    user = await create_user(
        session, email=email, display_name=display_name, password_hash=password_hash
    )
    audit.record(session, "user.register", "user", user.id, actor_id=user.id)
    return user


def finish_login(
    session: AsyncSession, tokens: TokenService, user: User | None, email: str, *, ok: bool
) -> TokenPair | None:
    """After the password check: a new token family for a success, an audited failure
    (naming the account when there is one) otherwise."""
    if ok and user is not None:
        audit.record(session, "user.login", "user", user.id, actor_id=user.id)
        return start_family(session, tokens, user.id)
    target = user.id if user else None
    audit.record(session, "user.login_failed", "user", target, {"email": email})
    return None


async def end_reused_family(session: AsyncSession, reuse: RefreshTokenReused) -> None:
    """A copied refresh token: the whole family ends, and the reuse is audited."""
    await revoke_families(session, "reuse", family_id=reuse.family_id)
    audit.record(session, "user.token_reuse", "user", reuse.user_id, {"family": reuse.family_id})


async def revoke(session: AsyncSession, jti: str, expires_at: datetime) -> None:
    if await session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))
        access_changed(session)
        await session.flush()


async def _live_user(session: AsyncSession, claims: dict[str, Any], *id_claims: str) -> User:
    """The token's user, if the token is still live. One query by primary keys: the user row
    plus whether its family is unrevoked (or, for a token from before families existed,
    whether none of its `id_claims` is on the revoked list)."""
    family_id = claims.get("fam")
    live: ColumnElement[bool]
    if family_id is not None:
        live = exists().where(
            TokenFamily.id == family_id,
            TokenFamily.user_id == User.id,
            TokenFamily.revoked_at.is_(None),
        )
    else:
        ids = [claims[name] for name in id_claims if claims.get(name)]
        live = ~exists().where(RevokedToken.jti.in_(ids))
    row = (await session.execute(select(User, live).where(User.id == int(claims["sub"])))).first()
    if row is None:
        raise AuthenticationFailed("the account no longer exists", code="invalid_token")
    user, is_live = row
    if not is_live:
        raise _revoked()
    valid_after = user.tokens_valid_after
    if valid_after is not None and issued_at(claims) < valid_after.timestamp():
        raise _revoked()
    return user


async def user_for_access_token(
    session: AsyncSession, tokens: TokenService, token: str
) -> tuple[User, dict[str, Any]]:
    claims = tokens.decode(token, "access")
    return await _live_user(session, claims, "jti", "sid"), claims


def start_family(session: AsyncSession, tokens: TokenService, user_id: int) -> TokenPair:
    """A login: a new family and its first pair (stored when the unit of work commits)."""
    pair = tokens.issue_pair(user_id)
    session.add(
        TokenFamily(
            id=pair.family,
            user_id=user_id,
            refresh_jti=pair.refresh_jti,
            expires_at=pair.expires_at,
        )
    )
    return pair


async def rotate_refresh_token(
    session: AsyncSession, tokens: TokenService, refresh_token: str
) -> tuple[User, TokenPair]:
    """A new pair for the family's current refresh token; that token stops working at once.
    Raises RefreshTokenReused for a token the family has already rotated past."""
    claims = tokens.decode(refresh_token, "refresh")
    family_id = claims.get("fam")
    if family_id is None:
        # Issued before families existed: no way to tell reuse from use. Sign in again.
        raise AuthenticationFailed("this refresh token is no longer accepted; sign in again")
    user = await _live_user(session, claims, "jti")
    pair = tokens.issue_pair(user.id, family=family_id)
    # Compare-and-swap: of two concurrent uses of one token, exactly one matches.
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(TokenFamily)
            .where(
                TokenFamily.id == family_id,
                TokenFamily.refresh_jti == claims["jti"],
                TokenFamily.revoked_at.is_(None),
            )
            .values(refresh_jti=pair.refresh_jti, expires_at=pair.expires_at)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise RefreshTokenReused(family_id, user.id)
    return user, pair


async def revoke_families(
    session: AsyncSession, reason: str, *, family_id: str | None = None, user_id: int | None = None
) -> None:
    """Revoke one family, or every family of a user; already revoked ones keep their reason."""
    criteria: list[ColumnElement[bool]] = [TokenFamily.revoked_at.is_(None)]
    if family_id is not None:
        criteria.append(TokenFamily.id == family_id)
    if user_id is not None:
        criteria.append(TokenFamily.user_id == user_id)
    if len(criteria) == 1:
        raise ValueError("name a family or a user")
    access_changed(session)
    await session.execute(
        update(TokenFamily)
        .where(*criteria)
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )


async def logout(
    session: AsyncSession, tokens: TokenService, user: User, claims: dict[str, Any]
) -> None:
    """The access token and its refresh token stop working: their whole family ends."""
    audit.record(session, "user.logout", "user", user.id)
    if claims.get("fam"):
        await revoke_families(session, "logout", family_id=claims["fam"])
        return
    await revoke(session, claims["jti"], claim_expiry(claims))
    if claims.get("sid"):
        refresh_expiry = utcnow() + timedelta(seconds=tokens.refresh_ttl)
        await revoke(session, claims["sid"], refresh_expiry)


async def change_password(session: AsyncSession, user_id: int, password_hash: str) -> None:
    """Store the new hash and end every token issued so far: all families are revoked, and
    any token issued (`iat`, whole seconds) before this second is refused from now on."""
    now = utcnow()
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, tokens_valid_after=now.replace(microsecond=0))
        .execution_options(synchronize_session=False)
    )
    await revoke_families(session, "password", user_id=user_id)
    # The calendar feed token too: one made by whoever had the old password must not outlive it.
    await session.execute(delete(CalendarToken).where(CalendarToken.user_id == user_id))
    audit.record(session, "user.password_change", "user", user_id)
