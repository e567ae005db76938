"""The per-process memory of bearer tokens (server/auth/cache.py)."""

from __future__ import annotations

import time

from models import User
from server.auth.cache import AuthCache


def _user() -> User:
    return User(id=7, email="fan@example.com", display_name="Fan", role="user", password_hash="x")


def _claims(seconds_left: float = 600.0) -> dict[str, object]:
    return {"sub": "7", "exp": time.time() + seconds_left}


def test_a_remembered_token_gives_a_fresh_copy_of_its_user_each_time() -> None:
    cache = AuthCache(5.0)
    cache.store("t", _user(), _claims(), cache.begin())
    first, second = cache.get("t"), cache.get("t")
    assert first is not None and second is not None
    assert first[0] is not second[0]  # no ORM object shared between requests
    assert (first[0].id, first[0].role, first[0].email) == (7, "user", "fan@example.com")


def test_an_answer_read_before_an_access_change_is_not_kept() -> None:
    cache = AuthCache(5.0)
    began = cache.begin()
    cache.clear()  # a sign-out committed while the token was being checked
    cache.store("t", _user(), _claims(), began)
    assert cache.get("t") is None
    cache.store("t", _user(), _claims(), cache.begin())
    cache.clear()
    assert cache.get("t") is None


def test_a_token_is_remembered_no_longer_than_the_ttl_or_its_own_expiry() -> None:
    short_ttl = AuthCache(0.05)
    short_ttl.store("t", _user(), _claims(), short_ttl.begin())
    assert short_ttl.get("t") is not None
    time.sleep(0.06)
    assert short_ttl.get("t") is None

    expiring = AuthCache(60.0)
    expiring.store("t", _user(), _claims(seconds_left=0.05), expiring.begin())
    time.sleep(0.06)
    assert expiring.get("t") is None
    expiring.store("gone", _user(), _claims(seconds_left=-1), expiring.begin())
    assert expiring.get("gone") is None


def test_off_remembers_nothing_and_the_memory_is_bounded() -> None:
    off = AuthCache(0.0)
    off.store("t", _user(), _claims(), off.begin())
    assert off.get("t") is None
    small = AuthCache(5.0, max_tokens=3)
    for n in range(5):
        small.store(f"t{n}", _user(), _claims(), small.begin())
    assert len(small) == 3
    assert small.get("t0") is None and small.get("t4") is not None
