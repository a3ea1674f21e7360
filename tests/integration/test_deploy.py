"""make deploy, release, rollback and destroy, as far as they can be proven here: their dry
runs print every step, in an order derived from the Terraform rather than restated: each
phase creates what its jobs and services read at run time, APIs and service agents exist
before what needs them, and what Google cannot delete survives a destroy and a redeploy."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from mercado_shared.registry import SERVICES
from scripts import deploy
from tests.static.terraform import Config, runtime_needs, strings

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
ENV = {"PROJECT_ID": "demo-project", "DOMAIN": "api.example.com", "ALERT_EMAIL": "oncall@example.com"}


@cache
def config() -> Config:
    return Config.load(TERRAFORM)


def make(target: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in (*ENV, "CONFIRM", "DRY_RUN", "TO", "REGION")}
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        env={**clean, "PATH": "/usr/bin:/bin", **env},  # no gcloud/docker/terraform needed for a dry run
        capture_output=True,
        text=True,
    )


def planned(output: str) -> list[list[str]]:
    return [
        shlex.split(line.removeprefix("would run: ").split("  (")[0])
        for line in output.splitlines()
        if line.startswith("would run: ")
    ]


def dry_run(action: str, **env: str) -> list[list[str]]:
    result = make(action, DRY_RUN="1", REGION="us-east1", **{**ENV, **env})
    assert result.returncode == 0, result.stderr
    return planned(result.stdout)


def tag() -> str:
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return head.stdout.strip()


def index(steps: list[list[str]], *words: str) -> int:
    found = [i for i, s in enumerate(steps) if all(w in shlex.join(s) for w in words)]
    assert len(found) == 1, (words, found)
    return found[0]


def targets(step: list[str]) -> list[str]:
    return [arg.removeprefix("-target=") for arg in step if arg.startswith("-target=")]


def test_a_dry_run_deploy_prints_every_step_in_a_safe_order_and_runs_nothing() -> None:
    steps = dry_run("deploy")
    apis = index(steps, "gcloud services enable")
    assert set(deploy.BOOTSTRAP_APIS) <= set(steps[apis])
    bucket = index(steps, "gcloud storage buckets create")
    assert {"--location", "us-east1", "--uniform-bucket-level-access", "--public-access-prevention"} <= set(
        steps[bucket]
    )
    versioned = index(steps, "buckets update", "--versioning")
    init = index(steps, "terraform", "init", "-backend-config=bucket=demo-project-tfstate")
    applies = [i for i, s in enumerate(steps) if "apply" in s]
    registry, jobs, final = applies
    assert targets(steps[registry]) == ["google_artifact_registry_repository.images"]
    assert targets(steps[final]) == []
    assert apis < bucket < versioned < init < registry < jobs < final
    for service in SERVICES:
        image = f"us-east1-docker.pkg.dev/demo-project/mercado-veiculo/{service.name}:{tag()}"
        build = index(steps, "docker build", f"--build-arg SERVICE={service.directory}", image)
        assert f"--build-arg PORT={service.default_port}" in shlex.join(steps[build])
        assert f"-f {ROOT / 'Dockerfile'}" in shlex.join(steps[build])
        assert "--platform linux/amd64" in shlex.join(steps[build])  # what Cloud Run runs, from any laptop
        assert f"--build-arg VERSION={tag()}" in shlex.join(steps[build])
        push = index(steps, "docker push", image)
        update = index(steps, "gcloud run jobs update", f"migrate-{service.name}", image)
        migrate = index(steps, "gcloud run jobs execute", f"migrate-{service.name}", "--wait")
        candidate = index(steps, "gcloud run deploy", service.name, image, "--no-traffic", f"--tag rev-{tag()}")
        shift = index(steps, "update-traffic", service.name, f"--to-tags rev-{tag()}=100")
        smoke = index(steps, "gcloud run jobs execute", deploy.SMOKE_JOB)
        assert registry < build < push < jobs < update < migrate < final < candidate < smoke < shift
    assert steps[-1][-2:] == ["output", "-json"]
    assert all("-var=domain=api.example.com" in s for s in steps if "apply" in s)


def test_each_phase_creates_what_its_jobs_and_services_read_at_run_time() -> None:
    """`apply -target=X` creates X and what X depends on, nothing else: every secret
    version, database, user and grant X reads at run time must be among them. Within the
    final apply the same holds for the order in which each service and job is created."""
    phases = [targets(s) for s in dry_run("deploy") if "apply" in s and targets(s)]
    assert phases, "the deploy is staged"
    for phase in phases:
        created = config().closure(phase)
        for address in phase:
            missing = runtime_needs(config(), address) - created
            assert missing == set(), f"-target={address} runs before {sorted(missing)} exist"
    for address in config().resources:
        if address.split(".")[0] in ("google_cloud_run_v2_service", "google_cloud_run_v2_job"):
            missing = runtime_needs(config(), address) - config().closure([address])
            assert missing == set(), f"{address} may start before {sorted(missing)}"
    assert runtime_needs(config(), "google_cloud_run_v2_job.migrate") >= {
        "google_secret_manager_secret_version.secret",
        "google_sql_database.service",
        "google_sql_user.service",
        "google_project_iam_member.service",  # cloudsql.client
        "google_kms_crypto_key_iam_member.service_uses",  # cliente's migration wraps data keys
    }


def test_the_phase_check_catches_a_job_that_would_run_before_its_database(tmp_path: Path) -> None:
    for path in TERRAFORM.glob("*.tf*"):
        shutil.copy(path, tmp_path / path.name)
    run_tf = (tmp_path / "run.tf").read_text()
    job = run_tf.index('resource "google_cloud_run_v2_job" "migrate"')
    depends = run_tf.index("  depends_on = [", job)
    broken = run_tf[:depends] + run_tf[run_tf.index("]\n", depends) + 2 :]
    (tmp_path / "run.tf").write_text(broken)
    mutated = Config.load(tmp_path)
    address = "google_cloud_run_v2_job.migrate"
    assert "google_sql_user.service" in runtime_needs(mutated, address) - mutated.closure([address])


# Which API each kind of resource needs (https://cloud.google.com/apis/docs/getting-started).
API_OF = {
    "google_artifact_registry_": "artifactregistry.googleapis.com",
    "google_cloud_run_v2_": "run.googleapis.com",
    "google_cloud_scheduler_": "cloudscheduler.googleapis.com",
    "google_compute_": "compute.googleapis.com",
    "google_kms_": "cloudkms.googleapis.com",
    "google_monitoring_": "monitoring.googleapis.com",
    "google_pubsub_": "pubsub.googleapis.com",
    "google_secret_manager_": "secretmanager.googleapis.com",
    "google_service_networking_": "servicenetworking.googleapis.com",
    "google_sql_": "sqladmin.googleapis.com",
}


def test_every_resource_comes_after_the_api_it_needs_and_terraforms_own_apis_come_first() -> None:
    enabled = set(re.findall(r'"([a-z]+\.googleapis\.com)"', str(config().resources["google_project_service.api"])))
    assert set(API_OF.values()) <= enabled
    assert not set(deploy.BOOTSTRAP_APIS) & enabled, "those are enabled by make deploy, before Terraform plans"
    for address in config().resources:
        api = next((a for prefix, a in API_OF.items() if address.startswith(prefix)), None)
        if api is not None:
            assert "google_project_service.api" in config().closure([address]), f"{address} may precede {api}"


def test_grants_to_google_service_agents_come_after_the_agents_exist() -> None:
    everything = [text for body in config().resources.values() for text in strings(body)]
    assert not any("gcp-sa-" in text for text in everything), "name an agent by its google_project_service_identity"
    agents = {a for a in config().resources if a.startswith("google_project_service_identity.")}
    assert agents and all(config().provider_of(a) == "google-beta" for a in agents)
    granted = [
        body
        for address, body in config().resources.items()
        if "_iam_member" in address and config().references(body["member"]) & agents
    ]
    assert len(granted) >= 3  # Artifact Registry's and Pub/Sub's keys, the pusher's tokens


def test_what_google_cannot_delete_survives_a_destroy_and_is_adopted_by_the_next_deploy() -> None:
    protected = {
        address
        for address, body in config().resources.items()
        if any(block.get("prevent_destroy") for block in body.get("lifecycle", []))
    }
    pools = {a for a in config().resources if a.startswith("google_iam_workload_identity_pool")}
    assert set(deploy.UNDELETABLE) == protected | pools
    for address, import_id in deploy.UNDELETABLE.items():
        body = config().resources[address]
        name = (
            body.get("name")
            or body.get("bucket_id")
            or body.get("workload_identity_pool_provider_id")
            or body["workload_identity_pool_id"]
        )
        assert import_id.endswith(f"/{name}"), (address, import_id)
    destroyed = dry_run("destroy", CONFIRM="demo-project")
    removal = next(i for i, s in enumerate(destroyed) if "state" in s and "rm" in s)
    removed = destroyed[removal]
    assert set(removed[removed.index("rm") + 1 :]) == set(deploy.UNDELETABLE)
    assert removal < index(destroyed, " destroy ")
    deployed = dry_run("deploy")
    imports = {s[-2] for s in deployed if "import" in s}
    first_apply = next(i for i, s in enumerate(deployed) if "apply" in s)
    assert imports == set(deploy.UNDELETABLE)
    assert all(i < first_apply for i, s in enumerate(deployed) if "import" in s)
    # A deleted Cloud SQL instance's name stays reserved for a week: each deploy picks anew.
    assert "${random_id.sql_instance.hex}" in config().resources["google_sql_database_instance.main"]["name"]


def test_a_second_deploy_from_the_same_clone_is_not_refused_for_the_lock_file_terraform_init_wrote(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    (clone / "terraform" / ".terraform.lock.hcl").write_text("# written by terraform init\n")
    (clone / "terraform" / ".terraform").mkdir()
    assert deploy.git_tag(dry_run=False, root=clone)  # a clean tree, as far as deploying goes
    (clone / "README.md").write_text("an uncommitted change")
    with pytest.raises(deploy.DeployError, match="commit your changes first"):
        deploy.git_tag(dry_run=False, root=clone)


def test_a_release_runs_no_terraform_and_moves_traffic_only_after_its_smoke_test() -> None:
    steps = dry_run("release")
    assert not any(s[0] == "terraform" for s in steps), "CD releases code; infrastructure is a person's plan"
    smoke = index(steps, "gcloud run jobs execute", deploy.SMOKE_JOB)
    assert f"--version,{tag()}" in shlex.join(steps[smoke])
    app = config().resources["google_cloud_run_v2_service.service"]["template"][0]["containers"][0]["name"]
    for service in SERVICES:
        migrate = index(steps, "jobs execute", f"migrate-{service.name}")
        candidate = index(steps, "gcloud run deploy", service.name)
        assert f"--container {app}" in shlex.join(steps[candidate])  # the app, not the metrics sidecar
        shift = index(steps, "update-traffic", service.name)
        assert migrate < candidate < smoke < shift


def test_a_rollback_moves_traffic_back_and_never_touches_the_schema() -> None:
    steps = dry_run("rollback", TO="0123456789ab")
    assert len(steps) == len(SERVICES)
    for service in SERVICES:
        assert "--to-tags rev-0123456789ab=100" in shlex.join(steps[index(steps, "update-traffic", service.name)])
    assert not any("alembic" in shlex.join(s) or "migrate" in shlex.join(s) for s in steps)


def test_deploy_and_destroy_refuse_what_is_missing_or_unconfirmed() -> None:
    no_project = make("deploy", DRY_RUN="1", DOMAIN="api.example.com", ALERT_EMAIL="oncall@example.com")
    assert no_project.returncode != 0 and "set PROJECT_ID" in no_project.stderr
    no_email = make("deploy", DRY_RUN="1", PROJECT_ID="demo-project", DOMAIN="api.example.com")
    assert no_email.returncode != 0 and "set ALERT_EMAIL" in no_email.stderr
    no_domain = make("deploy", DRY_RUN="1", PROJECT_ID="demo-project", ALERT_EMAIL="oncall@example.com")
    assert no_domain.returncode != 0 and "set DOMAIN" in no_domain.stderr
    unconfirmed = make("destroy", DRY_RUN="1", **ENV, CONFIRM="another-project")
    assert unconfirmed.returncode != 0 and "CONFIRM=demo-project" in unconfirmed.stderr
    no_tools = make("deploy", **ENV)
    assert no_tools.returncode != 0 and "DRY_RUN=1" in no_tools.stderr  # not a half-run deploy
    lift = index(dry_run("destroy", CONFIRM="demo-project"), "-var=db_deletion_protection=false")
    assert "-target=google_sql_database_instance.main" in shlex.join(dry_run("destroy", CONFIRM="demo-project")[lift])
