# The orchestrator's work that must happen with every instance idle, called by Cloud
# Scheduler with an ID token the orchestrator accepts (INTERNAL_CALLERS). Its ingress is
# internal, which Cloud Scheduler in the same project is. No retries: the next call is one.
# - the saga deadlines, each minute (app/service_layer/coordinator.py, Coordinator.sweep);
# - retention of finished purchases, each hour (app/service_layer/archive.py): a call works
#   for at most 20 s of its 30 s, and what is left waits for the next hour.
locals {
  scheduled = {
    "saga-deadline-sweep" = { schedule = "* * * * *", path = "/internal/deadlines/sweep", deadline = "30s" }
    "purchase-archive"    = { schedule = "17 * * * *", path = "/internal/purchases/archive", deadline = "60s" }
  }
}

resource "google_cloud_scheduler_job" "orchestrator" {
  for_each         = local.scheduled
  name             = each.key
  region           = var.region
  schedule         = each.value.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = each.value.deadline

  retry_config {
    retry_count = 0 # the next call is the retry
  }

  http_target {
    http_method = "POST"
    uri         = "${local.urls["orquestrador"]}${each.value.path}"

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.urls["orquestrador"]
    }
  }

  depends_on = [google_project_service.api, google_cloud_run_v2_service.service]
}

# The sweep's job was a resource of its own before: the same job, not a new one.
moved {
  from = google_cloud_scheduler_job.deadline_sweep
  to   = google_cloud_scheduler_job.orchestrator["saga-deadline-sweep"]
}
