"""A real browser for the tests: Debian's chromium package (scripts/install.sh installs it),
driven by Playwright through its executable path; Playwright's own browsers are never
downloaded. Headless; without the sandbox, which needs user namespaces a root session in
a container does not have; and without the background traffic (updates, sync, metrics,
field trials) a machine without internet would wait on."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-field-trial-config",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]


def chromium() -> str:
    """Debian's binary (its /usr/bin/chromium is a shell wrapper around it)."""
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    raise FileNotFoundError("chromium is missing: scripts/install.sh installs Debian's package")


@contextmanager
def real_browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
