# The key-encryption key of personal data (cliente-service's data keys are wrapped by it;
# the grant is in access.tf.json), the image registry's key and Pub/Sub's. Versions rotate
# every 90 days; old versions still decrypt, so rotation needs no rewrap.
#
# Key rings and keys cannot be deleted in Google Cloud: make destroy leaves them (it drops
# them from the state) and make deploy adopts them again (scripts/deploy.py, UNDELETABLE).
resource "google_kms_key_ring" "main" {
  name       = "mercado-veiculo"
  location   = var.region
  depends_on = [google_project_service.api]

  lifecycle {
    prevent_destroy = true
  }
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

resource "google_kms_crypto_key_iam_member" "artifact_registry" {
  crypto_key_id = google_kms_crypto_key.artifacts.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = google_project_service_identity.agent["artifactregistry.googleapis.com"].member
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
  member        = google_project_service_identity.agent["pubsub.googleapis.com"].member
}
