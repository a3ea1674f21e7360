"""From a clone to the running system on Google Cloud, and new code onto it safely.

    make deploy   PROJECT_ID=… DOMAIN=… ALERT_EMAIL=… [REGION=…] [DRY_RUN=1]   a person: infrastructure and code
    make plan     PROJECT_ID=… DOMAIN=… ALERT_EMAIL=… [REGION=…]               the infrastructure change, for review
    make release  PROJECT_ID=… [REGION=…] [DRY_RUN=1]                          CD: a new commit's code, nothing else
    make rollback PROJECT_ID=… [REGION=…] [TO=<commit>] [DRY_RUN=1]            traffic back to an earlier release
    make destroy  PROJECT_ID=… DOMAIN=… ALERT_EMAIL=… CONFIRM=<project id> [DRY_RUN=1]

deploy, in phases, each creating what the next one reads at run time (a test derives the
phases' contents from the Terraform and checks them):
  1. the APIs Terraform itself needs to plan; the state bucket (in REGION, versioned,
     uniform access, no public access); terraform init;
  2. adopt what an earlier make destroy had to leave (KMS keys, the identity pool);
  3. the image registry (its KMS key, Artifact Registry's service agent and its grant);
  4. build (linux/amd64, the commit baked in) and push the four images;
  5. the migration and smoke-test jobs, with every secret, database, user and grant they
     read; run the migrations;
  6. everything else;
  7. the release: each service's new revision with no traffic, a smoke test of every
     candidate from inside the VPC, then the traffic.
release is steps 4 and 7 with the migrations between them: it runs no Terraform, and
the CD identity may do only that (terraform/cicd.tf).

DRY_RUN=1 prints every command instead of running it (nothing is called, no tool needed).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mercado_shared import registry

ROOT = Path(__file__).resolve().parents[1]
SERVICES = tuple(s.name for s in registry.SERVICES)
SMOKE_JOB = "release-smoke-test"
SMOKE_IMAGE_OF = "orquestrador"  # the smoke test runs from this service's image (any has it)
APP_CONTAINER = "app"  # the container that serves, beside the metrics sidecar (terraform/run.tf)

# What Terraform needs enabled before it can plan anything
# (https://cloud.google.com/docs/terraform/get-started-with-terraform#enable-apis).
BOOTSTRAP_APIS = (
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "serviceusage.googleapis.com",
    "sts.googleapis.com",
)

# What Google Cloud will not delete: KMS key rings and keys
# (https://cloud.google.com/kms/docs/resource-hierarchy#lifetime), workload identity
# pools, kept deleted for 30 days under their id, and the locked audit log bucket. make
# destroy drops them from the state and leaves them; make deploy adopts them again. Import
# ids, by Terraform address.
_RING = "projects/{project}/locations/{region}/keyRings/mercado-veiculo"
_POOL = "projects/{project}/locations/global/workloadIdentityPools/github"
UNDELETABLE = {
    "google_kms_key_ring.main": _RING,
    "google_kms_crypto_key.data_keys": f"{_RING}/cryptoKeys/personal-data-keys",
    "google_kms_crypto_key.artifacts": f"{_RING}/cryptoKeys/artifact-registry",
    "google_kms_crypto_key.pubsub": f"{_RING}/cryptoKeys/pubsub-messages",
    "google_iam_workload_identity_pool.github": _POOL,
    "google_iam_workload_identity_pool_provider.github": f"{_POOL}/providers/github-actions",
    # A locked log bucket cannot be deleted (https://cloud.google.com/logging/docs/buckets#lock-bucket).
    "google_logging_project_bucket_config.audit": "projects/{project}/locations/global/buckets/staff-audit",
}


class DeployError(Exception):
    pass


@dataclass
class Step:
    """A command, or what to decide at run time before running one."""

    cmd: list[str]
    note: str = ""
    # At run time, from what the cloud says: the command(s) to run instead (none: skip).
    resolve: Callable[[], list[list[str]]] | None = None
    ok_to_fail: bool = False


@dataclass(frozen=True)
class Target:
    project: str
    region: str
    tag: str
    domain: str = ""
    alert_email: str = ""

    @property
    def bucket(self) -> str:
        return f"{self.project}-tfstate"

    @property
    def registry(self) -> str:
        return f"{self.region}-docker.pkg.dev/{self.project}/mercado-veiculo"

    @property
    def release_tag(self) -> str:
        """The Cloud Run traffic tag of this commit's revisions (its URL reaches it alone)."""
        return f"rev-{self.tag}"

    def image(self, service: str) -> str:
        return f"{self.registry}/{service}:{self.tag}"

    def tf_vars(self, **extra: str) -> list[str]:
        values = {
            "project_id": self.project,
            "region": self.region,
            "domain": self.domain,
            "image_tag": self.tag,
            "alert_email": self.alert_email,
            **extra,
        }
        return [f"-var={k}={v}" for k, v in values.items()]

    @property
    def gcloud(self) -> list[str]:
        return ["--project", self.project, "--region", self.region]


def terraform(*args: str) -> list[str]:
    return ["terraform", f"-chdir={ROOT / 'terraform'}", *args]


# ---------------------------------------------------------------------- plans
def foundation(t: Target) -> list[Step]:
    bucket = f"gs://{t.bucket}"
    create = [
        "gcloud", "storage", "buckets", "create", bucket, "--project", t.project, "--location", t.region,
        "--uniform-bucket-level-access", "--public-access-prevention",
    ]  # fmt: skip
    versioning = ["gcloud", "storage", "buckets", "update", bucket, "--versioning"]
    exists = ["gcloud", "storage", "buckets", "describe", bucket, "--project", t.project]
    return [
        Step(["gcloud", "services", "enable", *BOOTSTRAP_APIS, "--project", t.project]),
        Step(create, note="the state bucket, if missing", resolve=_unless(exists, create)),
        Step(versioning),
        Step(terraform("init", "-input=false", f"-backend-config=bucket={t.bucket}")),
    ]


def adopt(t: Target) -> list[Step]:
    """Import what a destroy left behind, if it is there and not yet in the state."""
    steps = []
    for address, template in UNDELETABLE.items():
        importing = terraform("import", "-input=false", *t.tf_vars(), address, template.format(**vars(t)))
        steps.append(
            Step(
                importing,
                note="if it exists and the state does not hold it",
                resolve=_unless_in_state(address, importing),
                ok_to_fail=True,  # nothing to adopt: a first deploy
            )
        )
    return steps


def apply(t: Target, *targets: str) -> Step:
    return Step(terraform("apply", "-input=false", "-auto-approve", *t.tf_vars(), *(f"-target={a}" for a in targets)))


def images(t: Target) -> list[Step]:
    steps = [Step(["gcloud", "auth", "configure-docker", f"{t.region}-docker.pkg.dev", "--quiet"])]
    for service in registry.SERVICES:
        image = t.image(service.name)
        pushed = ["gcloud", "artifacts", "docker", "images", "describe", image]
        build = [
            "docker", "build", "--pull", "--platform", "linux/amd64", "--build-arg", f"VERSION={t.tag}",
            "--build-arg", f"SERVICE={service.directory}", "--build-arg", f"PORT={service.default_port}",
            "-f", f"{ROOT / 'Dockerfile'}", "-t", image, str(ROOT),
        ]  # fmt: skip
        steps.append(Step(build, note="skipped if this commit was pushed", resolve=_unless(pushed, build)))
        steps.append(Step(["docker", "push", image], resolve=_unless(pushed, ["docker", "push", image])))
    return steps


def migrations(t: Target) -> list[Step]:
    """Each database to the new schema, before any new revision serves (expand-only: the
    revision serving meanwhile keeps working on it)."""
    steps: list[Step] = []
    for service in SERVICES:
        job = f"migrate-{service}"
        steps.append(Step(["gcloud", "run", "jobs", "update", job, "--image", t.image(service), *t.gcloud, "--quiet"]))
        steps.append(Step(["gcloud", "run", "jobs", "execute", job, *t.gcloud, "--wait"]))
    return steps


def candidates(t: Target) -> list[Step]:
    """The new revisions, serving nothing until the smoke test passes, then everything."""
    candidate = ["--no-traffic", "--tag", t.release_tag, "--quiet"]
    steps = [
        Step(["gcloud", "run", "deploy", s, "--container", APP_CONTAINER, "--image", t.image(s), *candidate, *t.gcloud])
        for s in SERVICES
    ]
    smoke = ["gcloud", "run", "jobs", "execute", SMOKE_JOB, *t.gcloud, "--wait"]
    steps += [
        Step(["gcloud", "run", "jobs", "update", SMOKE_JOB, "--image", t.image(SMOKE_IMAGE_OF), *t.gcloud, "--quiet"]),
        Step(
            [*smoke, f"--args=--version,{t.tag},<the {t.release_tag} URL of each service>"],
            note="traffic moves only if every candidate is ready and runs this commit",
            resolve=lambda: [[*smoke, "--args=" + ",".join(["--version", t.tag, *tag_urls(t)])]],
        ),
    ]
    steps += [
        Step(["gcloud", "run", "services", "update-traffic", s, "--to-tags", f"{t.release_tag}=100", *t.gcloud])
        for s in SERVICES
    ]
    return steps


def deploy_plan(t: Target) -> list[Step]:
    return [
        *foundation(t),
        *adopt(t),
        apply(t, "google_artifact_registry_repository.images"),
        *images(t),
        apply(t, "google_cloud_run_v2_job.migrate", "google_cloud_run_v2_job.smoke"),
        *migrations(t),
        apply(t),
        *candidates(t),
        Step(terraform("output", "-json")),
    ]


def plan_plan(t: Target) -> list[Step]:
    return [*foundation(t), *adopt(t), Step(terraform("plan", "-input=false", *t.tf_vars(), "-out=tfplan"))]


def release_plan(t: Target) -> list[Step]:
    return [*images(t), *migrations(t), *candidates(t)]


def rollback_plan(t: Target, to: str | None) -> list[Step]:
    """Traffic back to an earlier release's revisions. Never a schema downgrade: every
    migration is expand-only, so the earlier code runs on the current schema."""

    def back(service: str) -> Step:
        cmd = ["gcloud", "run", "services", "update-traffic", service, *t.gcloud, "--to-tags"]
        if to:
            return Step([*cmd, f"rev-{to}=100"])
        return Step(
            [*cmd, "<the release before the one serving>=100"],
            resolve=lambda: [[*cmd, f"{previous_release(t, service)}=100"]],
        )

    return [back(service) for service in SERVICES]


def destroy_plan(t: Target) -> list[Step]:
    return [
        Step(terraform("init", "-input=false", f"-backend-config=bucket={t.bucket}")),
        # Cloud SQL refuses deletion while protected; lift it on purpose, then destroy.
        Step(
            terraform(
                "apply",
                "-input=false",
                "-auto-approve",
                *t.tf_vars(db_deletion_protection="false"),
                "-target=google_sql_database_instance.main",
            )
        ),
        Step(terraform("state", "rm", *UNDELETABLE), note="left to the project; make deploy adopts them again"),
        Step(terraform("destroy", "-input=false", "-auto-approve", *t.tf_vars())),
    ]


# ---------------------------------------------------------------------- what the cloud says
def _succeeds(cmd: list[str]) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


def _unless(check: list[str], cmd: list[str]) -> Callable[[], list[list[str]]]:
    return lambda: [] if _succeeds(check) else [cmd]


def _unless_in_state(address: str, cmd: list[str]) -> Callable[[], list[list[str]]]:
    def decide() -> list[list[str]]:
        listed = subprocess.run(terraform("state", "list", address), capture_output=True, text=True)
        return [] if listed.stdout.strip() else [cmd]

    return decide


def _traffic(t: Target, service: str) -> list[dict[str, Any]]:
    """The service's traffic entries, as Cloud Run reports them (revision, tag, URL, percent)."""
    found = subprocess.run(
        ["gcloud", "run", "services", "describe", service, *t.gcloud, "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    traffic: list[dict[str, Any]] = json.loads(found.stdout).get("status", {}).get("traffic", [])
    return traffic


def tag_urls(t: Target) -> list[str]:
    """Each service's URL for this release's tag, as Cloud Run reports it."""
    urls = []
    for service in SERVICES:
        traffic = _traffic(t, service)
        url = next((e["url"] for e in traffic if e.get("tag") == t.release_tag), None)
        if not url:
            raise DeployError(f"{service} has no revision tagged {t.release_tag}")
        urls.append(url)
    return urls


def previous_release(t: Target, service: str) -> str:
    """The tag of the newest tagged revision older than the one serving."""
    traffic = _traffic(t, service)
    serving = next(e["revisionName"] for e in traffic if e.get("percent") == 100)
    revisions = json.loads(
        subprocess.run(
            ["gcloud", "run", "revisions", "list", "--service", service, *t.gcloud, "--format=json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    created = {r["metadata"]["name"]: r["metadata"]["creationTimestamp"] for r in revisions}
    tagged = sorted(
        ((created[e["revisionName"]], e["tag"]) for e in traffic if e.get("tag", "").startswith("rev-")),
        reverse=True,
    )
    older = [tag for when, tag in tagged if when < created[serving]]
    if not older:
        raise DeployError(f"{service}: no earlier release to roll back to (name one with TO=<commit>)")
    return str(older[0])


# ---------------------------------------------------------------------- running
def git(*args: str, root: Path = ROOT) -> str:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise DeployError("deploy tags images with the git commit: run it from a clone") from None


def git_tag(dry_run: bool, root: Path = ROOT) -> str:
    """The commit deployed. A tree with uncommitted changes would ship code its tag does not
    name (what .gitignore lists, such as Terraform's lock file and .terraform/, is not a change)."""
    if not dry_run and git("status", "--porcelain", root=root):
        raise DeployError("commit your changes first: images are tagged by commit (tags are immutable)")
    return git("rev-parse", "--short=12", "HEAD", root=root)


def run(plan: Sequence[Step], dry_run: bool) -> None:
    for step in plan:
        note = f"  ({step.note})" if step.note else ""
        if dry_run:
            print(f"would run: {shlex.join(step.cmd)}{note}", flush=True)
            continue
        commands = step.resolve() if step.resolve else [step.cmd]
        if not commands:
            print(f"skip: {shlex.join(step.cmd)}{note}", flush=True)
        for cmd in commands:
            print(f"+ {shlex.join(cmd)}", flush=True)
            result = subprocess.run(cmd, check=False)
            if result.returncode != 0 and not step.ok_to_fail:
                raise subprocess.CalledProcessError(result.returncode, cmd)


ACTIONS = ("deploy", "plan", "release", "rollback", "destroy")
TOOLS = {
    "deploy": ("gcloud", "docker", "terraform"),
    "plan": ("gcloud", "terraform"),
    "release": ("gcloud", "docker"),
    "rollback": ("gcloud",),
    "destroy": ("terraform",),
}


def main(argv: Sequence[str]) -> int:
    action = argv[1] if len(argv) > 1 else ""
    env = os.environ
    try:
        if action not in ACTIONS:
            raise DeployError(f"usage: deploy.py {'|'.join(ACTIONS)}")
        project = env.get("PROJECT_ID", "")
        if not project:
            raise DeployError("set PROJECT_ID (the GCP project to deploy into)")
        dry_run = env.get("DRY_RUN", "") not in ("", "0")
        missing = [tool for tool in TOOLS[action] if shutil.which(tool) is None]
        if missing and not dry_run:
            raise DeployError(f"not on PATH: {', '.join(missing)} (or try DRY_RUN=1)")
        target = Target(
            project,
            env.get("REGION", "southamerica-east1"),
            git_tag(dry_run or action == "rollback"),
            domain=env.get("DOMAIN", ""),
            alert_email=env.get("ALERT_EMAIL", ""),
        )
        if action in ("deploy", "plan", "destroy"):  # Terraform needs every variable
            if "@" not in target.alert_email:
                raise DeployError("set ALERT_EMAIL (where alerts go)")
            if "." not in target.domain:
                raise DeployError("set DOMAIN (the API's origin, e.g. api.example.com)")
        if action == "deploy":
            run(deploy_plan(target), dry_run)
        elif action == "plan":
            run(plan_plan(target), dry_run)
        elif action == "release":
            run(release_plan(target), dry_run)
        elif action == "rollback":
            run(rollback_plan(target, env.get("TO") or None), dry_run)
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
