# One service account per service. What each may do is generated into access.tf.json
# from shared/mercado_shared/cloud_access.py; no grant to these accounts is written by hand.
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

# The release's smoke test runs as this account, which holds no role: it only calls the
# candidate revisions' public routes.
resource "google_service_account" "smoke" {
  account_id   = "release-smoke-test"
  display_name = "Cloud Run job: smoke test of a release"
}

# The Pub/Sub service agent mints the pusher's OIDC tokens.
resource "google_service_account_iam_member" "pubsub_mints_push_tokens" {
  service_account_id = google_service_account.pusher.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_project_service_identity.agent["pubsub.googleapis.com"].member
}
