"""`make deploy` and `make destroy`: from a clone to the running system on Google Cloud.

    make deploy PROJECT_ID=my-project ALERT_EMAIL=oncall@example.com [REGION=…] [DRY_RUN=1]
    make destroy PROJECT_ID=my-project CONFIRM=my-project [DRY_RUN=1]

deploy: a state bucket → Terraform init → the image registry → build and push the four
images (tagged by git commit) → the migration jobs, run and awaited → everything else
(services on the new images, Pub/Sub, scheduler, alerts) → the URLs. Migrations run
before traffic moves, so a new revision never meets an old schema.

DRY_RUN=1 prints every command instead of running it (nothing is called, no tool needed).
Needs gcloud (authenticated), docker and terraform on PATH otherwise.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("cliente-service", "veiculo-service", "pagamento-service", "orquestrador")


class DeployError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    project: str
    region: str
    alert_email: str
    tag: str

    @property
    def bucket(self) -> str:
        return f"{self.project}-tfstate"

    @property
    def registry(self) -> str:
        return f"{self.region}-docker.pkg.dev/{self.project}/mercado-veiculo"

    def tf_vars(self, **extra: str) -> list[str]:
        values = {
            "project_id": self.project,
            "region": self.region,
            "image_tag": self.tag,
            "alert_email": self.alert_email,
            **extra,
        }
        return [f"-var={k}={v}" for k, v in values.items()]


def terraform(*args: str) -> list[str]:
    return ["terraform", f"-chdir={ROOT / 'terraform'}", *args]


def deploy_plan(t: Target) -> list[list[str]]:
    apply = terraform("apply", "-input=false", "-auto-approve", *t.tf_vars())
    gcloud = ["--project", t.project, "--region", t.region]
    return [
        ["gcloud", "storage", "buckets", "describe", f"gs://{t.bucket}", "--project", t.project],
        terraform("init", "-input=false", f"-backend-config=bucket={t.bucket}"),
        [*apply, "-target=google_project_service.api", "-target=google_artifact_registry_repository.images"],
        ["gcloud", "auth", "configure-docker", f"{t.region}-docker.pkg.dev", "--quiet"],
        *(
            step
            for service in SERVICES
            for step in (
                [
                    "docker",
                    "build",
                    "--pull",
                    "-f",
                    f"{ROOT / service / 'Dockerfile'}",
                    "-t",
                    image(t, service),
                    str(ROOT),
                ],
                ["docker", "push", image(t, service)],
            )
        ),
        [*apply, "-target=google_cloud_run_v2_job.migrate"],
        *(["gcloud", "run", "jobs", "execute", f"migrate-{s}", *gcloud, "--wait"] for s in SERVICES),
        apply,
        terraform("output", "-json", "service_urls"),
    ]


def destroy_plan(t: Target) -> list[list[str]]:
    return [
        terraform("init", "-input=false", f"-backend-config=bucket={t.bucket}"),
        # Cloud SQL refuses deletion while protected; lift it on purpose, then destroy.
        terraform(
            "apply",
            "-input=false",
            "-auto-approve",
            *t.tf_vars(db_deletion_protection="false"),
            "-target=google_sql_database_instance.main",
        ),
        # KMS keys cannot be deleted in GCP (only their versions): leave them to the project.
        terraform(
            "state",
            "rm",
            "google_kms_crypto_key.data_keys",
            "google_kms_crypto_key.artifacts",
            "google_kms_crypto_key.pubsub",
            "google_kms_key_ring.main",
        ),
        terraform("destroy", "-input=false", "-auto-approve", *t.tf_vars()),
    ]


def image(t: Target, service: str) -> str:
    return f"{t.registry}/{service}:{t.tag}"


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise DeployError("deploy tags images with the git commit: run it from a clone") from None


def git_tag(dry_run: bool) -> str:
    """The commit deployed. A tree with uncommitted changes would ship code its tag does not name."""
    if not dry_run and git("status", "--porcelain"):
        raise DeployError("commit your changes first: images are tagged by commit (tags are immutable)")
    return git("rev-parse", "--short=12", "HEAD")


def run(plan: Sequence[list[str]], dry_run: bool) -> None:
    for cmd in plan:
        print(("would run: " if dry_run else "+ ") + shlex.join(cmd), flush=True)
        if dry_run:
            continue
        if cmd[:4] == ["gcloud", "storage", "buckets", "describe"]:
            if subprocess.run(cmd, capture_output=True).returncode != 0:  # first deploy: make the state bucket
                bucket, project = cmd[4], cmd[-1]
                subprocess.run(
                    [
                        "gcloud",
                        "storage",
                        "buckets",
                        "create",
                        bucket,
                        "--project",
                        project,
                        "--uniform-bucket-level-access",
                        "--public-access-prevention",
                    ],
                    check=True,
                )
                subprocess.run(["gcloud", "storage", "buckets", "update", bucket, "--versioning"], check=True)
            continue
        if cmd[:2] == ["docker", "build"] or cmd[:2] == ["docker", "push"]:
            described = ["gcloud", "artifacts", "docker", "images", "describe", cmd[-1] if cmd[1] == "push" else cmd[6]]
            if subprocess.run(described, capture_output=True).returncode == 0:  # this commit was pushed before
                print("  (already in the registry: skipped)", flush=True)
                continue
        subprocess.run(cmd, check=True)


def main(argv: Sequence[str]) -> int:
    action = argv[1] if len(argv) > 1 else ""
    env = os.environ
    try:
        if action not in ("deploy", "destroy"):
            raise DeployError("usage: deploy.py deploy|destroy")
        project = env.get("PROJECT_ID", "")
        if not project:
            raise DeployError("set PROJECT_ID (the GCP project to deploy into)")
        dry_run = env.get("DRY_RUN", "") not in ("", "0")
        needed = ("gcloud", "docker", "terraform") if action == "deploy" else ("terraform",)
        missing = [tool for tool in needed if shutil.which(tool) is None]
        if missing and not dry_run:
            raise DeployError(f"not on PATH: {', '.join(missing)} (or try DRY_RUN=1)")
        target = Target(project, env.get("REGION", "southamerica-east1"), env.get("ALERT_EMAIL", ""), git_tag(dry_run))
        if action == "deploy":
            if "@" not in target.alert_email:
                raise DeployError("set ALERT_EMAIL (where alerts go)")
            run(deploy_plan(target), dry_run)
        else:
            if env.get("CONFIRM") != project:
                raise DeployError(f"destroy deletes the database and its backups: set CONFIRM={project}")
            run(destroy_plan(target), dry_run)
    except DeployError as exc:
        print(f"{action or 'deploy'}: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"{action}: failed: {shlex.join(exc.cmd)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
