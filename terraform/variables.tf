variable "project_id" {
  description = "The GCP project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Cloud SQL, Artifact Registry and KMS."
  type        = string
  default     = "southamerica-east1"
}

variable "domain" {
  description = "The one HTTPS origin of the API (the load balancer's managed certificate is for it; point its DNS A record at the output frontend_ip)."
  type        = string
}

variable "allowed_origins" {
  description = "Browser origins the frontend is served from (CORS). Empty: https://<domain> only. Never \"*\"."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for origin in var.allowed_origins : startswith(origin, "https://")])
    error_message = "allowed_origins are https:// origins; \"*\" is refused."
  }
}

variable "image_tag" {
  description = "Tag of the images the services and jobs are created with (make deploy passes the git commit). Later releases change images with gcloud, not Terraform."
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
  description = "PostgreSQL max_connections. The services' pools must fit under it (the precondition in cloudsql.tf)."
  type        = number
  default     = 400
}

variable "db_reserved_connections" {
  description = "Connections kept for operators (psql, exports) outside the services' budget."
  type        = number
  default     = 10
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
  description = "Cloud Run max instances per service, across all its revisions (service-level scaling)."
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

variable "login_attempts_per_ip_per_minute" {
  description = "Cloud Armor: POST /auth/token per client address per minute before 429."
  type        = number
  default     = 30
}

variable "registrations_per_ip_per_minute" {
  description = "Cloud Armor: POST /customers per client address per minute before 429."
  type        = number
  default     = 10
}

variable "metrics_sidecar_image" {
  description = "Managed Service for Prometheus' collector for Cloud Run (https://cloud.google.com/run/docs/monitoring-managed-prometheus-sidecar), pinned."
  type        = string
  default     = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.3.0"
}

variable "github_owner" {
  description = "Owner of the GitHub repository whose cd workflow may release (Workload Identity Federation)."
  type        = string
  default     = "mercado-veiculo"
}

variable "github_repo" {
  description = "Name of that repository."
  type        = string
  default     = "mercado-veiculo"
}

# E-mail (password resets) goes through an SMTP relay over TLS. Cloud Run blocks outbound
# port 25 but not 587 or 465 (https://cloud.google.com/run/docs/configuring/networking-best-practices,
# "Sending email"); Google suggests a third-party relay such as SendGrid, Mailgun or Mailjet.
variable "smtp_host" {
  description = "The SMTP relay (its TLS certificate is checked)."
  type        = string
  default     = "smtp.sendgrid.net"
}

variable "smtp_port" {
  description = "587 with STARTTLS, or 465 with implicit TLS (smtp_security)."
  type        = number
  default     = 587
}

variable "smtp_security" {
  description = "starttls or tls; production refuses plain SMTP."
  type        = string
  default     = "starttls"

  validation {
    condition     = contains(["starttls", "tls"], var.smtp_security)
    error_message = "smtp_security is starttls or tls."
  }
}

variable "smtp_username" {
  description = "The relay's user (SendGrid: apikey)."
  type        = string
  default     = "apikey"
}

variable "smtp_password" {
  description = "The relay's password or API key (TF_VAR_smtp_password). Until it is set, reset mail is retried and then dropped, and cliente-service logs each failure."
  type        = string
  default     = ""
  sensitive   = true
}

variable "mail_from" {
  description = "The From of the mail the customers get. Empty: Mercado Veículo <nao-responda@<domain>>."
  type        = string
  default     = ""
}

# The Pix provider (pagamento-service, app/adapters/pix_api.py): Efí Bank's API Pix, which
# is the Banco Central's (https://dev.efipay.com.br/docs/api-pix/credenciais). Until the
# credentials are set, creating a payment code fails and is retried, then the purchase
# fails, and pagamento-service logs each refusal: the rest of the shop runs.
variable "pix_api_url" {
  description = "The provider's API Pix (Efí production; its sandbox is https://pix-h.api.efipay.com.br)."
  type        = string
  default     = "https://pix.api.efipay.com.br"

  validation {
    condition     = startswith(var.pix_api_url, "https://")
    error_message = "The API Pix is reached over https only."
  }
}

variable "pix_client_id" {
  description = "The application's Client_Id at the provider."
  type        = string
  default     = ""
}

variable "pix_client_secret" {
  description = "The application's Client_Secret (TF_VAR_pix_client_secret)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "pix_certificate" {
  description = "The provider's client certificate and its key, PEM (Efí issues a .p12: openssl pkcs12 -in cert.p12 -out cert.pem -nodes), for mutual TLS (TF_VAR_pix_certificate)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "pix_key" {
  description = "The shop's Pix key (chave) at the provider, which the charges are paid to."
  type        = string
  default     = ""
}

variable "pix_merchant_name" {
  description = "Who the buyer's bank app says is paid (BR Code field 59: 25 letters, digits or spaces once accents are dropped)."
  type        = string
  default     = "Mercado Veiculo"
}

variable "pix_merchant_city" {
  description = "The shop's city in the BR Code (field 60: 15 characters)."
  type        = string
  default     = "Sao Paulo"
}

variable "purchase_archive_after_days" {
  description = "Finished purchases older than this many days are archived to Cloud Storage and purged from the database (at least 16: longer than any of their messages can come back)."
  type        = number
  default     = 365

  validation {
    condition     = var.purchase_archive_after_days >= 16
    error_message = "At least 16 days: a purchase must outlive every redelivery of its messages (mercado_shared.retention.inbox_kept)."
  }
}
