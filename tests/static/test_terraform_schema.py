"""Every block of terraform/ against the schema of the provider version it pins: what
`terraform validate` would refuse, checked here where the providers cannot be downloaded."""

from __future__ import annotations

from pathlib import Path

from scripts import provider_schema
from tests.static.conftest import ROOT
from tests.static.terraform import Config, schema_errors


def test_every_block_and_reference_matches_the_pinned_providers_schemas() -> None:
    config = Config.load(ROOT / "terraform")
    assert len(config.resources) > 100  # it read the whole configuration
    assert schema_errors(config) == []


def test_the_pins_are_the_versions_whose_schemas_are_checked() -> None:
    pinned = Config.load(ROOT / "terraform").required_providers()
    assert {name: spec["version"] for name, spec in pinned.items()} == {
        b.provider: b.version for b in provider_schema.BINDINGS
    }
    assert {name: spec["source"] for name, spec in pinned.items()} == {
        b.provider: b.source for b in provider_schema.BINDINGS
    }


def test_the_check_refuses_what_terraform_validate_would(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        """
terraform {
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "8.7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.0"
    }
  }
}

resource "google_pubsub_topic" "unknown_attribute" {
  name        = "t"
  colour      = "blue"
}

resource "google_pubsub_subscription" "missing_required" {
  name = "s"
}

resource "google_compute_network" "block_as_attribute" {
  name = "n"
  timeouts = {
    create = "1m"
  }
}

resource "google_sql_database_instance" "nested" {
  database_version = "POSTGRES_15"
  settings {
    tier = "db-f1-micro"
    ip_configuration {
      ipv4_enabeld = false
    }
  }
}

resource "google_cloud_run_v2_service" "dynamic_env" {
  name     = "s"
  location = "r"
  template {
    containers {
      image = "i"
      dynamic "enviroment" {
        for_each = {}
        content {
          name = "x"
        }
      }
    }
  }
}

resource "google_project_service_identity" "beta_only" {
  service = "pubsub.googleapis.com"
}

resource "google_no_such_thing" "x" {
}

resource "google_pubsub_topic" "reference" {
  name = google_compute_network.block_as_attribute.no_such_attribute
}
"""
    )
    errors = "\n".join(schema_errors(Config.load(tmp_path)))
    for expected in (
        "provider random: pins '~> 3.0', the schema checked is 3.7.2",
        "google_pubsub_topic.unknown_attribute.colour: no such attribute or block",
        "google_pubsub_subscription.missing_required: topic is required",
        "google_compute_network.block_as_attribute.timeouts: a block, written as an attribute",
        "google_sql_database_instance.nested.settings.ip_configuration.ipv4_enabeld: no such attribute or block",
        "google_cloud_run_v2_service.dynamic_env.template.containers.dynamic enviroment: no such block",
        "google_project_service_identity.beta_only: google 8.7.0 has no such type",
        "google_no_such_thing.x: google 8.7.0 has no such type",
        "google_compute_network.block_as_attribute has no attribute no_such_attribute",
    ):
        assert expected in errors
    assert "google_sql_database_instance.nested: region" not in errors  # optional is not required
