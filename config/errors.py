"""Sentry, the error tracker: set up only when SENTRY_DSN is set.

Unhandled errors of request handlers (Tornado integration, and the ERROR log line
server/base.py writes for them: logging integration), of tasks (Celery integration) and
failing SQL (SQLAlchemy integration: the statement as a breadcrumb) become events tagged with
the release and environment, and with the request id, task id and trace id of the work they
broke, so an event leads to the log lines and the trace. No personal data by default.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from config.logging import log_context
from config.redaction import redact_query
from config.settings import Settings
from config.tracing import current_trace_id

if TYPE_CHECKING:
    from sentry_sdk.types import Event

log = logging.getLogger("matchday.errors")
# Lines that only repeat an error already sent with its exception.
QUIET_LOGGERS = ("tornado.access", "tornado.application")


def release(settings: Settings) -> str:
    if settings.sentry_release:
        return settings.sentry_release
    try:
        return f"matchday@{version('matchday')}"
    except PackageNotFoundError:  # pragma: no cover — run from a tree that is not installed
        return "matchday@unknown"


def setup_sentry(settings: Settings, role: str) -> bool:
    """Report this process's errors (`role`: api, worker, beat) if SENTRY_DSN is set."""
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration
    from sentry_sdk.integrations.tornado import TornadoIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        release=release(settings),
        environment=settings.sentry_environment,
        send_default_pii=settings.sentry_send_default_pii,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        integrations=[
            TornadoIntegration(),
            CeleryIntegration(),
            SqlalchemyIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        before_send=_with_context if settings.sentry_send_default_pii else _without_addresses,
    )
    sentry_sdk.set_tag("process", role)
    for name in QUIET_LOGGERS:
        ignore_logger(name)
    log.info("error reporting on", extra={"environment": settings.sentry_environment})
    return True


def tag_errors(**tags: str | None) -> None:
    """Tags for the errors captured in the current scope (a task's: Sentry's Celery
    integration captures outside the task's log context). Nothing when Sentry is off."""
    import sentry_sdk

    if sentry_sdk.get_client().is_active():
        for key, value in tags.items():
            if value is not None:
                sentry_sdk.set_tag(key, value)


def _with_context(event: Event, _hint: dict[str, Any]) -> Event:
    """Tags from the work under way where the error was captured: request id, task id and
    the trace id (the same fields the log lines carry)."""
    tags = event.setdefault("tags", {})
    for key, value in (log_context.get() or {}).items():
        if value is not None and key in ("request_id", "task_id", "task", "trace_id"):
            tags.setdefault(key, str(value))
    trace_id = current_trace_id()
    if trace_id:
        tags.setdefault("trace_id", trace_id)
    request = event.get("request")
    if isinstance(request, dict):  # a feed token or an access token in the query string
        for key in ("query_string", "url"):
            value = request.get(key)
            if isinstance(value, str):
                request[key] = redact_query(value)
    return event


def _without_addresses(event: Event, hint: dict[str, Any]) -> Event:
    """send_default_pii off: the Tornado integration still sends the client's address
    (request.env.REMOTE_ADDR, sentry-sdk 2.75); drop it, and any user address."""
    event = _with_context(event, hint)
    env = (event.get("request") or {}).get("env")
    if isinstance(env, dict):
        env.pop("REMOTE_ADDR", None)
    user = event.get("user")
    if isinstance(user, dict):
        user.pop("ip_address", None)
    return event
