"""bcrypt hashing; callers run these through the blocking runner, never on the loop."""

from __future__ import annotations

import bcrypt

BCRYPT_MAX_BYTES = 72
# Checked against when the account does not exist, so timing does not reveal which emails exist.
_DUMMY_HASH = bcrypt.hashpw(b"matchday-dummy-password", bcrypt.gensalt(4))


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, password_hash: str | None) -> bool:
    encoded = password.encode()
    if len(encoded) > BCRYPT_MAX_BYTES:
        return False  # bcrypt 5 raises for these; such a password can never have been stored
    target = password_hash.encode() if password_hash else _DUMMY_HASH
    return bcrypt.checkpw(encoded, target) and password_hash is not None
