"""terraform/ is formatted, parses, passes checkov (every skip justified), and agrees with
the code: the shared topology, the services and their settings, the connection budget.
`terraform validate` needs the providers, which cannot be downloaded here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from typing import Any

import hcl2
import pytest

from mercado_shared import health
from mercado_shared.devstack import SERVICES
from mercado_shared.health import DatabaseProbe
from mercado_shared.topology import load_topology
from scripts import terraform_topology
from tests.static.conftest import ROOT, env_names, settings_class

TERRAFORM = ROOT / "terraform"
CHECKOV = ROOT / ".venv" / "tools" / "bin" / "checkov"


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


@cache
def parsed() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as f:
            found[path.name] = unquote(hcl2.load(f))
    return found


def blocks(kind: str) -> dict[str, dict[str, Any]]:
    """Every ``kind`` block (resource, variable, …) of every file, by name (type.name for resources)."""
    found: dict[str, dict[str, Any]] = {}
    for document in parsed().values():
        for entry in document.get(kind, []):
            for name, body in entry.items():
                if kind in ("resource", "data"):
                    for inner, spec in body.items():
                        found[f"{name}.{inner}"] = spec
                else:
                    found[name] = body
    return found


def default(variable: str) -> Any:
    return blocks("variable")[variable]["default"]


def test_terraform_is_formatted() -> None:
    terraform = shutil.which("terraform")
    assert terraform, (
        "terraform is needed for `terraform fmt -check` (https://developer.hashicorp.com/terraform/install)"
    )
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_every_file_parses_and_the_state_is_remote() -> None:
    assert len(parsed()) >= 10
    json.loads((TERRAFORM / "pubsub.tf.json").read_text())
    backend = parsed()["versions.tf"]["terraform"][0]["backend"][0]
    assert "gcs" in backend
    assert {"project_id", "region"} <= set(blocks("variable"))
    assert "service_urls" in blocks("output")


@pytest.mark.parametrize(
    "target", [["-d", str(TERRAFORM)], ["-f", str(TERRAFORM / "pubsub.tf.json")]], ids=["tf", "json"]
)
def test_checkov_finds_nothing_unjustified(target: list[str]) -> None:
    assert CHECKOV.exists(), "checkov lives in its own virtualenv: run scripts/install.sh"
    result = subprocess.run(
        [str(CHECKOV), *target, "--quiet", "--compact", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c["check_id"] + " " + c["resource"] for r in reports for c in r["results"]["failed_checks"]]
    assert failed == []
    assert sum(r["summary"]["passed"] for r in reports) > 0  # it did check something


def test_every_checkov_skip_says_why() -> None:
    skips = [
        line for path in TERRAFORM.glob("*.tf") for line in path.read_text().splitlines() if "checkov:skip" in line
    ]
    assert skips
    for line in skips:
        assert re.search(r"checkov:skip=CKV\w*_\d+:\S.{10,}", line), f"a skip without a reason: {line.strip()}"


def test_pubsub_is_generated_from_the_current_topology() -> None:
    assert (TERRAFORM / "pubsub.tf.json").read_text() == terraform_topology.text(), (
        "the topology changed: run python scripts/terraform_topology.py"
    )


def test_every_topic_subscription_dead_letter_and_endpoint_agrees_with_the_topology() -> None:
    topology = load_topology()
    resources = json.loads((TERRAFORM / "pubsub.tf.json").read_text())["resource"]
    topics = {spec["name"]: key for key, spec in resources["google_pubsub_topic"].items()}
    assert set(topics) == set(topology.topics) | set(topology.dead_letter_topics())
    subscriptions = {spec["name"]: spec for spec in resources["google_pubsub_subscription"].values()}
    expected = {s.name for s in topology.subscriptions()} | {
        topology.dead_letter_subscription(s) for s in topology.services
    }
    assert set(subscriptions) == expected
    services = blocks("resource")["google_cloud_run_v2_service.service"]
    assert services["for_each"] == "${local.services}"
    for sub in topology.subscriptions():
        spec = subscriptions[sub.name]
        assert spec["topic"] == f"${{google_pubsub_topic.{topics[sub.topic]}.id}}"
        push = spec["push_config"]
        assert push["push_endpoint"] == f'${{google_cloud_run_v2_service.service["{sub.service}"].uri}}{sub.push_path}'
        assert push["oidc_token"]["service_account_email"] == "${google_service_account.pusher.email}"
        assert push["oidc_token"]["audience"] == f'${{local.urls["{sub.service}"]}}'
        dead = spec["dead_letter_policy"]
        assert dead["dead_letter_topic"] == f"${{google_pubsub_topic.{topics[sub.dead_letter_topic]}.id}}"
        assert dead["max_delivery_attempts"] == sub.policy.max_delivery_attempts
        assert spec["ack_deadline_seconds"] == sub.policy.ack_deadline_seconds
        assert spec["retry_policy"]["maximum_backoff"] == f"{sub.policy.maximum_backoff_seconds}s"
    grants = resources["google_pubsub_topic_iam_member"]
    for topic, spec in topology.topics.items():
        grant = grants[topics[topic]]
        assert grant["role"] == "roles/pubsub.publisher"
        assert grant["member"] == f'serviceAccount:${{google_service_account.service["{spec.producer}"].email}}'


def test_the_services_are_the_codes_and_are_given_only_settings_they_read() -> None:
    text = (TERRAFORM / "run.tf").read_text()
    service_block = text[
        text.index('resource "google_cloud_run_v2_service"') : text.index('resource "google_cloud_run_v2_job"')
    ]
    only: dict[str, set[str]] = {}
    for name, body in re.findall(r'each\.key == "([\w-]+)" \? \{(.*?)\} : \{\}', service_block, re.S):
        only.setdefault(name, set()).update(re.findall(r"\b([A-Z][A-Z_]+)\s+=", body))
    common = service_block[service_block.index("for_each = merge(") :]
    everyone = set(re.findall(r"\b([A-Z][A-Z_]+)\s+=", common[: common.index("},")]))
    secrets = blocks("locals")["secret_env"]
    names = [s.name for s in SERVICES]
    assert set(blocks("locals")["services"]) == set(names) == set(load_topology().services)
    for service in names:
        given = everyone | only.get(service, set()) | set(secrets[service])
        assert given - env_names(service) == set(), f"{service} does not read {given - env_names(service)}"
        assert {"DATABASE_URL", "PLATFORM_AUTH", "SERVICE_AUDIENCE", "PUSH_SERVICE_ACCOUNT"} <= given
    assert "KMS_KEY_NAME" in only["cliente-service"] and "JWT_PRIVATE_KEY" in secrets["cliente-service"]


def test_the_pools_fit_in_max_connections_and_requests_end_before_their_push_is_redelivered() -> None:
    needed = len(SERVICES) * default("max_instances") * (default("db_pool_size") + default("db_max_overflow"))
    assert needed + len(SERVICES) + 10 <= default("db_max_connections")
    assert "connection_budget" in str(parsed()["locals.tf"].get("check"))
    service = blocks("resource")["google_cloud_run_v2_service.service"]["template"][0]
    assert int(service["timeout"].rstrip("s")) < load_topology().subscription_defaults.ack_deadline_seconds
    assert 1 <= service["max_instance_request_concurrency"] <= 80


def test_cloud_sql_is_private_backed_up_and_protected_with_a_database_per_service() -> None:
    instance = blocks("resource")["google_sql_database_instance.main"]
    settings = instance["settings"][0]
    assert (
        instance["deletion_protection"] == "${var.db_deletion_protection}" and default("db_deletion_protection") is True
    )
    assert settings["ip_configuration"][0]["ipv4_enabled"] is False
    backup = settings["backup_configuration"][0]
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    flags = {f["name"]: f["value"] for f in settings["database_flags"]}
    assert flags["max_connections"] == "${tostring(var.db_max_connections)}"
    assert blocks("resource")["google_sql_database.service"]["for_each"] == "${local.services}"
    assert "/cloudsql/" in str(blocks("locals")["secret_values"])  # psycopg2 through the unix socket


def test_alerts_and_uptime_checks_cover_what_the_runbook_names() -> None:
    alerts = " | ".join(
        spec["display_name"]
        for name, spec in blocks("resource").items()
        if name.startswith("google_monitoring_alert_policy.")
    )
    for topic in ("5xx", "p95 latency", "dead-letter", "stuck", "Cloud SQL CPU", "connections", "/health"):
        assert topic in alerts, f"no alert on {topic}"
    assert blocks("resource")["google_monitoring_uptime_check_config.health"]["for_each"] == "${local.services}"
    scheduler = blocks("resource")["google_cloud_scheduler_job.deadline_sweep"]["http_target"][0]
    assert scheduler["uri"].endswith("/internal/deadlines/sweep") and "oidc_token" in scheduler


def test_probes_ask_the_routes_built_for_them_within_cloud_runs_limits() -> None:
    """Startup waits on readiness (the database ping), liveness on the process alone, and
    the startup budget covers what start-up itself may wait for the database."""
    container = blocks("resource")["google_cloud_run_v2_service.service"]["template"][0]["containers"][0]
    startup, liveness = container["startup_probe"][0], container["liveness_probe"][0]
    assert startup["http_get"][0]["path"] == health.READINESS_PATH
    assert liveness["http_get"][0]["path"] == health.LIVENESS_PATH
    budget = startup["period_seconds"] * startup["failure_threshold"]
    waits = {settings_class(s.name).model_fields["startup_database_wait_seconds"].default for s in SERVICES}
    assert max(waits) + 2 * startup["period_seconds"] <= budget <= 240  # Cloud Run's cap on the product
    assert budget >= 60  # Direct VPC egress may take a minute to connect a new instance
    assert startup["timeout_seconds"] > DatabaseProbe(None).timeout  # type: ignore[arg-type]
