"""`matchday worker --metrics-port P`: the worker's metrics on a port of its own.

Served from the supervising parent (workers/supervise.py), which outlives any restart of the
Celery process, in multiprocess mode: the Celery main process and each pool process write
their files to this run's directory and a scrape sums them (config/prometheus.py). Each
queue's depth is read from the broker at scrape time. The same rule as the server's
/metrics: METRICS_TOKEN's bearer token when set, else loopback clients only.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.prometheus import exposition, registry, scrape_allowed
from config.settings import Settings
from workers.celery_app import QUEUES

log = logging.getLogger("matchday.worker.metrics")
REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


class QueueDepthCollector(Collector):
    """`matchday_celery_queue_length{queue}`: tasks waiting in each queue's Redis list, and
    `matchday_celery_broker_up`: whether the broker answered this scrape."""

    def __init__(self, redis_url: str, prefix: str, queues: Iterable[str] = QUEUES) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix, self.queues = prefix, tuple(queues)

    def describe(self) -> list[Any]:
        return []  # nothing to read at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "matchday_celery_queue_length", "Tasks waiting in each Celery queue", labels=["queue"]
        )
        up = GaugeMetricFamily("matchday_celery_broker_up", "1 if the broker answered the scrape")
        try:
            pipe = self.client.pipeline(transaction=False)
            for queue in self.queues:
                pipe.llen(f"{self.prefix}{queue}")
            lengths = pipe.execute()
        except redis.RedisError as exc:
            log.warning("queue depths unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        for queue, length in zip(self.queues, lengths, strict=True):
            depth.add_metric([queue], length)
        up.add_metric([], 1)
        yield depth
        yield up


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def metrics_app(settings: Settings, target: Any) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status = scrape_allowed(
            environ.get("REMOTE_ADDR", ""),
            environ.get("HTTP_AUTHORIZATION", ""),
            settings.metrics_token,
        )
        if status == 200 and environ.get("PATH_INFO") not in ("/metrics", "/"):
            status = 404
        if status != 200:
            body = json.dumps({"error": {"status": status, "message": REASONS[status]}}).encode()
            start_response(f"{status} {REASONS[status]}", [("Content-Type", "application/json")])
            return [body]
        body, content_type = exposition(target)
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    return app


def start_metrics_server(settings: Settings, host: str, port: int) -> WSGIServer:
    """Serve in a daemon thread of this process; returns the server (its port: server_port)."""
    target = registry(QueueDepthCollector(settings.redis_url, settings.redis_key_prefix))
    server = make_server(
        host, port, metrics_app(settings, target), _ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("worker metrics served", extra={"url": f"http://{host}:{server.server_port}/metrics"})
    return server
