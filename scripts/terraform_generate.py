"""Writes the Terraform that is derived from the code, so the two cannot disagree:

- ``terraform/pubsub.tf.json`` from the shared topology (shared/mercado_shared/topology.json):
  every topic, push subscription (OIDC as the pusher account, audience = the consumer's
  URL, its retry and dead-letter policy), dead-letter topic and its hold subscription, and
  the Pub/Sub service agent's grants to move dead letters;
- ``terraform/access.tf.json`` from the table of what each service may do
  (shared/mercado_shared/cloud_access.py): every grant to a service's account, the secrets
  each reads as environment variables, and who may call its /internal/… routes.

Run it after changing either: ``make terraform-generate``. make test fails while a file
and its source disagree (tests/static/test_terraform.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mercado_shared import cloud_access
from mercado_shared.topology import Topology, load_topology

TERRAFORM = Path(__file__).resolve().parents[1] / "terraform"
AGENT = '${google_project_service_identity.agent["pubsub.googleapis.com"].member}'
NEVER = {"ttl": ""}  # subscriptions never expire for inactivity


def key(name: str) -> str:
    return name.replace(".", "_").replace("-", "_").replace("/", "_")


def render_pubsub(topology: Topology) -> dict[str, Any]:
    topics: dict[str, Any] = {}
    subscriptions: dict[str, Any] = {}
    agent_publishes: dict[str, Any] = {}
    agent_subscribes: dict[str, Any] = {}
    encrypted = {
        "kms_key_name": "${google_kms_crypto_key.pubsub.id}",
        "depends_on": ["google_kms_crypto_key_iam_member.pubsub"],
    }
    for topic in topology.topics:
        topics[key(topic)] = {"name": topic, **encrypted}
    for service in topology.services:
        dead = topology.dead_letter_topic(service)
        topics[key(dead)] = {"name": dead, **encrypted}
        agent_publishes[key(dead)] = {  # the service agent moves dead letters there
            "topic": f"${{google_pubsub_topic.{key(dead)}.name}}",
            "role": "roles/pubsub.publisher",
            "member": AGENT,
        }
        hold = topology.dead_letter_subscription(service)
        subscriptions[key(hold)] = {
            "name": hold,
            "topic": f"${{google_pubsub_topic.{key(dead)}.id}}",
            "message_retention_duration": f"{topology.DEAD_LETTER_RETENTION_SECONDS}s",
            "ack_deadline_seconds": 60,
            "expiration_policy": NEVER,
        }
        store = topology.dead_letter_store_subscription(service)
        subscriptions[key(store)] = {  # pushes each dead letter to its service, which keeps it for staff
            "name": store,
            "topic": f"${{google_pubsub_topic.{key(dead)}.id}}",
            "message_retention_duration": f"{topology.DEAD_LETTER_RETENTION_SECONDS}s",
            "ack_deadline_seconds": 60,
            "expiration_policy": NEVER,
            "push_config": {
                "push_endpoint": f'${{google_cloud_run_v2_service.service["{service}"].uri}}'
                f"{topology.DEAD_LETTER_PUSH_PATH}",
                "oidc_token": {
                    "service_account_email": "${google_service_account.pusher.email}",
                    "audience": f'${{local.urls["{service}"]}}',
                },
            },
            "retry_policy": {"minimum_backoff": "10s", "maximum_backoff": "600s"},
            "depends_on": ["google_service_account_iam_member.pubsub_mints_push_tokens"],
        }
    for sub in topology.subscriptions():
        p = sub.policy
        subscriptions[key(sub.name)] = {
            "name": sub.name,
            "topic": f"${{google_pubsub_topic.{key(sub.topic)}.id}}",
            "ack_deadline_seconds": p.ack_deadline_seconds,
            "message_retention_duration": f"{p.message_retention_seconds}s",
            "expiration_policy": NEVER,
            "push_config": {
                "push_endpoint": f'${{google_cloud_run_v2_service.service["{sub.service}"].uri}}{sub.push_path}',
                "oidc_token": {
                    "service_account_email": "${google_service_account.pusher.email}",
                    "audience": f'${{local.urls["{sub.service}"]}}',
                },
            },
            "retry_policy": {
                "minimum_backoff": f"{p.minimum_backoff_seconds}s",
                "maximum_backoff": f"{p.maximum_backoff_seconds}s",
            },
            "dead_letter_policy": {
                "dead_letter_topic": f"${{google_pubsub_topic.{key(sub.dead_letter_topic)}.id}}",
                "max_delivery_attempts": p.max_delivery_attempts,
            },
            "depends_on": ["google_service_account_iam_member.pubsub_mints_push_tokens"],
        }
        agent_subscribes[key(sub.name)] = {  # the service agent acks what it moves to the dead letters
            "subscription": f"${{google_pubsub_subscription.{key(sub.name)}.name}}",
            "role": "roles/pubsub.subscriber",
            "member": AGENT,
        }
    return {
        "//": "Generated by scripts/terraform_generate.py from shared/mercado_shared/topology.json. Do not edit.",
        "locals": {"topics": {topic: f"${{google_pubsub_topic.{key(topic)}.name}}" for topic in topology.topics}},
        "resource": {
            "google_pubsub_topic": topics,
            "google_pubsub_subscription": subscriptions,
            "google_pubsub_topic_iam_member": agent_publishes,
            "google_pubsub_subscription_iam_member": agent_subscribes,
        },
    }


def render_access() -> dict[str, Any]:
    """Every grant to a service's account, one resource per kind of grant."""
    project_roles: dict[str, Any] = {}
    topics: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    buckets: dict[str, Any] = {}
    signers: dict[str, Any] = {}
    for service in cloud_access.ACCESS:
        for grant in sorted(cloud_access.grants(service)):
            kind, _, name = grant.resource.partition(":")
            entry = {"service": service, "role": grant.role}
            if kind == cloud_access.PROJECT:
                project_roles[f"{service} {grant.role}"] = entry
            elif kind == "topic":
                topics[f"{service} {name}"] = {**entry, "topic": name}
            elif kind == "secret":
                secrets[f"{service} {name}"] = {**entry, "secret": name}
            elif kind == "kms-key":  # encrypt and decrypt: one role grants both
                keys[f"{service} {name}"] = {**entry, "key": name}
            elif kind == "bucket":  # read, write and delete objects: one role grants all three
                buckets[f"{service} {name}"] = {**entry, "bucket": name}
            elif kind == cloud_access.ITSELF:
                signers[service] = entry
            else:
                raise ValueError(f"no Terraform for a grant on {grant.resource}")
    member = "serviceAccount:${google_service_account.service[each.value.service].email}"
    return {
        "//": "Generated by scripts/terraform_generate.py from shared/mercado_shared/cloud_access.py. Do not edit.",
        "locals": {
            # Cloud Run reads these secrets into these variables, as the service's account.
            "secret_env": {service: dict(access.secrets) for service, access in cloud_access.ACCESS.items()},
            # The services each service's /internal/… routes accept (their ID tokens).
            "internal_callers": {service: cloud_access.internal_callers(service) for service in cloud_access.ACCESS},
        },
        "resource": {
            "google_project_iam_member": {
                "service": {
                    "for_each": project_roles,
                    "project": "${var.project_id}",
                    "role": "${each.value.role}",
                    "member": member,
                }
            },
            "google_pubsub_topic_iam_member": {
                "service_publishes": {
                    "for_each": topics,
                    "topic": "${local.topics[each.value.topic]}",
                    "role": "${each.value.role}",
                    "member": member,
                }
            },
            "google_secret_manager_secret_iam_member": {
                "service_reads": {
                    "for_each": dict(sorted(secrets.items())),
                    "secret_id": "${google_secret_manager_secret.secret[each.value.secret].id}",
                    "role": "${each.value.role}",
                    "member": member,
                }
            },
            "google_kms_crypto_key_iam_member": {
                "service_uses": {
                    "for_each": keys,
                    "crypto_key_id": "${local.kms_keys[each.value.key]}",
                    "role": "${each.value.role}",
                    "member": member,
                }
            },
            "google_storage_bucket_iam_member": {
                "service_objects": {
                    "for_each": buckets,
                    "bucket": "${local.buckets[each.value.bucket]}",
                    "role": "${each.value.role}",
                    "member": member,
                }
            },
            # Signing a URL as itself: the account may sign blobs with its own Google-held key.
            "google_service_account_iam_member": {
                "service_signs_as_itself": {
                    "for_each": signers,
                    "service_account_id": "${google_service_account.service[each.value.service].name}",
                    "role": "${each.value.role}",
                    "member": member,
                }
            },
        },
    }


def text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generated() -> dict[Path, str]:
    """Each generated file and the text it must have."""
    return {
        TERRAFORM / "pubsub.tf.json": text(render_pubsub(load_topology())),
        TERRAFORM / "access.tf.json": text(render_access()),
    }


if __name__ == "__main__":
    for path, content in generated().items():
        path.write_text(content)
        sys.stdout.write(f"wrote {path}\n")
