terraform {
  required_version = ">= 1.11"

  # Exact versions: make test checks every block of this configuration against these
  # providers' published schemas (scripts/provider_schema.py), so the version that runs is
  # the version that was checked. .terraform.lock.hcl is not committed: it cannot be
  # generated without the providers' registry, and the exact pins already fix what init
  # installs (raise a pin and its entry in scripts/provider_schema.py together).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "8.7.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "8.7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "4.1.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
  }

  # Remote state in a GCS bucket, named at init time:
  #   terraform init -backend-config="bucket=<project>-tfstate" (make deploy does this)
  backend "gcs" {
    prefix = "mercado-veiculo"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# Service agents exist only once something asks for them; google_project_service_identity,
# which makes them exist before the grants that name them, is only in google-beta.
provider "google-beta" {
  project = var.project_id
  region  = var.region
}
