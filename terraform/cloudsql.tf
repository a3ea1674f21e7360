# One PostgreSQL 15 instance, private IP only, one database and one user per service.
#
# Its name ends in a random suffix: a deleted instance's name stays reserved for up to a
# week (https://cloud.google.com/sql/docs/postgres/delete-instance), so make destroy then
# make deploy must not ask for the same one.
resource "random_id" "sql_instance" {
  byte_length = 3
}

resource "google_sql_database_instance" "main" {
  # checkov:skip=CKV_GCP_6:ENCRYPTED_ONLY below; Cloud Run connects through the Cloud SQL connector's encrypted tunnel, which client certificates would not strengthen
  # checkov:skip=CKV_GCP_79:PostgreSQL 15 is the version every test runs against; upgrading is a tested change of its own
  # checkov:skip=CKV2_GCP_13:log_duration logs every statement; Query Insights records statement latency instead
  name                = "mercado-veiculo-${random_id.sql_instance.hex}"
  database_version    = "POSTGRES_15"
  region              = var.region
  deletion_protection = var.db_deletion_protection

  settings {
    tier              = var.db_tier
    availability_type = "REGIONAL"
    disk_autoresize   = true
    edition           = "ENTERPRISE"

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = google_compute_network.vpc.id
      enable_private_path_for_google_cloud_services = true
      ssl_mode                                      = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "05:00"
      transaction_log_retention_days = 7

      backup_retention_settings {
        retained_backups = 14
      }
    }

    maintenance_window {
      day  = 7
      hour = 6
    }

    insights_config {
      query_insights_enabled = true
    }

    database_flags {
      name  = "max_connections"
      value = tostring(var.db_max_connections)
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
  }

  lifecycle {
    # Refused at plan time, before anything changes (a `check` block would only warn).
    precondition {
      condition     = local.connections_needed <= var.db_max_connections
      error_message = "The services' pools at max instances, twice over for a rollout, need ${local.connections_needed} connections: more than db_max_connections (${var.db_max_connections})."
    }
  }

  depends_on = [google_service_networking_connection.sql]
}

# Each user owns its database's objects, which PostgreSQL will not drop while they exist:
# make destroy deletes the instance, which takes them all, so the two are abandoned.
resource "google_sql_database" "service" {
  for_each        = local.services
  name            = each.value.database
  instance        = google_sql_database_instance.main.name
  deletion_policy = "ABANDON"
}

resource "google_sql_user" "service" {
  for_each        = local.services
  name            = each.value.database
  instance        = google_sql_database_instance.main.name
  password        = random_password.database[each.key].result
  deletion_policy = "ABANDON"
}
