"""What the error handlers write: a database outage is logged with the route's template,
never the path a client asked for (it may hold a payment code)."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from mercado_shared import error_handlers


def test_a_database_outage_logs_the_route_template_not_the_code(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    app.add_exception_handler(OperationalError, error_handlers.database_unavailable_handler)

    @app.get("/payment-codes/{code}")
    def read(code: str) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with caplog.at_level(logging.WARNING, logger=error_handlers.__name__), TestClient(app) as http:
        response = http.get("/payment-codes/MVSECRETCODE42")
    assert response.status_code == 503 and response.headers["Retry-After"]
    logged = [r for r in caplog.records if r.getMessage() == "database unavailable"]
    assert [getattr(r, "route", None) for r in logged] == ["/payment-codes/{code}"]
    assert all("MVSECRETCODE42" not in str(vars(r)) for r in caplog.records)
