"""The GitHub Actions workflows: actionlint clean, valid for the workflow schema, and shaped as
docs/deployment.md says (CI gates the image; each deploy migrates, rolls out, smoke tests and
tells the chat, undoing what failed)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.dockerfile import ROOT
from tests.deploy.tools import run, tool, yamllint

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def _load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return dict(doc)


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def _index(steps: list[dict[str, Any]], name: str) -> int:
    names = [step.get("name", step.get("uses", "")) for step in steps]
    assert name in names, f"no step {name!r} in {names}"
    return names.index(name)


def test_actionlint_schema_and_yamllint_are_clean() -> None:
    lint = run(tool("actionlint"), "-no-color", *FILES)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    schema = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *FILES)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    style = yamllint(WORKFLOWS)
    assert style.returncode == 0, style.stdout


def test_ci_tests_on_real_services_then_builds_scans_and_pushes() -> None:
    ci = _load("ci.yml")
    assert set(ci["on"]["push"]["branches"]) == {"main", "develop"}
    jobs = ci["jobs"]
    assert {"postgres", "redis"} <= set(jobs["test"]["services"])
    runs = [step.get("run", "") for step in _steps(jobs["test"])]
    assert "make test" in runs
    assert any("make lint" in step.get("run", "") for step in _steps(jobs["lint"]))
    assert any("make test-image" in step.get("run", "") for step in _steps(jobs["image-install"]))
    image = jobs["image"]
    assert set(image["needs"]) == {"lint", "test", "image-install"}
    steps = _steps(image)
    build, scan, push = _index(steps, "Build"), _index(steps, "Scan (Trivy)"), _index(steps, "Push")
    assert build < scan < push
    assert steps[scan]["uses"].startswith("aquasecurity/trivy-action@")
    assert steps[scan]["with"]["exit-code"] == "1"
    assert steps[push]["if"] == "env.PUSH == 'true'"
    assert "refs/heads/main" in image["env"]["PUSH"] and "'push'" in image["env"]["PUSH"]


def test_each_deploy_migrates_rolls_out_smoke_tests_and_tells_the_chat() -> None:
    deploy = _load("deploy.yml")
    assert "workflow_call" in deploy["on"]
    job = deploy["jobs"]["deploy"]
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    steps = _steps(job)
    order = [
        "Pin the image",
        "Record what runs now",
        "Migrate",
        "Roll the schema back",
        "Roll out",
        "Smoke test",
        "Roll back the Deployments",
        "Tell the chat",
    ]
    assert [_index(steps, name) for name in order] == sorted(_index(steps, n) for n in order)
    by_name = {step.get("name"): step for step in steps}
    assert "steps.migrate.outcome == 'failure'" in by_name["Roll the schema back"]["if"]
    assert "--rollback-to" in by_name["Roll the schema back"]["run"]
    undo = by_name["Roll back the Deployments"]
    assert "steps.smoke.outcome == 'failure'" in undo["if"] and "rollout undo" in undo["run"]
    assert by_name["Tell the chat"]["if"] == "always()"
    assert "matchday smoke" in by_name["Smoke test"]["run"]


def test_environments_and_their_triggers() -> None:
    expected = {
        "deploy-dev.yml": ("develop", "dev", "matchday-dev"),
        "deploy-staging.yml": ("main", "staging", "matchday-staging"),
    }
    for name, (branch, environment, namespace) in expected.items():
        workflow = _load(name)
        assert workflow["on"]["workflow_run"] == {
            "workflows": ["ci"],
            "types": ["completed"],
            "branches": [branch],
        }
        job = workflow["jobs"]["deploy"]
        assert "workflow_run.conclusion == 'success'" in job["if"]
        assert job["uses"] == "./.github/workflows/deploy.yml"
        assert job["with"]["environment"] == environment
        assert job["with"]["namespace"] == namespace
        assert job["with"]["sha"] == "${{ github.event.workflow_run.head_sha }}"
    prod = _load("deploy-prod.yml")
    assert set(prod["on"]) == {"workflow_dispatch"}  # by hand only
    job = prod["jobs"]["deploy"]
    # `production` is the protected environment: its required reviewers approve each run.
    assert job["with"]["environment"] == "production" and job["needs"] == "check"


def test_what_the_workflows_run_exists() -> None:
    text = "\n".join(path.read_text() for path in FILES)
    for script in set(re.findall(r"deploy/k8s/[\w./-]+\.sh", text)):
        assert os.access(ROOT / script, os.X_OK), script
    for workflow in ("dev", "staging", "prod"):
        assert (ROOT / "deploy/k8s/overlays" / workflow / "kustomization.yaml").exists()
    overlays = {
        _load(p.name)["jobs"]["deploy"]["with"]["overlay"] for p in FILES if "deploy-" in p.name
    }
    assert overlays == {"dev", "staging", "prod"}
    assert Path(ROOT / "Makefile").read_text().count("test-image:") == 1
