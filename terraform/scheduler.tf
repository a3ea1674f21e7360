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
