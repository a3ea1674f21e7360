"""Schemathesis over each service's own OpenAPI, against the running system, with real tokens.

It generates requests from the schema (valid and invalid), sends them, and checks that no
response is a 5xx and that every response — status, content type and body — is the one
the schema documents. The number of cases each run made is written to the test report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mercado_shared.registry import SERVICES
from tests.e2e.conftest import Api

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20"))
SEED = 20261124


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
@pytest.mark.parametrize("caller", ["staff", "customer"])
def test_the_api_keeps_its_schema_under_generated_requests(api: Api, service: str, caller: str, tmp_path: Path) -> None:
    headers = api.staff() if caller == "staff" else api.new_customer(balance=100000, credit=50000)[1]
    report = tmp_path / "schemathesis.json"
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            api.url(service, "/openapi.json"),
            "--header",
            f"Authorization: {headers['Authorization']}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",  # two workers hit a CPython 3.11.7 bug (concurrent ast.parse) inside hypothesis
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("schemathesis_hooks.py"))},
    )
    result = json.loads(report.read_text())
    cases = result["test_cases"]["generated"]
    summary = os.environ.get("MV_SCHEMATHESIS_SUMMARY")
    if summary:
        with open(summary, "a") as out:
            out.write(
                json.dumps({"service": service, "caller": caller, "cases": cases, "failures": len(result["failures"])})
                + "\n"
            )
    assert run.returncode == 0 and result["failures"] == [] and result["errors"] == [], run.stdout[-6000:]
    assert result["operations"]["tested"] == result["operations"]["total"] > 0
    assert cases > 0
