"""GET /metrics for Prometheus: loopback only, unless METRICS_TOKEN is set. Served on the API
port and, with METRICS_PORT, on a port of its own (server/metrics_port.py). With
`--processes N` one scrape is the sum of every process (config/prometheus.py)."""

from __future__ import annotations

from config.prometheus import exposition, scrape_allowed
from server.base import BaseHandler
from server.errors import ApiError


class MetricsHandler(BaseHandler):
    public_methods = frozenset({"GET"})

    async def prepare(self) -> None:
        allowed = scrape_allowed(
            self.client_ip,
            self.request.headers.get("Authorization", ""),
            self.application.config.metrics_token,
        )
        if allowed == 401:
            raise ApiError(
                401, "a metrics token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        if allowed == 403:
            raise ApiError(403, "metrics are served to loopback clients only")

    async def get(self) -> None:
        # Reading every process's files takes a few milliseconds: off the loop.
        body, content_type = await self.application.blocking.run(exposition)
        self.set_header("Content-Type", content_type)
        self.finish(body)


routes = [
    (r"/metrics", MetricsHandler),
]
