"""Tracing in the test process: one SDK provider with an in-memory exporter, instrumentations
on only for the test that asks (`traced()`), off again after it.

OpenTelemetry allows one global tracer provider per process (and the API's proxy tracers keep
the first one they meet), so the provider is installed once per test process; only the
instrumentations are switched on and off around each test.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from config.telemetry import instrument, setup_tracing, uninstrument
from tests.support import settings_for


@functools.cache
def _exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    # Only the sampling ratio and service name are read; nothing is written to DATA_DIR.
    settings = settings_for("sqlite://", Path(tempfile.gettempdir()))
    setup_tracing(settings, "api", exporter=exporter)
    uninstrument()
    return exporter


@contextmanager
def traced() -> Iterator[InMemorySpanExporter]:
    """The spans finished while the block runs, with every instrumentation on."""
    exporter = _exporter()
    instrument("api")
    exporter.clear()
    try:
        yield exporter
    finally:
        uninstrument()


def trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"
