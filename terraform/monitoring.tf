# Alerts. The services' own metrics (the same instruments the local Prometheus scrapes) reach
# Cloud Monitoring through each instance's Managed Service for Prometheus sidecar (run.tf),
# and are queried here in PromQL. Their metrics exist only after the first scrape, so
# those conditions skip Monitoring's check that a metric exists when the policy is created.
# Each alert's runbook is in docs/operations.md.
resource "google_monitoring_notification_channel" "email" {
  display_name = "Mercado Veículo on-call"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  depends_on = [google_project_service.api]
}

locals {
  channels = [google_monitoring_notification_channel.email.id]
  run      = "resource.type = \"cloud_run_revision\""
  # The services' metrics, by the names mercado_shared.metrics gives them (a test checks
  # every name used here against the code).
  promql_alerts = {
    latency = {
      name     = "p95 latency above 500 ms"
      runbook  = "Latency"
      duration = "300s"
      # Long polls (GET /saga-states/…?wait=…) are timed apart (http_long_poll_seconds).
      query = "histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5"
    }
    stuck = {
      name     = "Purchases stuck on an unanswered step"
      runbook  = "Stuck purchases"
      duration = "600s"
      query    = "max(purchases_stuck) > 0"
    }
    outbox = {
      name     = "Outbox lag p99 above 30 s"
      runbook  = "Outbox lag"
      duration = "600s"
      query    = "histogram_quantile(0.99, sum by (service, le) (rate(outbox_lag_seconds_bucket[10m]))) > 30"
    }
    failing = {
      name     = "A message type keeps failing"
      runbook  = "Dead letters"
      duration = "1800s"
      query    = "sum by (service, type) (rate(messages_handled_total{outcome=\"failed\"}[10m])) > 0"
    }
    last_attempt = {
      name     = "A message failed its last delivery attempt"
      runbook  = "Dead letters"
      duration = "0s"
      query    = "sum by (service, type) (increase(messages_last_attempt_failed_total[10m])) > 0"
    }
    dead_mail = {
      name     = "A receipt or notice the mail relay never took"
      runbook  = "Dead mail"
      duration = "0s"
      query    = "sum(increase(mail_dead_lettered_total[10m])) > 0"
    }
    stuck_refund = {
      name     = "A refund the Pix provider refused waits for a person"
      runbook  = "Stuck refunds"
      duration = "0s"
      query    = "sum(increase(refunds_stuck_total[10m])) > 0"
    }
    slow_step = {
      name     = "A saga step takes over a minute"
      runbook  = "Stuck purchases"
      duration = "600s"
      # The buyer's payment is a wait of minutes by design; every other step is machine time.
      query = "histogram_quantile(0.95, sum by (step, le) (rate(saga_step_duration_seconds_bucket{step!=\"PAYMENT_PROCESSING\"}[10m]))) > 60"
    }
  }
}

resource "google_monitoring_alert_policy" "service_metric" {
  for_each              = local.promql_alerts
  display_name          = each.value.name
  combiner              = "OR"
  notification_channels = local.channels

  documentation {
    content   = "Runbook: docs/operations.md, '${each.value.runbook}'."
    mime_type = "text/markdown"
  }

  conditions {
    display_name = each.value.name
    condition_prometheus_query_language {
      query                     = each.value.query
      duration                  = each.value.duration
      evaluation_interval       = "60s"
      disable_metric_validation = true
    }
  }
}

resource "google_monitoring_alert_policy" "server_errors" {
  display_name          = "5xx rate above 1%"
  combiner              = "OR"
  notification_channels = local.channels

  documentation {
    content   = "Runbook: docs/operations.md, '5xx'."
    mime_type = "text/markdown"
  }

  conditions {
    display_name = "5xx / all requests > 1% over 5 min"
    condition_threshold {
      filter             = "${local.run} AND metric.type = \"run.googleapis.com/request_count\" AND metric.label.response_code_class = \"5xx\""
      denominator_filter = "${local.run} AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = 0.01
      duration           = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "Messages in a dead-letter topic"
  combiner              = "OR"
  notification_channels = local.channels
  documentation {
    content   = "A message failed every delivery attempt. Runbook: docs/operations.md, 'Dead letters'."
    mime_type = "text/markdown"
  }

  conditions {
    display_name = "undelivered messages on a dead-letter hold subscription"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.label.subscription_id = starts_with(\"dead-letter.\") AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "database" {
  display_name          = "Cloud SQL CPU or connections high"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "CPU > 80% for 10 min"
    condition_threshold {
      filter          = "resource.type = \"cloudsql_database\" AND metric.type = \"cloudsql.googleapis.com/database/cpu/utilization\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.8
      duration        = "600s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MEAN"
      }
    }
  }

  conditions {
    display_name = "connections > 80% of max_connections"
    condition_threshold {
      filter          = "resource.type = \"cloudsql_database\" AND metric.type = \"cloudsql.googleapis.com/database/postgresql/num_backends\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.db_max_connections * 0.8
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
}

# Each service's /health, from outside, through the public origin (the load balancer
# rewrites /health/<service> to that service's /health).
resource "google_monitoring_uptime_check_config" "health" {
  for_each     = local.services
  display_name = "${each.key} /health"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/health/${each.key}"
    use_ssl      = true
    validate_ssl = true
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = var.domain
    }
  }

  depends_on = [google_compute_global_forwarding_rule.https]
}

resource "google_monitoring_alert_policy" "uptime" {
  display_name          = "A service's /health fails"
  combiner              = "OR"
  notification_channels = local.channels

  documentation {
    content   = "Runbook: docs/operations.md, 'Health'."
    mime_type = "text/markdown"
  }

  conditions {
    display_name = "uptime check failing"
    condition_threshold {
      filter          = "metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type = \"uptime_url\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "120s"
      aggregations {
        alignment_period     = "120s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["metric.label.check_id"]
      }
    }
  }
}

# Staff accountability (mercado_shared.audit): every staff action on money, identity or a
# purchase is in the service's append-only audit_log and, once committed, in the log as
# jsonPayload.audit. This sink keeps those lines in a locked bucket, whose retention cannot
# be shortened nor the bucket deleted (https://cloud.google.com/logging/docs/buckets#lock-bucket),
# out of reach of anyone who can write the databases. A sink to a log bucket of its own
# project needs no grant (LogSink.writerIdentity,
# https://cloud.google.com/logging/docs/reference/v2/rest/v2/projects.sinks).
resource "google_logging_project_bucket_config" "audit" {
  project        = var.project_id
  location       = "global"
  bucket_id      = "staff-audit"
  retention_days = 400
  locked         = true
  description    = "What staff changed: money, identity, purchases (mercado_shared.audit)."

  lifecycle {
    prevent_destroy = true # locked: Google refuses; make destroy leaves it, make deploy adopts it
  }

  depends_on = [google_project_service.api]
}

resource "google_logging_project_sink" "audit" {
  name                   = "staff-audit"
  destination            = "logging.googleapis.com/${google_logging_project_bucket_config.audit.id}"
  filter                 = "jsonPayload.audit.action:*"
  unique_writer_identity = false
}
