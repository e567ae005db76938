"""Types and parsers of the rate-limit and proxy settings (RATE_LIMITS, TRUSTED_PROXIES).

``RATE_LIMITS`` is a compact list of ``name:count/seconds`` entries; names not listed keep their
defaults, and ``name:off`` turns one limit off. ``TRUSTED_PROXIES`` is a list of CIDR blocks.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, fields, replace

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Rate:
    """At most ``count`` requests in any ``seconds`` (a sliding window)."""

    count: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}"


@dataclass(frozen=True)
class RateLimits:
    """Every limit by name; None is off. The subject each one counts is in docs/security.md."""

    ip: Rate | None = Rate(2400, 60)  # every request from one client address
    user: Rate | None = Rate(1200, 60)  # every authenticated request of one user
    auth: Rate | None = Rate(60, 60)  # register, login, refresh from one address
    write: Rate | None = Rate(600, 60)  # POST/PUT/PATCH/DELETE of one user (or address)
    sse_connect: Rate | None = Rate(60, 60)  # live-stream connects from one address
    analytics: Rate | None = Rate(60, 60)  # analytics questions from one address
    failed_login_ip: Rate | None = Rate(10, 900)  # failed logins from one address
    failed_login_account: Rate | None = Rate(10, 900)  # failed logins for one email

    def __str__(self) -> str:
        return ",".join(f"{f.name}:{getattr(self, f.name) or 'off'}" for f in fields(self))


DEFAULT_RATE_LIMITS = RateLimits()
LIMIT_NAMES = tuple(f.name for f in fields(RateLimits))
_ENTRY = re.compile(r"^([a-z_]+):(?:(off)|([0-9]+)/([0-9]*\.?[0-9]+))$")


def parse_rate_limits(raw: str) -> RateLimits:
    """``ip:600/60,auth:off`` → the defaults with those two replaced."""
    changes: dict[str, Rate | None] = {}
    for entry in re.split(r"[,\s]+", raw.strip()):
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if not match:
            raise ValueError(f"{entry!r} is not `name:count/seconds` or `name:off`")
        name, off, count, seconds = match.groups()
        if name not in LIMIT_NAMES:
            raise ValueError(f"unknown limit {name!r}; known: {', '.join(LIMIT_NAMES)}")
        if name in changes:
            raise ValueError(f"limit {name!r} is listed twice")
        if off:
            changes[name] = None
            continue
        rate = Rate(int(count), float(seconds))
        if rate.count < 1 or not 0.01 <= rate.seconds <= 86_400:
            raise ValueError(f"{entry!r}: count must be ≥ 1 and seconds 0.01-86400")
        changes[name] = rate
    return replace(DEFAULT_RATE_LIMITS, **changes)  # type: ignore[arg-type]


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("use true or false")


def parse_networks(raw: str) -> tuple[IpNetwork, ...]:
    """``10.0.0.0/8, 192.168.1.7, fd00::/8`` → networks (a bare address is a /32 or /128)."""
    networks: list[IpNetwork] = []
    for entry in re.split(r"[,\s]+", raw.strip()):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an address or CIDR block ({exc})") from exc
    return tuple(networks)
