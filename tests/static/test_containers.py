"""The Dockerfiles and docker-compose.yml agree with the code: contexts, files, ports,
environment variables, start order (checked statically: no Docker engine runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mercado_devtools import pubsub, storage
from mercado_shared import metrics, server
from mercado_shared.registry import SERVICES, ServiceDef
from mercado_shared.topology import load_topology
from tests.static.conftest import ROOT, env_names, settings_class

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|build-essential|make|libpq-dev|python3-dev)\b")


def stages(dockerfile: Path) -> list[list[str]]:
    """Instructions (continuations joined, comments dropped), one list per stage."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found: list[list[str]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


DOCKERFILE = ROOT / "Dockerfile"


def test_one_dockerfile_builds_every_service_multi_stage_slim_non_root() -> None:
    build, *middle, final = stages(DOCKERFILE)
    assert "slim" in final[0], "the final image is a slim Python base"
    assert not any(BUILD_TOOLS.search(i) for i in final if i.upper().startswith("RUN")), "no build tools at the end"
    users = [i.split()[1] for i in final if i.upper().startswith("USER ")]
    assert users and users[-1] not in ("0", "root"), "runs as a non-root user"
    assert "ARG SERVICE" in final and "ARG PORT=8080" in final, "the registry's folder and port, as build arguments"
    assert "EXPOSE ${PORT}" in final and "PORT=${PORT}" in " ".join(final)
    cmd = json.loads(next(i for i in final if i.upper().startswith("CMD "))[4:])  # exec form: PID 1 is python
    assert cmd == ["python", "-m", server.__name__], "the server that keeps Cloud Run's shutdown deadline"
    assert "STOPSIGNAL SIGTERM" in final
    assert "ARG VERSION=dev" in final and "ENV VERSION=$VERSION" in final, "the image reports its commit"
    assert not any("devtools" in i for i in build + final), "development tooling never reaches a served image"
    assert [stage[0] for stage in middle] == ["FROM build AS tools"], "the tools live in a stage of their own"


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_the_dockerfile_copies_files_that_exist_for_each_service(service: ServiceDef) -> None:
    for instruction in [i for stage in stages(DOCKERFILE) for i in stage]:
        if instruction.upper().startswith("COPY ") and "--from=" not in instruction:
            *sources, _ = instruction.replace("${SERVICE}", service.directory).split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which does not exist"


def test_no_service_keeps_a_dockerfile_of_its_own() -> None:
    assert sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("*/Dockerfile")) == []


def build_args(service: ServiceDef) -> dict[str, str]:
    return {"SERVICE": service.directory, "PORT": str(service.default_port)}


def test_the_dockerignore_keeps_what_the_images_copy_and_nothing_local() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**") + 1 :].count("!requirements.txt") == 1  # everything out, then back in
    for kept in ("!shared/mercado_shared/**", "!*/app/**", "!*/migrations/**", "!*/alembic.ini"):
        assert kept in ignore


def service_env(name: str) -> dict[str, Any]:
    return dict(COMPOSE["services"][name].get("environment", {}))


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_compose_builds_each_service_and_gives_it_only_settings_it_reads(service: ServiceDef) -> None:
    spec = COMPOSE["services"][service.name]
    assert spec["build"] == {"context": ".", "args": build_args(service)}
    assert spec["ports"] == [f"127.0.0.1:{service.default_port}:{service.default_port}"]
    env = service_env(service.name)
    assert int(env["PORT"]) == service.default_port
    unknown = set(env) - env_names(service.name)
    assert unknown == set(), f"{service.name} does not read {unknown}"
    assert env["DATABASE_URL"].endswith(f"@postgres:5432/{service.database}")
    assert env["JWKS_URL"] == "http://cliente-service:8080/.well-known/jwks.json"
    assert env["PLATFORM_AUTH"] == "secret"
    assert re.fullmatch(r"\$\{PLATFORM_SECRET:\?.+\}", env["PLATFORM_SECRET"]), "required, no default to share"


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_compose_migrates_each_database_before_its_service_starts(service: ServiceDef) -> None:
    job = f"migrate-{service.database}"
    spec = COMPOSE["services"][job]
    assert spec["command"] == "alembic upgrade head" and spec["restart"] == "no"
    assert spec["build"] == {"context": ".", "args": build_args(service)}
    assert spec["environment"]["DATABASE_URL"] == service_env(service.name)["DATABASE_URL"]
    assert set(spec["environment"]) <= env_names(service.name)
    assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
    depends = COMPOSE["services"][service.name]["depends_on"]
    assert depends[job] == {"condition": "service_completed_successfully"}
    assert depends["provision"] == {"condition": "service_completed_successfully"}


def test_compose_provisions_the_shared_topology_for_every_service_on_its_port() -> None:
    command = COMPOSE["services"]["provision"]["command"]
    endpoints = dict(re.findall(r"--endpoint (\S+)=(\S+)", command))
    assert endpoints == {s.name: f"http://{s.name}:{s.default_port}" for s in SERVICES}
    assert set(endpoints) == set(load_topology().services)
    assert COMPOSE["services"]["provision"]["depends_on"]["pubsub"]["condition"] == "service_healthy"
    assert COMPOSE["services"]["provision"]["build"] == {"context": ".", "target": "tools"}
    assert command.startswith(f"python -m {pubsub.__name__} provision")
    assert "google-cloud-cli:emulators" in COMPOSE["services"]["pubsub"]["image"]
    assert "8085" in COMPOSE["services"]["pubsub"]["command"]


def test_compose_creates_the_buckets_the_services_use_on_its_storage_emulator() -> None:
    fields = settings_class("veiculo-service").model_fields
    archive = settings_class("orquestrador").model_fields["purchase_archive_bucket"].default
    buckets = {fields["photos_upload_bucket"].default, fields["photos_bucket"].default, archive}
    command = COMPOSE["services"]["provision-storage"]["command"].split()
    assert command[:4] == ["python", "-m", storage.__name__, "buckets"]
    for service in ("veiculo-service", "orquestrador"):
        assert command[4] == COMPOSE["services"][service]["environment"]["STORAGE_EMULATOR_HOST"]
    assert set(command[5:]) == buckets == set(storage.BUCKETS)
    assert "provision-storage" in COMPOSE["services"]["veiculo-service"]["depends_on"]


def test_every_dependency_exists_and_the_database_is_created_for_every_service() -> None:
    names = set(COMPOSE["services"])
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, spec in COMPOSE["services"].items():
        depends = spec.get("depends_on", {})
        targets = depends if isinstance(depends, list) else list(depends)
        assert set(targets) <= names, f"{name} depends on {set(targets) - names}"
        if isinstance(depends, dict):
            assert all(d["condition"] in conditions for d in depends.values())
            for target, d in depends.items():
                if d["condition"] == "service_healthy":
                    assert "healthcheck" in COMPOSE["services"][target], f"{target} has no healthcheck"
    created = re.findall(r"CREATE DATABASE (\w+);", (ROOT / "scripts/compose/init-databases.sql").read_text())
    assert sorted(created) == sorted(s.database for s in SERVICES)


def test_the_monitoring_profile_scrapes_every_service_and_charts_metrics_that_exist() -> None:
    services = COMPOSE["services"]
    assert services["prometheus"]["profiles"] == ["monitoring"] and services["grafana"]["profiles"] == ["monitoring"]
    for volume in services["prometheus"]["volumes"] + services["grafana"]["volumes"]:
        assert (ROOT / volume.split(":")[0]).exists(), volume
    scrape = yaml.safe_load((ROOT / "monitoring/prometheus.yml").read_text())
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == [f"{s.name}:{s.default_port}" for s in SERVICES]
    dashboard = json.loads((ROOT / "monitoring/grafana/dashboards/mercado-veiculo.json").read_text())
    exported = {m._name for m in vars(metrics).values() if hasattr(m, "_name")} | {"purchases", "purchases_stuck"}
    for panel in dashboard["panels"]:
        used = set(re.findall(r"\b([a-z_]+?)(?:_bucket|_total)?\b(?=[\[{(\s)]|$)", panel["targets"][0]["expr"]))
        assert used & exported, f"panel {panel['title']!r} charts no metric the services export"


def test_compose_publishes_nothing_beyond_loopback_and_never_puts_the_secret_in_a_url() -> None:
    published = [port for spec in COMPOSE["services"].values() for port in spec.get("ports", [])]
    assert published and all(str(port).startswith("127.0.0.1:") for port in published)
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"[?&]platform_secret=", text, re.IGNORECASE), "a secret in a URL ends up in logs"
    assert "PLATFORM_SECRET" not in COMPOSE["services"]["provision"]["command"]
