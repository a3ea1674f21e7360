"""Time-based one-time passwords (RFC 6238) for staff, through pyotp: 6 digits, 30 s steps,
SHA-1, what every authenticator app reads from an ``otpauth://`` URI."""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp

ISSUER = "Mercado Veículo"


def new_secret() -> str:
    return pyotp.random_base32()


def enrolment_uri(secret: str, email: str) -> str:
    """What the authenticator app scans (or the operator types in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, if it is right for now (or one step either side:
    a clock 30 s off) and later than the last code used; None otherwise."""
    if not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if (last_step is None or candidate > last_step) and hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None
