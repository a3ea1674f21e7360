# The four services, their migration jobs and the release's smoke-test job.
#
# Sized on purpose:
# - 1 vCPU; memory per service (locals.tf): each is one uvicorn process, measured well
#   under 150 MB resident by make bench, and cliente-service's password hashing is bounded.
# - CPU always allocated: the outbox sender, its sweep, the deadline sweep and the
#   metrics sidecar run between requests.
# - timeout 30 s, under the push ack deadline (60 s): a push never outlives its delivery.
# - Instances: service-level min and max, across all revisions; the connection budget
#   (locals.tf) assumes two revisions' worth during a rollout.
#
# Who may reach them: ingress takes the load balancer (lb.tf) and Google-internal traffic
# only (Pub/Sub pushes, Cloud Scheduler, the other services through the VPC:
# https://cloud.google.com/run/docs/securing/ingress). Cloud Run's IAM invoker check is
# off, since the load balancer's callers carry no Google identity; each route checks its
# own caller instead: a user's JWT, or a Google ID token from an allowed account on
# /pubsub/push and /internal/… (mercado_shared.platform_auth). No allUsers binding exists.
#
# Secrets are pinned to the version Terraform wrote: every instance of a revision reads the
# same value, and a rotation is a new version plus a new revision (docs/operations.md).
#
# Releases: Terraform creates each service and job with var.image_tag; later images are
# released by make release (scripts/deploy.py), revision by revision with no traffic until
# a smoke test passes, so Terraform leaves images and traffic to it.
locals {
  common_env = {
    ENVIRONMENT          = "production"
    PUBSUB_PROJECT_ID    = var.project_id
    JWKS_URL             = "${local.urls["cliente-service"]}/.well-known/jwks.json"
    PLATFORM_AUTH        = "oidc"
    PUSH_SERVICE_ACCOUNT = google_service_account.pusher.email
    DB_POOL_SIZE         = tostring(var.db_pool_size)
    DB_MAX_OVERFLOW      = tostring(var.db_max_overflow)
    TRACE_EXPORTER       = "gcp"
    METRICS_PORT         = tostring(local.metrics_port)
    ALLOWED_ORIGINS      = jsonencode(local.origins)
    FORWARDED_FOR_HOPS   = "2" # behind the load balancer: <client>,<load balancer> end X-Forwarded-For
  }
  own_env = {
    "veiculo-service" = {
      PHOTOS_UPLOAD_BUCKET = google_storage_bucket.photo_uploads.name
      PHOTOS_BUCKET        = google_storage_bucket.photos.name
    }
    "cliente-service" = {
      KMS_KEY_NAME             = google_kms_crypto_key.data_keys.id
      ORQUESTRADOR_SERVICE_URL = local.urls["orquestrador"]
      PAGAMENTO_SERVICE_URL    = local.urls["pagamento-service"] # the customer's export
      VEICULO_SERVICE_URL      = local.urls["veiculo-service"]
      SMTP_HOST                = var.smtp_host
      SMTP_PORT                = tostring(var.smtp_port)
      SMTP_SECURITY            = var.smtp_security
      SMTP_USERNAME            = var.smtp_username
      MAIL_FROM                = var.mail_from != "" ? var.mail_from : "Mercado Veículo <nao-responda@${var.domain}>"
      # The frontend's page for a new password, on its first origin.
      PASSWORD_RESET_URL = "${local.origins[0]}/redefinir-senha?token={token}"
    }
    "pagamento-service" = {
      PIX_API_URL       = var.pix_api_url
      PIX_CLIENT_ID     = var.pix_client_id != "" ? var.pix_client_id : "not-configured"
      PIX_KEY           = var.pix_key != "" ? var.pix_key : "not-configured"
      PIX_MERCHANT_NAME = var.pix_merchant_name
      PIX_MERCHANT_CITY = var.pix_merchant_city
    }
    "orquestrador" = {
      CLIENTE_SERVICE_URL   = local.urls["cliente-service"]
      PAGAMENTO_SERVICE_URL = local.urls["pagamento-service"] # staff's timeline
      VEICULO_SERVICE_URL   = local.urls["veiculo-service"]
      # Retention of finished purchases (app/service_layer/archive.py)
      PURCHASE_ARCHIVE_BUCKET     = google_storage_bucket.purchase_archive.name
      PURCHASE_ARCHIVE_AFTER_DAYS = tostring(var.purchase_archive_after_days)
    }
  }
  service_env = {
    for name, _ in local.services : name => merge(
      local.common_env,
      {
        SERVICE_AUDIENCE = local.urls[name]
        INTERNAL_CALLERS = jsonencode(concat([for caller in local.internal_callers[name] : local.accounts[caller]], lookup(local.platform_callers, name, [])))
      },
      lookup(local.own_env, name, {}),
    )
  }
}

resource "google_cloud_run_v2_service" "service" {
  for_each             = local.services
  name                 = each.key
  location             = var.region
  ingress              = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  invoker_iam_disabled = true
  deletion_protection  = false

  scaling {
    min_instance_count = var.min_instances
    max_instance_count = var.max_instances
  }

  template {
    service_account                  = google_service_account.service[each.key].email
    timeout                          = "30s"
    max_instance_request_concurrency = each.value.concurrency

    vpc_access {
      egress = "ALL_TRAFFIC"
      network_interfaces {
        network    = google_compute_network.vpc.id
        subnetwork = google_compute_subnetwork.run.id
      }
    }

    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = [google_sql_database_instance.main.connection_name]
      }
    }

    volumes {
      name = "metrics-scrape-config"
      secret {
        secret = google_secret_manager_secret.secret["metrics-scrape-config"].secret_id
        items {
          version = google_secret_manager_secret_version.secret["metrics-scrape-config"].version
          path    = "config.yaml"
        }
      }
    }

    containers {
      name  = "app"
      image = "${local.image_base}/${each.key}:${var.image_tag}"

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = each.value.memory
        }
        cpu_idle          = false
        startup_cpu_boost = true
      }

      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }

      dynamic "env" {
        for_each = local.service_env[each.key]
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.secret_env[each.key]
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.secret[env.value].secret_id
              version = google_secret_manager_secret_version.secret[env.value].version
            }
          }
        }
      }

      # Startup: no traffic until the database answers (GET /readyz pings it). Direct VPC
      # egress may take a minute or more to connect a new instance
      # (https://cloud.google.com/run/docs/configuring/vpc-direct-vpc#limitations), and
      # start-up itself waits STARTUP_DATABASE_WAIT_SECONDS (150) for the database: the
      # budget, period × threshold = 180 s, covers both, under Cloud Run's 240 s cap.
      startup_probe {
        http_get {
          path = "/readyz"
        }
        period_seconds    = 5
        failure_threshold = 36
        timeout_seconds   = 2
      }

      # Liveness checks the process only (GET /livez does no I/O): a database or broker
      # outage must not restart instances that a restart cannot mend.
      liveness_probe {
        http_get {
          path = "/livez"
        }
        period_seconds    = 10
        failure_threshold = 3
        timeout_seconds   = 2
      }
    }

    # Managed Service for Prometheus: scrapes the app's metrics on loopback and writes
    # them to Cloud Monitoring, where the alerts (monitoring.tf) read them
    # (https://cloud.google.com/run/docs/monitoring-managed-prometheus-sidecar).
    containers {
      name       = "metrics"
      image      = var.metrics_sidecar_image
      depends_on = ["app"]

      resources {
        limits = {
          cpu    = "0.5"
          memory = "128Mi"
        }
      }

      volume_mounts {
        name       = "metrics-scrape-config"
        mount_path = "/etc/rungmp"
      }
    }
  }

  lifecycle {
    ignore_changes = [
      template[0].containers[0].image, # released by make release
      traffic,                         # shifted by make release and make rollback
      client,
      client_version,
    ]
  }

  # What a new instance reads as it starts: its secrets, its database through the Cloud
  # SQL socket, its KMS key, its buckets. Terraform must create these before the first revision.
  depends_on = [
    google_secret_manager_secret_version.secret,
    google_secret_manager_secret_iam_member.service_reads,
    google_project_iam_member.service,
    google_kms_crypto_key_iam_member.service_uses,
    google_storage_bucket_iam_member.service_objects,          # veiculo's photos
    google_service_account_iam_member.service_signs_as_itself, # veiculo's upload URLs
    google_sql_database.service,
    google_sql_user.service,
    google_service_account_iam_member.pubsub_mints_push_tokens, # pushes come signed as the pusher
  ]
}

# Migrations: the same image, `alembic upgrade head`, run by make deploy and make release
# before traffic moves to a new revision. Each migration is expand-only (docs/operations.md),
# so the revision still serving keeps working on the new schema.
resource "google_cloud_run_v2_job" "migrate" {
  for_each            = local.services
  name                = "migrate-${each.key}"
  location            = var.region
  deletion_protection = false

  template {
    template {
      service_account = google_service_account.service[each.key].email
      max_retries     = 1
      timeout         = "600s"

      vpc_access {
        egress = "ALL_TRAFFIC"
        network_interfaces {
          network    = google_compute_network.vpc.id
          subnetwork = google_compute_subnetwork.run.id
        }
      }

      volumes {
        name = "cloudsql"
        cloud_sql_instance {
          instances = [google_sql_database_instance.main.connection_name]
        }
      }

      containers {
        image   = "${local.image_base}/${each.key}:${var.image_tag}"
        command = ["alembic", "upgrade", "head"]

        volume_mounts {
          name       = "cloudsql"
          mount_path = "/cloudsql"
        }

        dynamic "env" {
          for_each = lookup(local.own_env, each.key, {})
          content {
            name  = env.key
            value = env.value
          }
        }

        env {
          name = "DATABASE_URL"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.secret["database-url-${each.key}"].secret_id
              version = google_secret_manager_secret_version.secret["database-url-${each.key}"].version
            }
          }
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [template[0].template[0].containers[0].image, client, client_version]
  }

  depends_on = [
    google_secret_manager_secret_version.secret,
    google_secret_manager_secret_iam_member.service_reads,
    google_project_iam_member.service,
    google_kms_crypto_key_iam_member.service_uses,
    google_storage_bucket_iam_member.service_objects, # the job is given the service's settings, bucket names included
    google_service_account_iam_member.service_signs_as_itself,
    google_sql_database.service,
    google_sql_user.service,
  ]
}

# The release's smoke test: from inside the VPC (where the candidates' tagged URLs are
# reachable), each candidate revision must be ready and report the commit being released
# before any traffic moves to it (python -m mercado_shared.smoke; make release passes the
# URLs and the commit as arguments).
resource "google_cloud_run_v2_job" "smoke" {
  name                = "release-smoke-test"
  location            = var.region
  deletion_protection = false

  template {
    template {
      service_account = google_service_account.smoke.email
      max_retries     = 0
      timeout         = "300s"

      vpc_access {
        egress = "ALL_TRAFFIC"
        network_interfaces {
          network    = google_compute_network.vpc.id
          subnetwork = google_compute_subnetwork.run.id
        }
      }

      containers {
        image   = "${local.image_base}/orquestrador:${var.image_tag}"
        command = ["python", "-m", "mercado_shared.smoke"]
      }
    }
  }

  lifecycle {
    ignore_changes = [template[0].template[0].containers[0].image, client, client_version]
  }
}
