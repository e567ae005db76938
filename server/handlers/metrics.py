"""GET /metrics for Prometheus: loopback only, unless METRICS_TOKEN is set."""

from __future__ import annotations

import hmac
import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.base import BaseHandler
from server.errors import ApiError


class MetricsHandler(BaseHandler):
    public_methods = frozenset({"GET"})

    async def prepare(self) -> None:
        token = self.application.config.metrics_token
        if token:
            presented = self.request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not hmac.compare_digest(presented.encode(), token.encode()):
                raise ApiError(
                    401, "a metrics token is required", headers={"WWW-Authenticate": "Bearer"}
                )
        elif not _is_loopback(self.client_ip):
            raise ApiError(403, "metrics are served to loopback clients only")

    async def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest())


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


routes = [
    (r"/metrics", MetricsHandler),
]
