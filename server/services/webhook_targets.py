"""The SSRF rule at subscribe time: the URL's form, then every address its host resolves to
(resolved in the blocking runner, off the event loop). Delivery checks again, on its own
resolution (workers/webhooks.py): a host may resolve elsewhere later."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from models.domain.webhooks import addresses_refusal, url_refusal
from server.blocking import BlockingRunner
from server.services.errors import InvalidInput


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []  # refused below as "no address"
    return [str(info[4][0]) for info in infos]


async def check_target(runner: BlockingRunner, url: str, *, any_url: bool) -> None:
    """InvalidInput (422 on `url`) when deliveries to `url` would be refused."""
    reason = url_refusal(url, any_url=any_url)
    if reason is None and not any_url:
        parts = urlsplit(url)
        host = parts.hostname or ""
        addresses = await runner.run(_resolve, host, parts.port or 443)
        reason = addresses_refusal(addresses)
        if reason == "the host has no address":
            reason = f"cannot resolve {host}"
    if reason is not None:
        raise InvalidInput("the webhook URL is not allowed", details={"url": [reason]})
