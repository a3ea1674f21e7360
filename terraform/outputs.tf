output "service_urls" {
  description = "Each service's URL."
  value       = { for name, service in google_cloud_run_v2_service.service : name => service.uri }
}

output "image_repository" {
  description = "Where make deploy pushes the images."
  value       = local.image_base
}

output "migration_jobs" {
  description = "The Cloud Run jobs make deploy runs before traffic moves."
  value       = [for job in google_cloud_run_v2_job.migrate : job.name]
}
