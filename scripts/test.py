"""`make test`: every test suite against one real PostgreSQL and one real Pub/Sub emulator
(`make test-fast`: the unit and per-service integration suites only, with ``--fast``).

Starts a throw-away PostgreSQL cluster and the emulator, runs each suite in its own
pytest process (each service is a package named ``app``), and ends with one line that
sums them up: ``N passed, N failed``.

The suites run side by side, longest first, as many at a time as WORKERS: each test has
its own databases and Pub/Sub project, and the fault scenarios and the end-to-end tests
each start their own stack. Most of their time is spent waiting
on processes and deadlines, so the machine's two cores are kept busy instead of idle.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mercado_devtools.postgres import PostgresCluster
from mercado_devtools.processes import MissingDependency, free_port
from mercado_devtools.pubsub import PubSubEmulator
from mercado_shared.registry import SERVICES

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Suite:
    name: str
    directory: str  # where its pytest runs
    args: tuple[str, ...] = ()
    seconds: int = 15  # about how long it takes beside the others: the longest start first


PER_SERVICE = [
    Suite("shared", "shared", seconds=30),
    Suite("devtools", "devtools", seconds=5),
    *(Suite(s.directory, s.directory, seconds=170 if s.name == "cliente-service" else 15) for s in SERVICES),
]  # the services from their one registry
SYSTEM = [  # the system suite (tests/), in three parts that run side by side
    Suite("faults", ".", ("tests/faults",), seconds=275),  # the fault scenarios, on a stack of their own
    Suite("end-to-end", ".", ("tests/e2e",), seconds=290),  # the four services on one stack, schemathesis
    Suite("system", ".", ("tests", "--ignore=tests/faults", "--ignore=tests/e2e"), seconds=120),  # static, make run
]
WORKERS = int(os.environ.get("TEST_WORKERS", "3"))


def counts(junit: Path) -> tuple[int, int, int]:
    if not junit.exists():
        return 0, 1, 0
    root = ET.parse(junit).getroot()  # noqa: S314 (our own pytest wrote it)
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, skipped


Result = tuple[str, int, int, int, float]  # suite, passed, failed, skipped, seconds


def run_suite(suite: Suite, env: dict[str, str], work: Path, extra: list[str]) -> Result:
    """One suite in its own pytest process; its output goes to a file, printed whole when
    it ends (suites running side by side do not interleave their lines)."""
    junit = work / f"{suite.name}.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"]
    started = time.monotonic()
    log = work / f"{suite.name}.log"
    with open(log, "wb") as out:
        code = subprocess.call(
            [*command, *suite.args, *extra], cwd=ROOT / suite.directory, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    print(f"\n=== {suite.name}\n{log.read_text(errors='replace')}", end="", flush=True)
    passed, failed, skipped = counts(junit)
    if code != 0 and failed == 0:
        failed = 1  # pytest itself failed (collection error, no tests ran)
    return suite.name, passed, failed, skipped, time.monotonic() - started


def main() -> int:
    """``--fast``: the unit and per-service integration suites only (``make test-fast``)."""
    fast = "--fast" in sys.argv
    extra = [arg for arg in sys.argv[1:] if arg != "--fast"]
    work = Path(tempfile.mkdtemp(prefix="mv-make-test-"))
    work.chmod(0o755)  # the postgres user must reach its data folder
    postgres = PostgresCluster(work / "pgdata", free_port(), durable=False)
    emulator = PubSubEmulator(free_port())
    results: list[Result] = []
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
        suites = sorted(PER_SERVICE if fast else [*SYSTEM, *PER_SERVICE], key=lambda s: -s.seconds)
        with ThreadPoolExecutor(2 if fast else WORKERS) as pool:
            results.extend(pool.map(lambda suite: run_suite(suite, env, work, extra), suites))
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
        print(f" {suite:<19} {passed:>6}  {failed:>6}  {skipped:>7}  {seconds:>7.1f}")
    passed = sum(r[1] for r in results)
    failed = sum(r[2] for r in results)
    skipped = sum(r[3] for r in results)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
