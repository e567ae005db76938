"""Outbound webhooks, the pure rules: which live events a subscription wants, how a delivery
is signed, when a failed one is tried again, and which targets may be called (SSRF).

No I/O here: the server (at subscribe time) and the delivery task (at delivery time) resolve
the host themselves and ask `address_refusal` about every address they got.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

# The live event kinds (API.md, "Live stream"), and `final`: only `score` events of games
# that ended.
EVENT_TYPES = ("score", "final", "correction", "standings", "game")
DUE = ("pending", "retrying")  # waiting for an attempt
STATUSES = ("pending", "delivering", "retrying", "delivered", "dead")
SIGNATURE_HEADER = "Matchday-Signature"
EVENT_HEADER = "Matchday-Event"
DELIVERY_HEADER = "Matchday-Delivery"


def wants(event_types: Iterable[str], kind: str, status: str | None) -> bool:
    """Whether a subscription to `event_types` gets a live event of `kind` (`status`: the
    game's status, for `score` events)."""
    chosen = set(event_types)
    if kind in chosen:
        return True
    return kind == "score" and status == "final" and "final" in chosen


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.<body>` under the subscription's secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def retry_delay(attempts: int, base: float, cap: float, uniform: Callable[[float], float]) -> float:
    """Exponential backoff with full jitter: after the `attempts`-th failure, a delay drawn
    by `uniform(limit)` (in [0, limit]) with limit = min(cap, base * 2 ** (attempts - 1)).
    Full jitter spreads the retries of many deliveries that failed together."""
    limit = min(cap, base * 2 ** max(0, min(attempts - 1, 60)))
    return float(max(0.0, min(limit, uniform(limit))))


def url_refusal(url: str, *, any_url: bool) -> str | None:
    """Why `url` cannot be a webhook target, or None. Outside `any_url` mode: https only."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "use an http(s) URL with a host"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not allowed"
    if port == 0:
        return "not a valid port"
    if not any_url and parts.scheme != "https":
        return "only https URLs are allowed"
    return None


def address_refusal(address: str) -> str | None:
    """Why a resolved address may not be called (private, loopback, link-local, reserved,
    multicast or unspecified), or None for a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    ):
        return f"{ip} is not a public address"
    return None


def addresses_refusal(addresses: Iterable[str]) -> str | None:
    """The first refusal among every address a host resolved to: one private address is
    enough to refuse (the connection may pick any of them)."""
    found = list(addresses)
    if not found:
        return "the host has no address"
    for address in found:
        if reason := address_refusal(address):
            return reason
    return None
