locals {
  # Pub/Sub lives in pubsub.tf.json, generated from the shared topology by
  # scripts/terraform_topology.py; make test checks the two agree.
  services = {
    "cliente-service"   = { database = "cliente", internal_callers = ["orquestrador"] }
    "veiculo-service"   = { database = "veiculo", internal_callers = [] }
    "pagamento-service" = { database = "pagamento", internal_callers = [] }
    "orquestrador"      = { database = "orquestrador", internal_callers = ["scheduler"] }
  }

  # Each service's account, and the accounts of the platform that call it.
  accounts = {
    "cliente-service"   = google_service_account.service["cliente-service"].email
    "veiculo-service"   = google_service_account.service["veiculo-service"].email
    "pagamento-service" = google_service_account.service["pagamento-service"].email
    "orquestrador"      = google_service_account.service["orquestrador"].email
    "pusher"            = google_service_account.pusher.email
    "scheduler"         = google_service_account.scheduler.email
  }

  image_base = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"

  # Every instance of every service at its max pool, plus the four migration jobs and
  # room for an operator's psql, must fit in max_connections.
  connections_needed = length(local.services) * var.max_instances * (var.db_pool_size + var.db_max_overflow) + length(local.services) + 10
}

check "connection_budget" {
  assert {
    condition     = local.connections_needed <= var.db_max_connections
    error_message = "max_instances × (pool + overflow) × services exceeds Cloud SQL max_connections."
  }
}
