# The four services. Sized on purpose:
# - 1 vCPU and 512 MiB: each service is one uvicorn process (measured well under 150 MB
#   resident, see make bench); CPU is what a request spends, so more vCPUs buy nothing.
# - concurrency 20: a request holds a database connection a few milliseconds, so the
#   7-connection pool serves 20 requests in flight without queueing long.
# - timeout 30 s, under the push ack deadline (60 s): a push never outlives its delivery.
# - min 1 instance: no cold start on the purchase path; max 5 within the connection budget.
resource "google_cloud_run_v2_service" "service" {
  for_each            = local.services
  name                = each.key
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = false

  template {
    service_account                  = google_service_account.service[each.key].email
    timeout                          = "30s"
    max_instance_request_concurrency = 20

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
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
      image = "${local.image_base}/${each.key}:${var.image_tag}"

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
        cpu_idle          = false # the outbox relay and the deadline sweep run between requests
        startup_cpu_boost = true
      }

      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }

      dynamic "env" {
        for_each = merge(
          {
            ENVIRONMENT          = "production"
            PUBSUB_PROJECT_ID    = var.project_id
            JWKS_URL             = "${local.urls["cliente-service"]}/.well-known/jwks.json"
            PLATFORM_AUTH        = "oidc"
            SERVICE_AUDIENCE     = local.urls[each.key]
            PUSH_SERVICE_ACCOUNT = google_service_account.pusher.email
            INTERNAL_CALLERS     = jsonencode([for caller in each.value.internal_callers : local.accounts[caller]])
            DB_POOL_SIZE         = tostring(var.db_pool_size)
            DB_MAX_OVERFLOW      = tostring(var.db_max_overflow)
            TRACE_EXPORTER       = "gcp"
          },
          each.key == "cliente-service" ? { KMS_KEY_NAME = google_kms_crypto_key.data_keys.id } : {},
          each.key == "orquestrador" ? {
            CLIENTE_SERVICE_URL = local.urls["cliente-service"]
            VEICULO_SERVICE_URL = local.urls["veiculo-service"]
          } : {},
        )
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
              version = "latest"
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
  }

  depends_on = [
    google_secret_manager_secret_version.secret,
    google_secret_manager_secret_iam_member.reader,
    google_project_iam_member.cloudsql_client,
  ]
}

# Migrations: the same image, `alembic upgrade head`, run by make deploy before traffic
# moves to a new revision.
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
        egress = "PRIVATE_RANGES_ONLY"
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
          for_each = each.key == "cliente-service" ? { KMS_KEY_NAME = google_kms_crypto_key.data_keys.id } : {}
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
              version = "latest"
            }
          }
        }
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.reader]
}
