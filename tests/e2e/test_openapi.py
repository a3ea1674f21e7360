"""Each service's OpenAPI: complete enough to code against, and /docs serves it."""

from __future__ import annotations

import pytest

from mercado_devtools.testing.openapi import openapi_gaps
from mercado_shared.registry import SERVICES
from tests.e2e.conftest import Api


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_every_operation_is_documented_with_examples_and_errors(api: Api, service: str) -> None:
    document = api.client.get(api.url(service, "/openapi.json")).json()
    assert openapi_gaps(document) == []
    assert "/pubsub/push" not in document["paths"]  # internal: not part of the public contract


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_docs_serve_the_interactive_reference(api: Api, service: str) -> None:
    docs = api.client.get(api.url(service, "/docs"))
    assert docs.status_code == 200 and "swagger-ui" in docs.text and "/openapi.json" in docs.text
