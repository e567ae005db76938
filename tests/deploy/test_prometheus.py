"""deploy/prometheus and deploy/alertmanager checked by their own tools (promtool, amtool:
Debian's prometheus and prometheus-alertmanager packages, which .ci/run installs), the alert
rules' unit tests (deploy/prometheus/tests/) run, and the Grafana dashboards current with
deploy/grafana/build.py and querying only metrics that something declares."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from tests.deploy.dockerfile import ROOT
from tests.deploy.tools import run, yamllint
from tests.metrics_doc import declared
from tests.promql_names import DASHBOARDS, dashboard_exprs, exporter_names, used_names

PROMETHEUS = ROOT / "deploy" / "prometheus"


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: apt-get install prometheus prometheus-alertmanager"
    return found


def test_the_scrape_config_and_its_rules_load(tmp_path: Path) -> None:
    # The paths compose mounts, pointed at this checkout and a token file of the test's.
    token = tmp_path / "metrics_token"
    token.write_text("placeholder")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    assert "/run/secrets/metrics_token" in config and "/etc/prometheus/rules/" in config
    config = config.replace("/run/secrets/metrics_token", str(token))
    config = config.replace("/etc/prometheus/rules/", f"{PROMETHEUS}/rules/")
    (tmp_path / "prometheus.yml").write_text(config)
    done = run(_tool("promtool"), "check", "config", tmp_path / "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 2 rule files found" in done.stdout + done.stderr


def test_the_rules_are_valid_and_their_unit_tests_pass() -> None:
    rules = sorted((PROMETHEUS / "rules").glob("*.yml"))
    done = run(_tool("promtool"), "check", "rules", *rules)
    assert done.returncode == 0, done.stdout + done.stderr
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    done = run(_tool("promtool"), "test", "rules", *tests)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_yaml_is_lint_clean() -> None:
    lint = yamllint(PROMETHEUS, ROOT / "deploy" / "alertmanager")
    assert lint.returncode == 0, lint.stdout


def test_the_alertmanager_config_is_valid_and_routes_page_and_ticket() -> None:
    path = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
    done = run(_tool("amtool"), "check-config", path)
    assert done.returncode == 0, done.stdout + done.stderr
    for severity in ("page", "ticket"):
        labels = ["alertname=X", f"severity={severity}"]
        routed = run(_tool("amtool"), "config", "routes", "test", "--config.file", path, *labels)
        assert routed.stdout.strip() == severity, routed.stdout + routed.stderr


def test_every_alert_says_page_or_ticket_and_names_its_dashboard() -> None:
    from tests.promql_names import rules

    alerts = [rule for rule in rules() if "alert" in rule]
    uids = {json.loads(p.read_text())["uid"] for p in DASHBOARDS.glob("*.json")}
    assert alerts
    for alert in alerts:
        assert alert["labels"]["severity"] in {"page", "ticket"}, alert["alert"]
        assert alert["annotations"]["dashboard"] in uids, alert["alert"]


def _build_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("grafana_build", DASHBOARDS.parent / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_dashboards_are_what_build_py_writes() -> None:
    rendered = _build_module().render()
    committed = {path.name: path.read_text() for path in DASHBOARDS.glob("*.json")}
    assert committed == rendered, "run `make dashboards` and commit the JSON"
    assert set(rendered) == {
        "api.json",
        "database.json",
        "live.json",
        "workers.json",
        "business.json",
    }
    for text in rendered.values():
        board = json.loads(text)
        assert board["panels"] and all(p["targets"] for p in board["panels"])
        assert {p["datasource"]["uid"] for p in board["panels"]} == {"prometheus"}


def test_every_queried_name_is_declared_by_matchday_or_a_known_exporter() -> None:
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
    ours = {name + suffix for name, kind, *_ in declared() for suffix in suffixes.get(kind, [""])}
    unknown = used_names() - ours - exporter_names()
    assert not unknown, f"queried but exported by nothing: {sorted(unknown)}"
    assert all(exprs for exprs in dashboard_exprs().values())


def test_operations_doc_gives_every_alert_its_first_three_checks() -> None:
    """docs/operations.md's alert table: one row per alert in the rules, with its severity
    and three numbered first checks (what the on-call reads when paged)."""
    from tests.promql_names import rules

    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for alert in (rule for rule in rules() if "alert" in rule):
        row = next(
            (line for line in text.splitlines() if line.startswith(f"| `{alert['alert']}` |")),
            None,
        )
        assert row is not None, f"docs/operations.md has no row for {alert['alert']}"
        assert f"| {alert['labels']['severity']} |" in row, alert["alert"]
        assert all(f"{n}. " in row for n in (1, 2, 3)), alert["alert"]
