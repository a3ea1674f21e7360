"""Payment codes that cannot be guessed: 120 random bits in base32 (26 letters and digits,
"MV" first), each also the txid of its Pix charge (26 to 35 letters or digits)."""

import base64
import secrets


def new_payment_code() -> str:
    return "MV" + base64.b32encode(secrets.token_bytes(15)).decode()
