"""What a complete OpenAPI document owes its readers, checked operation by operation."""

from __future__ import annotations

from typing import Any


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _has_example(media: dict[str, Any], document: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = _resolve(media.get("schema", {}), document)
    if "examples" in schema or "example" in schema:
        return True
    options = schema.get("anyOf", []) + schema.get("oneOf", [])
    return bool(options) and all("examples" in _resolve(o, document) for o in options if "$ref" in o)


def openapi_gaps(document: dict[str, Any]) -> list[str]:
    """Empty when every operation has a summary, request and response examples, and
    declares the errors its inputs can cause (401 with a token, 400/422 with a body,
    422 with parameters, 404 with a path id)."""
    gaps: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            responses = operation.get("responses", {})
            if not operation.get("summary"):
                gaps.append(f"{name}: no summary")
            body = operation.get("requestBody")
            for media in (body or {}).get("content", {}).values():
                if not _has_example(media, document):
                    gaps.append(f"{name}: no request example")
            for status, response in responses.items():
                for media_type, media in response.get("content", {}).items():
                    needs_example = status.startswith("2") or (status.startswith("4") and status != "422")
                    if needs_example and media_type == "application/json" and not _has_example(media, document):
                        gaps.append(f"{name}: no example for {status}")
            required = set()
            if operation.get("security"):
                required.add("401")
            if body:
                required |= {"400", "422"}
            if operation.get("parameters"):
                required.add("422")
            if "{" in path:
                required.add("404")
            gaps += [f"{name}: {status} not declared" for status in sorted(required - set(responses))]
    return gaps
