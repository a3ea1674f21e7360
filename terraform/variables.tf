variable "project_id" {
  description = "The GCP project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Cloud SQL, Artifact Registry and KMS."
  type        = string
  default     = "southamerica-east1"
}

variable "image_tag" {
  description = "Tag of the four images in Artifact Registry (make deploy passes the git commit)."
  type        = string
}

variable "alert_email" {
  description = "Where alerts are sent."
  type        = string
}

variable "db_tier" {
  description = "Cloud SQL machine tier."
  type        = string
  default     = "db-custom-2-7680"
}

variable "db_max_connections" {
  description = "PostgreSQL max_connections. The services' pools must fit under it (checked below)."
  type        = number
  default     = 200
}

variable "db_pool_size" {
  description = "DB_POOL_SIZE of every service instance."
  type        = number
  default     = 5
}

variable "db_max_overflow" {
  description = "DB_MAX_OVERFLOW of every service instance."
  type        = number
  default     = 2
}

variable "max_instances" {
  description = "Cloud Run max instances per service."
  type        = number
  default     = 5
}

variable "min_instances" {
  description = "Cloud Run min instances per service: one warm instance avoids cold starts on the purchase path."
  type        = number
  default     = 1
}

variable "db_deletion_protection" {
  description = "Cloud SQL deletion protection; make destroy lifts it on purpose, nothing else should."
  type        = bool
  default     = true
}

variable "github_owner" {
  description = "Owner of the GitHub repository whose cd workflow may deploy (Workload Identity Federation)."
  type        = string
  default     = "mercado-veiculo"
}

variable "github_repo" {
  description = "Name of that repository."
  type        = string
  default     = "mercado-veiculo"
}
