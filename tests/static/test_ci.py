"""CI runs make test on every pull request; CD deploys main with make deploy, as GitHub's
own identity federated into Google (no service account key), only after CI passed."""

from __future__ import annotations

from typing import Any

import yaml

from tests.static.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_ci_runs_make_test_on_every_pull_request_and_push_to_main() -> None:
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"] and ci["on"]["push"]["branches"] == ["main"]
    job = ci["jobs"]["test"]
    assert ".ci/run" in runs(job)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "google-cloud-cli-pubsub-emulator" in runs(job) and "postgresql-15" in runs(job)
    assert any(step.get("uses", "").startswith("hashicorp/setup-terraform") for step in job["steps"])
    assert ci["permissions"] == {"contents": "read"}


def test_cd_deploys_main_after_ci_through_workload_identity_federation() -> None:
    cd = workflow("cd.yml")
    trigger = cd["on"]["workflow_run"]
    assert trigger["workflows"] == ["ci"] and trigger["branches"] == ["main"]
    job = cd["jobs"]["deploy"]
    assert "success" in job["if"]
    assert cd["permissions"]["id-token"] == "write"
    auth = next(step for step in job["steps"] if step.get("uses", "").startswith("google-github-actions/auth"))
    assert "workload_identity_provider" in auth["with"] and "credentials_json" not in auth["with"]
    assert "make deploy" in runs(job)
    cicd = (ROOT / "terraform" / "cicd.tf").read_text()
    assert f"environment:{job['environment']}" in cicd  # the only job Google lets deploy
    assert cd["concurrency"]["cancel-in-progress"] is False
