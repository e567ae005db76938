"""deploy/k8s: every overlay rendered (kubectl's built-in Kustomize) and validated offline
against the Kubernetes 1.29 schemas (kubernetes-validate --strict), then held to what
docs/deployment.md promises: probes, limits, the restricted security context, a grace period
longer than the drain, the SSE ingress, the migration Job applied first, no real secrets."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.dockerfile import ROOT
from tests.deploy.tools import run, tool, yamllint

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "staging", "prod")
KUBERNETES = "1.29.0"
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def _kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:  # a failure, not a skip: CI runners and our machines have it
        pytest.fail("kubectl is needed to render the overlays (Kustomize is built in)")
    return kubectl


@dataclass
class Rendered:
    overlay: str
    path: Path
    docs: list[dict[str, Any]]


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Every overlay, the canary's included, rendered once for the module."""
    directory = tmp_path_factory.mktemp("k8s")
    found = {}
    for overlay in (*OVERLAYS, "prod-canary"):
        done = run(_kubectl(), "kustomize", K8S / "overlays" / overlay)
        assert done.returncode == 0, f"{overlay}: {done.stderr}"
        path = directory / f"{overlay}.yaml"
        path.write_text(done.stdout)
        found[overlay] = Rendered(overlay, path, _docs(path))
    return found


@pytest.fixture(params=OVERLAYS)
def rendered(request: pytest.FixtureRequest, renders: dict[str, Rendered]) -> Rendered:
    return renders[request.param]


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _pods(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for d in docs
        if d["kind"] in WORKLOADS
    ]


def _config(docs: list[dict[str, Any]]) -> dict[str, str]:
    maps = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("matchday-config")
    ]
    assert len(maps) == 1
    return dict(maps[0]["data"])


def test_overlays_and_secret_templates_validate_against_the_kubernetes_schemas(
    renders: dict[str, Rendered],
) -> None:
    """One run for all of them: loading the schemas is most of kubernetes-validate's time."""
    templates = sorted((K8S / "secrets").glob("*.example.yaml"))
    files = [r.path for r in renders.values()] + templates
    done = run(tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES, *files)
    assert done.returncode == 0, done.stdout + done.stderr
    lint = yamllint(K8S)
    assert lint.returncode == 0, lint.stdout


def test_api_deployment(rendered: Rendered) -> None:
    docs = rendered.docs
    api = _one(docs, "Deployment", "matchday-api")
    expected = 1 if rendered.overlay == "dev" else 3
    assert api["spec"]["replicas"] == expected
    rolling = api["spec"]["strategy"]
    assert rolling["type"] == "RollingUpdate" and rolling["rollingUpdate"]["maxUnavailable"] == 0
    pod = api["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # The pod outlives its preStop pause plus the drain, with a margin.
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    drain = float(_config(docs)["DRAIN_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] >= pause + drain + 5


def test_every_container_is_restricted_and_sized(rendered: Rendered) -> None:
    for name, pod in _pods(rendered.docs):
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert context["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) & set(resources["limits"])
            assert not container["image"].endswith(":latest"), name


def test_matchday_pods_write_only_to_their_empty_dirs(rendered: Rendered) -> None:
    for name, pod in _pods(rendered.docs):
        if not name.startswith("matchday-"):
            continue
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], name
        assert "emptyDir" in volumes[mounts["/var/lib/matchday"]], name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["containers"][0]["image"].startswith("ghcr.io/matchday/matchday:"), name


def test_autoscaling_disruption_budgets_and_roles(rendered: Rendered) -> None:
    docs = rendered.docs
    hpa = _one(docs, "HorizontalPodAutoscaler", "matchday-api")
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
        for m in hpa["spec"]["metrics"]
    }
    assert targets == {"cpu": 70, "memory": 80}
    for component in ("api", "worker"):
        assert (
            _one(docs, "PodDisruptionBudget", f"matchday-{component}")["spec"]["maxUnavailable"]
            == 1
        )
    args = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["args"][0]
        for d in docs
        if d["kind"] in WORKLOADS and d["metadata"]["name"].startswith("matchday-")
    }
    assert args == {
        "matchday-api": "serve",
        "matchday-worker": "worker",
        "matchday-beat": "beat",
        "matchday-flower": "flower",
        "matchday-migrate": "migrate",
    }
    assert _one(docs, "Deployment", "matchday-beat")["spec"]["strategy"]["type"] == "Recreate"


def test_load_balancer_and_an_ingress_that_streams(rendered: Rendered) -> None:
    docs = rendered.docs
    assert _one(docs, "Service", "matchday-api")["spec"]["type"] == "LoadBalancer"
    ingress = _one(docs, "Ingress", "matchday-api")
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    # Far longer than the SSE heartbeat: an idle stream is never cut by the proxy.
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [ingress["spec"]["rules"][0]["host"]] and tls["secretName"]


def test_state_lives_on_volume_claims(rendered: Rendered) -> None:
    docs = rendered.docs
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    assert claims == {"prometheus-data", "grafana-data"}
    stateful = {
        d["metadata"]["name"]: [t["metadata"]["name"] for t in d["spec"]["volumeClaimTemplates"]]
        for d in docs
        if d["kind"] == "StatefulSet"
    }
    if rendered.overlay == "prod":  # managed PostgreSQL and Redis
        assert stateful == {}
    else:
        assert stateful == {"postgres": ["data"], "redis": ["data"]}


def test_network_policies(rendered: Rendered) -> None:
    docs = rendered.docs
    deny = _one(docs, "NetworkPolicy", "default-deny-ingress")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for store in ("postgres", "redis"):
        found = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == store]
        if rendered.overlay == "prod":
            assert not found
            continue
        (rule,) = found[0]["spec"]["ingress"]
        assert rule["from"] == [
            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "matchday"}}}
        ]


def test_the_migration_job_and_what_it_needs_apply_first(rendered: Rendered) -> None:
    """The workflows apply `-l matchday.io/rollout=pre` first: the Job, and everything it
    needs on a first deploy (namespace, service account, configuration)."""
    docs = rendered.docs
    first = {
        (d["kind"], d["metadata"]["name"])
        for d in docs
        if d["metadata"].get("labels", {}).get("matchday.io/rollout") == "pre"
    }
    config = next(n for k, n in first if k == "ConfigMap")
    assert {k for k, _ in first} == {"Namespace", "ServiceAccount", "ConfigMap", "Job"}
    job = _one(docs, "Job", "matchday-migrate")
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "matchday"
    assert pod["containers"][0]["envFrom"] == [{"configMapRef": {"name": config}}]
    (database,) = [e for e in pod["containers"][0]["env"] if e["name"] == "DATABASE_URL"]
    assert database["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_DIRECT_URL"


def test_no_secret_in_the_manifests_and_every_key_in_the_templates(rendered: Rendered) -> None:
    docs = rendered.docs
    assert not [d for d in docs if d["kind"] == "Secret"]
    templates = {
        doc["metadata"]["name"]: set(doc["stringData"])
        for path in (K8S / "secrets").glob("*.example.yaml")
        for doc in _docs(path)
    }
    wanted: set[tuple[str, str]] = set()
    for _, pod in _pods(docs):
        for container in pod["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    wanted.add((ref["name"], ref["key"]))
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                for item in volume["secret"]["items"]:
                    wanted.add((volume["secret"]["secretName"], item["key"]))
    missing = {(name, key) for name, key in wanted if key not in templates.get(name, set())}
    assert not missing, f"keys the pods read that no template lists: {missing}"
    for values in (K8S / "secrets").glob("*.example.yaml"):
        for doc in _docs(values):
            assert all("CHANGE-ME" in value for value in doc["stringData"].values())


def test_the_canary_is_one_api_pod_that_the_ingress_weighs(renders: dict[str, Rendered]) -> None:
    docs = renders["prod-canary"].docs
    assert {(d["kind"], d["metadata"]["name"].split("-canary")[0]) for d in docs} == {
        ("ServiceAccount", "matchday"),
        ("ConfigMap", "matchday-config"),
        ("Service", "matchday-api"),
        ("Deployment", "matchday-api"),
        ("Ingress", "matchday-api"),
    }
    assert all(d["metadata"]["namespace"] == "matchday" for d in docs)
    api = _one(docs, "Deployment", "matchday-api-canary")
    assert api["spec"]["replicas"] == 1
    assert api["spec"]["selector"]["matchLabels"]["matchday.io/track"] == "canary"
    service = _one(docs, "Service", "matchday-api-canary")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"]["matchday.io/track"] == "canary"
    notes = _one(docs, "Ingress", "matchday-api-canary")["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/canary"] == "true"
    assert notes["nginx.ingress.kubernetes.io/canary-weight"] == "0"  # raised by hand
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"


def test_the_stable_service_leaves_the_canary_out(rendered: Rendered) -> None:
    service = _one(rendered.docs, "Service", "matchday-api")
    api = _one(rendered.docs, "Deployment", "matchday-api")
    assert service["spec"]["selector"]["matchday.io/track"] == "stable"
    assert api["spec"]["template"]["metadata"]["labels"]["matchday.io/track"] == "stable"


def _keeps(job: dict[str, Any]) -> dict[str, str]:
    """A pod-discovery job's `keep` rules: the meta label each reads -> the regex it keeps."""
    return {
        rule["source_labels"][0].removeprefix("__meta_kubernetes_pod_"): rule["regex"]
        for rule in job.get("relabel_configs", [])
        if rule.get("action") == "keep"
    }


def _lets_prometheus_in(docs: list[dict[str, Any]], labels: dict[str, str], port: int) -> bool:
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        if not selector or not selector.items() <= labels.items():
            continue
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from")
            from_prometheus = (
                sources is None
                or {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
                in sources
            )
            if from_prometheus and port in [p["port"] for p in rule.get("ports", [])]:
                return True
    return False


def test_prometheus_finds_and_may_reach_every_job_it_scrapes(rendered: Rendered) -> None:
    """Each scrape job of the in-cluster Prometheus keeps pods by a label and a port name:
    a workload of the overlay has both, and a NetworkPolicy lets Prometheus reach that port.
    The exporters run beside the in-cluster databases, so prod (managed ones) has none."""
    docs = rendered.docs
    (config,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("prometheus-config")
    ]
    jobs = {
        job["job_name"]: job
        for job in yaml.safe_load(config["data"]["prometheus.yml"])["scrape_configs"]
    }
    assert set(jobs) >= {"matchday-api", "matchday-worker", "matchday-flower", "postgres", "redis"}
    for name, job in jobs.items():
        keeps = _keeps(job)
        (label,) = [k for k in keeps if k.startswith("label_")]
        found = []
        for workload in (d for d in docs if d["kind"] in WORKLOADS):
            template = workload["spec"]["template"]
            labels = template["metadata"].get("labels", {})
            # Prometheus' meta labels spell `app.kubernetes.io/name` as `app_kubernetes_io_name`.
            sanitized = {re.sub(r"[^a-zA-Z0-9_]", "_", k): v for k, v in labels.items()}
            if sanitized.get(label.removeprefix("label_")) != keeps[label]:
                continue
            for container in template["spec"]["containers"]:
                for port in container.get("ports", []):
                    if port.get("name") == keeps["container_port_name"]:
                        found.append((workload["metadata"]["name"], port["containerPort"]))
                        assert _lets_prometheus_in(docs, labels, port["containerPort"]), (
                            f"{name}: no NetworkPolicy lets Prometheus reach "
                            f"{workload['metadata']['name']}:{port['containerPort']}"
                        )
        if rendered.overlay == "prod" and name in ("postgres", "redis"):
            assert found == [], name
        else:
            assert found, f"{name}: no pod with {keeps}"
    worker = _one(docs, "Deployment", "matchday-worker")["spec"]["template"]["spec"]
    args = worker["containers"][0]["args"]
    assert args[args.index("--metrics-port") + 1] == "9100"
