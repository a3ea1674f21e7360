"""CI runs make test on every pull request; CD releases pushes to this repository's main,
after the same tests, as GitHub's own identity federated into Google (no service account
key), with an identity that may release code and nothing else."""

from __future__ import annotations

from typing import Any

import yaml

from tests.static.conftest import ROOT
from tests.static.terraform import Config

WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_ci_runs_make_test_on_every_pull_request_and_for_cd() -> None:
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"] and "workflow_call" in ci["on"]
    job = ci["jobs"]["test"]
    assert ".ci/run" in runs(job)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "google-cloud-cli-pubsub-emulator" in runs(job) and "postgresql-15" in runs(job)
    assert any(step.get("uses", "").startswith("hashicorp/setup-terraform") for step in job["steps"])
    assert ci["permissions"] == {"contents": "read"}


def test_cd_releases_only_pushes_to_main_after_the_tests_and_a_review() -> None:
    cd = workflow("cd.yml")
    # Only a push starts it: no pull_request(_target), no workflow_run (whose head branch a
    # fork can name main).
    assert set(cd["on"]) == {"push"} and cd["on"]["push"]["branches"] == ["main"]
    release = cd["jobs"]["release"]
    assert cd["jobs"]["test"]["uses"] == "./.github/workflows/ci.yml" and release["needs"] == "test"
    assert "refs/heads/main" in release["if"] and "push" in release["if"]
    assert release["environment"] == "production"  # where GitHub requires a reviewer
    assert release["permissions"]["id-token"] == "write" and cd["permissions"] == {"contents": "read"}
    auth = next(step for step in release["steps"] if step.get("uses", "").startswith("google-github-actions/auth"))
    assert "workload_identity_provider" in auth["with"] and "credentials_json" not in auth["with"]
    assert "make release" in runs(release) and "make deploy" not in runs(release)
    assert not any("setup-terraform" in step.get("uses", "") for step in release["steps"])
    assert cd["concurrency"]["cancel-in-progress"] is False


def test_the_federated_identity_is_this_repositorys_main_and_may_only_release() -> None:
    config = Config.load(ROOT / "terraform")
    provider = config.resources["google_iam_workload_identity_pool_provider.github"]
    condition = provider["attribute_condition"]
    for clause in (
        "environment:production",
        "assertion.repository ==",
        "assertion.ref == 'refs/heads/main'",
        "assertion.event_name == 'push'",
    ):
        assert clause in condition
    deployer = "google_service_account.deployer"
    grants = {
        address: body["role"]
        for address, body in config.resources.items()
        if "_iam_member" in address and deployer in str(body.get("member"))
    }
    assert not any(address.startswith("google_project_iam") for address in grants), "no project-wide role"
    assert set(grants.values()) == {
        "roles/artifactregistry.writer",  # push images to the one repository
        "roles/run.developer",  # new revisions and traffic of the four services; run the jobs
        "roles/iam.serviceAccountUser",  # act as the accounts those run as
    }
