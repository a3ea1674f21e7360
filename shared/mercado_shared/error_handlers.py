"""Every error a request can end in, as ``{"detail": {"code", "message"}}`` with a stable
code (or FastAPI's 422 shape, without the input it would echo)."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mercado_shared.errors import BusinessError, business_error_handler, error_body

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BusinessError, business_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(ValueError, nul_character_handler)
    app.add_exception_handler(OperationalError, database_unavailable_handler)
    app.add_exception_handler(InterfaceError, database_unavailable_handler)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Errors raised by the framework (an unknown path, a body that does not parse) get a
    stable code in the same ``{"detail": {"code", "message"}}`` shape as ours."""
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if isinstance(exc.detail, dict):
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=headers)
    code = {400: "MALFORMED_BODY", 413: "BODY_TOO_LARGE"}.get(exc.status_code) or HTTPStatus(exc.status_code).name
    return JSONResponse(status_code=exc.status_code, content=error_body(code, str(exc.detail)), headers=headers)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 (``{"detail": [{type, loc, msg, ctx}]}``) without the ``input`` it
    would echo: a refused password or CPF never comes back in a response, where proxies,
    browser tools and client logs would keep it."""
    assert isinstance(exc, RequestValidationError)
    errors = [{key: value for key, value in error.items() if key != "input"} for error in exc.errors()]
    return JSONResponse(status_code=422, content=jsonable_encoder({"detail": errors}))


async def database_unavailable_handler(request: Request, exc: Exception) -> Response:
    """The database is down or unreachable: nothing the client did; it may retry."""
    route = getattr(request.scope.get("route"), "path", "unmatched")  # the template: no id or code in logs
    log.warning("database unavailable", extra={"error": type(exc).__name__, "route": route})
    return JSONResponse(
        status_code=503,
        content=error_body("SERVICE_UNAVAILABLE", "the service cannot reach its database; retry"),
        headers={"Retry-After": "2"},
    )


async def nul_character_handler(request: Request, exc: Exception) -> Response:
    """PostgreSQL text cannot hold NUL; the driver refuses to send one. Wherever a client put
    it (body, path, query), that is the client's invalid input, not a server error."""
    if "NUL (0x00)" in str(exc):
        return JSONResponse(
            status_code=422, content=error_body("INVALID_CHARACTER", "text cannot contain the NUL character")
        )
    raise exc
