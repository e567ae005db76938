"""A local OTLP/HTTP trace receiver for tests: what `matchday` processes export, decoded."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import tornado.web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    attributes: dict[str, object]


class _Traces(tornado.web.RequestHandler):
    def initialize(self, spans: list[ReceivedSpan]) -> None:
        self.spans = spans

    def post(self) -> None:
        body = self.request.body
        if self.request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            service=str(resource.get("service.name", "")),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=KINDS.get(span.kind, str(span.kind)),
                            attributes=_attributes(span.attributes),
                        )
                    )
        self.set_header("Content-Type", "application/x-protobuf")
        self.write(ExportTraceServiceResponse().SerializeToString())


def _attributes(pairs: object) -> dict[str, object]:
    values: dict[str, object] = {}
    for pair in pairs:  # type: ignore[attr-defined]
        kind = pair.value.WhichOneof("value")
        values[pair.key] = getattr(pair.value, kind) if kind else None
    return values


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[ReceivedSpan]]]:
    """(endpoint for OTEL_EXPORTER_OTLP_ENDPOINT, spans received so far), on this loop."""
    spans: list[ReceivedSpan] = []
    sock, port = bind_unused_port()
    server = HTTPServer(tornado.web.Application([(r"/v1/traces", _Traces, {"spans": spans})]))
    server.add_sockets([sock])
    try:
        yield f"http://127.0.0.1:{port}", spans
    finally:
        server.stop()
