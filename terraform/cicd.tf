# GitHub Actions releases as this account, through Workload Identity Federation: only the
# cd workflow's job in the "production" environment of var.github_owner/var.github_repo,
# on a push to main, may impersonate it (that environment is where GitHub enforces
# required reviewers; a pull request, from a fork or not, never gets this identity).
resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "github"
  display_name              = "GitHub Actions"
  depends_on                = [google_project_service.api]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-actions"
  display_name                       = "GitHub Actions OIDC"
  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
    "attribute.event_name" = "assertion.event_name"
  }
  attribute_condition = "assertion.sub == 'repo:${var.github_owner}/${var.github_repo}:environment:production' && assertion.repository == '${var.github_owner}/${var.github_repo}' && assertion.ref == 'refs/heads/main' && assertion.event_name == 'push'"

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deployer" {
  account_id   = "github-release"
  display_name = "GitHub Actions: make release (application revisions only)"
}

resource "google_service_account_iam_member" "github_impersonates_deployer" {
  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/subject/repo:${var.github_owner}/${var.github_repo}:environment:production"
}

# What make release does, and nothing more: push images to this repository; deploy
# revisions of these services, update and run these jobs, move their traffic; act as the
# accounts those run as. No project-level role: infrastructure changes (Terraform) are
# planned with make plan, reviewed, and applied by a person with make deploy
# (docs/operations.md, "Releases and infrastructure").
resource "google_artifact_registry_repository_iam_member" "deployer_pushes" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_cloud_run_v2_service_iam_member" "deployer_releases" {
  for_each = local.services
  location = var.region
  name     = google_cloud_run_v2_service.service[each.key].name
  role     = "roles/run.developer"
  member   = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_cloud_run_v2_job_iam_member" "deployer_runs" {
  for_each = merge(
    { for name, job in google_cloud_run_v2_job.migrate : name => job.name },
    { smoke = google_cloud_run_v2_job.smoke.name },
  )
  location = var.region
  name     = each.value
  role     = "roles/run.developer"
  member   = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each           = { for name in concat(keys(local.services), ["smoke"]) : name => local.accounts[name] }
  service_account_id = "projects/${var.project_id}/serviceAccounts/${each.value}"
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}
