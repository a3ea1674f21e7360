# The key-encryption key of personal data (cliente-service's data keys are wrapped by it)
# and the key of the image registry. Versions rotate every 90 days; old versions still
# decrypt, so rotation needs no rewrap.
resource "google_kms_key_ring" "main" {
  name       = "mercado-veiculo"
  location   = var.region
  depends_on = [google_project_service.api]
}

resource "google_kms_crypto_key" "data_keys" {
  name            = "personal-data-keys"
  key_ring        = google_kms_key_ring.main.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s"

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = "SOFTWARE"
  }

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key" "artifacts" {
  name            = "artifact-registry"
  key_ring        = google_kms_key_ring.main.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s"

  lifecycle {
    prevent_destroy = true
  }
}

# Only cliente-service wraps and unwraps data keys.
resource "google_kms_crypto_key_iam_member" "cliente_data_keys" {
  crypto_key_id = google_kms_crypto_key.data_keys.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_service_account.service["cliente-service"].email}"
}

resource "google_kms_crypto_key_iam_member" "artifact_registry" {
  crypto_key_id = google_kms_crypto_key.artifacts.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-artifactregistry.iam.gserviceaccount.com"
}

# Pub/Sub messages carry ids and amounts only, but are encrypted with our key all the same.
resource "google_kms_crypto_key" "pubsub" {
  name            = "pubsub-messages"
  key_ring        = google_kms_key_ring.main.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s"

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key_iam_member" "pubsub" {
  crypto_key_id = google_kms_crypto_key.pubsub.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
