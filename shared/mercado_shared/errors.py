"""Business errors: a stable machine code and a message, in FastAPI's error shape."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class BusinessError(Exception):
    """Raised by use cases; rendered as ``{"detail": {"code", "message"}}``."""

    status_code = 400

    def __init__(self, code: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class NotFound(BusinessError):
    status_code = 404


class Conflict(BusinessError):
    status_code = 409


class Forbidden(BusinessError):
    status_code = 403


class Unprocessable(BusinessError):
    status_code = 422


class Gone(BusinessError):
    status_code = 410


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"detail": {"code": code, "message": message}}


async def business_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BusinessError)
    return JSONResponse(status_code=exc.status_code, content=error_body(exc.code, exc.message))
