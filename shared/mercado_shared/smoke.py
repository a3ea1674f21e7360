"""A release's smoke test: ``python -m mercado_shared.smoke --version SHA URL [URL …]``.

make release deploys each service's new revision with no traffic, behind a tag URL, and
runs this (as the ``release-smoke-test`` Cloud Run job, inside the VPC where those URLs
are reachable) before any traffic moves. Each candidate must, within ``--timeout``
seconds (a new revision's first instance starts cold): be live, be ready (its database
answers), be healthy, and report the commit being released, which proves the tag URL
reaches the new revision and not the one serving. Exit 0 when every candidate passes;
otherwise 1, naming what failed, and the release stops with traffic where it was.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import httpx

from mercado_shared.health import HEALTH_PATH, LIVENESS_PATH, READINESS_PATH


def check(url: str, version: str, client: httpx.Client) -> str | None:
    """What is wrong with the candidate at ``url`` now, or None."""
    for path in (LIVENESS_PATH, READINESS_PATH, HEALTH_PATH):
        try:
            response = client.get(url.rstrip("/") + path)
        except httpx.HTTPError as exc:
            return f"{path}: {type(exc).__name__}"
        if response.status_code != 200:
            return f"{path}: {response.status_code} {response.text[:200]}"
    reported = response.json().get("version")
    if reported != version:
        return f"runs version {reported!r}, not {version!r}"
    return None


def smoke(urls: Sequence[str], version: str, timeout: float, interval: float = 2.0) -> dict[str, str]:
    """Each failing candidate and why, after retrying until ``timeout``."""
    deadline = time.monotonic() + timeout
    failing = {url: "not checked" for url in urls}
    with httpx.Client(timeout=10) as client:
        while True:
            failing = {url: problem for url in failing if (problem := check(url, version, client))}
            if not failing or time.monotonic() >= deadline:
                return failing
            time.sleep(interval)  # a cold start: ask again (a poll with a deadline)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mercado_shared.smoke", description=__doc__)
    parser.add_argument("--version", required=True, help="the commit the candidates must report")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("urls", nargs="+", help="each candidate revision's URL")
    args = parser.parse_args(argv)
    failing = smoke(args.urls, args.version, args.timeout)
    for url in args.urls:
        print(f"{'FAIL' if url in failing else 'ok'} {url}{': ' + failing[url] if url in failing else ''}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
