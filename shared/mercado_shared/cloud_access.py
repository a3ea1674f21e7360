"""What each service may do on Google Cloud, declared once.

Every Google permission a service uses at run time is here: the APIs its own code calls
(publishing, KMS, Cloud Trace) and those Cloud Run uses on its behalf, with its identity
(reading its secrets at start-up, the Cloud SQL socket, the metrics sidecar writing to
Cloud Monitoring). Logs need nothing: a service writes JSON lines to stdout, which Cloud
Run collects without the service's identity. ID tokens for the services a service
``calls`` come from the metadata server for its own account, which needs no grant either.
Two things are derived from this table:

- Terraform's grants to the services' accounts (``scripts/terraform_generate.py`` writes
  ``terraform/access.tf.json``; ``tests/static`` fails if any other grant names a
  service's account), so an account holds exactly what its code uses;
- which services may call which ``/internal/…`` routes with an ID token
  (``INTERNAL_CALLERS``).

The adapters that call Google ``record`` each call. With ``MV_CLOUD_CALLS_FILE`` set, each
process appends every distinct call to that file, and the end-to-end suite fails if a
service called anything this table does not grant it.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from mercado_shared.topology import load_topology

# IAM permissions, and the predefined role that grants each (the narrowest that does).
PUBLISH = "pubsub.topics.publish"
ENCRYPT = "cloudkms.cryptoKeyVersions.useToEncrypt"
DECRYPT = "cloudkms.cryptoKeyVersions.useToDecrypt"
READ_SECRET = "secretmanager.versions.access"  # noqa: S105 (a permission)
CONNECT_SQL = "cloudsql.instances.connect"
WRITE_TRACES = "cloudtrace.traces.patch"
WRITE_METRICS = "monitoring.timeSeries.create"
READ_OBJECT = "storage.objects.get"
WRITE_OBJECT = "storage.objects.create"
DELETE_OBJECT = "storage.objects.delete"
SIGN_AS_ITSELF = "iam.serviceAccounts.signBlob"  # V4 signed URLs without a key file
ROLES = {
    PUBLISH: "roles/pubsub.publisher",
    ENCRYPT: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
    DECRYPT: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
    READ_SECRET: "roles/secretmanager.secretAccessor",
    CONNECT_SQL: "roles/cloudsql.client",
    WRITE_TRACES: "roles/cloudtrace.agent",
    WRITE_METRICS: "roles/monitoring.metricWriter",
    # Read, write and delete objects (no bucket settings, no IAM): the narrowest role with all three.
    READ_OBJECT: "roles/storage.objectUser",
    WRITE_OBJECT: "roles/storage.objectUser",
    DELETE_OBJECT: "roles/storage.objectUser",
    SIGN_AS_ITSELF: "roles/iam.serviceAccountTokenCreator",
}
PROJECT = "project"
ITSELF = "itself"
# Mounted into every service's metrics sidecar (terraform/run.tf): what it scrapes, where.
METRICS_SCRAPE_CONFIG = "metrics-scrape-config"


@dataclass(frozen=True, order=True)
class Grant:
    """A permission on a resource: ``project``, ``topic:<id>``, ``secret:<id>``,
    ``kms-key:<name>``, ``bucket:<name>`` or ``itself`` (the service's own account)."""

    permission: str
    resource: str

    @property
    def role(self) -> str:
        return ROLES[self.permission]


@dataclass(frozen=True)
class ServiceAccess:
    secrets: Mapping[str, str]  # environment variable → the Secret Manager secret it is read from
    kms_keys: tuple[str, ...] = ()  # KMS keys (by name) it wraps and unwraps data keys with
    calls: tuple[str, ...] = ()  # services whose /internal/… routes it calls with an ID token
    buckets: tuple[str, ...] = ()  # Cloud Storage buckets (by name) whose objects it reads, writes, deletes
    signs_urls: bool = False  # signs Cloud Storage URLs as itself (IAM signBlob)


def _database(service: str) -> dict[str, str]:
    return {"DATABASE_URL": f"database-url-{service}"}


ACCESS: dict[str, ServiceAccess] = {
    "cliente-service": ServiceAccess(
        secrets={
            **_database("cliente-service"),
            "JWT_PRIVATE_KEY": "jwt-private-key",
            "SMTP_PASSWORD": "smtp-password",
        },
        kms_keys=("personal-data-keys",),
        # before an erasure: is a purchase in progress? For an export: what do they hold?
        calls=("orquestrador", "pagamento-service", "veiculo-service"),
    ),
    "veiculo-service": ServiceAccess(
        secrets=_database("veiculo-service"),
        # staff upload photos to the first through URLs it signs; it publishes renditions to the second
        buckets=("vehicle-uploads", "vehicle-photos"),
        signs_urls=True,
    ),
    "pagamento-service": ServiceAccess(
        secrets={
            **_database("pagamento-service"),
            "PSP_WEBHOOK_SECRET": "psp-webhook-secret",
            "PIX_CLIENT_SECRET": "pix-client-secret",  # the provider's API Pix
            "PIX_CERTIFICATE": "pix-certificate",  # its mutual TLS
            "PIX_WEBHOOK_SECRET": "pix-webhook-secret",  # what its notifications' URL carries
        }
    ),
    "orquestrador": ServiceAccess(
        secrets=_database("orquestrador"),
        # before a purchase: the buyer's funds; for staff's timeline: what each participant holds of it
        calls=("cliente-service", "pagamento-service", "veiculo-service"),
        # finished purchases past their retention (app.service_layer.archive); the bucket's
        # retention policy, not the role, keeps anyone from deleting what is there
        buckets=("purchase-archive",),
    ),
}


def grants(service: str) -> frozenset[Grant]:
    """Everything ``service``'s account is granted: its own table entry, every topic the
    topology makes it the producer of, and what every service needs (its database through
    the Cloud SQL socket, its spans, its metrics)."""
    access = ACCESS[service]
    found = {Grant(CONNECT_SQL, PROJECT), Grant(WRITE_TRACES, PROJECT), Grant(WRITE_METRICS, PROJECT)}
    found |= {Grant(PUBLISH, f"topic:{t}") for t, spec in load_topology().topics.items() if spec.producer == service}
    found |= {Grant(READ_SECRET, f"secret:{secret}") for secret in (*access.secrets.values(), METRICS_SCRAPE_CONFIG)}
    found |= {Grant(p, f"kms-key:{key}") for key in access.kms_keys for p in (ENCRYPT, DECRYPT)}
    found |= {Grant(p, f"bucket:{b}") for b in access.buckets for p in (READ_OBJECT, WRITE_OBJECT, DELETE_OBJECT)}
    if access.signs_urls:
        found.add(Grant(SIGN_AS_ITSELF, ITSELF))
    return frozenset(found)


def internal_callers(service: str) -> list[str]:
    """The services allowed on ``service``'s /internal/… routes."""
    return sorted(name for name, access in ACCESS.items() if service in access.calls)


# ---------------------------------------------------------------------- recording calls
_service = "unknown"
_calls: Counter[Grant] = Counter()
_lock = threading.Lock()


def identify(service: str) -> None:
    """Name the process's service in what it records (build_runtime calls it)."""
    global _service
    _service = service


def record(permission: str, resource: str) -> None:
    """An adapter is about to use ``permission`` on ``resource``."""
    grant = Grant(permission, resource)
    with _lock:
        first = grant not in _calls
        _calls[grant] += 1
    target = os.environ.get("MV_CLOUD_CALLS_FILE")
    if first and target:
        line = json.dumps({"service": _service, "permission": permission, "resource": resource}) + "\n"
        with open(target, "a") as f:  # one short O_APPEND write: lines from several processes never interleave
            f.write(line)


def calls() -> Counter[Grant]:
    """Every call this process recorded, with how many times."""
    with _lock:
        return Counter(_calls)
