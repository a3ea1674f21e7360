"""A BR Code as a QR image (segno: a maintained, pure-Python QR encoder that writes SVG
and PNG itself). Error correction M, as bank apps read from screens; a quiet zone of four
modules, as the QR standard asks."""

from __future__ import annotations

import io

import segno


def svg(payload: str) -> bytes:
    out = io.BytesIO()
    segno.make_qr(payload, error="m").save(out, kind="svg", scale=4, border=4, xmldecl=False, title="Pix QR")
    return out.getvalue()


def png(payload: str) -> bytes:
    out = io.BytesIO()
    segno.make_qr(payload, error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()
