"""Access and refresh JWTs: short-lived access, rotating refresh, both revocable by id."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from server.services.errors import AuthenticationFailed

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "type"]


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    access_jti: str
    refresh_jti: str

    def as_response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


class TokenService:
    def __init__(
        self, secret: str, *, issuer: str, audience: str, access_ttl: int, refresh_ttl: int
    ) -> None:
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def issue_pair(self, user_id: int) -> TokenPair:
        refresh_jti = secrets.token_hex(16)
        access_jti = secrets.token_hex(16)
        # The access token names its refresh token (`sid`) so logout can revoke both.
        access = self._encode(user_id, "access", access_jti, self.access_ttl, sid=refresh_jti)
        refresh = self._encode(user_id, "refresh", refresh_jti, self.refresh_ttl)
        return TokenPair(access, refresh, self.access_ttl, access_jti, refresh_jti)

    def _encode(self, user_id: int, kind: str, jti: str, ttl: int, **extra: Any) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "type": kind,
            "jti": jti,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=ttl),
            **extra,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str, expected_type: str) -> dict[str, Any]:
        """Verified claims of a token of the expected type, or AuthenticationFailed."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"invalid token: {exc}", code="invalid_token") from exc
        if claims.get("type") != expected_type:
            raise AuthenticationFailed(f"not an {expected_type} token", code="invalid_token")
        if not str(claims["sub"]).isdigit():
            raise AuthenticationFailed("invalid token subject", code="invalid_token")
        return claims


def claim_expiry(claims: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(claims["exp"]), UTC)
