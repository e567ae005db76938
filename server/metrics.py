"""Prometheus metrics, declared once. Names follow <thing>_<unit>; labels are bounded sets."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SSE_CONNECTIONS = Gauge("matchday_sse_connections", "Open SSE connections in this process")
SSE_MESSAGES_SENT = Counter(
    "matchday_sse_messages_sent_total", "SSE messages written to clients (one per client)"
)
SSE_BROADCASTS = Counter("matchday_sse_broadcasts_total", "Stream messages fanned out", ["kind"])
SSE_DELIVERY_LAG = Histogram(
    "matchday_sse_delivery_lag_seconds",
    "From publish (stream id time) to the end of the fan-out to every local client",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SSE_DISCONNECTS = Counter(
    "matchday_sse_disconnects_total", "SSE connections ended, by reason", ["reason"]
)
SSE_REJECTED = Counter(
    "matchday_sse_rejected_total", "SSE connections refused, by reason", ["reason"]
)
SSE_RESUMES = Counter("matchday_sse_resumes_total", "Connections resumed with Last-Event-ID")
SSE_RESETS = Counter(
    "matchday_sse_resets_total", "reset events sent (history expired, stream restarted, bad id)"
)
STREAM_READ_ERRORS = Counter(
    "matchday_stream_read_errors_total", "Failed reads of the event streams (backend down)"
)
OUTBOX_PUBLISHED = Counter("matchday_outbox_published_total", "Live events relayed from the outbox")
RATE_LIMITED = Counter(
    "matchday_rate_limited_total", "Requests refused with 429 by a rate limit, by limit", ["limit"]
)
EVENT_LOOP_LAG = Histogram(
    "matchday_event_loop_lag_seconds",
    "How late the event loop ran a timer (server/loop_lag.py): how long it was kept busy",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENT_LOOP_LAG_MAX = Gauge(
    "matchday_event_loop_lag_max_seconds",
    "The largest event loop lag in the last 10 to 20 seconds",
)
