"""METRICS_PORT: /metrics on a port of its own, so that the API port need not serve it
(a NetworkPolicy or firewall then keeps the metrics port inside the cluster). The same
handler, the same token/loopback rule; every other path is a 404."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tornado.web
from tornado import httputil

from server.access_log import log_request, route_template
from server.base import NotFoundHandler
from server.handlers.metrics import routes

if TYPE_CHECKING:
    from server.app import MatchdayApp


class MetricsApp(tornado.web.Application):
    """Shares the main application's settings, rate-limit state and blocking runner."""

    def __init__(self, main: MatchdayApp) -> None:
        self.config = main.config
        self.throttle = main.throttle
        self.blocking = main.blocking
        self.route_templates: dict[type[tornado.web.RequestHandler], str] = {
            handler: route_template(path) for path, handler in routes
        }
        super().__init__(routes, default_handler_class=NotFoundHandler, log_function=log_request)

    def get_handler_delegate(  # type: ignore[override]
        self,
        request: httputil.HTTPServerRequest,
        target_class: type[tornado.web.RequestHandler],
        *args: Any,
        **kwargs: Any,
    ) -> httputil.HTTPMessageDelegate:
        request.route_template = self.route_templates.get(target_class, "unmatched")  # type: ignore[attr-defined]
        return super().get_handler_delegate(request, target_class, *args, **kwargs)
