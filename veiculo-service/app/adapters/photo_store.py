"""Where photos live: Cloud Storage, through the official client. Two buckets: uploads
(private; staff's browsers PUT a photo there through a V4 signed URL, so the bytes never
pass through the service) and photos (public and cacheable; only renditions the service
made are written there). Locally the same code talks to a Cloud Storage emulator
(STORAGE_EMULATOR_HOST: fake-gcs-server, started by `make run` and the tests).

Signing an upload URL needs a private key. On Cloud Run there is none: the service signs
through the IAM Credentials API as its own service account (signBlob; it holds
roles/iam.serviceAccountTokenCreator on itself), as Google documents for signed URLs
without a key file
(https://cloud.google.com/storage/docs/access-control/signing-urls-with-helpers). The
emulator checks no signature; a throwaway key signs for it, with the same V4 process.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from functools import cached_property
from typing import Any

import google.auth
import google.auth.transport.requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core.exceptions import NotFound
from google.cloud import storage
from google.oauth2 import service_account

from app.adapters.images import MAX_BYTES
from app.config import UPLOAD_HEADERS
from mercado_shared import cloud_access
from mercado_shared.storage import storage_client

PUBLIC_CACHE = "public, max-age=31536000, immutable"  # a rendition's name is never reused
# The buckets by the names cloud_access.py grants them under.
UPLOADS, PHOTOS = "bucket:vehicle-uploads", "bucket:vehicle-photos"
GOOGLE_STORAGE = "https://storage.googleapis.com"


class PhotoStore:
    def __init__(
        self,
        *,
        project: str,
        uploads: str,
        photos: str,
        public_url: str | None,
        emulator: str | None,
        emulator_for_browsers: str | None = None,
    ) -> None:
        self.project = project
        self.uploads_name = uploads
        self.photos_name = photos
        self.emulator = emulator.rstrip("/") if emulator else None
        # Where browsers PUT uploads and GET photos: Google, or the emulator as they reach it.
        self.browser_base = (emulator_for_browsers or self.emulator or GOOGLE_STORAGE).rstrip("/")
        self.public_base = (public_url or f"{self.browser_base}/{photos}").rstrip("/")
        self._lock = threading.Lock()

    @cached_property
    def _client(self) -> storage.Client:  # built at first use: no credentials needed to start
        return storage_client(self.project, self.emulator)

    @cached_property
    def _emulator_signing(self) -> dict[str, Any]:
        """The emulator checks no signature: a throwaway key signs, by the same V4 process."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        info = {"client_email": "veiculo-service@emulator.local", "private_key": pem, "token_uri": self.emulator}
        credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
        return {"credentials": credentials, "api_access_endpoint": self.browser_base}

    @cached_property
    def _google_credentials(self) -> Any:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        return credentials

    def _signer(self) -> dict[str, Any]:
        """How this URL is signed: the emulator's throwaway key, or IAM as our account."""
        if self.emulator:
            return self._emulator_signing
        with self._lock:  # one refresh at a time; the token serves until it expires
            credentials = self._google_credentials
            if not credentials.valid:
                credentials.refresh(google.auth.transport.requests.Request())
            # Cloud Run's credentials name their account (compute_engine.Credentials)
            email = getattr(credentials, "service_account_email", None)
            return {"service_account_email": email, "access_token": credentials.token}

    def upload_url(self, name: str, content_type: str, expires: timedelta) -> tuple[str, dict[str, str]]:
        """A URL staff PUT one photo to, and the headers that PUT must carry (signed with
        it): its content type, and a size Cloud Storage itself refuses to exceed."""
        # The URL can only do what its signer may: create objects in the uploads bucket.
        cloud_access.record(cloud_access.SIGN_AS_ITSELF, cloud_access.ITSELF)
        cloud_access.record(cloud_access.WRITE_OBJECT, UPLOADS)
        content_type_header, length_header = UPLOAD_HEADERS
        signed_headers = {length_header: f"1,{MAX_BYTES}"}
        url = (
            self._client.bucket(self.uploads_name)
            .blob(name)
            .generate_signed_url(
                version="v4",
                expiration=expires,
                method="PUT",
                content_type=content_type,
                headers=signed_headers,
                **self._signer(),
            )
        )
        return url, {content_type_header: content_type, **signed_headers}

    def uploaded_size(self, name: str) -> int | None:
        cloud_access.record(cloud_access.READ_OBJECT, UPLOADS)
        blob = self._client.bucket(self.uploads_name).get_blob(name)
        return None if blob is None else int(blob.size or 0)

    def read_upload(self, name: str) -> bytes:
        """The upload's bytes, at most one past the limit (enough to know it is too large)."""
        cloud_access.record(cloud_access.READ_OBJECT, UPLOADS)
        return bytes(self._client.bucket(self.uploads_name).blob(name).download_as_bytes(end=MAX_BYTES))

    def delete_upload(self, name: str) -> None:
        cloud_access.record(cloud_access.DELETE_OBJECT, UPLOADS)
        self._delete(self.uploads_name, name)

    def publish(self, name: str, data: bytes, content_type: str) -> None:
        cloud_access.record(cloud_access.WRITE_OBJECT, PHOTOS)
        blob = self._client.bucket(self.photos_name).blob(name)
        blob.cache_control = PUBLIC_CACHE
        blob.upload_from_string(data, content_type=content_type)

    def unpublish(self, name: str) -> None:
        cloud_access.record(cloud_access.DELETE_OBJECT, PHOTOS)
        self._delete(self.photos_name, name)

    def public_url(self, name: str) -> str:
        return f"{self.public_base}/{name}"

    def _delete(self, bucket: str, name: str) -> None:
        with contextlib.suppress(NotFound):  # gone already: what was asked
            self._client.bucket(bucket).blob(name).delete()
