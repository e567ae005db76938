"""The pure webhook rules (models/domain/webhooks.py) and the delivery-time SSRF check of
the worker's HTTP attempt (workers/webhooks.py), which resolves on its own."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.webhooks import (
    EVENT_TYPES,
    address_refusal,
    addresses_refusal,
    retry_delay,
    signature,
    signature_header,
    url_refusal,
    wants,
)
from tests.webhook_receiver import Receiver
from workers.webhooks import DeliveryPolicy, Request, send

PRIVATE_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16"]


@given(
    st.sampled_from(PRIVATE_V4).flatmap(
        lambda net: st.integers(0, ipaddress.ip_network(net).num_addresses - 1).map(
            lambda n, net=net: str(ipaddress.ip_network(net)[n])
        )
    )
)
def test_every_private_loopback_or_link_local_v4_address_is_refused(address: str) -> None:
    assert address_refusal(address) is not None
    assert address_refusal(f"::ffff:{address}") is not None  # the IPv4-mapped form too


@pytest.mark.parametrize(
    "address",
    ["::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "0.0.0.0", "::",
     "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1", "not-an-ip"],
)  # fmt: skip
def test_other_non_public_addresses_are_refused(address: str) -> None:
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    assert addresses_refusal(["1.1.1.1", "10.0.0.1"]) == "10.0.0.1 is not a public address"
    assert addresses_refusal([]) == "the host has no address"
    assert addresses_refusal(["1.1.1.1", "8.8.8.8"]) is None


@pytest.mark.parametrize(
    ("url", "any_url", "refused"),
    [
        ("https://hooks.example.org/x", False, False),
        ("http://hooks.example.org/x", False, True),
        ("http://hooks.example.org/x", True, False),
        ("https://u:p@hooks.example.org/x", True, True),
        ("ftp://hooks.example.org/x", True, True),
        ("https:///x", True, True),
        ("https://hooks.example.org:99999/x", True, True),
        ("not a url", True, True),
    ],
)
def test_url_forms(url: str, any_url: bool, refused: bool) -> None:
    assert (url_refusal(url, any_url=any_url) is not None) is refused


@given(st.text(min_size=1), st.integers(0, 2**40), st.binary())
def test_the_signature_is_hmac_sha256_over_timestamp_dot_body(
    secret: str, timestamp: int, body: bytes
) -> None:
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert signature(secret, timestamp, body) == expected.hexdigest()
    assert signature_header(secret, timestamp, body) == f"t={timestamp},v1={expected.hexdigest()}"


@given(
    st.integers(1, 200),
    st.floats(0.01, 100),
    st.floats(0.01, 10_000),
    st.floats(0, 1),
)
def test_backoff_is_full_jitter_under_an_exponential_cap(
    attempts: int, base: float, cap: float, fraction: float
) -> None:
    limit = min(cap, base * 2 ** min(attempts - 1, 60))
    delay = retry_delay(attempts, base, cap, lambda upper: upper * fraction)
    assert 0 <= delay <= limit
    assert delay == pytest.approx(limit * fraction)


def test_the_backoff_doubles_until_the_cap() -> None:
    upper = [retry_delay(n, 10, 100, lambda limit: limit) for n in range(1, 7)]
    assert upper == [10, 20, 40, 80, 100, 100]


@given(st.sets(st.sampled_from(EVENT_TYPES), min_size=1), st.sampled_from(["live", "final"]))
def test_final_is_the_score_events_of_games_that_ended(types: set[str], status: str) -> None:
    assert wants(types, "score", status) == (
        "score" in types or ("final" in types and status == "final")
    )
    for kind in ("correction", "standings", "game"):
        assert wants(types, kind, None) == (kind in types)


# --- at delivery time: the worker's attempt resolves and checks again ------------------------


def test_an_attempt_to_a_private_address_is_refused_before_connecting() -> None:
    strict = DeliveryPolicy(any_url=False, max_attempts=3, retry_base=1, retry_max=1, timeout=2)
    with Receiver().running() as receiver:
        for url in (
            f"https://127.0.0.1:{receiver.port}/in",
            f"https://localhost:{receiver.port}/in",
            receiver.url("/in"),  # http
        ):
            outcome = send(Request(1, url, "s" * 20, "score", b"{}"), strict)
            assert not outcome.ok and outcome.error and outcome.error.startswith("refused: ")
        assert receiver.received == []
        lenient = DeliveryPolicy(any_url=True, max_attempts=3, retry_base=1, retry_max=1, timeout=2)
        assert send(Request(1, receiver.url("/in"), "s" * 20, "score", b"{}"), lenient).ok
        assert len(receiver.received) == 1


def test_a_redirect_is_a_failure_and_never_followed() -> None:
    policy = DeliveryPolicy(any_url=True, max_attempts=3, retry_base=1, retry_max=1, timeout=2)
    with Receiver().running() as receiver:
        receiver.plan("/moved", 307)
        outcome = send(Request(1, receiver.url("/moved"), "s" * 20, "score", b"{}"), policy)
        assert (outcome.ok, outcome.status_code) == (False, 307)
        assert [r.path for r in receiver.received] == ["/moved"]


def test_the_docs_retry_schedule_is_the_defaults() -> None:
    """docs/webhooks.md prints the upper bounds of the waits with the default settings."""
    from pathlib import Path

    from config.settings import SETTING_BY_NAME

    docs = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    base = SETTING_BY_NAME["WEBHOOK_RETRY_BASE_SECONDS"].default
    cap = SETTING_BY_NAME["WEBHOOK_RETRY_MAX_SECONDS"].default
    attempts = SETTING_BY_NAME["WEBHOOK_MAX_ATTEMPTS"].default
    waits = [retry_delay(n, base, cap, lambda limit: limit) for n in range(1, attempts)]
    assert f"retry_delay(n, {base:g}, {cap:g}, lambda limit: limit)" in docs
    assert f"range(1, {attempts})" in docs and f"\n{waits}\n" in docs
