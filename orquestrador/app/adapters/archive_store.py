"""Where finished purchases go before they leave the database: a Cloud Storage bucket,
through the official client (locally the same code talks to the storage emulator).

Each batch is one JSON Lines object, written only if no object has that name
(``if_generation_match=0``: https://cloud.google.com/storage/docs/request-preconditions).
A batch whose object already exists — the archive ran, then stopped before it purged —
is accepted only if the object holds exactly the same bytes; anything else is refused,
and nothing is purged.
"""

from __future__ import annotations

from functools import cached_property

from google.api_core.exceptions import PreconditionFailed
from google.cloud import storage

from mercado_shared import cloud_access
from mercado_shared.storage import storage_client

ARCHIVE = "bucket:purchase-archive"  # the bucket by the name cloud_access.py grants it under


class ArchiveConflict(RuntimeError):
    """An object of that name holds something else: never overwritten, never purged for."""


class ArchiveStore:
    def __init__(self, bucket: str, project: str, emulator: str | None) -> None:
        self.bucket = bucket
        self.project = project
        self.emulator = emulator.rstrip("/") if emulator else None

    @cached_property
    def _client(self) -> storage.Client:  # built at first use: no credentials needed to start
        return storage_client(self.project, self.emulator)

    def put(self, name: str, data: bytes) -> None:
        """``data`` is in the bucket under ``name`` when this returns."""
        blob = self._client.bucket(self.bucket).blob(name)
        cloud_access.record(cloud_access.WRITE_OBJECT, ARCHIVE)
        try:
            blob.upload_from_string(data, content_type="application/x-ndjson", if_generation_match=0)
        except PreconditionFailed:
            cloud_access.record(cloud_access.READ_OBJECT, ARCHIVE)
            if blob.download_as_bytes() != data:
                raise ArchiveConflict(f"gs://{self.bucket}/{name} exists and holds other purchases") from None

    def get(self, name: str) -> bytes:
        cloud_access.record(cloud_access.READ_OBJECT, ARCHIVE)
        return bytes(self._client.bucket(self.bucket).blob(name).download_as_bytes())
