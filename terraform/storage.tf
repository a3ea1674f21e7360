# Vehicle photos (veiculo-service, app/adapters/photo_store.py). Two buckets, so that
# nothing a browser uploads is ever public:
# - uploads: private. Staff's browsers PUT a photo here through a V4 signed URL the
#   service signs as itself (IAM signBlob, granted in access.tf.json; the IAM Credentials
#   API is enabled by make deploy's bootstrap). CORS lets the frontend's origins PUT; a
#   lifecycle rule deletes what was never confirmed, whatever happened to the service.
# - photos: public, cacheable renditions the service writes (WebP, no metadata). Served
#   at https://storage.googleapis.com/<bucket>/<name>; a sold vehicle's photos stay.
# https://cloud.google.com/storage/docs/access-control/signing-urls-with-helpers
# https://cloud.google.com/storage/docs/cross-origin
# https://cloud.google.com/storage/docs/lifecycle
# https://cloud.google.com/storage/docs/access-control/making-data-public

locals {
  # Buckets by the name shared/mercado_shared/cloud_access.py gives them.
  buckets = {
    "vehicle-uploads"  = google_storage_bucket.photo_uploads.name
    "vehicle-photos"   = google_storage_bucket.photos.name
    "purchase-archive" = google_storage_bucket.purchase_archive.name
  }
}

resource "google_storage_bucket" "photo_uploads" {
  # checkov:skip=CKV_GCP_62:access logs of a bucket only staff write to for minutes at a time; Cloud Audit Logs record who wrote what
  # checkov:skip=CKV_GCP_78:no versioning: an upload lives an hour at most, and versions would keep refused files
  name                        = "${var.project_id}-vehicle-uploads"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # abandoned uploads only: nothing here is kept

  cors {
    origin          = local.origins
    method          = ["PUT"]
    response_header = ["Content-Type", "x-goog-content-length-range"]
    max_age_seconds = 3600
  }

  # An upload is confirmed within minutes or swept by the service after an hour; a day is
  # the backstop for anything the sweep missed.
  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age = 1
    }
  }

  soft_delete_policy {
    retention_duration_seconds = 0 # a deleted upload is gone: refused files are not kept
  }

  depends_on = [google_project_service.api]
}

resource "google_storage_bucket" "photos" {
  # checkov:skip=CKV_GCP_62:access logs of public images would log every buyer's page view; Cloud Audit Logs record writes
  # checkov:skip=CKV_GCP_78:no versioning: a rendition's name is never reused (a new photo has a new id)
  # checkov:skip=CKV_GCP_114:the photos are public by design (listings show them); only renditions the service made are written here
  name                        = "${var.project_id}-vehicle-photos"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "inherited"

  depends_on = [google_project_service.api]
}

# Buyers read the renditions without signing in (an organisation policy restricting
# domain sharing must allow allUsers on this bucket).
resource "google_storage_bucket_iam_member" "photos_public" {
  # checkov:skip=CKV_GCP_28:the photos are public by design: a listing shows them to anyone
  bucket = google_storage_bucket.photos.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}

# Finished purchases past their retention (orquestrador, app/service_layer/archive.py): one
# JSON Lines object per batch, written once. The retention policy keeps every object five
# years, the sales records' legal term (docs/security.md, section 7): until then nobody,
# the orchestrator's role included, can delete or replace one. Lock it once the first
# deploy is verified (irreversible: gcloud storage buckets update --lock-retention-period).
# https://cloud.google.com/storage/docs/bucket-lock
resource "google_storage_bucket" "purchase_archive" {
  # checkov:skip=CKV_GCP_62:access logs: Cloud Audit Logs record every write; reads are staff's, rare
  # checkov:skip=CKV_GCP_78:no versioning: the retention policy already forbids deleting or replacing an object
  name                        = "${var.project_id}-purchase-archive"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  retention_policy {
    retention_period = 157680000 # 5 years of 365 days, in seconds
  }

  lifecycle_rule {
    action {
      type          = "SetStorageClass"
      storage_class = "ARCHIVE" # read only if a record is asked for
    }
    condition {
      age = 30
    }
  }

  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age = 1830 # once the five years are over (the policy refuses it any earlier)
    }
  }

  depends_on = [google_project_service.api]
}
