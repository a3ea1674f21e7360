# Secrets the services read at startup, through Secret Manager (never plain env in the
# Terraform of a service). Generated values live in the state: the state bucket is
# private, versioned and encrypted; replace them by hand with `gcloud secrets versions
# add` if policy requires that the state never hold them.
resource "tls_private_key" "jwt" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "random_password" "staff" {
  length  = 32
  special = false
}

resource "random_password" "psp_webhook" {
  length  = 48
  special = false
}

resource "random_password" "database" {
  for_each = local.services
  length   = 32
  special  = false
}

locals {
  secret_values = merge(
    {
      "jwt-private-key"    = tls_private_key.jwt.private_key_pem_pkcs8
      "staff-password"     = random_password.staff.result
      "psp-webhook-secret" = random_password.psp_webhook.result
    },
    { for name, s in local.services :
      "database-url-${name}" => "postgresql+psycopg2://${s.database}:${random_password.database[name].result}@/${s.database}?host=/cloudsql/${google_sql_database_instance.main.connection_name}"
    },
  )
  # Which service reads which secret (as which variable): names of secrets, not values.
  secret_env = {
    "cliente-service" = {
      JWT_PRIVATE_KEY = "jwt-private-key" # checkov:skip=CKV_SECRET_6:a secret's name
      STAFF_PASSWORD  = "staff-password"  # checkov:skip=CKV_SECRET_6:a secret's name
      DATABASE_URL    = "database-url-cliente-service"
    }
    "veiculo-service" = { DATABASE_URL = "database-url-veiculo-service" }
    "pagamento-service" = {
      PSP_WEBHOOK_SECRET = "psp-webhook-secret" # checkov:skip=CKV_SECRET_6:a secret's name
      DATABASE_URL       = "database-url-pagamento-service"
    }
    "orquestrador" = { DATABASE_URL = "database-url-orquestrador" }
  }
  secret_readers = merge([
    for service, env in local.secret_env : { for variable, secret in env : "${service}/${secret}" => { service = service, secret = secret } }
  ]...)
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

resource "google_secret_manager_secret_iam_member" "reader" {
  for_each  = local.secret_readers
  secret_id = google_secret_manager_secret.secret[each.value.secret].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.service[each.value.service].email}"
}
