terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.30"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.1"
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
