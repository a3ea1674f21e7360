# Saga deadlines hold even when every orchestrator instance is idle: Cloud Scheduler calls
# the sweep each minute with an ID token the orchestrator accepts (INTERNAL_CALLERS). The
# orchestrator's ingress is internal, which Cloud Scheduler in the same project is.
resource "google_cloud_scheduler_job" "deadline_sweep" {
  name             = "saga-deadline-sweep"
  region           = var.region
  schedule         = "* * * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "30s"

  retry_config {
    retry_count = 0 # the next minute's call is the retry
  }

  http_target {
    http_method = "POST"
    uri         = "${local.urls["orquestrador"]}/internal/deadlines/sweep"

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.urls["orquestrador"]
    }
  }

  depends_on = [google_project_service.api, google_cloud_run_v2_service.service]
}

# Retention of finished purchases (app/service_layer/archive.py): each hour, what ended more
# than PURCHASE_ARCHIVE_AFTER_DAYS ago goes to the archive bucket and out of the database.
# A call works for at most 20 s of its 30 s; what is left waits for the next hour.
resource "google_cloud_scheduler_job" "purchase_archive" {
  name             = "purchase-archive"
  region           = var.region
  schedule         = "17 * * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "60s"

  retry_config {
    retry_count = 0 # the next hour's call is the retry
  }

  http_target {
    http_method = "POST"
    uri         = "${local.urls["orquestrador"]}/internal/purchases/archive"

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.urls["orquestrador"]
    }
  }

  depends_on = [google_project_service.api, google_cloud_run_v2_service.service]
}
