# Secrets the services read at startup, through Secret Manager (never plain env in the
# Terraform of a service). Which service reads which, as which variable, is generated into
# access.tf.json (local.secret_env and the accessor grants) from cloud_access.py.
# Generated values live in the state: the state bucket is private, versioned and uniform;
# replace them by hand with `gcloud secrets versions add` if policy requires that the
# state never hold them (docs/operations.md, "Rotating a secret").
resource "tls_private_key" "jwt" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "random_password" "psp_webhook" {
  length  = 48
  special = false
}

resource "random_password" "pix_webhook" {
  length  = 48
  special = false
}

resource "random_password" "database" {
  for_each = local.services
  length   = 32
  special  = false
}

locals {
  # The port each service serves Prometheus metrics on, on loopback only (METRICS_PORT):
  # its Managed Service for Prometheus sidecar scrapes it there; nothing outside the
  # instance can reach it.
  metrics_port = 9464

  secret_values = merge(
    {
      "jwt-private-key"    = tls_private_key.jwt.private_key_pem_pkcs8
      "psp-webhook-secret" = random_password.psp_webhook.result
      # Given by the mail provider (var.smtp_password); a placeholder until then.
      "smtp-password" = var.smtp_password != "" ? var.smtp_password : "not-configured"
      # Given by the Pix provider (variables.tf); placeholders until then (pagamento-service
      # loads a certificate only if the value is PEM).
      "pix-client-secret" = var.pix_client_secret != "" ? var.pix_client_secret : "not-configured"
      "pix-certificate"   = var.pix_certificate != "" ? var.pix_certificate : "not-configured"
      # What the webhook URL registered at the provider carries (output pix_webhook_url).
      "pix-webhook-secret" = random_password.pix_webhook.result
      # The sidecar's RunMonitoring configuration
      # (https://cloud.google.com/stackdriver/docs/managed-prometheus/cloudrun-sidecar).
      "metrics-scrape-config" = yamlencode({
        apiVersion = "monitoring.googleapis.com/v1beta"
        kind       = "RunMonitoring"
        metadata   = { name = "mercado-veiculo" }
        spec = {
          endpoints = [{ port = local.metrics_port, path = "/metrics", interval = "30s" }]
        }
      })
    },
    { for name, s in local.services :
      "database-url-${name}" => "postgresql+psycopg2://${s.database}:${random_password.database[name].result}@/${s.database}?host=/cloudsql/${google_sql_database_instance.main.connection_name}"
    },
  )
}

resource "google_secret_manager_secret" "secret" {
  # checkov:skip=CKV2_GCP_5:KMS CMEK on secrets is optional here; Google-managed encryption, per-secret IAM
  for_each  = local.secret_values
  secret_id = each.key

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_secret_manager_secret_version" "secret" {
  for_each    = local.secret_values
  secret      = google_secret_manager_secret.secret[each.key].id
  secret_data = each.value
}
