# One service account per service, holding only what that service does.
resource "google_service_account" "service" {
  for_each     = local.services
  account_id   = "run-${each.key}"
  display_name = "Cloud Run: ${each.key}"
}

# Pub/Sub signs its pushes as this account; services accept only it on /pubsub/push.
resource "google_service_account" "pusher" {
  account_id   = "pubsub-push"
  display_name = "Pub/Sub push deliveries"
}

# Cloud Scheduler calls the orchestrator's deadline sweep as this account.
resource "google_service_account" "scheduler" {
  account_id   = "scheduler-sweep"
  display_name = "Cloud Scheduler: saga deadline sweep"
}

resource "google_project_iam_member" "cloudsql_client" {
  for_each = local.services
  project  = var.project_id
  role     = "roles/cloudsql.client"
  member   = "serviceAccount:${google_service_account.service[each.key].email}"
}

resource "google_project_iam_member" "trace_writer" {
  for_each = local.services
  project  = var.project_id
  role     = "roles/cloudtrace.agent"
  member   = "serviceAccount:${google_service_account.service[each.key].email}"
}

# The Pub/Sub service agent mints the pusher's OIDC tokens and moves dead letters.
resource "google_service_account_iam_member" "pubsub_mints_push_tokens" {
  service_account_id = google_service_account.pusher.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# Only the platform invokes the services' private routes; the public API is open to the
# internet (the frontend), so invoker is allUsers and the services check every token.
resource "google_cloud_run_v2_service_iam_member" "public" {
  # checkov:skip=CKV_GCP_102:the public API serves the frontend; every route checks its own token
  for_each = local.services
  name     = google_cloud_run_v2_service.service[each.key].name
  location = var.region
  role     = "roles/run.invoker"
  member   = "allUsers"
}
