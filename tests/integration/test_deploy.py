"""`make deploy DRY_RUN=1` and `make destroy DRY_RUN=1` print the whole plan, in an order
that never lets a new revision meet an old schema, and refuse what is unsafe."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from mercado_shared.devstack import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def make(target: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PROJECT_ID", "ALERT_EMAIL", "CONFIRM", "DRY_RUN")}
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        env={**clean, "PATH": "/usr/bin:/bin", **env},  # no gcloud/docker needed for a dry run
        capture_output=True,
        text=True,
    )


def planned(output: str) -> list[list[str]]:
    return [
        shlex.split(line.removeprefix("would run: ")) for line in output.splitlines() if line.startswith("would run: ")
    ]


def test_a_dry_run_deploy_prints_every_step_in_a_safe_order_and_runs_nothing() -> None:
    result = make("deploy", DRY_RUN="1", PROJECT_ID="demo-project", ALERT_EMAIL="oncall@example.com", REGION="us-east1")
    assert result.returncode == 0, result.stderr
    steps = planned(result.stdout)
    tag = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    position = {shlex.join(s): i for i, s in enumerate(steps)}

    def where(*words: str) -> int:
        found = [i for line, i in position.items() if all(w in line for w in words)]
        assert len(found) == 1, (words, found)
        return found[0]

    init = where("terraform", "init", "-backend-config=bucket=demo-project-tfstate")
    registry = where("apply", "-target=google_artifact_registry_repository.images")
    jobs = where("apply", "-target=google_cloud_run_v2_job.migrate")
    final = next(i for line, i in position.items() if "apply" in line and "-target" not in line)
    for service in SERVICES:
        image = f"us-east1-docker.pkg.dev/demo-project/mercado-veiculo/{service.name}:{tag}"
        build = where("docker build", f"{service.directory}/Dockerfile", image)
        push = where("docker push", image)
        migrate = where("gcloud run jobs execute", f"migrate-{service.name}", "--wait")
        assert init < registry < build < push < jobs < migrate < final  # schema first, then traffic
    assert all("-var=project_id=demo-project" in shlex.join(s) for s in steps if "apply" in s)
    assert steps[-1][-3:] == ["output", "-json", "service_urls"]


def test_deploy_and_destroy_refuse_what_is_missing_or_unconfirmed() -> None:
    no_project = make("deploy", DRY_RUN="1", ALERT_EMAIL="oncall@example.com")
    assert no_project.returncode != 0 and "set PROJECT_ID" in no_project.stderr
    no_email = make("deploy", DRY_RUN="1", PROJECT_ID="demo-project")
    assert no_email.returncode != 0 and "set ALERT_EMAIL" in no_email.stderr
    unconfirmed = make("destroy", DRY_RUN="1", PROJECT_ID="demo-project", CONFIRM="another-project")
    assert unconfirmed.returncode != 0 and "CONFIRM=demo-project" in unconfirmed.stderr
    no_tools = make("deploy", PROJECT_ID="demo-project", ALERT_EMAIL="oncall@example.com")
    assert no_tools.returncode != 0 and "DRY_RUN=1" in no_tools.stderr  # not a half-run deploy


def test_a_dry_run_destroy_lifts_deletion_protection_on_purpose_then_destroys() -> None:
    result = make("destroy", DRY_RUN="1", PROJECT_ID="demo-project", CONFIRM="demo-project")
    assert result.returncode == 0, result.stderr
    lines = [shlex.join(s) for s in planned(result.stdout)]
    lift = next(i for i, line in enumerate(lines) if "-var=db_deletion_protection=false" in line)
    destroy = next(i for i, line in enumerate(lines) if " destroy " in line)
    assert lift < destroy and "-target=google_sql_database_instance.main" in lines[lift]
