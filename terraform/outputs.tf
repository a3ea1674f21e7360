output "frontend_origin" {
  description = "The API's one public origin."
  value       = "https://${var.domain}"
}

output "frontend_ip" {
  description = "Point var.domain's DNS A record here; the managed certificate is issued once it resolves."
  value       = google_compute_global_address.frontend.address
}

output "service_urls" {
  description = "Each service's run.app URL (internal ingress: reachable from the VPC and Google's own callers only)."
  value       = { for name, service in google_cloud_run_v2_service.service : name => service.uri }
}

output "image_repository" {
  description = "Where make deploy and make release push the images."
  value       = local.image_base
}

output "migration_jobs" {
  description = "The Cloud Run jobs make release runs before traffic moves."
  value       = [for job in google_cloud_run_v2_job.migrate : job.name]
}

output "wif_provider" {
  description = "The WIF_PROVIDER repository variable of the cd workflow."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deployer_service_account" {
  description = "The DEPLOYER_SERVICE_ACCOUNT repository variable of the cd workflow."
  value       = google_service_account.deployer.email
}

output "pix_webhook_url" {
  description = "Register it at the Pix provider for the shop's key, as is (docs/operations.md, \"The Pix provider\"): Efí appends /pix into its ignorar parameter."
  value       = "https://${var.domain}/webhooks/pix?hmac=${random_password.pix_webhook.result}&ignorar="
  sensitive   = true
}
