locals {
  # The services. Pub/Sub lives in pubsub.tf.json and every grant to a service's account
  # in access.tf.json, both generated from the code (scripts/terraform_generate.py); make
  # test checks this map against the code too.
  # - memory: cliente-service hashes passwords (Argon2id, 19 MiB each, at most
  #   PASSWORD_HASHING_CONCURRENCY = 4 at once): make bench's login flood (100 at once)
  #   peaked at 277 MB resident, so 512 MiB leaves it nearly half free. veiculo-service
  #   checks photos: the largest it accepts, an 8,000 x 8,000 RGBA PNG, took it to 604 MB
  #   while decoding (one photo at a time per instance; a JPEG, scaled as it decodes,
  #   stays near 100 MB), on top of the ~125 MB it holds at rest.
  # - concurrency: Cloud Run's requests in flight per instance. The orchestrator's long
  #   polls wait on an event and hold no thread or connection, so it takes
  #   MAX_WAITING_REQUESTS of them plus as many ordinary requests as the others.
  # - dedicated_connections: connections a service opens outside its pool (the
  #   orchestrator's LISTEN for saga changes), counted in the budget below.
  services = {
    "cliente-service"   = { database = "cliente", memory = "512Mi", concurrency = 40, dedicated_connections = 0 }
    "veiculo-service"   = { database = "veiculo", memory = "1Gi", concurrency = 40, dedicated_connections = 0 }
    "pagamento-service" = { database = "pagamento", memory = "512Mi", concurrency = 40, dedicated_connections = 0 }
    "orquestrador"      = { database = "orquestrador", memory = "512Mi", concurrency = 240, dedicated_connections = 1 }
  }

  # Each service's account, and the accounts of the platform that call it.
  accounts = {
    "cliente-service"   = google_service_account.service["cliente-service"].email
    "veiculo-service"   = google_service_account.service["veiculo-service"].email
    "pagamento-service" = google_service_account.service["pagamento-service"].email
    "orquestrador"      = google_service_account.service["orquestrador"].email
    "pusher"            = google_service_account.pusher.email
    "scheduler"         = google_service_account.scheduler.email
    "smoke"             = google_service_account.smoke.email
  }
  # Platform callers of /internal/… routes, beside the services access.tf.json lists.
  platform_callers = {
    "orquestrador" = [google_service_account.scheduler.email] # the deadline sweep
  }

  # KMS keys by the name cloud_access.py gives them.
  kms_keys = {
    (google_kms_crypto_key.data_keys.name) = google_kms_crypto_key.data_keys.id
  }

  image_base = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  origins    = length(var.allowed_origins) > 0 ? var.allowed_origins : ["https://${var.domain}"]

  # The connection budget, checked before anything is applied (cloudsql.tf):
  # every service at its max instances, twice over (during a rollout the old revision's
  # instances drain while the new one's start), each instance at its full pool plus its
  # dedicated connections; one connection per migration job; the operators' reserve.
  connections_per_instance = { for name, s in local.services : name => var.db_pool_size + var.db_max_overflow + s.dedicated_connections }
  connections_needed       = 2 * var.max_instances * sum(values(local.connections_per_instance)) + length(local.services) + var.db_reserved_connections
}
