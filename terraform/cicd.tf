# GitHub Actions deploys as this account, through Workload Identity Federation: only the
# cd workflow's job in the "production" environment of var.github_owner/var.github_repo may
# impersonate it (that environment is where GitHub enforces reviewers and branch rules).
resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "github"
  display_name              = "GitHub Actions"
}

resource "google_iam_workload_identity_pool_provider" "github" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-actions"
  display_name                       = "GitHub Actions OIDC"
  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }
  attribute_condition = "assertion.sub == 'repo:${var.github_owner}/${var.github_repo}:environment:production'"

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deployer" {
  account_id   = "github-deployer"
  display_name = "GitHub Actions: make deploy"
}

resource "google_service_account_iam_member" "github_impersonates_deployer" {
  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/subject/repo:${var.github_owner}/${var.github_repo}:environment:production"
}

# What make deploy manages, role by role (no owner/editor). Applying the services'
# least-privilege grants needs projectIamAdmin; the federation condition above is what
# narrows who holds it.
resource "google_project_iam_member" "deployer" {
  # checkov:skip=CKV_GCP_49:serviceAccountAdmin creates the services' own accounts, which the Terraform declares
  # checkov:skip=CKV_GCP_117:projectIamAdmin is needed to apply the services' least-privilege grants
  for_each = toset([
    "roles/artifactregistry.admin",
    "roles/cloudkms.admin",
    "roles/cloudscheduler.admin",
    "roles/cloudsql.admin",
    "roles/compute.networkAdmin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.workloadIdentityPoolAdmin",
    "roles/logging.configWriter",
    "roles/monitoring.admin",
    "roles/pubsub.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/secretmanager.admin",
    "roles/servicenetworking.networksAdmin",
    "roles/serviceusage.serviceUsageAdmin",
    "roles/storage.admin",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.deployer.email}"
}

# The deployer attaches the runtime accounts to Cloud Run, the scheduler and the pushes:
# serviceAccountUser on each of them, not on the project.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each           = local.accounts
  service_account_id = "projects/${var.project_id}/serviceAccounts/${each.value}"
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

output "wif_provider" {
  description = "The WIF_PROVIDER repository variable of the cd workflow."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deployer_service_account" {
  description = "The DEPLOYER_SERVICE_ACCOUNT repository variable of the cd workflow."
  value       = google_service_account.deployer.email
}
