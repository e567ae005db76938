"""OpenTelemetry set-up: only when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Off (the default) nothing here runs: no SDK, no exporter thread, no instrumentation; the
API's calls in ``config.tracing`` stay no-ops. On, one tracer provider per process (each
`serve --processes` child, each worker) exports batches over OTLP/HTTP, and the libraries'
own instrumentations make the spans: Tornado (one server span per request), SQLAlchemy (each
statement), Redis (each command), Celery (the publish, and the run in the worker, joined by
the message headers). A trace begins only where work comes in (a request, a task without a
parent, a scheduled publish): a background loop's SQL or Redis call with no trace to join is
not recorded, so the relay's sweep and the stream reader's XREAD do not flood the collector.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from config.logging import install_trace_ids
from config.redaction import redact_query
from config.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Link, SpanKind
    from opentelemetry.util.types import Attributes

log = logging.getLogger("matchday.telemetry")
ROLES = ("api", "worker", "beat")
# Probes and scrapes every few seconds would be most of the traces and tell nothing.
UNTRACED_URLS = "/healthz,/readyz,/metrics"
# Where the HTTP instrumentations keep a query string (old and new semantic conventions):
# redacted of credentials (config/redaction.py).
URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")


def setup_tracing(
    settings: Settings, role: str, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Trace this process (`role`: api, worker or beat) if an endpoint (or, in tests, an
    exporter) is given; returns the provider, or None when tracing is off."""
    if exporter is None and not settings.otel_exporter_otlp_endpoint:
        return None
    from opentelemetry import trace

    provider = _provider(settings, role, exporter)
    trace.set_tracer_provider(provider)
    install_trace_ids()
    instrument(role)
    log.info(
        "tracing on",
        extra={
            "endpoint": settings.otel_exporter_otlp_endpoint or "(test exporter)",
            "sample_ratio": settings.trace_sample_ratio,
        },
    )
    return provider


def _provider(settings: Settings, role: str, exporter: SpanExporter | None) -> TracerProvider:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased

    resource = Resource.create({"service.name": f"{settings.otel_service_name}-{role}"})
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(root=entry_sampler(settings.trace_sample_ratio))
    )
    provider.add_span_processor(redacting_processor())
    if exporter is not None:  # tests read spans as soon as they end
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = f"{settings.otel_exporter_otlp_endpoint}/v1/traces"
        # Batches leave from a thread of their own; after a fork (prefork workers) the SDK
        # starts that thread again in the child.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def redacting_processor() -> Any:
    """A span processor that redacts secret query parameters from a server span's URL
    attributes as the span starts (the instrumentation's own redaction knows only cloud
    signature parameters), before any exporter sees it."""
    from opentelemetry.sdk.trace import Span, SpanProcessor

    class RedactQuery(SpanProcessor):
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            for name in URL_ATTRIBUTES:
                value = (span.attributes or {}).get(name)
                if isinstance(value, str) and "=" in value:
                    span.set_attribute(name, redact_query(value))

    return RedactQuery()


def entry_sampler(ratio: float) -> Any:
    """Root spans: a request, a task or a publish, `ratio` of them; any other root (a
    background loop's query) is dropped. Children follow their parent (ParentBased)."""
    from opentelemetry.sdk.trace.sampling import (
        Decision,
        Sampler,
        SamplingResult,
        TraceIdRatioBased,
    )
    from opentelemetry.trace import SpanKind

    entries = {SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.PRODUCER}
    ratio_sampler = TraceIdRatioBased(ratio)

    class EntrySampler(Sampler):
        def should_sample(
            self,
            parent_context: Context | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            if kind not in entries:
                return SamplingResult(Decision.DROP)
            return ratio_sampler.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"EntrySampler({ratio})"

    return EntrySampler()


def instrument(role: str) -> None:
    """Turn on the libraries' instrumentations this kind of process uses."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    if role == "api":
        # Read when the instrumentation is imported.
        os.environ.setdefault("OTEL_PYTHON_TORNADO_EXCLUDED_URLS", UNTRACED_URLS)
        from opentelemetry.instrumentation.tornado import TornadoInstrumentor

        TornadoInstrumentor().instrument()
    # SQLAlchemy 2.1 is outside the range the instrumentation declares (<2.1); without
    # skip_dep_check it silently instruments nothing. Verified to work: tests/integration/
    # test_tracing.py. It wraps create_engine/create_async_engine, which models/db.py looks up
    # when it builds an engine, so engines made from here on are traced.
    SQLAlchemyInstrumentor().instrument(skip_dep_check=True)
    RedisInstrumentor().instrument()
    CeleryInstrumentor().instrument()


def uninstrument() -> None:
    """Turn every instrumentation off again (tests; the provider stays)."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.instrumentation.tornado import TornadoInstrumentor

    for instrumentor in (
        TornadoInstrumentor(),
        SQLAlchemyInstrumentor(),
        RedisInstrumentor(),
        CeleryInstrumentor(),
    ):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def shutdown_tracing(provider: TracerProvider | None) -> None:
    """Export what is buffered (a process about to exit, a test's end)."""
    if provider is not None:
        provider.force_flush()
        provider.shutdown()
