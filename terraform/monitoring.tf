resource "google_monitoring_notification_channel" "email" {
  display_name = "Mercado Veículo on-call"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

locals {
  channels = [google_monitoring_notification_channel.email.id]
  run      = "resource.type = \"cloud_run_revision\""
}

resource "google_monitoring_alert_policy" "server_errors" {
  display_name          = "5xx rate above 1%"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "5xx / all requests > 1% over 5 min"
    condition_monitoring_query_language {
      duration = "300s"
      query    = <<-MQL
        fetch cloud_run_revision
        | metric 'run.googleapis.com/request_count'
        | align rate(5m)
        | group_by [resource.service_name],
            [errors: sum(if(metric.response_code_class = '5xx', val(), 0)), all: sum(val())]
        | value [ratio: errors / all]
        | condition ratio > 0.01
      MQL
    }
  }
}

resource "google_monitoring_alert_policy" "latency" {
  display_name          = "p95 latency above 500 ms"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "request latency p95 > 500 ms for 5 min"
    condition_threshold {
      filter          = "${local.run} AND metric.type = \"run.googleapis.com/request_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = 500
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_95"
        cross_series_reducer = "REDUCE_MAX"
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
    content   = "A message failed every delivery attempt. Runbook: docs/operations.md, 'Replaying the dead-letter topic'."
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

# The orchestrator logs "purchases past their deadline" (alert=purchase_stuck) each time
# a participant did not answer in time.
resource "google_logging_metric" "stuck_purchases" {
  name   = "purchases_stuck"
  filter = "${local.run} AND resource.labels.service_name = \"orquestrador\" AND jsonPayload.alert = \"purchase_stuck\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_monitoring_alert_policy" "stuck_purchases" {
  display_name          = "Purchases stuck on an unanswered step"
  combiner              = "OR"
  notification_channels = local.channels
  documentation {
    content   = "Runbook: docs/operations.md, 'Stuck purchases' (GET /purchases?stuck=true)."
    mime_type = "text/markdown"
  }

  conditions {
    display_name = "deadline passes in 10 min"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.stuck_purchases.name}\" AND resource.type = \"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "600s"
      aggregations {
        alignment_period   = "600s"
        per_series_aligner = "ALIGN_SUM"
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

resource "google_monitoring_uptime_check_config" "health" {
  for_each     = local.services
  display_name = "${each.key} /health"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/health"
    use_ssl      = true
    validate_ssl = true
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = trimprefix(local.urls[each.key], "https://")
    }
  }
}

resource "google_monitoring_alert_policy" "uptime" {
  display_name          = "A service's /health fails"
  combiner              = "OR"
  notification_channels = local.channels

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
        group_by_fields      = ["resource.label.host"]
      }
    }
  }
}
