"""terraform/ is formatted, passes checkov (every skip justified), and agrees with the code:
the topology and the access table it is generated from, the services and their settings,
the probes, the connection budget, the retry policy and the metrics the alerts read.
`terraform validate` needs the providers, which cannot be downloaded here: the schema
check is in test_terraform_schema.py, the deploy's phases in tests/integration/test_deploy.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from mercado_shared import cloud_access, health, metrics
from mercado_shared.health import DatabaseProbe
from mercado_shared.registry import SERVICES
from mercado_shared.topology import load_topology
from scripts import terraform_generate
from tests.static.conftest import ROOT, config_module, env_names, settings_class
from tests.static.terraform import Config, evaluate, strings

TERRAFORM = ROOT / "terraform"
CHECKOV = ROOT / ".venv" / "tools" / "bin" / "checkov"
NAMES = [s.name for s in SERVICES]


@cache
def config() -> Config:
    return Config.load(TERRAFORM)


def resource(address: str) -> dict[str, Any]:
    return config().resources[address]


def default(variable: str) -> Any:
    return config().variables[variable]["default"]


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
    backend = next(block["backend"][0] for block in config().terraform if "backend" in block)
    assert "gcs" in backend
    assert {"project_id", "region", "domain"} <= set(config().variables)
    assert {"frontend_origin", "frontend_ip", "service_urls"} <= set(config().outputs)


@pytest.mark.parametrize(
    "target",
    [["-d", str(TERRAFORM)], *(["-f", str(p)] for p in sorted(TERRAFORM.glob("*.tf.json")))],
    ids=lambda t: t[-1].rsplit("/", 1)[-1],
)
def test_checkov_finds_nothing_unjustified(target: list[str]) -> None:
    assert CHECKOV.exists(), "checkov lives in its own virtualenv: run scripts/install.sh"
    # JSON has no comments to carry a skip: the generated files hold secrets' names (like
    # "staff-password"), never values, which the entropy check mistakes for secrets; and
    # the directory run leaves those files to their own run.
    generated = [["--skip-path", p.name] for p in TERRAFORM.glob("*.tf.json")]
    skip = ["--skip-check", "CKV_SECRET_6"] if target[0] == "-f" else [arg for pair in generated for arg in pair]
    result = subprocess.run(
        [str(CHECKOV), *target, *skip, "--quiet", "--compact", "--skip-download", "-o", "json"],
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


def test_generated_files_are_current() -> None:
    for path, text in terraform_generate.generated().items():
        assert path.read_text() == text, f"{path.name} is stale: run make terraform-generate"


def test_every_topic_subscription_dead_letter_and_endpoint_agrees_with_the_topology() -> None:
    topology = load_topology()
    resources = json.loads((TERRAFORM / "pubsub.tf.json").read_text())["resource"]
    topics = {spec["name"]: key for key, spec in resources["google_pubsub_topic"].items()}
    assert set(topics) == set(topology.topics) | set(topology.dead_letter_topics())
    subscriptions = {spec["name"]: spec for spec in resources["google_pubsub_subscription"].values()}
    expected = {s.name for s in topology.subscriptions()} | {
        name(s)
        for s in topology.services
        for name in (topology.dead_letter_subscription, topology.dead_letter_store_subscription)
    }
    assert set(subscriptions) == expected
    for service in topology.services:  # each service keeps its dead letters for staff
        store = subscriptions[topology.dead_letter_store_subscription(service)]
        assert store["topic"] == f"${{google_pubsub_topic.{topics[topology.dead_letter_topic(service)]}.id}}"
        assert store["push_config"]["push_endpoint"] == (
            f'${{google_cloud_run_v2_service.service["{service}"].uri}}{topology.DEAD_LETTER_PUSH_PATH}'
        )
        assert store["push_config"]["oidc_token"]["audience"] == f'${{local.urls["{service}"]}}'
        assert "dead_letter_policy" not in store  # the last stop: retried until staff have it
    assert resource("google_cloud_run_v2_service.service")["for_each"] == "${local.services}"
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


def test_a_ten_minute_outage_dead_letters_nothing() -> None:
    """Pub/Sub retries with exponential backoff "on a best effort basis: the delay can be more
    or less than configured" (https://cloud.google.com/pubsub/docs/handling-failures), so
    the arithmetic does not count on the growth: even if every delay were only the minimum,
    the last of the 100 attempts comes (100 − 1) × 10 s = 990 s after the first, past a
    10-minute outage with a margin. With the backoff doubling as documented, a message is
    retried 10, 20, 40 … 600 s apart and dead-letters after some 15 hours, well within its
    7 days of retention."""
    policy = load_topology().subscription_defaults
    outage, margin = 600, 1.5
    assert (policy.max_delivery_attempts - 1) * policy.minimum_backoff_seconds >= outage * margin
    assert policy.maximum_backoff_seconds == 600  # Pub/Sub's cap: the slowest retry it allows
    delays = [
        min(policy.minimum_backoff_seconds * 2**n, policy.maximum_backoff_seconds)
        for n in range(policy.max_delivery_attempts - 1)
    ]
    assert outage < sum(delays) < policy.message_retention_seconds
    published = json.loads((TERRAFORM / "pubsub.tf.json").read_text())["resource"]["google_pubsub_subscription"]
    pushed = [s for s in published.values() if "push_config" in s]
    assert pushed and all(s["retry_policy"]["minimum_backoff"] == f"{policy.minimum_backoff_seconds}s" for s in pushed)


def test_every_grant_to_a_service_account_is_generated_from_the_access_table() -> None:
    """A service's account holds exactly what cloud_access.py says its code uses."""
    generated = json.loads((TERRAFORM / "access.tf.json").read_text())["resource"]
    addresses = {f"{kind}.{name}" for kind, named in generated.items() for name in named}
    grants_to_services = {
        address
        for address, body in config().resources.items()
        if re.search(r"_iam_(member|binding|policy)$", address.split(".")[0])
        and any("google_service_account.service[" in text for text in strings(body.get("member", "")))
    }
    assert grants_to_services == addresses
    declared = {(s, g.role, g.resource) for s in cloud_access.ACCESS for g in cloud_access.grants(s)}
    rendered: set[tuple[str, str, str]] = set()
    for kind, named in generated.items():
        for entry in (entry for body in named.values() for entry in body["for_each"].values()):
            target = {
                "google_project_iam_member": cloud_access.PROJECT,
                "google_service_account_iam_member": cloud_access.ITSELF,
            }.get(kind) or next(
                f"{k.replace('key', 'kms-key')}:{entry[k]}" for k in ("topic", "secret", "key", "bucket") if k in entry
            )
            rendered.add((entry["service"], entry["role"], target))
    assert rendered == declared
    assert set(config().locals["kms_keys"]) == {"${(google_kms_crypto_key.data_keys.name)}"}
    granted = {g.resource.removeprefix("bucket:") for s in NAMES for g in cloud_access.grants(s)}
    assert set(config().locals["buckets"]) == {b for s in NAMES for b in cloud_access.ACCESS[s].buckets} <= granted
    assert resource("google_kms_crypto_key.data_keys")["name"] == "personal-data-keys"  # the table's name
    secret_values = str(config().locals["secret_values"])
    secrets = {g.resource for s in NAMES for g in cloud_access.grants(s) if g.resource.startswith("secret:")}
    for secret in (name.removeprefix("secret:") for name in secrets):
        assert f'"{secret}"' in secret_values or secret.startswith("database-url-"), f"no secret {secret}"
    assert '"database-url-${name}"' in secret_values


def test_the_services_are_the_codes_and_are_given_only_settings_they_read() -> None:
    local = config().locals
    assert set(local["services"]) == set(NAMES) == set(load_topology().services) == set(cloud_access.ACCESS)
    assert {s.name: s.database for s in SERVICES} == {n: spec["database"] for n, spec in local["services"].items()}
    service_env = local["service_env"]
    for service in NAMES:
        given = (
            set(local["common_env"])
            | set(re.findall(r"\b([A-Z][A-Z_]+) =", service_env))
            | set(local["own_env"].get(service, {}))
            | set(cloud_access.ACCESS[service].secrets)
        )
        assert given - env_names(service) == set(), f"{service} does not read {given - env_names(service)}"
        assert {"DATABASE_URL", "PLATFORM_AUTH", "SERVICE_AUDIENCE", "PUSH_SERVICE_ACCOUNT", "METRICS_PORT"} <= given
        assert {"ALLOWED_ORIGINS", "INTERNAL_CALLERS"} <= given
    assert "KMS_KEY_NAME" in local["own_env"]["cliente-service"]
    assert "JWT_PRIVATE_KEY" in cloud_access.ACCESS["cliente-service"].secrets


def test_the_connection_budget_is_a_precondition_that_refuses_what_does_not_fit() -> None:
    """Checked at plan time, before anything changes (a `check` block would only warn)."""
    instance = resource("google_sql_database_instance.main")
    condition = instance["lifecycle"][0]["precondition"][0]["condition"]
    assert evaluate(config(), condition) is True
    per_instance = default("db_pool_size") + default("db_max_overflow")
    dedicated = sum(s["dedicated_connections"] for s in config().locals["services"].values())
    expected = 2 * default("max_instances") * (len(SERVICES) * per_instance + dedicated)  # two revisions
    assert evaluate(config(), "${local.connections_needed}") >= expected + len(SERVICES)  # + the migration jobs
    too_many = default("max_instances") + 2
    assert evaluate(config(), condition, {"max_instances": too_many}) is False
    assert evaluate(config(), condition, {"db_max_connections": expected}) is False
    assert not config().checks, "a check block only warns: the budget is a precondition"
    service = resource("google_cloud_run_v2_service.service")
    assert service["scaling"][0]["max_instance_count"] == "${var.max_instances}"  # service-level, all revisions
    assert "scaling" not in service["template"][0]


def test_requests_end_before_their_push_is_redelivered_and_long_polls_leave_room() -> None:
    service = resource("google_cloud_run_v2_service.service")["template"][0]
    assert int(service["timeout"].rstrip("s")) < load_topology().subscription_defaults.ack_deadline_seconds
    assert service["max_instance_request_concurrency"] == "${each.value.concurrency}"
    concurrency = {name: spec["concurrency"] for name, spec in config().locals["services"].items()}
    waits = settings_class("orquestrador").model_fields["max_waiting_requests"].default
    others = min(c for name, c in concurrency.items() if name != "orquestrador")
    assert concurrency["orquestrador"] - waits >= others, "long polls could take every slot POST /purchase needs"
    assert all(1 <= c <= 1000 for c in concurrency.values())


def test_services_take_traffic_only_from_the_load_balancer_and_google_and_no_one_is_all_users() -> None:
    service = resource("google_cloud_run_v2_service.service")
    assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert service["invoker_iam_disabled"] is True  # every route checks its own caller
    public = {
        address
        for address, body in config().resources.items()
        if any(text in ("allUsers", "allAuthenticatedUsers") for text in strings(body))
    }
    # One exception, by design: anyone may read the photos bucket's renditions.
    assert public == {"google_storage_bucket_iam_member.photos_public"}
    grant = resource("google_storage_bucket_iam_member.photos_public")
    assert (grant["bucket"], grant["role"], grant["member"]) == (
        "${google_storage_bucket.photos.name}",
        "roles/storage.objectViewer",
        "allUsers",
    )
    egress = {
        address: body["template"][0]["vpc_access"][0]["egress"]
        if "template" in body and "vpc_access" in body["template"][0]
        else body["template"][0]["template"][0]["vpc_access"][0]["egress"]
        for address, body in config().resources.items()
        if address.startswith("google_cloud_run_v2_")
        and not address.endswith("_iam_member")
        and address.split(".")[0] in ("google_cloud_run_v2_service", "google_cloud_run_v2_job")
    }
    # Their calls to each other's internal-ingress URLs must go through the VPC.
    assert set(egress.values()) == {"ALL_TRAFFIC"}
    assert resource("google_compute_subnetwork.run")["private_ip_google_access"] is True


def test_metrics_are_scraped_on_loopback_by_the_sidecar_and_not_served_publicly() -> None:
    template = resource("google_cloud_run_v2_service.service")["template"][0]
    app, sidecar = template["containers"]
    assert app["name"] == "app" and "ports" in app and "ports" not in sidecar  # only the app takes requests
    assert sidecar["depends_on"] == ["app"]
    port = config().locals["metrics_port"]
    assert config().locals["common_env"]["METRICS_PORT"] == "${tostring(local.metrics_port)}"
    assert 'port = local.metrics_port, path = "/metrics"' in config().locals["secret_values"]
    assert isinstance(port, int) and "metrics_port" in settings_class("veiculo-service").model_fields
    mount = sidecar["volume_mounts"][0]
    assert mount["mount_path"] == "/etc/rungmp"  # where the sidecar reads its RunMonitoring config
    volume = next(v for v in template["volumes"] if v["name"] == mount["name"])
    assert volume["secret"][0]["items"][0]["path"] == "config.yaml"


def test_probes_ask_the_routes_built_for_them_within_cloud_runs_limits() -> None:
    """Startup waits on readiness (the database ping), liveness on the process alone, and
    the startup budget covers what start-up itself may wait for the database."""
    container = resource("google_cloud_run_v2_service.service")["template"][0]["containers"][0]
    startup, liveness = container["startup_probe"][0], container["liveness_probe"][0]
    assert startup["http_get"][0]["path"] == health.READINESS_PATH
    assert liveness["http_get"][0]["path"] == health.LIVENESS_PATH
    budget = startup["period_seconds"] * startup["failure_threshold"]
    waits = {settings_class(s.name).model_fields["startup_database_wait_seconds"].default for s in SERVICES}
    assert max(waits) + 2 * startup["period_seconds"] <= budget <= 240  # Cloud Run's cap on the product
    assert budget >= 60  # Direct VPC egress may take a minute to connect a new instance
    assert startup["timeout_seconds"] > DatabaseProbe(None).timeout  # type: ignore[arg-type]


def test_cloud_sql_is_private_backed_up_protected_and_renamable() -> None:
    instance = resource("google_sql_database_instance.main")
    settings = instance["settings"][0]
    assert instance["deletion_protection"] == "${var.db_deletion_protection}" and default("db_deletion_protection")
    assert settings["ip_configuration"][0]["ipv4_enabled"] is False
    backup = settings["backup_configuration"][0]
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    flags = {f["name"]: f["value"] for f in settings["database_flags"]}
    assert flags["max_connections"] == "${tostring(var.db_max_connections)}"
    assert resource("google_sql_database.service")["for_each"] == "${local.services}"
    assert "/cloudsql/" in str(config().locals["secret_values"])  # psycopg2 through the unix socket
    # A deleted instance's name stays reserved for a week: make destroy then make deploy
    # needs a new one.
    assert "random_id.sql_instance" in instance["name"]


def test_alerts_read_metrics_the_code_exports_and_cover_what_the_runbook_names() -> None:
    exported = {name for collector in REGISTRY._collector_to_names for name in REGISTRY._collector_to_names[collector]}
    exported |= {"purchases", "purchases_stuck"}  # the orchestrator's census, collected at scrape time
    alerts = config().locals["promql_alerts"]
    for name, alert in alerts.items():
        labels = {"le", "service", "type", "step"}  # grouped by, not metrics
        used = set(re.findall(r"\b([a-z_]+)(?=[\[{)])", alert["query"])) - labels
        assert used and used <= exported, f"alert {name} reads {used - exported}, which no service exports"
    # Their metrics exist only once a sidecar has scraped them: creating a policy must not
    # wait for that (nor fail on it, as a policy on a fresh log-based metric would).
    promql = resource("google_monitoring_alert_policy.service_metric")["conditions"][0]
    assert promql["condition_prometheus_query_language"][0]["disable_metric_validation"] is True
    assert not [a for a in config().resources if a.startswith("google_logging_metric.")]
    runbook = (ROOT / "docs" / "operations.md").read_text()
    for alert in alerts.values():
        assert f"### {alert['runbook']}" in runbook, f"no runbook section '{alert['runbook']}'"
    policies = [b for a, b in config().resources.items() if a.startswith("google_monitoring_alert_policy.")]
    names = " | ".join([*(str(p["display_name"]) for p in policies), *(a["name"] for a in alerts.values())])
    for topic in ("5xx", "p95 latency", "dead-letter", "stuck", "Outbox lag", "Cloud SQL CPU", "/health"):
        assert topic in names, f"no alert on {topic}"
    assert "http_long_poll_seconds" in {m._name for m in vars(metrics).values() if hasattr(m, "_name")}
    job = resource("google_cloud_scheduler_job.orchestrator")
    assert job["for_each"] == "${local.scheduled}"
    target = job["http_target"][0]
    assert target["uri"] == '${local.urls["orquestrador"]}${each.value.path}' and "oidc_token" in target
    paths = {name: spec["path"] for name, spec in config().locals["scheduled"].items()}
    # the deadline sweep and the archive, each an internal route of the orchestrator (ID tokens only)
    assert paths == {
        "saga-deadline-sweep": "/internal/deadlines/sweep",
        "purchase-archive": "/internal/purchases/archive",
    }
    orchestrator = (ROOT / "orquestrador" / "app" / "entrypoints" / "api.py").read_text()
    for path in paths.values():
        assert (
            f'@router.post("{path}", include_in_schema=False, dependencies=[Depends(internal_caller)])' in orchestrator
        )


def test_the_local_monitoring_profile_reads_the_same_instruments() -> None:
    scrape = yaml.safe_load((ROOT / "monitoring/prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape.get("metrics_path", "/metrics") == "/metrics"  # the public port's /metrics, outside production


def test_secrets_are_pinned_to_a_version_so_a_rotation_is_a_new_revision() -> None:
    refs = [
        text
        for address in ("google_cloud_run_v2_service.service", "google_cloud_run_v2_job.migrate")
        for text in strings(resource(address))
        if "google_secret_manager_secret_version.secret[" in text and text.endswith(".version}")
    ]
    assert len(refs) >= 3  # the services' secrets, the sidecar's configuration, the jobs' database URL
    assert "latest" not in str(resource("google_cloud_run_v2_service.service"))


def test_the_load_balancer_answers_404_beyond_the_routes_and_sends_other_hosts_to_the_origin() -> None:
    url_map = resource("google_compute_url_map.frontend")
    matcher = url_map["path_matcher"][0]
    abort = matcher["default_route_action"][0]["fault_injection_policy"][0]["abort"][0]
    assert (abort["http_status"], abort["percentage"]) == (404, 100)
    assert url_map["host_rule"][0]["hosts"] == ["${var.domain}"]
    assert url_map["default_url_redirect"][0]["host_redirect"] == "${var.domain}"
    proxy = resource("google_compute_target_https_proxy.frontend")
    assert "google_compute_managed_ssl_certificate.frontend" in str(proxy["ssl_certificates"])
    backends = resource("google_compute_backend_service.service")
    assert backends["security_policy"] == "${google_compute_security_policy.edge.id}"
    armor = str(resource("google_compute_security_policy.edge"))
    assert "/auth/token" in armor and "/customers" in armor and "sqli-v33-stable" in armor


def test_uploads_are_private_put_only_from_the_frontend_and_expire() -> None:
    """What browsers upload never becomes public: the uploads bucket refuses public access,
    takes PUTs from the frontend's origins only (with the headers the signed URL signs),
    and deletes whatever was never confirmed."""
    uploads = resource("google_storage_bucket.photo_uploads")
    assert uploads["public_access_prevention"] == "enforced" and uploads["uniform_bucket_level_access"] is True
    cors = uploads["cors"][0]
    assert cors["origin"] == "${local.origins}" and cors["method"] == ["PUT"]
    assert set(config_module("veiculo-service").UPLOAD_HEADERS) <= set(cors["response_header"])
    rule = uploads["lifecycle_rule"][0]
    assert rule["action"][0]["type"] == "Delete" and rule["condition"][0]["age"] >= 1
    assert resource("google_storage_bucket.photos")["uniform_bucket_level_access"] is True
