"""The client's address behind reverse proxies that are trusted explicitly (TRUSTED_PROXIES).

``X-Forwarded-For`` is a list each proxy appends the address it received from to; anything left
of the proxies we run is written by the client and may be forged. So the header is read only
when the direct peer is a trusted proxy, and from the right: the first address that is not a
trusted proxy is the client. Without trusted proxies the header is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from config.limits import IpNetwork

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(raw: str) -> IpAddress | None:
    """An address as proxies write it (`1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`), or None."""
    value = raw.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: IpAddress, trusted: Sequence[IpNetwork]) -> bool:
    return any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[IpNetwork]) -> str:
    """The client's address: `peer` (the TCP peer) unless it is a trusted proxy; then the
    rightmost `X-Forwarded-For` entry that is not a trusted proxy (`forwarded_for`: every value
    of the header, in order)."""
    if not trusted:
        return peer
    address = parse_address(peer)
    if address is None or not is_trusted(address, trusted):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        parsed = parse_address(hop)
        if parsed is None:
            break  # garbage from a proxy: stop at the last address we could read
        address = parsed
        if not is_trusted(address, trusted):
            break
    return str(address)
