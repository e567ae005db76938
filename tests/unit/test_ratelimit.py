"""The sliding-window limiter's arithmetic, the in-memory backend, the settings that configure
it, and the client address behind trusted proxies."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.limits import DEFAULT_RATE_LIMITS, Rate, parse_networks, parse_rate_limits
from config.settings import ConfigError, load_settings
from server.proxies import client_address
from server.ratelimit import (
    PEEK,
    REFUND,
    MemoryBackend,
    RateLimited,
    Throttle,
    account_subject,
    address_subject,
    allows,
    rate_limit_headers,
    tighter,
)
from tests.support import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(1_200.0)  # 1200 s: the start of a 10 s and of a 60 s window


@pytest.fixture
def memory(clock: Clock) -> MemoryBackend:
    return MemoryBackend(clock)


FIVE_PER_TEN = Rate(5, 10)


# --- window math -----------------------------------------------------------------------------


def test_allows_up_to_the_limit_then_refuses_without_counting(
    memory: MemoryBackend, clock: Clock
) -> None:
    remaining = []
    for _ in range(5):
        decision = memory.hit_now("k", FIVE_PER_TEN)
        assert decision.allowed
        remaining.append(decision.remaining)
        clock.advance(0.1)
    assert remaining == [4, 3, 2, 1, 0]
    refused = memory.hit_now("k", FIVE_PER_TEN)
    assert not refused.allowed and refused.remaining == 0
    assert refused.limit == 5 and refused.window == 10
    # all five are in this window: one fits again once the next window's weighting frees one
    # slot: at 10 s + 10 * (1 - 4/5) = 12 s from the window start (0.5 s gone already)
    assert refused.retry_after == pytest.approx(11.5, abs=0.002)
    assert refused.reset_after == pytest.approx(9.5, abs=0.002)
    for _ in range(3):
        assert not memory.hit_now("k", FIVE_PER_TEN).allowed  # refusals are not counted


def test_retry_after_is_exact(memory: MemoryBackend, clock: Clock) -> None:
    for _ in range(5):
        memory.hit_now("k", FIVE_PER_TEN)
    wait = memory.hit_now("k", FIVE_PER_TEN).retry_after
    clock.advance(wait - 0.002)
    assert not memory.hit_now("k", FIVE_PER_TEN).allowed
    clock.advance(0.002)
    assert memory.hit_now("k", FIVE_PER_TEN).allowed
    assert not memory.hit_now("k", FIVE_PER_TEN).allowed


def test_the_previous_window_is_weighted_by_its_overlap(
    memory: MemoryBackend, clock: Clock
) -> None:
    clock.advance(9.0)  # late in the first window
    for _ in range(5):
        assert memory.hit_now("k", FIVE_PER_TEN).allowed
    clock.advance(1.0)  # the next window starts: the previous five still weigh 5 * 1.0
    assert not memory.hit_now("k", FIVE_PER_TEN).allowed
    clock.advance(2.0)  # 20% into it: 5 * 0.8 = 4 → exactly one fits
    assert memory.hit_now("k", FIVE_PER_TEN).allowed
    assert not memory.hit_now("k", FIVE_PER_TEN).allowed
    clock.advance(4.0)  # 60%: 5 * 0.4 + 1 = 3 → two more fit
    assert [memory.hit_now("k", FIVE_PER_TEN).allowed for _ in range(3)] == [True, True, False]


def test_full_reset_after_two_windows(memory: MemoryBackend, clock: Clock) -> None:
    for _ in range(5):
        memory.hit_now("k", FIVE_PER_TEN)
    clock.advance(20.0)
    assert [memory.hit_now("k", FIVE_PER_TEN).allowed for _ in range(6)] == [True] * 5 + [False]


def test_keys_and_rates_are_independent(memory: MemoryBackend) -> None:
    for _ in range(5):
        memory.hit_now("a", FIVE_PER_TEN)
    assert not memory.hit_now("a", FIVE_PER_TEN).allowed
    assert memory.hit_now("b", FIVE_PER_TEN).allowed


def test_peek_counts_nothing_and_refund_gives_one_back(memory: MemoryBackend) -> None:
    assert memory.hit_now("k", FIVE_PER_TEN, PEEK).remaining == 5
    assert memory.size == 0  # a peek creates nothing
    for _ in range(5):
        memory.hit_now("k", FIVE_PER_TEN)
    assert not memory.hit_now("k", FIVE_PER_TEN, PEEK).allowed
    memory.hit_now("k", FIVE_PER_TEN, REFUND)
    assert memory.hit_now("k", FIVE_PER_TEN, PEEK).allowed
    assert memory.hit_now("k", FIVE_PER_TEN).allowed
    memory.hit_now("missing", FIVE_PER_TEN, REFUND)
    assert memory.size == 1  # a refund of nothing creates nothing


async def test_reset_forgets_a_key(memory: MemoryBackend) -> None:
    for _ in range(5):
        memory.hit_now("k", FIVE_PER_TEN)
    await memory.reset("k")
    assert memory.hit_now("k", FIVE_PER_TEN).remaining == 4


def test_expired_counters_are_swept(memory: MemoryBackend, clock: Clock) -> None:
    for n in range(100):
        memory.hit_now(f"old-{n}", FIVE_PER_TEN)
    clock.advance(20.0)
    for _ in range(1024):
        memory.hit_now("fresh", Rate(10_000, 10))
    assert memory.size == 1


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=0.6), min_size=1, max_size=60),
    limit=st.integers(min_value=1, max_value=8),
)
def test_never_more_than_the_limit(gaps: list[float], limit: int) -> None:
    """At most `limit` in any fixed window; in any sliding span of one window, fewer than
    twice the limit (the weighting assumes the previous window's requests were spread out: a
    burst at its very end is the worst case, limit + previous * elapsed share)."""
    clock = Clock(0.0)
    memory = MemoryBackend(clock)
    allowed: list[int] = []  # milliseconds
    for gap in gaps:
        clock.advance(gap)
        if memory.hit_now("k", Rate(limit, 1)).allowed:
            allowed.append(int(clock.now * 1000))
    per_window: dict[int, int] = {}
    for ms in allowed:
        per_window[ms // 1000] = per_window.get(ms // 1000, 0) + 1
    assert max(per_window.values()) <= limit
    for start in allowed:
        assert sum(1 for ms in allowed if start <= ms < start + 1000) < 2 * limit


def test_allows_is_exact_at_the_boundary() -> None:
    # previous 4 weighted by 750/1000 = 3, plus 1 current, plus 1 new = 5 ≤ 5
    assert allows(5, 1000, 250, 1, 4, 1)
    assert not allows(5, 1000, 249, 1, 4, 1)


# --- what handlers see -----------------------------------------------------------------------


def test_headers_of_an_allowed_and_a_refused_request(memory: MemoryBackend) -> None:
    allowed = memory.hit_now("k", Rate(1, 60))
    assert rate_limit_headers(allowed) == {
        "RateLimit-Limit": "1",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "60",
        "RateLimit-Policy": "1;w=60",
    }
    refused = rate_limit_headers(memory.hit_now("k", Rate(1, 60)))
    assert refused["Retry-After"] == refused["RateLimit-Reset"] == "120"


def test_the_tightest_decision_is_reported(memory: MemoryBackend) -> None:
    loose = memory.hit_now("a", Rate(100, 60))
    tight = memory.hit_now("b", Rate(3, 60))
    assert tighter(tighter(None, loose), tight) is tight
    assert tighter(tight, loose) is tight


async def test_throttle_raises_and_skips_limits_that_are_off(memory: MemoryBackend) -> None:
    throttle = Throttle(memory, parse_rate_limits("ip:2/60,user:off"))
    assert (await throttle.check("ip", "1.2.3.4")) is not None
    await throttle.check("ip", "1.2.3.4")
    with pytest.raises(RateLimited) as refused:
        await throttle.check("ip", "1.2.3.4")
    assert refused.value.name == "ip" and refused.value.decision.retry_after > 0
    assert await throttle.check("user", "7") is None
    assert await Throttle(None, DEFAULT_RATE_LIMITS).check("ip", "1.2.3.4") is None


async def test_login_reservations(memory: MemoryBackend) -> None:
    limits = parse_rate_limits("failed_login_ip:4/900,failed_login_account:2/900")
    throttle = Throttle(memory, limits)
    first = await throttle.begin_login("10.0.0.1", "Ann@Example.com")
    first.failed()
    second = await throttle.begin_login("10.0.0.1", "ann@example.com ")  # same account
    await second.succeeded()  # clears the account, gives the address its charge back
    for _ in range(2):
        (await throttle.begin_login("10.0.0.1", "ann@example.com")).failed()
    with pytest.raises(RateLimited) as refused:  # the account is out of failures...
        await throttle.begin_login("10.0.0.1", "ann@example.com")
    assert refused.value.name == "failed_login_account"
    # ...and the address, charged for 3 failures, got its charge back for that refusal
    (await throttle.begin_login("10.0.0.1", "bob@example.com")).failed()
    with pytest.raises(RateLimited) as refused:
        await throttle.begin_login("10.0.0.1", "bob@example.com")
    assert refused.value.name == "failed_login_ip"
    abandoned = await throttle.begin_login("10.0.0.2", "carol@example.com")
    await abandoned.abandon()  # neither success nor failure (a 5xx): both charges returned
    carol = f"failed_login_account:{account_subject('carol@example.com')}"
    assert memory.hit_now(carol, Rate(2, 900), PEEK).remaining == 2
    assert memory.hit_now("failed_login_ip:10.0.0.2", Rate(3, 900), PEEK).remaining == 3


def test_subjects() -> None:
    assert address_subject("203.0.113.9") == "203.0.113.9"
    assert address_subject("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_subject("::ffff:203.0.113.9") == "203.0.113.9"
    assert address_subject("") == "unknown"
    assert account_subject("A@B.example") == account_subject(" a@b.example")
    assert "@" not in account_subject("a@b.example")


# --- settings --------------------------------------------------------------------------------


def test_rate_limits_setting_overrides_only_what_it_names() -> None:
    limits = parse_rate_limits("ip:10/1.5, auth:off")
    assert limits.ip == Rate(10, 1.5) and limits.auth is None
    assert limits.user == DEFAULT_RATE_LIMITS.user
    assert limits.failed_login_account == Rate(10, 900)  # the contract: 10 in 15 minutes
    assert parse_rate_limits(str(DEFAULT_RATE_LIMITS)) == DEFAULT_RATE_LIMITS


@pytest.mark.parametrize(
    "raw", ["ip", "ip:10", "ip:0/60", "ip:10/0", "nope:1/1", "ip:1/1,ip:2/2", "ip:-1/60"]
)
def test_bad_rate_limits_are_refused(raw: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RATE_LIMITS"):
        load_settings({"DATA_DIR": str(tmp_path), "RATE_LIMITS": raw})


def test_settings_defaults_and_switch(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    assert settings.rate_limit_enabled and settings.rate_limits == DEFAULT_RATE_LIMITS
    assert settings.trusted_proxies == ()
    off = load_settings({"DATA_DIR": str(tmp_path), "RATE_LIMIT_ENABLED": "false"})
    assert not off.rate_limit_enabled
    with pytest.raises(ConfigError, match="RATE_LIMIT_ENABLED"):
        load_settings({"DATA_DIR": str(tmp_path), "RATE_LIMIT_ENABLED": "maybe"})


def test_trusted_proxies_setting(tmp_path: Path) -> None:
    assert parse_networks("10.0.0.0/8, 192.168.1.7 fd00::/8") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.7/32"),
        ipaddress.ip_network("fd00::/8"),
    )
    for bad in ("10.0.0.1/8", "proxy.local", "10.0.0.0/33"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
            load_settings({"DATA_DIR": str(tmp_path), "TRUSTED_PROXIES": bad})


# --- client address --------------------------------------------------------------------------

PROXIES = parse_networks("10.0.0.0/8,2001:db8::/32")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.2", [], "10.0.0.2"),  # a proxy that sent no header
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # left part is the client's
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.0.0.9"], "198.51.100.1"),  # two proxies
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1, 10.0.0.9"], "198.51.100.1"),  # repeated header
        ("10.0.0.2", ["10.0.0.7, 10.0.0.9"], "10.0.0.7"),  # only proxies: the farthest one
        ("10.0.0.2", ["6.6.6.6, garbage, 10.0.0.9"], "10.0.0.9"),  # stops at garbage
        ("10.0.0.2", ["198.51.100.1:4711"], "198.51.100.1"),
        ("10.0.0.2", ["[2001:db9::1]:443"], "2001:db9::1"),
        ("::ffff:10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("2001:db8::5", ["::ffff:198.51.100.1"], "198.51.100.1"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"
