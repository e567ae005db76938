"""Who a bearer token belongs to, remembered for a few seconds per process.

Without it every authenticated request opened a unit of work to read the user and check the
token's family (3.2 ms of CPU per request, measured by tests/perf/read_paths_profile.py
--middleware; a third of a score write). A remembered answer is the user's columns as they
were read, handed out as a fresh detached ``User`` per request, so no two requests share an
ORM object.

How long a change to someone's access can go unseen:
- in the process that made it (sign-out, password change, role change, reuse detected):
  never: the unit of work clears the cache after its commit (``clear``), and an answer read
  before that clear is not kept (``begin``/``store``, the read cache's rule);
- in the other processes: until the Redis message that the committing process publishes on
  the auth channel reaches them (milliseconds; server/live/nudges.py), and at worst
  AUTH_CACHE_SECONDS when that message is lost (Redis away).
AUTH_CACHE_SECONDS=0 turns the cache off.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import make_transient_to_detached

from models import User

MAX_TOKENS = 10_000
_COLUMNS = tuple(attribute.key for attribute in User.__mapper__.column_attrs)


@dataclass(frozen=True)
class _Known:
    columns: dict[str, Any]
    claims: dict[str, Any]
    expires: float  # the earlier of the cache's TTL and the token's own expiry (monotonic)


class AuthCache:
    def __init__(self, ttl_seconds: float, max_tokens: int = MAX_TOKENS) -> None:
        self.ttl = ttl_seconds
        self._max = max_tokens
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._clears = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def begin(self) -> int:
        """Call before reading the database: `store` keeps the answer only if no change to
        anyone's access committed meanwhile."""
        return self._clears

    def get(self, token: str) -> tuple[User, dict[str, Any]] | None:
        known = self._known.get(token)
        if known is None:
            return None
        if time.monotonic() >= known.expires:
            del self._known[token]
            return None
        user = User(**known.columns)
        make_transient_to_detached(user)  # as a user read by a session that has closed
        return user, known.claims

    def store(self, token: str, user: User, claims: dict[str, Any], began: int) -> None:
        if not self.enabled or began != self._clears:
            return
        now = time.monotonic()
        lifetime = min(self.ttl, float(claims["exp"]) - time.time())
        if lifetime <= 0:
            return
        columns = {key: getattr(user, key) for key in _COLUMNS}
        self._known[token] = _Known(columns, claims, now + lifetime)
        self._known.move_to_end(token)
        while len(self._known) > self._max:
            self._known.popitem(last=False)

    def clear(self) -> None:
        """Someone's access changed (here, or in another process): forget every answer."""
        self._clears += 1
        self._known.clear()

    def __len__(self) -> int:
        return len(self._known)
