"""`make test`: every test suite against one real PostgreSQL and one real Pub/Sub emulator.

Starts a throw-away PostgreSQL cluster and the emulator, runs each suite in its own
pytest process (each service is a package named ``app``), and ends with one line that
sums them up: ``N passed, N failed``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from mercado_shared.devstack import SERVICES, MissingDependency, PostgresCluster, PubSubEmulator, free_port

ROOT = Path(__file__).resolve().parent.parent
SUITES = ["shared", *(s.directory for s in SERVICES), "."]  # the services from their one registry


def counts(junit: Path) -> tuple[int, int, int]:
    if not junit.exists():
        return 0, 1, 0
    root = ET.parse(junit).getroot()  # noqa: S314 (our own pytest wrote it)
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, skipped


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="mv-make-test-"))
    work.chmod(0o755)  # the postgres user must reach its data folder
    postgres = PostgresCluster(work / "pgdata", free_port(), durable=False)
    emulator = PubSubEmulator(free_port())
    results: list[tuple[str, int, int, int, float]] = []
    try:
        with open(work / "infra.log", "ab") as infra_log:
            postgres.start(infra_log)
            emulator.start(infra_log)
        summary = work / "schemathesis.ndjson"
        env = {
            **os.environ,
            "MV_TEST_PG_ADMIN_URL": postgres.admin_url,
            "PUBSUB_EMULATOR_HOST": emulator.host,
            "MV_SCHEMATHESIS_SUMMARY": str(summary),
        }
        extra = sys.argv[1:]
        for suite in SUITES:
            junit = work / f"{suite.strip('.') or 'system'}.xml"
            started = time.monotonic()
            print(f"\n=== {suite if suite != '.' else 'system (migrations, end-to-end)'}", flush=True)
            code = subprocess.call(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *extra],
                cwd=ROOT / suite,
                env=env,
            )
            passed, failed, skipped = counts(junit)
            if code != 0 and failed == 0:
                failed = 1  # pytest itself failed (collection error, no tests ran)
            results.append((suite, passed, failed, skipped, time.monotonic() - started))
        fuzzed = [json.loads(line) for line in summary.read_text().splitlines()] if summary.exists() else []
    except MissingDependency as missing:
        print(f"make test: {missing}", file=sys.stderr)
        return 2
    finally:
        emulator.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)

    if fuzzed:
        print("\n schemathesis        caller    cases  failures")
        for run in fuzzed:
            print(f" {run['service']:<19} {run['caller']:<8} {run['cases']:>6}  {run['failures']:>8}")
        print(f" {'total':<28} {sum(r['cases'] for r in fuzzed):>6}  {sum(r['failures'] for r in fuzzed):>8}")
    print("\n suite               passed  failed  skipped  seconds")
    for suite, passed, failed, skipped, seconds in results:
        print(f" {suite if suite != '.' else 'system':<19} {passed:>6}  {failed:>6}  {skipped:>7}  {seconds:>7.1f}")
    passed = sum(r[1] for r in results)
    failed = sum(r[2] for r in results)
    skipped = sum(r[3] for r in results)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
