"""A real SMTP server for `make run` and the tests: aiosmtpd, on loopback.

What the services send arrives over SMTP, as it would at a provider's relay, and is kept
in a Maildir (``make run``: ``.run/mail``, open it with any mail reader or ``cat``) and in
memory for the tests. It relays nothing onwards. aiosmtpd is a development dependency:
production sends through the relay in SMTP_HOST (docs/operations.md).
"""

from __future__ import annotations

import mailbox
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any


class MailCatcher:
    def __init__(self, port: int, maildir: Path | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self._maildir_path = maildir
        self._maildir: mailbox.Maildir | None = None
        self._received: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller  # development only

        if self._maildir_path is not None:
            self._maildir_path.parent.mkdir(parents=True, exist_ok=True)
            self._maildir = mailbox.Maildir(self._maildir_path)
        self._controller = Controller(_Keep(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailCatcher:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def keep(self, raw: bytes) -> None:
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self._received.append(parsed)
            if self._maildir is not None:
                self._maildir.add(raw)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """Every message received so far, or those addressed to ``to``."""
        with self._lock:
            found = list(self._received)
        if to is None:
            return found
        return [m for m in found if to.lower() in str(m["To"]).lower()]

    def wait_for(self, to: str, count: int = 1, timeout: float = 20.0) -> list[EmailMessage]:
        """The first ``count`` messages to ``to``, polling until they arrive or ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(to)
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"{len(found)} of {count} messages to {to} within {timeout}s"
                return found[:count]
            time.sleep(0.05)


class _Keep:
    """aiosmtpd's handler: accept every message and keep it."""

    def __init__(self, catcher: MailCatcher) -> None:
        self._catcher = catcher

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self._catcher.keep(bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"
