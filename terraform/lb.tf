# One HTTPS origin for the frontend: a global external Application Load Balancer with a
# managed certificate for var.domain, Cloud Armor in front, and one serverless NEG per
# service. Only the public paths of the contract are routed (local.routes; a test derives
# them from each service's OpenAPI): /metrics, /docs, /openapi.json, /pubsub/push,
# /internal/…, /livez and /readyz are not reachable from the internet.
# (https://cloud.google.com/load-balancing/docs/https/setting-up-https-serverless)
locals {
  routes = {
    "cliente-service"   = ["/auth/token", "/auth/password-resets", "/auth/password-resets/*", "/.well-known/jwks.json", "/customers", "/customers/*", "/audit-log/customers", "/operations/dead-letters/cliente-service", "/operations/dead-letters/cliente-service/*"]
    "veiculo-service"   = ["/vehicles", "/vehicles/*", "/audit-log/vehicles", "/operations/dead-letters/veiculo-service", "/operations/dead-letters/veiculo-service/*"]
    "pagamento-service" = ["/payment-codes/*", "/payment-discrepancies", "/payments", "/payments/*", "/webhooks/psp", "/webhooks/pix", "/payment-refunds/*", "/audit-log/payments", "/operations/dead-letters/pagamento-service", "/operations/dead-letters/pagamento-service/*"]
    "orquestrador"      = ["/purchase", "/purchase/*", "/purchases", "/saga-states/*", "/audit-log/purchases", "/operations/overview", "/operations/purchases", "/operations/purchases/*", "/operations/dead-letters/orquestrador", "/operations/dead-letters/orquestrador/*", "/console", "/console/*"]
  }
}

resource "google_compute_global_address" "frontend" {
  name       = "mercado-veiculo"
  depends_on = [google_project_service.api]
}

resource "google_compute_managed_ssl_certificate" "frontend" {
  name = "mercado-veiculo"

  managed {
    domains = [var.domain]
  }

  depends_on = [google_project_service.api]
}

resource "google_compute_region_network_endpoint_group" "service" {
  for_each              = local.services
  name                  = "neg-${each.key}"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloud_run_v2_service.service[each.key].name
  }
}

resource "google_compute_backend_service" "service" {
  for_each              = local.services
  name                  = "backend-${each.key}"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  security_policy       = google_compute_security_policy.edge.id

  backend {
    group = google_compute_region_network_endpoint_group.service[each.key].id
  }

  log_config {
    enable      = true
    sample_rate = 1
  }
}

resource "google_compute_url_map" "frontend" {
  name = "mercado-veiculo"

  # A request for another host (the bare IP address, say) is sent to the one origin.
  default_url_redirect {
    host_redirect          = var.domain
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }

  host_rule {
    hosts        = [var.domain]
    path_matcher = "api"
  }

  path_matcher {
    name = "api"

    # Nothing outside the routes below reaches a service: the load balancer answers 404.
    default_route_action {
      fault_injection_policy {
        abort {
          http_status = 404
          percentage  = 100
        }
      }
      weighted_backend_services {
        backend_service = google_compute_backend_service.service["orquestrador"].id
        weight          = 100
      }
    }

    dynamic "path_rule" {
      for_each = local.routes
      content {
        paths   = path_rule.value
        service = google_compute_backend_service.service[path_rule.key].id
      }
    }

    # Uptime checks see each service's /health through the same origin.
    dynamic "path_rule" {
      for_each = local.services
      content {
        paths   = ["/health/${path_rule.key}"]
        service = google_compute_backend_service.service[path_rule.key].id
        route_action {
          url_rewrite {
            path_prefix_rewrite = "/health"
          }
        }
      }
    }
  }
}

resource "google_compute_target_https_proxy" "frontend" {
  name             = "mercado-veiculo"
  url_map          = google_compute_url_map.frontend.id
  ssl_certificates = [google_compute_managed_ssl_certificate.frontend.id]
  ssl_policy       = google_compute_ssl_policy.modern.id
}

resource "google_compute_ssl_policy" "modern" {
  name            = "mercado-veiculo-tls12"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
  depends_on      = [google_project_service.api]
}

resource "google_compute_global_forwarding_rule" "https" {
  name                  = "mercado-veiculo-https"
  target                = google_compute_target_https_proxy.frontend.id
  ip_address            = google_compute_global_address.frontend.id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

# Plain HTTP only redirects to HTTPS.
resource "google_compute_url_map" "redirect" {
  name = "mercado-veiculo-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }

  depends_on = [google_project_service.api]
}

resource "google_compute_target_http_proxy" "redirect" {
  name    = "mercado-veiculo-redirect"
  url_map = google_compute_url_map.redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  name                  = "mercado-veiculo-http"
  target                = google_compute_target_http_proxy.redirect.id
  ip_address            = google_compute_global_address.frontend.id
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

# Cloud Armor at the edge: per-address rate limits on the two anonymous routes that hash
# passwords (login and registration), Google's preconfigured OWASP rules, and adaptive
# protection against layer-7 floods. The services keep their own limits behind it.
# (https://cloud.google.com/armor/docs/rate-limiting-overview,
# https://cloud.google.com/armor/docs/waf-rules)
resource "google_compute_security_policy" "edge" {
  name        = "mercado-veiculo-edge"
  description = "Rate limits and OWASP rules in front of the API."
  depends_on  = [google_project_service.api]

  adaptive_protection_config {
    layer_7_ddos_defense_config {
      enable = true
    }
  }

  # The two anonymous routes that hash a password, per client address.
  dynamic "rule" {
    for_each = {
      1000 = { path = "/auth/token", per_minute = var.login_attempts_per_ip_per_minute }
      1010 = { path = "/customers", per_minute = var.registrations_per_ip_per_minute }
    }
    content {
      action      = "throttle"
      priority    = rule.key
      description = "POST ${rule.value.path}: at most ${rule.value.per_minute} a minute per address"
      match {
        expr {
          expression = "request.path == '${rule.value.path}' && request.method == 'POST'"
        }
      }
      rate_limit_options {
        conform_action = "allow"
        exceed_action  = "deny(429)"
        enforce_on_key = "IP"
        rate_limit_threshold {
          count        = rule.value.per_minute
          interval_sec = 60
        }
      }
    }
  }

  rule {
    action      = "deny(403)"
    priority    = 1990
    description = "Log4j (CVE-2021-44228) and other known exploit probes"
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')"
      }
    }
  }

  dynamic "rule" {
    for_each = {
      2000 = "sqli-v33-stable"
      2010 = "xss-v33-stable"
      2020 = "lfi-v33-stable"
      2030 = "rfi-v33-stable"
      2040 = "rce-v33-stable"
      2050 = "methodenforcement-v33-stable"
      2060 = "scannerdetection-v33-stable"
      2070 = "protocolattack-v33-stable"
      2080 = "sessionfixation-v33-stable"
    }
    content {
      action      = "deny(403)"
      priority    = rule.key
      description = "OWASP: ${rule.value}, sensitivity 1 (the fewest false positives)"
      match {
        expr {
          expression = "evaluatePreconfiguredWaf('${rule.value}', {'sensitivity': 1})"
        }
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Everything else"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}
