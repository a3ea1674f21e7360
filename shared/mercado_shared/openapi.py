"""The services' OpenAPI documents: FastAPI's, plus the errors every operation can answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from mercado_shared.errors import ErrorBody, error_body


def openapi_with_errors(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the 400 every operation with a body can answer."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for name, definition in (
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items()
    ):
        schema["components"]["schemas"].setdefault(name, definition)
    schema["components"]["schemas"]["ErrorBody"].pop("$defs", None)
    error_body_ref = {"$ref": "#/components/schemas/ErrorBody"}
    unprocessable = {"anyOf": [error_body_ref]}
    if "HTTPValidationError" in schema["components"]["schemas"]:
        unprocessable["anyOf"].append({"$ref": "#/components/schemas/HTTPValidationError"})
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation["responses"]
            if "requestBody" in operation:
                responses.setdefault(
                    "413",
                    {
                        "description": "The body is over the size limit (BODY_TOO_LARGE)",
                        "content": {
                            "application/json": {
                                "schema": error_body_ref,
                                "example": error_body("BODY_TOO_LARGE", "at most 65536 bytes"),
                            }
                        },
                    },
                )
                responses.setdefault(
                    "400",
                    {
                        "description": "The body is not JSON (MALFORMED_BODY)",
                        "content": {
                            "application/json": {
                                "schema": error_body_ref,
                                "example": error_body("MALFORMED_BODY", "There was an error parsing the body"),
                            }
                        },
                    },
                )
            if operation.get("security"):
                responses.setdefault(
                    "503",
                    {
                        "description": "Tokens cannot be checked right now (SERVICE_UNAVAILABLE); retry",
                        "content": {
                            "application/json": {
                                "schema": error_body_ref,
                                "example": error_body("SERVICE_UNAVAILABLE", "cannot check tokens right now; retry"),
                            }
                        },
                    },
                )
            if "requestBody" in operation or operation.get("parameters"):
                # Any input can be refused by validation or by a rule (INVALID_CHARACTER, ...).
                entry = responses.setdefault("422", {"description": "Invalid input"})
                content = entry.setdefault("content", {}).setdefault("application/json", {})
                content["schema"] = unprocessable
    app.openapi_schema = schema
    return schema
