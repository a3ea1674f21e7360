"""The official Cloud Storage client, for Google or, locally, its emulator (the services
that keep objects: veiculo-service's photos, the orchestrator's archive)."""

from __future__ import annotations

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage


def storage_client(project: str, emulator: str | None) -> storage.Client:
    """Google's, with the service's own identity; or the emulator's at ``emulator`` (no
    credentials: it checks none)."""
    if emulator:
        return storage.Client(
            project=project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": emulator.rstrip("/")},
        )
    return storage.Client(project=project)
