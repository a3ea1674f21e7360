"""The payment provider's webhook signature: ``X-PSP-Signature: t=<unix time>,v1=<hex>``.

``v1`` is HMAC-SHA256 with the shared secret over ``"<t>.<raw body>"``. Signing the time
with the body, and refusing a time outside the tolerance, stops a captured notification
from being replayed later; several ``v1`` values may be sent while the secret rotates.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-PSP-Signature"


class InvalidSignature(Exception):
    pass


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, body: bytes, header: str | None, tolerance: int, now: float | None = None) -> None:
    if not header:
        raise InvalidSignature("no signature")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    raw = parts.get("t", [""])[0]
    if not (raw.isascii() and raw.isdigit()):  # int() would take other scripts' digits too
        raise InvalidSignature("no timestamp")
    timestamp = int(raw)
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the tolerance")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    # Compared as bytes: compare_digest refuses non-ASCII text, and such a candidate is simply wrong.
    if not any(hmac.compare_digest(expected.encode(), c.encode()) for c in parts.get("v1", [])):
        raise InvalidSignature("signature mismatch")
