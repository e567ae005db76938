"""What the code itself says to a trace: the carried context and the spans no library makes.

Only the OpenTelemetry API is used here. Without a tracer provider (tracing off, the default)
the current span is the API's invalid one: nothing is carried, and the spans started below are
no-ops. The SDK, the exporter and the library instrumentations are set up by
``config.telemetry`` when OTEL_EXPORTER_OTLP_ENDPOINT is set.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_tracer = trace.get_tracer("matchday")
_w3c = TraceContextTextMapPropagator()


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span if it is sampled, else None. An outbox row
    stores it, so the relay's publication joins the trace of the change that wrote the row."""
    context = trace.get_current_span().get_span_context()
    if not (context.is_valid and context.trace_flags.sampled):
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def current_trace_id() -> str | None:
    """The current sampled trace's id (hex, as backends show it), or None."""
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid and context.trace_flags.sampled else None


def annotate(**attributes: Any) -> None:
    """Attributes on the current span (the request's id on its server span, for example)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({f"matchday.{key}": value for key, value in attributes.items()})


def record_span(
    name: str,
    traceparent: str,
    *,
    start_ns: int,
    end_ns: int,
    kind: trace.SpanKind = trace.SpanKind.PRODUCER,
    attributes: Mapping[str, Any] | None = None,
) -> None:
    """A finished span, child of the span `traceparent` names: work done for several traces
    at once (the relay's batch) gets one span in each of them."""
    parent = _w3c.extract({"traceparent": traceparent})
    span = _tracer.start_span(
        name, context=parent, kind=kind, start_time=start_ns, attributes=attributes
    )
    span.end(end_time=end_ns)


@contextmanager
def outgoing_call(name: str, headers: dict[str, str], **attributes: Any) -> Iterator[None]:
    """A client span around a call made with a plain client (no instrumentation library
    covers it); its context goes along in `headers` (traceparent) to the service called."""
    with _tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes):
        _w3c.inject(headers)
        yield


@contextmanager
def work_span(name: str, **attributes: Any) -> Iterator[None]:
    """A span around work run in this process for the current trace (an in-process task run,
    named as Celery's instrumentation names a worker's: `run/<task>`)."""
    with _tracer.start_as_current_span(
        name, attributes={f"matchday.{key}": value for key, value in attributes.items()}
    ):
        yield
