"""Access and refresh JWTs: HS256 only, keys chosen by `kid`, tokens grouped in families.

Every token names the key that signed it (`kid` header) and the login it belongs to (`fam`
claim); an access token also names its refresh token (`sid`). Several keys verify, one signs:
see docs/security.md, "Tokens and key rotation".
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from config.settings import DEFAULT_KID
from server.services.errors import AuthenticationFailed

ALGORITHM = "HS256"
ALLOWED_ALGORITHMS = [ALGORITHM]  # the allow-list: never `none`, never an asymmetric one
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "type"]
ID_CLAIMS = ("jti", "sid", "fam")  # opaque ids, stored in String(64) columns
MAX_ID_LENGTH = 64
MAX_USER_ID = 2**31 - 1


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    access_jti: str
    refresh_jti: str
    family: str
    expires_at: datetime  # when the later of the two expires

    def as_response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


def _invalid(message: str) -> AuthenticationFailed:
    return AuthenticationFailed(message, code="invalid_token")


class TokenService:
    """Signs with ``keys[signing_kid]``; verifies with the key the token's `kid` names.
    A token without `kid` (issued before key ids existed) names the `default` key."""

    def __init__(
        self,
        keys: Mapping[str, str],
        signing_kid: str,
        *,
        issuer: str,
        audience: str,
        access_ttl: int,
        refresh_ttl: int,
    ) -> None:
        if signing_kid not in keys:
            raise ValueError(f"the signing key id {signing_kid!r} is not among the keys")
        self._keys = dict(keys)
        self.signing_kid = signing_kid
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def issue_pair(self, user_id: int, family: str | None = None) -> TokenPair:
        """A new access and refresh token in `family` (a new family when None)."""
        family = family or secrets.token_hex(16)
        refresh_jti = secrets.token_hex(16)
        access_jti = secrets.token_hex(16)
        now = datetime.now(UTC)
        # The access token names its refresh token (`sid`) and both name the family (`fam`).
        access = self._encode(
            user_id, "access", access_jti, now, self.access_ttl, sid=refresh_jti, fam=family
        )
        refresh = self._encode(user_id, "refresh", refresh_jti, now, self.refresh_ttl, fam=family)
        expires_at = now + timedelta(seconds=max(self.access_ttl, self.refresh_ttl))
        return TokenPair(
            access, refresh, self.access_ttl, access_jti, refresh_jti, family, expires_at
        )

    def _encode(
        self, user_id: int, kind: str, jti: str, now: datetime, ttl: int, **extra: Any
    ) -> str:
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
        return jwt.encode(
            claims,
            self._keys[self.signing_kid],
            algorithm=ALGORITHM,
            headers={"kid": self.signing_kid},
        )

    def _verification_key(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _invalid(f"invalid token: {exc}") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise _invalid("the token's algorithm is not allowed")
        kid = header.get("kid", DEFAULT_KID)
        if not isinstance(kid, str) or kid not in self._keys:
            raise _invalid("the token names an unknown key")
        return self._keys[kid]

    def decode(self, token: str, expected_type: str) -> dict[str, Any]:
        """Verified claims of a token of the expected type, or AuthenticationFailed."""
        key = self._verification_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise _invalid(f"invalid token: {exc}") from exc
        if claims.get("type") != expected_type:
            raise _invalid(f"not an {expected_type} token")
        subject = claims["sub"]
        if not (
            isinstance(subject, str)
            and subject.isascii()
            and subject.isdigit()
            and 0 < int(subject) <= MAX_USER_ID
        ):
            raise _invalid("invalid token subject")
        for name in ID_CLAIMS:
            value = claims.get(name)
            if name in claims and not (isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH):
                raise _invalid(f"invalid `{name}` claim")
        return claims


def claim_expiry(claims: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(claims["exp"]), UTC)


def issued_at(claims: dict[str, Any]) -> float:
    return float(claims["iat"])
