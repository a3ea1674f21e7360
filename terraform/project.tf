data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Cloud Run's deterministic URLs: known before the services exist, so each service can
  # be told its own URL (the audience of the ID tokens it accepts) and its peers'.
  urls = { for name, _ in local.services : name => "https://${name}-${data.google_project.this.number}.${var.region}.run.app" }
}

# The APIs this configuration uses. Terraform itself needs five more before it can plan
# (Cloud Resource Manager, IAM, IAM Credentials, STS, Service Usage): make deploy enables
# them with gcloud first (scripts/deploy.py, BOOTSTRAP_APIS).
resource "google_project_service" "api" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtrace.googleapis.com",
    "compute.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}

# Google creates a service's agent account the first time something asks for it, which
# may be after a grant that names it: create them first, and grant to their `member`.
# (https://cloud.google.com/iam/docs/service-agents; only google-beta has this resource.)
resource "google_project_service_identity" "agent" {
  provider = google-beta
  for_each = toset(["artifactregistry.googleapis.com", "pubsub.googleapis.com"])
  project  = var.project_id
  service  = each.value

  depends_on = [google_project_service.api]
}

resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = "mercado-veiculo"
  format        = "DOCKER"
  description   = "Images of the four services, tagged by git commit."
  kms_key_name  = google_kms_crypto_key.artifacts.id

  docker_config {
    immutable_tags = true
  }

  depends_on = [google_project_service.api, google_kms_crypto_key_iam_member.artifact_registry]
}

# ------------------------------------------------------------------ network
# Cloud SQL has a private IP only. Cloud Run sends all its egress into the VPC (Direct VPC
# egress): Google APIs through Private Google Access, and the other services' run.app
# URLs, whose ingress takes only internal traffic and the load balancer.
resource "google_compute_network" "vpc" {
  name                    = "mercado-veiculo"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.api]
}

resource "google_compute_subnetwork" "run" {
  name                     = "cloud-run"
  network                  = google_compute_network.vpc.id
  region                   = var.region
  ip_cidr_range            = "10.8.0.0/24"
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Nothing enters the VPC: Cloud Run egresses into it, Cloud SQL peers with it.
resource "google_compute_firewall" "deny_ingress" {
  name      = "deny-all-ingress"
  network   = google_compute_network.vpc.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }

  source_ranges = ["0.0.0.0/0"]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_global_address" "sql_range" {
  name          = "cloud-sql-range"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = google_compute_network.vpc.id
}

resource "google_service_networking_connection" "sql" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.sql_range.name]
  # Deleting the peering fails while Cloud SQL still holds it (it lingers after the
  # instance is deleted); destroying the VPC removes it.
  deletion_policy = "ABANDON"
}
