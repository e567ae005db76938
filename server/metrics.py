"""Prometheus metrics of the server process, declared once. Names follow <thing>_<unit>;
labels are bounded sets (route templates, never raw paths or ids; SSE spectators per event
only for each process's top events).

Gauges say how they add up across `serve --processes N` (prometheus-client's multiprocess
mode, config/prometheus.py): `livesum` sums the live processes, `livemax` takes the largest.
The database metrics live in models/metrics.py, the task metrics in workers/metrics.py.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# --- HTTP (server/access_log.py) -----------------------------------------------------------

# 5 ms to 500 ms resolved finely (the p95 target is 200 ms), then coarse up to 10 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10)
SIZE_BUCKETS = (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000)

HTTP_REQUESTS = Counter(
    "matchday_http_requests_total",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "matchday_http_request_duration_seconds",
    "Time from the request's arrival to its last byte, by method and route template "
    "(live streams excluded: they last as long as the spectator watches)",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
HTTP_RESPONSE_SIZE = Histogram(
    "matchday_http_response_size_bytes",
    "Response body sizes, by method and route template (live streams excluded)",
    ["method", "route"],
    buckets=SIZE_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "matchday_http_requests_in_flight",
    "Requests being served now, the scrape's own included (live streams excluded: see "
    "matchday_sse_connections)",
    multiprocess_mode="livesum",
)
SLOW_REQUESTS = Counter(
    "matchday_http_slow_requests_total",
    "Requests slower than SLOW_REQUEST_MS (each also logged with its timings), by route",
    ["route"],
)

# --- live streams (server/live/hub.py) ------------------------------------------------------

SSE_CONNECTIONS = Gauge(
    "matchday_sse_connections", "Open SSE connections", multiprocess_mode="livesum"
)
SSE_SPECTATORS = Gauge(
    "matchday_sse_spectators",
    "Open SSE connections of each process's 10 most watched league events (refreshed "
    "every second), by event id",
    ["event"],
    multiprocess_mode="livesum",
)
SPECTATOR_TOP_EVENTS = 10
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
# Every process's relay reads the same table: the largest (latest) reading is the backlog.
OUTBOX_PENDING = Gauge(
    "matchday_outbox_pending",
    "Outbox entries waiting to be published after the relay's last pass (0 when it caught up; "
    "grows while the streams backend is down)",
    multiprocess_mode="livemax",
)
RATE_LIMITED = Counter(
    "matchday_rate_limited_total", "Requests refused with 429 by a rate limit, by limit", ["limit"]
)

# --- the event loop (server/loop_lag.py) ----------------------------------------------------

EVENT_LOOP_LAG = Histogram(
    "matchday_event_loop_lag_seconds",
    "How late the event loop ran a timer (server/loop_lag.py): how long it was kept busy",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENT_LOOP_LAG_MAX = Gauge(
    "matchday_event_loop_lag_max_seconds",
    "The largest event loop lag in the last 10 to 20 seconds (the worst process)",
    multiprocess_mode="livemax",
)

# --- business (server/services/) ------------------------------------------------------------

SCORES_RECORDED = Counter(
    "matchday_scores_recorded_total", "Scores posted by scorekeepers (replays not counted)"
)
GAMES_FINISHED = Counter("matchday_games_finished_total", "Games that became final")
CORRECTIONS = Counter("matchday_corrections_total", "Final scores corrected by an admin")
EVENTS_CREATED = Counter("matchday_events_created_total", "League events created")
