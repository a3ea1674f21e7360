"""Business errors: a stable machine code and a message, in FastAPI's error shape."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class BusinessError(Exception):
    """Raised by use cases; rendered as ``{"detail": {"code", "message"}}``."""

    status_code = 400
    headers: dict[str, str] | None = None

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
    return JSONResponse(status_code=exc.status_code, content=error_body(exc.code, exc.message), headers=exc.headers)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error this API raises itself: a stable machine code and a message."""

    detail: ErrorDetail


class ValidationErrorBody(BaseModel):
    """FastAPI's own shape for a body or parameter that does not validate."""

    detail: list[dict[str, Any]]


_DESCRIPTIONS = {
    400: "Bad request",
    401: "No valid token",
    403: "The token does not grant this",
    404: "Not found",
    409: "Conflicts with the current state",
    410: "No longer available",
    413: "Body too large",
    422: "Invalid input",
    429: "Too many requests",
    503: "A dependency is unavailable; retry",
}


def error_responses(*errors: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for business errors: ``(status, CODE)`` pairs, each an example.

    ``error_responses((404, "VEHICLE_NOT_FOUND"), (409, "VEHICLE_SOLD"))``
    """
    by_status: dict[int, list[str]] = {}
    for status, code in errors:
        by_status.setdefault(status, []).append(code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, codes in by_status.items():
        examples = {code: {"value": error_body(code, code.replace("_", " ").lower())} for code in codes}
        responses[status] = {
            # A 422 is either ours (a business rule) or FastAPI's (validation).
            "model": ErrorBody | ValidationErrorBody if status == 422 else ErrorBody,
            "description": f"{_DESCRIPTIONS.get(status, 'Error')}: {', '.join(codes)}",
            "content": {"application/json": {"examples": examples}},
        }
    return responses


AUTH_ERRORS = error_responses((401, "NOT_AUTHENTICATED"))
STAFF_ERRORS = error_responses((401, "NOT_AUTHENTICATED"), (403, "FORBIDDEN"))
