"""Settings and pure pieces of tracing, error reporting and Flower's start-up."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import SpanKind

from config.errors import _with_context, _without_addresses
from config.settings import ConfigError, load_settings
from config.telemetry import entry_sampler
from config.tracing import current_traceparent
from server.flower import FlowerAuthMissing, flower_argv
from tests.tracing_support import traced

STRONG = "ops:Xk2-lq9v-PzR4-mm7"


def _settings(tmp_path: Path, **env: str):
    return load_settings({"DATA_DIR": str(tmp_path), **env})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ops", "not `user:password`"),
        ("ops:tiny1", "shorter than 12"),
        ("ops:passwordpassword", "default value"),
        (":Xk2-lq9v-PzR4", "not `user:password`"),
    ],
)
def test_flower_passwords_must_be_strong(tmp_path: Path, value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as raised:
        _settings(tmp_path, FLOWER_BASIC_AUTH=value)
    assert value.partition(":")[2] not in str(raised.value) or not value.partition(":")[2]


def test_flower_oauth_settings_go_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FLOWER_OAUTH2_SECRET"):
        _settings(tmp_path, FLOWER_AUTH=".*@example.org", FLOWER_AUTH_PROVIDER="github")


@pytest.mark.parametrize("ratio", ["-0.1", "1.5", "many"])
def test_sample_ratio_is_a_fraction(tmp_path: Path, ratio: str) -> None:
    with pytest.raises(ConfigError, match="TRACE_SAMPLE_RATIO"):
        _settings(tmp_path, TRACE_SAMPLE_RATIO=ratio)


def test_an_otlp_endpoint_is_an_http_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        _settings(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="otel-collector:4318")
    ok = _settings(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://otel:4318/")
    assert ok.otel_exporter_otlp_endpoint == "http://otel:4318"


def test_flower_gets_its_credentials_in_its_environment_never_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", {**os.environ, "FLOWER_AUTH": "stale"})
    argv = flower_argv(
        _settings(tmp_path, FLOWER_BASIC_AUTH=STRONG), 5555, "0.0.0.0", insecure=False
    )
    assert argv == ["flower", "--port=5555", "--address=0.0.0.0"]
    assert os.environ["FLOWER_BASIC_AUTH"] == STRONG
    assert "FLOWER_AUTH" not in os.environ  # only what our settings say counts


def test_flower_without_authentication_needs_the_insecure_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))
    with pytest.raises(FlowerAuthMissing):
        flower_argv(_settings(tmp_path), 5555, "127.0.0.1", insecure=False)
    assert flower_argv(_settings(tmp_path), 5555, "127.0.0.1", insecure=True)[0] == "flower"


@pytest.mark.parametrize(
    ("kind", "ratio", "decision"),
    [
        (SpanKind.SERVER, 1.0, Decision.RECORD_AND_SAMPLE),
        (SpanKind.CONSUMER, 1.0, Decision.RECORD_AND_SAMPLE),
        (SpanKind.PRODUCER, 1.0, Decision.RECORD_AND_SAMPLE),
        (SpanKind.SERVER, 0.0, Decision.DROP),
        (SpanKind.CLIENT, 1.0, Decision.DROP),  # a background loop's query begins no trace
        (SpanKind.INTERNAL, 1.0, Decision.DROP),
    ],
)
def test_only_incoming_work_begins_a_trace(
    kind: SpanKind, ratio: float, decision: Decision
) -> None:
    result = entry_sampler(ratio).should_sample(None, 0x1234, "span", kind)
    assert result.decision == decision


def test_log_records_in_a_sampled_span_carry_its_trace_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with traced():
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("request", kind=SpanKind.SERVER) as span:
            logging.getLogger("matchday.test").warning("inside")
            traceparent = current_traceparent()
        logging.getLogger("matchday.test").warning("outside")
    inside, outside = caplog.records[-2:]
    context = span.get_span_context()
    assert inside.trace_id == f"{context.trace_id:032x}"  # type: ignore[attr-defined]
    assert inside.span_id == f"{context.span_id:016x}"  # type: ignore[attr-defined]
    assert not hasattr(outside, "trace_id")
    assert traceparent is not None
    head, flags = traceparent.rsplit("-", 1)
    assert head == f"00-{context.trace_id:032x}-{context.span_id:016x}"
    assert int(flags, 16) & 1  # sampled


def test_no_traceparent_outside_a_span() -> None:
    assert current_traceparent() is None


def test_sentry_events_lose_the_client_address_unless_pii_is_allowed() -> None:
    event = {"request": {"env": {"REMOTE_ADDR": "203.0.113.9"}}, "user": {"ip_address": "x"}}
    cleaned = _without_addresses(event, {})  # type: ignore[arg-type]
    assert cleaned["request"]["env"] == {} and cleaned["user"] == {}


def test_sentry_events_carry_no_query_string_credential() -> None:
    request = {
        "url": "https://api.example.org/api/v1/events/7/calendar.ics?token=mdcal_x&y=1",
        "query_string": "token=mdcal_x&y=1&access_token=eyJ.a.b",
    }
    for report in (_with_context, _without_addresses):  # with and without PII allowed
        event = report({"request": dict(request)}, {})  # type: ignore[arg-type]
        assert event["request"]["query_string"] == "token=REDACTED&y=1&access_token=REDACTED"
        assert event["request"]["url"].endswith("calendar.ics?token=REDACTED&y=1")
