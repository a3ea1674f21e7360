"""Payment codes that cannot be guessed: 120 random bits, written in Crockford-free base32."""

import base64
import secrets


def new_payment_code() -> str:
    return "MV" + base64.b32encode(secrets.token_bytes(15)).decode()
